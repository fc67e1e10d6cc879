"""Order state machine per client order id, idempotent under duplicated and late venue events.

Owns `OrderState`, `OrderEntry` (what is known of one order), `OrderChange` / `FillChange`
(what an event changed, for publishing), `OrderTable` (the orders, fill dedupe and anomaly
counters) and `ExecState` (orders plus `positions.Positions`, fed every `ExecEvent`). Must not
talk to a venue or the bus, journal anything, or decide anything about an order.

Ordering model (what the venue guarantees and what this module tolerates):

- The venue's user stream delivers one connection's events of one type in transaction order,
  so the fills of one symbol arrive in trade order (Binance: ordered by ``T``). Positions and
  PnL depend on that order (average cost is path dependent) and are exact only when it holds.
- Order updates come from several sources (order-entry answers, the user stream, REST
  reconciliation after a reconnect) and may arrive in any order and any number of times.
  An order's state is therefore a *join* of what was seen: its venue status only moves up the
  rank NEW < PARTIALLY_FILLED < terminal, its filled quantity is the largest cumulative one
  seen (from updates) or the sum of its distinct fills, whichever is larger, and the exposed
  `OrderState` is a function of those. Any permutation and duplication of the same updates
  ends in the same state.
- A fill (new trade id) may arrive after a terminal update (a cancel ack that raced a trade,
  or a REST answer ahead of the stream): it is booked, the terminal status stays, and its
  quantity raises the filled qty. Should fills reach the order quantity the state is FILLED
  whatever terminal status the venue sent (a fill is a fact; the cancel ack lost the race).
- A second, different terminal status for an order contradicts the venue: counted in
  ``n_conflict``, the first one stays.
"""

import logging
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from veloz.model.events import BalanceUpdate
from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.events import PositionUpdate
from veloz.model.instrument import Instrument
from veloz.oms.positions import Positions

__all__ = [
    "MAX_FILL_KEYS",
    "ExecState",
    "FillChange",
    "OrderChange",
    "OrderEntry",
    "OrderState",
    "OrderTable",
]

log = logging.getLogger(__name__)

# Fill dedupe keys remembered; past this the oldest are forgotten (a replay older than a
# million fills is not expected from a reconnect).
MAX_FILL_KEYS = 1_000_000


class OrderState(StrEnum):
    """What the OMS believes of an order: the venue's statuses plus two local pending ones.

    PENDING_NEW: sent, no venue answer yet. PENDING_CANCEL: a cancel was sent and the order is
    not yet terminal.
    """

    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        """True once no further fill is expected (a racing fill is still booked)."""
        return self in _TERMINAL_STATES


_TERMINAL_STATES = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.EXPIRED}
)


def _rank(status: OrderStatus | None) -> int:
    # Venue statuses only move up this rank; all terminal ones share the top.
    if status is None:
        return 0
    if status is OrderStatus.NEW:
        return 1
    if status is OrderStatus.PARTIALLY_FILLED:
        return 2
    return 3


class OrderEntry:
    """What is known of one order: identity, request, the joined venue status and fills.

    Quantities are raws at the instrument's qty_dp, ``px`` a raw at its price_dp. ``qty`` is 0
    when unknown (an order adopted from a fill). Mutated only by `OrderTable`.
    """

    __slots__ = (
        "cid",
        "filled_by_fills",
        "filled_by_updates",
        "is_cancel_pending",
        "last_exch_ns",
        "n_fills",
        "order_id",
        "order_type",
        "px",
        "qty",
        "reason",
        "side",
        "strategy",
        "symbol",
        "tif",
        "venue",
        "venue_status",
    )

    def __init__(
        self,
        cid: str,
        strategy: str,
        venue: str,
        symbol: str,
        side: str,
        order_type: str,
        tif: str,
        px: int,
        qty: int,
    ) -> None:
        self.cid = cid
        self.strategy = strategy
        self.venue = venue
        self.symbol = symbol
        self.side = side
        self.order_type = order_type
        self.tif = tif
        self.px = px
        self.qty = qty
        self.order_id = 0
        self.venue_status: OrderStatus | None = None  # None: no venue answer yet
        self.is_cancel_pending = False
        self.filled_by_updates = 0  # largest cumulative filled qty an update reported
        self.filled_by_fills = 0  # sum of the qty of the order's distinct fills
        self.n_fills = 0
        self.reason = ""
        self.last_exch_ns = 0

    @property
    def filled_qty(self) -> int:
        """Filled quantity raw at qty_dp: the larger of the update and fill views."""
        return max(self.filled_by_updates, self.filled_by_fills)

    @property
    def state(self) -> OrderState:
        """The order's state, a pure function of the joined facts (so order-independent)."""
        filled = self.filled_qty
        vs = self.venue_status
        if self.qty > 0 and filled >= self.qty:
            return OrderState.FILLED
        if vs is not None and vs.is_terminal:
            return OrderState(vs.value)
        if self.is_cancel_pending:
            return OrderState.PENDING_CANCEL
        if filled > 0:
            return OrderState.PARTIALLY_FILLED
        if vs is None:
            return OrderState.PENDING_NEW
        return OrderState(vs.value)

    @property
    def is_live(self) -> bool:
        """True until the order is in a terminal state."""
        return not self.state.is_terminal


