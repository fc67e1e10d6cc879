"""Binance order building and order answers: request parameters out, `OrderUpdate` in.

Owns the local pre-send check of an order (instrument rules, type/time-in-force per
product), the decimal text of prices and quantities (no more decimals than the tick or step
needs, so the venue never answers -1111), client order ids, and the reading of REST and
WS-API order answers (place, cancel, query; spot and USD-M shapes). Must not send anything
and must not use float: prices and quantities are int raws at the instrument's scale.
"""

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from veloz._core import fixed
from veloz.errors import ConfigError
from veloz.errors import NumberError
from veloz.errors import OrderRejected
from veloz.errors import WireError
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument

__all__ = [
    "CLIENT_ORDER_ID_RE",
    "ClientOrderIds",
    "OrderRequest",
    "decimal_text",
    "new_order_params",
    "order_status",
    "order_update_from_answer",
]

# Binance's rule for newClientOrderId (spot and USD-M).
CLIENT_ORDER_ID_RE = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_PREFIX_RE = re.compile(r"[.A-Z:/a-z0-9_]{1,12}")
_SIDES = ("BUY", "SELL")
_SPOT_TYPES = ("LIMIT", "MARKET", "LIMIT_MAKER")
_USDM_TYPES = ("LIMIT", "MARKET")
_SPOT_TIFS = ("GTC", "IOC", "FOK")
_USDM_TIFS = ("GTC", "IOC", "FOK", "GTX")

