"""Pure-Python twin of `veloz._core.matching.MatchingEngine` on `SortedDict`: the oracle of the
differential tests. Same Python API, events and order states; written for obviousness, not
speed (level totals are summed on demand, Python ints everywhere).
"""

from dataclasses import dataclass
from typing import Any

from sortedcontainers import SortedDict

from veloz._core.errors import InvariantError

BUY, SELL = 0, 1
LIMIT, MARKET, LIMIT_MAKER = 0, 1, 2
GTC, IOC, FOK, GTX = 0, 1, 2, 3
NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH = 0, 1, 2, 3
NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED, REJECTED = range(6)
EV_NEW, EV_TRADE, EV_CANCELED, EV_EXPIRED, EV_REJECTED = range(5)
(
    NO_REASON,
    IOC_REMAINDER,
    MARKET_REMAINDER,
    FOK_NOT_FILLABLE,
    POST_ONLY_WOULD_TAKE,
    STP_EXPIRED,
    BAD_SIDE,
    BAD_KIND,
    BAD_TIF,
    BAD_STP,
    BAD_QTY,
    BAD_PX,
    OVERFLOW,
) = range(13)
INT64_MAX = 2**63 - 1
PPM = 1_000_000

Event = tuple[int, int, int, int, int, int, int, int, int, int]


def fee_of(notional: int, ppm: int) -> int:
    """notional * ppm / 1e6 rounded toward zero (Python's // floors, so round the magnitude)."""
    prod = notional * ppm
    q = abs(prod) // PPM
    return q if prod >= 0 else -q


@dataclass
class OrderRef:
    order_id: int
    status: int
    reason: int
    side: int
    kind: int
    tif: int
    stp: int
    account: int
    client_id: int
    px: int
    orig_qty: int
    executed_qty: int
    left_qty: int
    closed_qty: int
    cum_quote: int
    cum_fee: int
    ts_ns: int


