"""The simulator's account trade history: spot ``GET /api/v3/myTrades`` and USD-M
``GET /fapi/v1/userTrades``.

Owns `TradeRow` (one fill of one user order as the exchange settled it), `TradeHistory`
(the rows per account and symbol, in trade id order) and the Binance-shaped answers with
their parameter rules (``orderId``, ``startTime``, ``endTime``, ``fromId``, ``limit``
default 500, max 1000). Must not settle fills or touch balances (`SimExchange` does and
records each fill here), open sockets or read the clock.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from veloz.sim.accounts import BAL_DP
from veloz.sim.accounts import dec_text
from veloz.sim.errors import BinanceApiError
from veloz.sim.orders import Fmt
from veloz.sim.orders import parse_int_param

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "TradeHistory", "TradeRow"]

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_BAD_COMBINATION = "Combination of optional parameters invalid."


@dataclass(frozen=True, slots=True)
class TradeRow:
    """One fill of one user order.

    Attributes
    ----------
    trade_id, order_id : int
        Binance trade id (per symbol) and the order's id.
    side : {"BUY", "SELL"}
    px, qty : int
        Raws at the instrument's dp.
    notional : int
        ``px * qty``, raw at the instrument's notional dp.
    fee : int
        Commission raw (spot: at `BAL_DP`; USD-M: at ``MONEY_DP``).
    fee_asset : str
    is_maker : bool
    realized : int
        USD-M realized PnL raw at ``MONEY_DP`` (0 on spot).
    time_ms : int
        Exchange time of the fill.
    """

    trade_id: int
    order_id: int
    side: str
    px: int
    qty: int
    notional: int
    fee: int
    fee_asset: str
    is_maker: bool
    realized: int
    time_ms: int


class TradeHistory:
    """Every user fill of one venue, per account and symbol, oldest first.

    Parameters
    ----------
    venue : {"spot", "usdm"}
        Whose answer shape and parameter rules apply.
    """

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self._rows: dict[tuple[int, str], list[TradeRow]] = {}

    def add(self, account: int, symbol: str, row: TradeRow) -> None:
        """Record one fill (trade ids only grow per symbol, so the list stays sorted)."""
        self._rows.setdefault((account, symbol), []).append(row)

    def query(self, account: int, fmt: Fmt, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the account's trades on ``fmt.inst.symbol`` as Binance lists them.

        ``fromId``: trades with id >= it, oldest first; ``startTime``/``endTime``: trades in
        the range (inclusive), oldest first; neither: the most recent ones. ``orderId``
        keeps one order's trades. At most ``limit`` rows (default 500, max 1000).

        Raises
        ------
        BinanceApiError
            -1100 for a non-integer parameter, -1128 for ``fromId`` with a time range.
        """
        order_id = parse_int_param(params, "orderId", None)
        from_id = parse_int_param(params, "fromId", None)
        start = parse_int_param(params, "startTime", None)
        end = parse_int_param(params, "endTime", None)
        limit = parse_int_param(params, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
        limit = min(limit, MAX_LIMIT)
        if from_id is not None and (start is not None or end is not None):
            raise BinanceApiError(-1128, _BAD_COMBINATION)
        rows = self._rows.get((account, fmt.inst.symbol), [])
        picked = [
            r
            for r in rows
            if (order_id is None or r.order_id == order_id)
            and (from_id is None or r.trade_id >= from_id)
            and (start is None or r.time_ms >= start)
            and (end is None or r.time_ms <= end)
        ]
        # Without fromId or startTime Binance lists the most recent ones (up to endTime).
        picked = picked[-limit:] if from_id is None and start is None else picked[:limit]
        shape = self._spot_row if self.venue == "spot" else self._usdm_row
        return [shape(fmt, r) for r in picked]

    @staticmethod
    def _spot_row(fmt: Fmt, r: TradeRow) -> dict[str, Any]:
        return {
            "symbol": fmt.inst.symbol,
            "id": r.trade_id,
            "orderId": r.order_id,
            "orderListId": -1,
            "price": fmt.px(r.px),
            "qty": fmt.qty(r.qty),
            "quoteQty": fmt.quote(r.notional),
            "commission": dec_text(r.fee, BAL_DP, BAL_DP),
            "commissionAsset": r.fee_asset,
            "time": r.time_ms,
            "isBuyer": r.side == "BUY",
            "isMaker": r.is_maker,
            "isBestMatch": True,
        }

    @staticmethod
    def _usdm_row(fmt: Fmt, r: TradeRow) -> dict[str, Any]:
        return {
            "buyer": r.side == "BUY",
            "commission": fmt.money(r.fee),
            "commissionAsset": r.fee_asset,
            "id": r.trade_id,
            "maker": r.is_maker,
            "orderId": r.order_id,
            "price": fmt.px(r.px),
            "qty": fmt.qty(r.qty),
            "quoteQty": fmt.quote(r.notional),
            "realizedPnl": fmt.money(r.realized),
            "side": r.side,
            "positionSide": "BOTH",
            "symbol": fmt.inst.symbol,
            "time": r.time_ms,
        }