# Venue status text -> OrderStatus. PENDING_NEW is an order not yet working (it will be);
# PENDING_CANCEL (documented, unused) is still live. EXPIRED_IN_MATCH is an STP expiry.
_STATUS: Mapping[str, OrderStatus] = {
    "NEW": OrderStatus.NEW,
    "PENDING_NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.NEW,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
# What an answer's status says happened last (OrderUpdate.exec_type), in execution-report
# terms: an answer carries no execution type of its own.
_EXEC_TYPE: Mapping[OrderStatus, str] = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "TRADE",
    OrderStatus.FILLED: "TRADE",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
    OrderStatus.EXPIRED: "EXPIRED",
}


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order as a strategy asks for it.

    Parameters
    ----------
    symbol : str
        Venue symbol, e.g. "BTCUSDT".
    side : str
        "BUY" or "SELL".
    order_type : str
        "LIMIT", "MARKET", or on spot "LIMIT_MAKER" (post-only).
    qty : int
        Quantity raw at the instrument's qty_dp.
    px : int
        Limit price raw at the instrument's price_dp; 0 for MARKET.
    tif : str
        "GTC", "IOC", "FOK"; on USD-M also "GTX" (post-only). Ignored for MARKET and
        LIMIT_MAKER.
    client_order_id : str
        Our id, ``^[.A-Z:/a-z0-9_-]{1,36}$``; "" lets the caller (or venue) assign one.
    reduce_only : bool
        USD-M only: the order may only reduce the position.
    """

    symbol: str
    side: str
    order_type: str
    qty: int
    px: int = 0
    tif: str = "GTC"
    client_order_id: str = ""
    reduce_only: bool = False


class ClientOrderIds:
    """Unique client order ids: ``<prefix>-<start ms, base 36>-<counter, base 36>``.

    The start time makes ids unique across restarts, the counter within a run; two
    generators in one process never share a start. Ids match Binance's
    ``^[.A-Z:/a-z0-9_-]{1,36}$``. Give each process its own prefix.

    Parameters
    ----------
    prefix : str
        1..12 characters of ``[.A-Z:/a-z0-9_]``.

    Raises
    ------
    ConfigError
        A prefix outside that rule.
    """

    __slots__ = ("_head", "_n")
    _last_start_ms = 0  # process-wide: the newest start handed out

    def __init__(self, prefix: str = "vz") -> None:
        if not _PREFIX_RE.fullmatch(prefix):
            raise ConfigError(
                f"client order id prefix={prefix!r}: must be 1..12 of [.A-Z:/a-z0-9_]"
            )
        start_ms = max(time.time_ns() // 1_000_000, ClientOrderIds._last_start_ms + 1)
        ClientOrderIds._last_start_ms = start_ms
        self._head = f"{prefix}-{_base36(start_ms)}-"
        self._n = 0

    def next(self) -> str:
        """Return a new id. O(1)."""
        self._n += 1
        return self._head + _base36(self._n)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def decimal_text(raw: int, dp: int) -> str:
    """Return `raw` (at `dp`) as the shortest exact decimal text: no exponent, no trailing
    zeros ("60000.1", "0.01", "5").

    For a raw on its tick or step grid this never has more decimals than the grid, so the
    venue cannot answer -1111 BAD_PRECISION.
    """
    text = fixed.to_text(raw, dp)
    return text.rstrip("0").rstrip(".") if "." in text else text


def _reject(reason: str) -> OrderRejected:
    return OrderRejected(reason, by="local")


def new_order_params(req: OrderRequest, inst: Instrument, is_usdm: bool) -> list[tuple[str, str]]:
    """Return the parameters of ``POST /api/v3/order`` / ``/fapi/v1/order`` (or WS-API
    ``order.place``) for `req`, in send order, without timestamp and signature.

    Checks the order first: side, type and time in force for the product, the instrument's
    status, tick, step, bounds and minimum notional (MARKET: quantity rules only; the
    venue prices the notional). Asks for ``newOrderRespType=RESULT`` so the answer carries
    the order's status after matching.

    Parameters
    ----------
    req : OrderRequest
        The order; raws at `inst`'s scales.
    inst : Instrument
        Its instrument.
    is_usdm : bool
        USD-M futures rules (GTX, reduceOnly; no LIMIT_MAKER) instead of spot's.

    Raises
    ------
    OrderRejected
        ``by="local"`` with a reason naming the rule broken; nothing should be sent.
    """
    if req.symbol != inst.symbol:
        raise _reject(f"order symbol {req.symbol!r} is not instrument {inst.symbol!r}")
    if inst.status != "TRADING":
        raise _reject(f"{inst.symbol} status is {inst.status}, not TRADING")
    if req.side not in _SIDES:
        raise _reject(f"side {req.side!r} is not BUY or SELL")
    product = "USD-M" if is_usdm else "spot"
    if req.order_type not in (_USDM_TYPES if is_usdm else _SPOT_TYPES):
        hint = "; use LIMIT with tif GTX for post-only" if req.order_type == "LIMIT_MAKER" else ""
        raise _reject(f"order type {req.order_type!r} is not supported on {product}{hint}")
    if req.reduce_only and not is_usdm:
        raise _reject("reduce_only is a USD-M futures flag; spot has no positions")
    if req.client_order_id and not CLIENT_ORDER_ID_RE.fullmatch(req.client_order_id):
        raise _reject(
            f"client order id {req.client_order_id!r} breaks Binance's ^[.A-Z:/a-z0-9_-]{{1,36}}$"
        )
    params: list[tuple[str, str]] = [
        ("symbol", inst.symbol),
        ("side", req.side),
        ("type", req.order_type),
    ]
    if req.order_type == "MARKET":
        if req.px != 0:
            raise _reject("a MARKET order takes no price (px must be 0)")
        why = inst.check_qty(req.qty)
        if why is not None:
            raise _reject(why)
    else:
        why = inst.check_order(req.px, req.qty)
        if why is not None:
            raise _reject(why)
        if req.order_type == "LIMIT":
            if req.tif not in (_USDM_TIFS if is_usdm else _SPOT_TIFS):
                hint = "; use type LIMIT_MAKER for post-only" if req.tif == "GTX" else ""
                raise _reject(f"time in force {req.tif!r} is not supported on {product}{hint}")
            params.append(("timeInForce", req.tif))
    params.append(("quantity", decimal_text(req.qty, inst.qty_dp)))
    if req.order_type != "MARKET":
        params.append(("price", decimal_text(req.px, inst.price_dp)))
    if req.reduce_only:
        params.append(("reduceOnly", "true"))
    if req.client_order_id:
        params.append(("newClientOrderId", req.client_order_id))
    params.append(("newOrderRespType", "RESULT"))
    return params


def order_status(text: str) -> OrderStatus:
    """Map a Binance order status text to `OrderStatus` (EXPIRED_IN_MATCH -> EXPIRED).

    Raises
    ------
    WireError
        A status Binance does not document.
    """
    try:
        return _STATUS[text]
    except (KeyError, TypeError):
        raise WireError(f"unknown order status {text!r:.40}") from None


def _field(doc: Mapping[str, Any], key: str) -> Any:
    try:
        return doc[key]
    except KeyError:
        raise WireError(f"order answer: missing field {key!r}") from None


def _str(doc: Mapping[str, Any], key: str) -> str:
    value = _field(doc, key)
    if not isinstance(value, str):
        raise WireError(f"order answer: field {key!r} must be a string, got {value!r:.40}")
    return value


def _int(doc: Mapping[str, Any], key: str) -> int:
    value = _field(doc, key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"order answer: field {key!r} must be an int, got {value!r:.40}")
    return value


def _raw(doc: Mapping[str, Any], key: str, dp: int) -> int:
    text = _str(doc, key)
    try:
        return fixed.parse(text, dp)
    except NumberError as exc:
        raise WireError(f"order answer: field {key!r}: {exc}") from None


def order_update_from_answer(
    doc: Mapping[str, Any], inst: Instrument, venue: str, recv_ns: int
) -> OrderUpdate:
    """Read a REST or WS-API order answer (place, cancel, query, open orders entry).

    Spot shapes: ACK (no status: taken as NEW with side, type, price and quantity unknown,
    left "" and 0), RESULT, FULL (``fills`` ignored: fills come from the user stream), the
    cancel answer (``origClientOrderId`` is the order's id, ``clientOrderId`` the cancel's)
    and the query shape. USD-M: the one order shape of place, cancel and query.

    Parameters
    ----------
    doc : mapping
        The decoded answer (a WS-API reply's ``result``).
    inst : Instrument
        The order's instrument: prices and quantities are parsed at its scales.
    venue : str
        "binance-spot" or "binance-usdm", copied to the update.
    recv_ns : int
        CLOCK_MONOTONIC ns when the answer arrived.

    Raises
    ------
    WireError
        Not an object, another symbol, a missing or malformed field, an unknown status.
    """
    if not isinstance(doc, Mapping):
        raise WireError(f"order answer: not an object: {doc!r:.200}")
    symbol = _str(doc, "symbol")
    if symbol != inst.symbol:
        raise WireError(f"order answer: symbol {symbol!r} is not instrument {inst.symbol!r}")
    order_id = _int(doc, "orderId")
    cid = doc.get("origClientOrderId")
    client_order_id = cid if isinstance(cid, str) and cid else _str(doc, "clientOrderId")
    exch_ms = 0
    for key in ("transactTime", "updateTime", "time"):
        value = doc.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            exch_ms = value
            break
    reason = doc.get("expiryReason", "")
    reason = reason if isinstance(reason, str) else str(reason)
    if "status" not in doc:  # spot ACK: accepted, nothing more known
        return OrderUpdate(
            venue, symbol, client_order_id, order_id, "", "", "", OrderStatus.NEW, "NEW",
            0, 0, 0, reason, exch_ms * 1_000_000, recv_ns,
        )  # fmt: skip
    status = order_status(_str(doc, "status"))
    tif = doc.get("timeInForce", "")
    return OrderUpdate(
        venue=venue,
        symbol=symbol,
        client_order_id=client_order_id,
        order_id=order_id,
        side=_str(doc, "side"),
        order_type=_str(doc, "type"),
        tif=tif if isinstance(tif, str) else "",
        status=status,
        exec_type=_EXEC_TYPE[status],
        px=_raw(doc, "price", inst.price_dp),
        qty=_raw(doc, "origQty", inst.qty_dp),
        filled_qty=_raw(doc, "executedQty", inst.qty_dp),
        reason=reason,
        exch_ns=exch_ms * 1_000_000,
        recv_ns=recv_ns,
    )