@dataclass(frozen=True, slots=True)
class OrderChange:
    """What one event changed on one order (publish it; None is returned when nothing did).

    ``old_state`` is None for an order first seen in this event. Quantities are raws at the
    instrument's qty_dp.
    """

    cid: str
    strategy: str
    venue: str
    symbol: str
    old_state: OrderState | None
    state: OrderState
    old_filled_qty: int
    filled_qty: int
    reason: str
    exch_ns: int

    @property
    def filled_delta(self) -> int:
        """Quantity newly filled by this event, raw at qty_dp (>= 0)."""
        return self.filled_qty - self.old_filled_qty


@dataclass(frozen=True, slots=True)
class FillChange:
    """A fill seen for the first time, its owner, and what it changed on its order."""

    fill: Fill
    strategy: str
    order: OrderChange | None


class OrderTable:
    """Orders by client order id, with idempotent update and fill application.

    Counters (all ``n_*``, read them directly): ``n_duplicate`` (an update or fill seen
    before), ``n_stale`` (an update behind what is known, nothing taken), ``n_out_of_order``
    (an update behind in one respect but carrying news in another, or a new fill after a
    terminal update), ``n_unknown`` (an order first seen in a venue event, adopted),
    ``n_overfill`` (filled qty grew past the order qty), ``n_fill_mismatch`` (distinct fills
    add up to more than a terminal update's cumulative qty), ``n_conflict`` (a second,
    different terminal status).
    """

    __slots__ = (
        "_fill_keys",
        "_fill_order",
        "n_conflict",
        "n_duplicate",
        "n_fill_mismatch",
        "n_out_of_order",
        "n_overfill",
        "n_stale",
        "n_unknown",
        "orders",
    )

    def __init__(self) -> None:
        self.orders: dict[str, OrderEntry] = {}
        # (venue, symbol, trade id, venue order id): a self-trade gives both sides one id
        self._fill_keys: set[tuple[str, str, int, int]] = set()
        self._fill_order: deque[tuple[str, str, int, int]] = deque()
        self.n_duplicate = 0
        self.n_stale = 0
        self.n_out_of_order = 0
        self.n_unknown = 0
        self.n_overfill = 0
        self.n_fill_mismatch = 0
        self.n_conflict = 0

    def get(self, cid: str) -> OrderEntry | None:
        """Return the order with client id `cid`, or None. O(1)."""
        return self.orders.get(cid)

    def strategy_of(self, cid: str) -> str:
        """Return the strategy owning `cid`, or "" when none is known. O(1)."""
        e = self.orders.get(cid)
        return e.strategy if e is not None else ""

    def on_sent(
        self,
        cid: str,
        strategy: str,
        venue: str,
        symbol: str,
        side: str,
        order_type: str,
        tif: str,
        px: int,
        qty: int,
    ) -> OrderChange:
        """Record a new order as sent (PENDING_NEW). O(1).

        Parameters
        ----------
        cid, strategy : str
            Client order id and the owning strategy's name.
        venue, symbol, side, order_type, tif : str
            As in `OrderUpdate`.
        px, qty : int
            Limit price raw at price_dp (0 for market), quantity raw at qty_dp (> 0).

        Returns
        -------
        OrderChange
            ``old_state`` None (or the state of an order with the same id, which is replaced:
            a reused id is a new order).
        """
        old = self.orders.pop(cid, None)
        e = OrderEntry(cid, strategy, venue, symbol, side, order_type, tif, px, qty)
        self.orders[cid] = e
        return OrderChange(
            cid,
            strategy,
            venue,
            symbol,
            None if old is None else old.state,
            e.state,
            0,
            0,
            "",
            0,
        )

    def on_cancel_sent(self, cid: str) -> OrderChange | None:
        """Mark a cancel as sent: a live order goes PENDING_CANCEL. None if unknown or final."""
        e = self.orders.get(cid)
        if e is None or e.is_cancel_pending:
            return None
        old_state, old_filled = e.state, e.filled_qty
        e.is_cancel_pending = True
        return self._change(e, old_state, old_filled)

    def on_cancel_rejected(self, cid: str, reason: str = "") -> OrderChange | None:
        """The venue refused a cancel: leave PENDING_CANCEL (the order's own state stays)."""
        e = self.orders.get(cid)
        if e is None or not e.is_cancel_pending:
            return None
        old_state, old_filled = e.state, e.filled_qty
        e.is_cancel_pending = False
        if reason:
            e.reason = reason
        return self._change(e, old_state, old_filled)

    def apply_update(self, u: OrderUpdate) -> OrderChange | None:
        """Join a venue `OrderUpdate` into its order; return what changed, or None.

        Idempotent: a duplicate is a no-op, a late update never moves the order back (see the
        module notes for the rules). An unknown id is adopted with strategy "". O(1).
        """
        e = self.orders.get(u.client_order_id)
        old_state: OrderState | None
        if e is None:
            self.n_unknown += 1
            log.info(
                "oms_order_adopted cid=%s symbol=%s status=%s",
                u.client_order_id,
                u.symbol,
                u.status,
            )
            e = OrderEntry(
                u.client_order_id,
                "",
                u.venue,
                u.symbol,
                u.side,
                u.order_type,
                u.tif,
                u.px,
                u.qty,
            )
            self.orders[u.client_order_id] = e
            old_state = None
        else:
            old_state = e.state
        old_filled = e.filled_qty
        if not e.order_id and u.order_id:
            e.order_id = u.order_id
        if not e.qty and u.qty:
            e.qty = u.qty  # an order adopted from a fill learns its size
            e.px, e.order_type, e.tif = u.px, u.order_type, u.tif
        vs = e.venue_status
        r_old, r_new = _rank(vs), _rank(u.status)
        status_gain = r_new > r_old
        fill_gain = u.filled_qty > e.filled_by_updates
        if vs is not None and vs.is_terminal and u.status.is_terminal and u.status is not vs:
            self.n_conflict += 1
            log.warning(
                "oms_status_conflict cid=%s kept=%s got=%s", e.cid, vs.value, u.status.value
            )
        elif not status_gain and not fill_gain:
            if u.status is vs and u.filled_qty == e.filled_by_updates:
                self.n_duplicate += 1
            else:
                self.n_stale += 1
            if old_state is not None:
                return None
        elif (status_gain and u.filled_qty < e.filled_by_updates) or (fill_gain and r_new < r_old):
            self.n_out_of_order += 1
        if status_gain:
            e.venue_status = u.status
            if u.reason:
                e.reason = u.reason
        if fill_gain:
            e.filled_by_updates = u.filled_qty
        e.last_exch_ns = max(e.last_exch_ns, u.exch_ns)
        if (
            status_gain
            and u.status.is_terminal
            and e.filled_by_fills > e.filled_by_updates
            and u.status is not OrderStatus.FILLED
        ):
            self.n_fill_mismatch += 1
        self._check_overfill(e, old_filled)
        return self._change(e, old_state, old_filled)

    def known_fills(self, venue: str) -> tuple[set[tuple[int, int]], dict[str, int]]:
        """The (trade id, venue order id) pairs booked on `venue`, and the highest trade id
        per symbol (where a trade-history catch-up resumes). O(fills kept)."""
        pairs: set[tuple[int, int]] = set()
        last: dict[str, int] = {}
        for v, symbol, trade_id, order_id in self._fill_keys:
            if v == venue:
                pairs.add((trade_id, order_id))
                if trade_id > last.get(symbol, -1):
                    last[symbol] = trade_id
        return pairs, last

    def apply_fill(self, f: Fill) -> FillChange | None:
        """Book a fill on its order once; None if seen.

        Dedupe key: venue, symbol, trade id and venue order id (a self-trade gives both of
        its sides the same trade id).

        The fill's qty adds to the order's fill view of its filled qty. An unknown id is
        adopted (qty unknown until an update says). O(1).
        """
        key = (f.venue, f.symbol, f.trade_id, f.order_id)
        if key in self._fill_keys:
            self.n_duplicate += 1
            return None
        self._fill_keys.add(key)
        self._fill_order.append(key)
        if len(self._fill_order) > MAX_FILL_KEYS:
            self._fill_keys.discard(self._fill_order.popleft())
        e = self.orders.get(f.client_order_id)
        old_state: OrderState | None
        if e is None:
            self.n_unknown += 1
            log.info(
                "oms_order_adopted cid=%s symbol=%s from=fill trade_id=%d",
                f.client_order_id,
                f.symbol,
                f.trade_id,
            )
            e = OrderEntry(f.client_order_id, "", f.venue, f.symbol, f.side, "", "", 0, 0)
            self.orders[f.client_order_id] = e
            old_state = None
        else:
            old_state = e.state
        old_filled = e.filled_qty
        if not e.order_id and f.order_id:
            e.order_id = f.order_id
        vs = e.venue_status
        if vs is not None and vs.is_terminal:
            self.n_out_of_order += 1  # a fill booked after the venue's final word
        e.filled_by_fills += f.qty
        e.n_fills += 1
        e.last_exch_ns = max(e.last_exch_ns, f.exch_ns)
        if vs is not None and vs.is_terminal and e.filled_by_fills > e.filled_by_updates:
            self.n_fill_mismatch += 1
            log.warning(
                "oms_fill_mismatch cid=%s fills=%d final=%d",
                e.cid,
                e.filled_by_fills,
                e.filled_by_updates,
            )
        self._check_overfill(e, old_filled)
        ch = self._change(e, old_state, old_filled)
        return FillChange(f, e.strategy, ch)

    def _check_overfill(self, e: OrderEntry, old_filled: int) -> None:
        filled = e.filled_qty
        if e.qty and filled > e.qty and filled > old_filled:
            self.n_overfill += 1
            log.warning("oms_overfill cid=%s qty=%d filled=%d", e.cid, e.qty, filled)

    @staticmethod
    def _change(e: OrderEntry, old_state: OrderState | None, old_filled: int) -> OrderChange | None:
        state, filled = e.state, e.filled_qty
        if state is old_state and filled == old_filled:
            return None
        return OrderChange(
            e.cid,
            e.strategy,
            e.venue,
            e.symbol,
            old_state,
            state,
            old_filled,
            filled,
            e.reason,
            e.last_exch_ns,
        )