class MatchingEngineRef:
    """Matching engine as two `SortedDict`s px -> {order_id: None} (insertion-ordered = FIFO)."""

    def __init__(self, price_dp: int, qty_dp: int, maker_fee_ppm: int, taker_fee_ppm: int) -> None:
        if not 0 <= price_dp <= 18 or not 0 <= qty_dp <= 18:
            raise ValueError("dp must be 0..18")
        if not -PPM <= maker_fee_ppm <= PPM or not -PPM <= taker_fee_ppm <= PPM:
            raise ValueError("fee ppm must be -1000000..1000000")
        self.price_dp = price_dp
        self.qty_dp = qty_dp
        self.maker_fee_ppm = maker_fee_ppm
        self.taker_fee_ppm = taker_fee_ppm
        self.n_trades = 0
        self._orders: list[OrderRef] = []
        self._sides: tuple[SortedDict, SortedDict] = (SortedDict(), SortedDict())
        self._events: list[Event] = []

    # ---- helpers ----------------------------------------------------------------------------

    def _best_first(self, side: int) -> list[int]:
        keys = list(self._sides[side].keys())
        return keys[::-1] if side == BUY else keys

    def _level_qty(self, side: int, px: int) -> int:
        return sum(self._orders[i - 1].left_qty for i in self._sides[side][px])

    def _emit(self, *ev: int) -> None:
        assert len(ev) == 10
        self._events.append(ev)  # type: ignore[arg-type]

    def _close(self, o: OrderRef, status: int, reason: int, kind: int, ts_ns: int) -> None:
        q = o.left_qty
        o.closed_qty += q
        o.left_qty = 0
        o.status = status
        o.reason = reason
        self._emit(kind, o.order_id, 0, o.px, q, 0, 0, -1, reason, ts_ns)

    def _unlink(self, o: OrderRef) -> None:
        level = self._sides[o.side][o.px]
        del level[o.order_id]
        if not level:
            del self._sides[o.side][o.px]

    def _crossing_prices(self, t: OrderRef) -> list[int]:
        opp = 1 - t.side
        return [
            p
            for p in self._best_first(opp)
            if t.kind == MARKET or (p <= t.px if t.side == BUY else p >= t.px)
        ]

    def _fok_fillable(self, t: OrderRef) -> bool:
        avail = 0
        for p in self._crossing_prices(t):
            for mid in self._sides[1 - t.side][p]:
                m = self._orders[mid - 1]
                if t.stp != NONE and m.account == t.account:
                    if t.stp == EXPIRE_MAKER:
                        continue
                    return False
                avail += m.left_qty
                if avail >= t.left_qty:
                    return True
        return False

    def _match(self, t: OrderRef, ts_ns: int) -> None:
        opp = 1 - t.side
        for p in self._crossing_prices(t):
            for mid in list(self._sides[opp][p]):
                if t.left_qty == 0:
                    return
                m = self._orders[mid - 1]
                if t.stp != NONE and m.account == t.account:
                    if t.stp == EXPIRE_TAKER:
                        self._close(t, EXPIRED, STP_EXPIRED, EV_EXPIRED, ts_ns)
                        return
                    self._unlink(m)
                    self._close(m, EXPIRED, STP_EXPIRED, EV_EXPIRED, ts_ns)
                    if t.stp == EXPIRE_BOTH:
                        self._close(t, EXPIRED, STP_EXPIRED, EV_EXPIRED, ts_ns)
                        return
                    continue
                q = min(t.left_qty, m.left_qty)
                notional = p * q
                tf = fee_of(notional, self.taker_fee_ppm)
                mf = fee_of(notional, self.maker_fee_ppm)
                for o, fee in ((t, tf), (m, mf)):
                    o.left_qty -= q
                    o.executed_qty += q
                    o.cum_quote += notional
                    o.cum_fee += fee
                    o.status = FILLED if o.left_qty == 0 else PARTIALLY_FILLED
                self.n_trades += 1
                self._emit(EV_TRADE, t.order_id, m.order_id, p, q, tf, mf, opp, NO_REASON, ts_ns)
                if m.left_qty == 0:
                    self._unlink(m)
            if t.left_qty == 0:
                return

    def _rest(self, o: OrderRef) -> None:
        self._sides[o.side].setdefault(o.px, {})[o.order_id] = None

    def _reject_reason(self, side: int, kind: int, tif: int, px: int, qty: int, stp: int) -> int:
        if side not in (BUY, SELL):
            return BAD_SIDE
        if kind not in (LIMIT, MARKET, LIMIT_MAKER):
            return BAD_KIND
        if tif not in (GTC, IOC, FOK, GTX):
            return BAD_TIF
        if stp not in (NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH):
            return BAD_STP
        if qty <= 0:
            return BAD_QTY
        if kind != MARKET and px <= 0:
            return BAD_PX
        if (kind == MARKET and tif == GTX) or (kind == LIMIT_MAKER and tif in (IOC, FOK)):
            return BAD_TIF
        opp = self._sides[1 - side]
        if side == BUY:
            bound = px if kind != MARKET else (opp.peekitem(-1)[0] if opp else 0)
        else:
            bound = max(0 if kind == MARKET else px, opp.peekitem(-1)[0] if opp else 0)
        if bound * qty > INT64_MAX:
            return OVERFLOW
        at_level = self._level_qty(side, px) if px in self._sides[side] else 0
        if kind != MARKET and at_level + qty > INT64_MAX:
            return OVERFLOW
        return NO_REASON

    # ---- API --------------------------------------------------------------------------------

    def submit(
        self,
        account: int,
        client_id: int,
        side: int,
        kind: int,
        tif: int,
        px: int,
        qty: int,
        stp: int,
        ts_ns: int,
    ) -> int:
        oid = len(self._orders) + 1
        o = OrderRef(
            oid, NEW, NO_REASON, side, kind, tif, stp, account, client_id,
            0 if kind == MARKET else px, qty, 0, 0, 0, 0, 0, ts_ns,
        )  # fmt: skip
        self._orders.append(o)
        reason = self._reject_reason(side, kind, tif, px, qty, stp)
        if reason != NO_REASON:
            o.closed_qty = qty
            o.status = REJECTED
            o.reason = reason
            self._emit(EV_REJECTED, oid, 0, px, qty, 0, 0, -1, reason, ts_ns)
            return oid
        o.left_qty = qty
        self._emit(EV_NEW, oid, 0, o.px, qty, 0, 0, -1, NO_REASON, ts_ns)
        if kind == LIMIT_MAKER or tif == GTX:
            if self._crossing_prices(o):
                self._close(o, EXPIRED, POST_ONLY_WOULD_TAKE, EV_EXPIRED, ts_ns)
            else:
                self._rest(o)
            return oid
        if tif == FOK and not self._fok_fillable(o):
            self._close(o, EXPIRED, FOK_NOT_FILLABLE, EV_EXPIRED, ts_ns)
            return oid
        self._match(o, ts_ns)
        if o.left_qty > 0 and o.status in (NEW, PARTIALLY_FILLED):
            if kind == LIMIT and tif == GTC:
                self._rest(o)
            else:
                why = MARKET_REMAINDER if kind == MARKET else IOC_REMAINDER
                self._close(o, EXPIRED, why, EV_EXPIRED, ts_ns)
        return oid

    def cancel(self, order_id: int, ts_ns: int = 0) -> bool:
        if not 1 <= order_id <= len(self._orders):
            return False
        o = self._orders[order_id - 1]
        if o.status not in (NEW, PARTIALLY_FILLED):
            return False
        self._unlink(o)
        self._close(o, CANCELED, NO_REASON, EV_CANCELED, ts_ns)
        return True

    def cancel_all(self, account: int, ts_ns: int = 0) -> int:
        ids = self.open_orders(account)
        for oid in ids:
            self.cancel(oid, ts_ns)
        return len(ids)

    def drain(self) -> list[Event]:
        out, self._events = self._events, []
        return out

    def order(self, order_id: int) -> dict[str, Any]:
        if not 1 <= order_id <= len(self._orders):
            raise KeyError(order_id)
        return dict(vars(self._orders[order_id - 1]))

    def best_bid(self) -> tuple[int, int] | None:
        d = self.depth(BUY, 1)
        return d[0] if d else None

    def best_ask(self) -> tuple[int, int] | None:
        d = self.depth(SELL, 1)
        return d[0] if d else None

    def depth(self, side: int, n: int) -> list[tuple[int, int]]:
        if side not in (BUY, SELL):
            raise ValueError(f"side must be BUY (0) or SELL (1), got {side}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        return [(p, self._level_qty(side, p)) for p in self._best_first(side)[:n]]

    def open_orders(self, account: int) -> list[int]:
        return sorted(
            oid
            for levels in self._sides
            for ids in levels.values()
            for oid in ids
            if self._orders[oid - 1].account == account
        )

    def check_invariants(self) -> int:
        bids, asks = self._sides
        if bids and asks and bids.peekitem(-1)[0] >= asks.peekitem(0)[0]:
            raise InvariantError("book crossed")
        for levels in self._sides:
            for ids in levels.values():
                if not ids:
                    raise InvariantError("empty level")
        for o in self._orders:
            if o.executed_qty + o.left_qty + o.closed_qty != o.orig_qty:
                raise InvariantError(f"order {o.order_id} does not conserve qty")
        return 0
