"""Order requests and records of the simulated exchange: parameter checks and Binance shapes.

Owns how a new-order request is validated (mandatory params, enums, precision, filters, in
Binance's order and with its codes) and how an order is written in REST responses and
user-data events. It must not match, move balances or read a clock.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from veloz._core import fixed
from veloz.errors import NumberError
from veloz.model.instrument import Instrument
from veloz.sim.accounts import BAL_DP
from veloz.sim.accounts import MONEY_DP
from veloz.sim.accounts import dec_text
from veloz.sim.errors import MSG_MANDATORY_PARAM
from veloz.sim.errors import BinanceApiError
from veloz.sim.instruments import Padding

__all__ = [
    "Fill",
    "Fmt",
    "OrderRequest",
    "SimOrder",
    "execution_report",
    "mandatory",
    "order_trade_update",
    "parse_int_param",
    "parse_new_order",
]

_NUM_RE = re.compile(r"^([0-9]{1,20})(\.[0-9]{1,20})?$")
_NUM_RANGE = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_SPOT_CID_RE = re.compile(r"^[a-zA-Z0-9\-_]{1,36}$")
_USDM_CID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")

_SIDES = ("BUY", "SELL")
_SPOT_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER")
_USDM_TYPES = ("LIMIT", "MARKET")
_SPOT_TIFS = ("GTC", "IOC", "FOK")
_USDM_TIFS = ("GTC", "IOC", "FOK", "GTX")
_SPOT_STP = ("NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH")
_RESP_TYPES = {"spot": ("ACK", "RESULT", "FULL"), "usdm": ("ACK", "RESULT")}


def mandatory(params: Mapping[str, str], name: str) -> str:
    """Return ``params[name]``, or raise -1102 naming it when missing or empty."""
    value = params.get(name)
    if value is None or value == "":
        raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % name)
    return value


def parse_int_param(params: Mapping[str, str], name: str, default: int | None) -> int | None:
    """Return an optional integer parameter; raise -1100 if it is not a decimal integer."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit() or len(value) > 19:
        raise BinanceApiError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.",
        )
    return int(value)