class ExecState:
    """Orders and positions of one gateway, fed every venue `ExecEvent`.

    Parameters
    ----------
    instruments : iterable of Instrument
        Every instrument fills may arrive for (scales, base and quote assets).
    futures_venues : frozenset of str
        Venues whose instruments are one-way futures (the rest are spot).
    """

    __slots__ = ("orders", "positions")

    def __init__(
        self,
        instruments: "list[Instrument] | tuple[Instrument, ...]",
        futures_venues: frozenset[str] = frozenset({"binance-usdm"}),
    ) -> None:
        self.orders = OrderTable()
        self.positions = Positions(instruments, futures_venues)

    def apply(self, ev: ExecEvent) -> OrderChange | FillChange | int | None:
        """Apply one venue event; return what changed.

        Returns
        -------
        OrderChange, FillChange, int or None
            An `OrderChange` for an update that changed its order, a `FillChange` for a new
            fill (booked on its order and its owner's positions), for a balance or position
            snapshot the difference from the computed value (raw at `ASSET_DP` or at qty_dp),
            None when nothing changed.
        """
        if isinstance(ev, OrderUpdate):
            return self.orders.apply_update(ev)
        if isinstance(ev, Fill):
            ch = self.orders.apply_fill(ev)
            if ch is not None:
                self.positions.apply_fill(ev, ch.strategy)
            return ch
        if isinstance(ev, BalanceUpdate):
            return self.positions.apply_balance(ev)
        if isinstance(ev, PositionUpdate):
            return self.positions.apply_position(ev)
        return None