@dataclass(frozen=True, slots=True)
class Fmt:
    """Text formatting of one symbol's raws as its venue pads them.

    Parameters
    ----------
    inst : Instrument
        The instrument (raws at its price_dp / qty_dp).
    pad : Padding
        Decimals of price and quantity text.
    """

    inst: Instrument
    pad: Padding

    def px(self, raw: int) -> str:
        """Price text padded to ``pad.price`` (truncating below it)."""
        return dec_text(raw, self.inst.price_dp, self.pad.price)

    def qty(self, raw: int) -> str:
        """Quantity text padded to ``pad.qty``."""
        return dec_text(raw, self.inst.qty_dp, self.pad.qty)

    def quote(self, raw: int) -> str:
        """Quote amount (raw at notional dp) as text: spot 8 decimals, USD-M pad.price+pad.qty."""
        out_dp = 8 if self.pad.price == 8 else self.pad.price + self.pad.qty
        return dec_text(raw, self.inst.notional_dp, out_dp)

    def money(self, raw: int) -> str:
        """Money raw at `MONEY_DP` (USD-M fees, PnL, wallet) as 8-decimal text."""
        return dec_text(raw, MONEY_DP, 8)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated new-order request.

    Attributes
    ----------
    side, type, tif, stp, resp_type : str
        Binance enum text; tif is "GTC" for MARKET (unused there).
    px, qty : int
        Raws at the instrument's dp; px 0 for MARKET; qty 0 for a quoteOrderQty MARKET.
    quote_qty : int
        ``quoteOrderQty`` raw at price dp (0 when not sent).
    client_id : str or None
        ``newClientOrderId`` as sent.
    reduce_only : bool
        USD-M ``reduceOnly``.
    """

    side: str
    type: str
    tif: str
    stp: str
    resp_type: str
    px: int
    qty: int
    quote_qty: int
    client_id: str | None
    reduce_only: bool


OFF_GRID = -2  # a number finer than the instrument's dp: off the tick or step grid
TOO_BIG = -1  # a number beyond int64 at the instrument's dp


def _num(params: Mapping[str, str], name: str, dp: int, max_digits: int, venue: str) -> int | None:
    # Parse one decimal parameter: -1100 for junk, -1111 for more decimals than the venue
    # accepts (spot 8, USD-M the symbol's precision); None if absent; OFF_GRID or TOO_BIG for
    # values the filters reject.
    text = params.get(name)
    if text is None or text == "":
        return None
    m = _NUM_RE.match(text)
    if m is None:
        raise BinanceApiError(
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is '{_NUM_RANGE}'.",
        )
    frac = (m.group(2) or ".")[1:].rstrip("0")
    if len(frac) > max_digits:
        if venue == "spot":
            raise BinanceApiError(-1111, f"Parameter '{name}' has too much precision.")
        raise BinanceApiError(-1111, "Precision is over the maximum defined for this asset.")
    if len(frac) > dp:
        return OFF_GRID
    try:
        return fixed.parse(text, dp)
    except NumberError:
        return TOO_BIG


def _spot_filters(inst: Instrument, req_type: str, px: int, qty: int, ref_px: int) -> None:
    # PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE and NOTIONAL, in Binance's order.
    def fail(name: str) -> BinanceApiError:
        return BinanceApiError(-1013, f"Filter failure: {name}")

    if req_type != "MARKET" and (
        px <= 0
        or px % inst.tick_raw
        or px < inst.min_px_raw
        or (inst.max_px_raw and px > inst.max_px_raw)
    ):
        raise fail("PRICE_FILTER")
    if qty != 0 and (
        qty < 0
        or qty % inst.step_raw
        or qty < inst.min_qty_raw
        or (inst.max_qty_raw and qty > inst.max_qty_raw)
    ):
        raise fail("MARKET_LOT_SIZE" if req_type == "MARKET" and qty > 0 else "LOT_SIZE")
    notional_px = px if req_type != "MARKET" else ref_px
    if qty > 0 and notional_px > 0 and notional_px * qty < inst.min_notional_raw:
        raise fail("NOTIONAL")


def _usdm_filters(inst: Instrument, req_type: str, px: int, qty: int, ref_px: int) -> None:
    if req_type != "MARKET":
        if px == OFF_GRID:
            raise BinanceApiError(-4014)
        if px == TOO_BIG or (inst.max_px_raw and px > inst.max_px_raw):
            raise BinanceApiError(-4002)  # -4016 is the mark-price cap, not PRICE_FILTER
        if px <= 0 or px < inst.min_px_raw:
            raise BinanceApiError(-4013)
        if (px - inst.min_px_raw) % inst.tick_raw:
            raise BinanceApiError(-4014)
    if qty == OFF_GRID:
        raise BinanceApiError(-4023)
    if qty == TOO_BIG or (inst.max_qty_raw and qty > inst.max_qty_raw):
        raise BinanceApiError(-4005)
    if qty <= 0:
        raise BinanceApiError(-4003)
    if qty < inst.min_qty_raw:
        raise BinanceApiError(-4004)
    if (qty - inst.min_qty_raw) % inst.step_raw:
        raise BinanceApiError(-4023)
    notional_px = px if req_type != "MARKET" else ref_px
    if notional_px > 0 and notional_px * qty < inst.min_notional_raw:
        limit = dec_text(inst.min_notional_raw, inst.notional_dp, 0)
        raise BinanceApiError(
            -4164,
            f"Order's notional must be no smaller than {limit} (unless you choose reduce only).",
        )


def parse_new_order(
    venue: str, inst: Instrument, pad: Padding, params: Mapping[str, str], ref_px: int
) -> OrderRequest:
    """Validate a new-order request as Binance does and return it parsed.

    Parameters
    ----------
    venue : {"spot", "usdm"}
        API whose rules apply.
    inst : Instrument
        The order's instrument (symbol already resolved).
    pad : Padding
        USD-M ``pricePrecision``/``quantityPrecision`` bound the digits accepted (-1111).
    params : mapping of str to str
        Request parameters as received.
    ref_px : int
        Reference price raw for MARKET notional checks (last trade, else mid; 0 skips).

    Raises
    ------
    BinanceApiError
        -1102 missing parameter, -1117/-1116/-1115 bad side/type/timeInForce, -1106 a
        parameter sent that the type does not take, -1100 malformed value, -1111 too many
        decimals, -1013 spot filter failure, USD-M -4002/-4003/-4004/-4005/-4013/-4014/
        -4023/-4164, -4061 hedge-mode position side.
    """
    side = mandatory(params, "side")
    if side not in _SIDES:
        raise BinanceApiError(-1117)
    req_type = mandatory(params, "type")
    if req_type not in (_SPOT_TYPES if venue == "spot" else _USDM_TYPES):
        raise BinanceApiError(-1116)
    tif_text = params.get("timeInForce") or None
    if tif_text is not None and tif_text not in (_SPOT_TIFS if venue == "spot" else _USDM_TIFS):
        raise BinanceApiError(-1115)
    if req_type == "LIMIT":
        tif = mandatory(params, "timeInForce")
        mandatory(params, "quantity")
        mandatory(params, "price")
    elif req_type == "LIMIT_MAKER":
        if tif_text is not None:
            raise BinanceApiError(-1106, "Parameter 'timeInForce' sent when not required.")
        tif = "GTC"
        mandatory(params, "quantity")
        mandatory(params, "price")
    else:  # MARKET
        if venue == "spot":
            for extra in ("timeInForce", "price"):
                if params.get(extra):
                    raise BinanceApiError(-1106, f"Parameter '{extra}' sent when not required.")
            if params.get("quantity") and params.get("quoteOrderQty"):
                raise BinanceApiError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
            if not params.get("quoteOrderQty"):
                mandatory(params, "quantity")
        else:
            mandatory(params, "quantity")
        tif = "GTC"
    px_digits = 8 if venue == "spot" else pad.price
    qty_digits = 8 if venue == "spot" else pad.qty
    px = 0
    if req_type != "MARKET":
        px = _num(params, "price", inst.price_dp, px_digits, venue) or 0
    qty = _num(params, "quantity", inst.qty_dp, qty_digits, venue) or 0
    quote_qty = 0
    if venue == "spot" and req_type == "MARKET" and params.get("quoteOrderQty"):
        quote_qty = _num(params, "quoteOrderQty", inst.price_dp, 8, venue) or 0
        if quote_qty <= 0:
            raise BinanceApiError(-1013, "Filter failure: NOTIONAL")
    if venue == "spot":
        _spot_filters(inst, req_type, px, qty, ref_px)
    else:
        _usdm_filters(inst, req_type, px, qty, ref_px)
    cid = params.get("newClientOrderId") or None
    cid_re = _SPOT_CID_RE if venue == "spot" else _USDM_CID_RE
    if cid is not None and not cid_re.match(cid):
        raise BinanceApiError(
            -1100,
            "Illegal characters found in parameter 'newClientOrderId'; "
            f"legal range is '{cid_re.pattern}'.",
        )
    default_resp = "ACK" if venue == "usdm" or req_type == "LIMIT_MAKER" else "FULL"
    resp_type = params.get("newOrderRespType") or default_resp
    if resp_type not in _RESP_TYPES[venue]:
        raise BinanceApiError(
            -1100,
            "Illegal characters found in parameter 'newOrderRespType'; legal range is "
            f"'{', '.join(_RESP_TYPES[venue])}'.",
        )
    stp = params.get("selfTradePreventionMode") or ("EXPIRE_MAKER" if venue == "spot" else "NONE")
    if stp not in _SPOT_STP:
        raise BinanceApiError(
            -1100,
            "Illegal characters found in parameter 'selfTradePreventionMode'; legal range is "
            f"'{', '.join(_SPOT_STP)}'.",
        )
    reduce_only = False
    if venue == "usdm":
        ps = params.get("positionSide") or "BOTH"
        if ps != "BOTH":
            raise BinanceApiError(-4061)
        ro = params.get("reduceOnly") or "false"
        if ro not in ("true", "false"):
            raise BinanceApiError(-1100, "Illegal characters found in parameter 'reduceOnly'.")
        reduce_only = ro == "true"
    return OrderRequest(side, req_type, tif, stp, resp_type, px, qty, quote_qty, cid, reduce_only)


@dataclass(slots=True)
class SimOrder:
    """One user order as the exchange keeps it (mutable; updated as it trades).

    Quantities are raws at the instrument's qty dp, prices at its price dp, ``cum_quote``
    at the notional dp, ``lock`` (spot) at the balance scale. Times are ms.
    """

    symbol: str
    order_id: int
    account: int
    client_id: str
    side: str
    type: str
    tif: str
    stp: str
    px: int
    qty: int
    quote_qty: int
    time_ms: int
    reduce_only: bool = False
    status: str = "NEW"
    executed: int = 0
    cum_quote: int = 0
    lock: int = 0
    update_ms: int = 0
    working_ms: int = -1
    is_working: bool = False
    fills: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """Whether the order still rests (NEW or PARTIALLY_FILLED)."""
        return self.status in ("NEW", "PARTIALLY_FILLED")

    def spot_json(self, fmt: Fmt) -> dict[str, Any]:
        """Return the spot ``GET /api/v3/order`` shape."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "price": fmt.px(self.px),
            "origQty": fmt.qty(self.qty),
            "executedQty": fmt.qty(self.executed),
            "cummulativeQuoteQty": fmt.quote(self.cum_quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "stopPrice": fmt.px(0),
            "icebergQty": fmt.qty(0),
            "time": self.time_ms,
            "updateTime": self.update_ms,
            "isWorking": self.is_working,
            "workingTime": self.working_ms,
            "origQuoteOrderQty": fmt.px(self.quote_qty),
            "selfTradePreventionMode": self.stp,
        }

    def spot_result(self, fmt: Fmt, transact_ms: int) -> dict[str, Any]:
        """Return the spot RESULT new-order response (FULL adds ``fills``)."""
        return {
            "symbol": self.symbol,
            "orderId": self.order_id,
            "orderListId": -1,
            "clientOrderId": self.client_id,
            "transactTime": transact_ms,
            "price": fmt.px(self.px),
            "origQty": fmt.qty(self.qty),
            "executedQty": fmt.qty(self.executed),
            "origQuoteOrderQty": fmt.px(self.quote_qty),
            "cummulativeQuoteQty": fmt.quote(self.cum_quote),
            "status": self.status,
            "timeInForce": self.tif,
            "type": self.type,
            "side": self.side,
            "workingTime": self.working_ms,
            "selfTradePreventionMode": self.stp,
        }

    def avg_px(self, fmt: Fmt) -> str:
        """USD-M ``avgPrice``: cumQuote / executedQty, truncated, or zero."""
        if self.executed == 0:
            return dec_text(0, 0, fmt.pad.price + fmt.pad.qty)
        raw = self.cum_quote // self.executed  # raw at price dp
        return dec_text(raw, fmt.inst.price_dp, fmt.pad.price + fmt.pad.qty)

    def usdm_json(self, fmt: Fmt, with_time: bool) -> dict[str, Any]:
        """Return the USD-M order shape (``time`` only on queries)."""
        out: dict[str, Any] = {
            "orderId": self.order_id,
            "symbol": self.symbol,
            "status": self.status,
            "clientOrderId": self.client_id,
            "price": fmt.px(self.px),
            "avgPrice": self.avg_px(fmt),
            "origQty": fmt.qty(self.qty),
            "executedQty": fmt.qty(self.executed),
            "cumQty": fmt.qty(self.executed),
            "cumQuote": fmt.quote(self.cum_quote),
            "timeInForce": self.tif,
            "type": self.type,
            "reduceOnly": self.reduce_only,
            "closePosition": False,
            "side": self.side,
            "positionSide": "BOTH",
            "stopPrice": fmt.px(0),
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": self.type,
            "priceMatch": "NONE",
            "selfTradePreventionMode": self.stp,
            "goodTillDate": 0,
            "updateTime": self.update_ms,
        }
        if with_time:
            out["time"] = self.time_ms
        return out


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill of a user order as its execution report shows it.

    Attributes
    ----------
    qty, px : int
        Raws at the instrument's dp.
    fee : int
        Commission raw (spot: at the balance scale; USD-M: at notional dp).
    fee_asset : str
        Commission asset.
    trade_id : int
        Binance trade id.
    is_maker : bool
        Whether the order was the maker.
    realized : int
        USD-M realized PnL of the fill, raw at notional dp (0 on spot).
    """

    qty: int
    px: int
    fee: int
    fee_asset: str
    trade_id: int
    is_maker: bool
    realized: int = 0


_NO_FILL = Fill(0, 0, 0, "", -1, False)


def execution_report(
    o: SimOrder,
    fmt: Fmt,
    x: str,
    now_ms: int,
    fill: Fill | None = None,
    cancel_cid: str | None = None,
) -> dict[str, Any]:
    """Return a spot ``executionReport`` for `o` after an event of execution type `x`."""
    f = _NO_FILL if fill is None else fill
    return {
        "e": "executionReport",
        "E": now_ms,
        "s": o.symbol,
        "c": cancel_cid if cancel_cid is not None else o.client_id,
        "S": o.side,
        "o": o.type,
        "f": o.tif,
        "q": fmt.qty(o.qty),
        "p": fmt.px(o.px),
        "P": fmt.px(0),
        "F": fmt.qty(0),
        "g": -1,
        "C": o.client_id if cancel_cid is not None else "",
        "x": x,
        "X": o.status,
        "r": "NONE",
        "i": o.order_id,
        "l": fmt.qty(f.qty),
        "z": fmt.qty(o.executed),
        "L": fmt.px(f.px),
        "n": dec_text(f.fee, BAL_DP, BAL_DP) if fill is not None else "0",
        "N": f.fee_asset if fill is not None else None,
        "T": now_ms,
        "t": f.trade_id,
        "I": 0,
        "w": o.is_working,
        "m": f.is_maker,
        "M": False,
        "O": o.time_ms,
        "Z": fmt.quote(o.cum_quote),
        "Y": fmt.quote(f.px * f.qty),
        "Q": fmt.px(o.quote_qty),
        "W": o.working_ms,
        "V": o.stp,
    }


def order_trade_update(
    o: SimOrder, fmt: Fmt, x: str, now_ms: int, fill: Fill | None, expiry_reason: int
) -> dict[str, Any]:
    """Return a USD-M ``ORDER_TRADE_UPDATE`` for `o` after an event of execution type `x`."""
    f = _NO_FILL if fill is None else fill
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "o": {
            "s": o.symbol,
            "c": o.client_id,
            "S": o.side,
            "o": o.type,
            "f": o.tif,
            "q": fmt.qty(o.qty),
            "p": fmt.px(o.px),
            "ap": o.avg_px(fmt),
            "sp": fmt.px(0),
            "x": x,
            "X": o.status,
            "i": o.order_id,
            "l": fmt.qty(f.qty),
            "z": fmt.qty(o.executed),
            "L": fmt.px(f.px),
            "N": "USDT",
            "n": fmt.money(f.fee),
            "T": now_ms,
            "t": f.trade_id if fill is not None else 0,
            "b": "0",
            "a": "0",
            "m": f.is_maker,
            "R": o.reduce_only,
            "wt": "CONTRACT_PRICE",
            "ot": o.type,
            "ps": "BOTH",
            "cp": False,
            "rp": fmt.money(f.realized),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": o.stp,
            "pm": "NONE",
            "gtd": 0,
            "er": str(expiry_reason),
        },
    }
