"""Order ids and order state of one strategy, inside the strategy process.

Owns client order id generation (unique across restarts, <= 36 chars of ``[A-Za-z0-9_-]``,
the alphabet both Binance spot and USD-M accept),
the per-order state built from our own commands and the gateway's ORDER_EVENTs, the
dedupe of repeated or stale events and of repeated fills (by trade id), and the list of
orders sent without any answer yet with when to ask the gateway about each (`overdue`:
first after the runtime's timeout, then at doubling intervals). Must not send anything,
touch a socket or decide trades: the runtime feeds it and the strategy reads it.
"""

import logging
import os
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

log = logging.getLogger(__name__)

__all__ = [
    "PENDING",
    "STATUS_NAMES",
    "TERMINAL",
    "OrderIds",
    "OrderState",
    "OrderTracker",
    "sanitize_prefix",
]

# Local status of an order sent but not yet acknowledged; the others are `wire.Status`
# values (NEW=1 PARTIALLY_FILLED=2 FILLED=3 CANCELED=4 REJECTED=5 EXPIRED=6), repeated
# here so bookkeeping needs no codec.
PENDING = 0
_NEW = 1
_PARTIALLY_FILLED = 2
TERMINAL = frozenset({3, 4, 5, 6})
STATUS_NAMES = {
    0: "PENDING",
    1: "NEW",
    2: "PARTIALLY_FILLED",
    3: "FILLED",
    4: "CANCELED",
    5: "REJECTED",
    6: "EXPIRED",
}
# Progress rank: an event is news only if it moves the rank or the filled qty forward.
_RANK = {PENDING: 0, _NEW: 1, _PARTIALLY_FILLED: 2, 3: 3, 4: 3, 5: 3, 6: 3}

_PREFIX_MAX = 12
_ID_MAX = 36
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_BAD_PREFIX_CHARS = re.compile(r"[^A-Za-z0-9_-]")
# newClientOrderId: spot allows ^[a-zA-Z0-9-_]{1,36}$, USD-M also '.', ':' and '/'; ids
# here use the spot set so one strategy class runs on either.
CLIENT_ORDER_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,36}$")

# Terminal orders and fill trade ids are kept this long (in entries) for dedupe.
_KEEP_TERMINAL = 10_000
_KEEP_TRADE_IDS = 100_000
# An unanswered order is asked about after the timeout, then after 2, 4, 8 and at most 16
# timeouts: a gateway that stays away gets a trickle, not a flood.
_MAX_BACKOFF_SHIFT = 4
_ASK_NOW = -1  # an unanswered entry's "last" that makes the next look ask at once


def _b36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


def sanitize_prefix(name: str) -> str:
    """Return the id prefix for strategy `name`: ``[A-Za-z0-9_-]`` only, at most 12 chars.

    Other characters become ``_``; an empty result is ``"vz"``.
    """
    prefix = _BAD_PREFIX_CHARS.sub("_", name)[:_PREFIX_MAX]
    return prefix or "vz"


class OrderIds:
    """Client order ids ``<prefix>-<session><counter>``, unique across restarts.

    The session part is the wall clock in ms at construction (base 36, 8 chars until
    year 2059) plus 3 random base-36 chars, so two processes started in the same
    millisecond still differ; the counter is base 36. Every id matches
    ``^[A-Za-z0-9_-]{1,36}$`` (Binance spot's rule, stricter than USD-M's).

    Parameters
    ----------
    name : str
        The strategy name; sanitised into the prefix (`sanitize_prefix`).
    wall_ns : int or None
        Wall-clock ns used for the session part (tests); now when None.
    """

    __slots__ = ("_base", "_n")

    def __init__(self, name: str, wall_ns: int | None = None) -> None:
        wall = time.time_ns() if wall_ns is None else wall_ns
        rand = int.from_bytes(os.urandom(4), "little") % 36**3
        session = _b36(wall // 1_000_000) + _b36(rand).rjust(3, "0")
        self._base = f"{sanitize_prefix(name)}-{session}"
        self._n = 0

    def next(self) -> str:
        """Return a fresh id. O(1)."""
        self._n += 1
        cid = self._base + _b36(self._n)
        if len(cid) > _ID_MAX:  # would need ~36**12 orders in one session
            raise OverflowError(f"client order id counter exhausted for {self._base}")
        return cid


@dataclass(slots=True)
class OrderState:
    """One order of a strategy as the strategy process knows it.

    Prices are raws at ``price_dp``, quantities raws at ``qty_dp``. ``status`` is
    `PENDING` (sent, not acknowledged) or a `wire.Status` value; ``side``, ``ord_type`` and
    ``tif`` are `wire.Side`, `wire.OrdType`, `wire.Tif` values. ``px`` is 0 for a market order.
    """

    client_order_id: str
    symbol: str
    inst: int
    side: int
    ord_type: int
    tif: int
    px: int
    qty: int
    price_dp: int
    qty_dp: int
    status: int = PENDING
    filled_qty: int = 0
    venue_order_id: int = 0
    reason: str = ""
    sent_mono_ns: int = 0
    cancel_sent: bool = False

    @property
    def is_open(self) -> bool:
        """True until a terminal status (FILLED, CANCELED, REJECTED, EXPIRED) arrives."""
        return self.status not in TERMINAL

    @property
    def status_name(self) -> str:
        """The status as text ("PENDING", "NEW", ... "EXPIRED")."""
        return STATUS_NAMES.get(self.status, str(self.status))


class OrderTracker:
    """Open and recent orders of one strategy, and the dedupe of its events and fills.

    Counters: ``n_sent``, ``n_events``, ``n_duplicate_events`` (same status and filled qty
    again), ``n_stale_events`` (older status or smaller filled qty than known, or anything
    after a terminal status), ``n_unknown_orders`` (an event for an id this process did not
    send, e.g. from before a restart: tracked from then on), ``n_fills``,
    ``n_duplicate_fills``; ``n_unanswered`` is how many orders sent have had no event yet.
    """

    __slots__ = (
        "_fill_ids",
        "_open",
        "_terminal",
        "_unanswered",
        "n_duplicate_events",
        "n_duplicate_fills",
        "n_events",
        "n_fills",
        "n_sent",
        "n_stale_events",
        "n_unknown_orders",
    )

    def __init__(self) -> None:
        self._open: dict[str, OrderState] = {}
        self._terminal: OrderedDict[str, OrderState] = OrderedDict()
        self._fill_ids: OrderedDict[tuple[int, int, str], None] = OrderedDict()
        # Orders sent without any event yet: cid -> [mono ns last sent or asked, times asked].
        self._unanswered: dict[str, list[int]] = {}
        self.n_sent = 0
        self.n_events = 0
        self.n_duplicate_events = 0
        self.n_stale_events = 0
        self.n_unknown_orders = 0
        self.n_fills = 0
        self.n_duplicate_fills = 0

    def add(self, order: OrderState) -> None:
        """Track an order just sent (status `PENDING`), unanswered since its
        ``sent_mono_ns``. O(1)."""
        self._open[order.client_order_id] = order
        self._unanswered[order.client_order_id] = [order.sent_mono_ns, 0]
        self.n_sent += 1

    @property
    def n_unanswered(self) -> int:
        """Orders sent that have had no event yet."""
        return len(self._unanswered)

    def overdue(self, now_ns: int, after_ns: int, limit: int) -> tuple[list[OrderState], int]:
        """Return the unanswered orders to ask the gateway about now, and the next time to
        look (mono ns; 0 = none unanswered).

        An order is due `after_ns` after it was sent, then 2, 4, 8 and at most 16 x
        `after_ns` after the last ask; at most `limit` are returned (the rest stay due).
        Each one returned counts as asked at `now_ns`. O(unanswered).
        """
        due: list[OrderState] = []
        next_ns = 0
        for cid, entry in self._unanswered.items():
            last, n_asked = entry
            if last == 0:  # no send time known: count from now
                entry[0] = last = now_ns
            if last == _ASK_NOW:
                at = now_ns
            else:
                at = last + (after_ns << min(n_asked, _MAX_BACKOFF_SHIFT))
            if at <= now_ns and len(due) < limit:
                order = self._open.get(cid)
                if order is not None:
                    due.append(order)
                entry[0] = now_ns
                entry[1] = n_asked + 1
                at = now_ns + (after_ns << min(n_asked + 1, _MAX_BACKOFF_SHIFT))
            if next_ns == 0 or at < next_ns:
                next_ns = at
        return due, next_ns

    def ask_about_open(self) -> int:
        """Make every open order due to be asked about at the next look (the gateway
        restarted: what it published while we were not listening is lost); return how many.
        O(open orders)."""
        for cid in self._open:
            self._unanswered[cid] = [_ASK_NOW, 0]
        return len(self._open)

    def await_answer(self, client_order_id: str, sent_mono_ns: int) -> None:
        """A command about this open order (a cancel) was just sent: unanswered until its
        next event, so a lost answer is asked about like a lost order answer. O(1)."""
        if client_order_id in self._open:
            self._unanswered[client_order_id] = [sent_mono_ns, 0]

    def ask_again(self, client_order_id: str) -> None:
        """The ask about this order did not leave the process: make it due at once. O(1)."""
        entry = self._unanswered.get(client_order_id)
        if entry is not None:
            entry[0] = _ASK_NOW
            entry[1] = max(0, entry[1] - 1)

    def get(self, client_order_id: str) -> OrderState | None:
        """Return the order with this id, open or recently finished, or None. O(1)."""
        order = self._open.get(client_order_id)
        if order is None:
            order = self._terminal.get(client_order_id)
        return order

    def open_orders(self, symbol: str | None = None) -> list[OrderState]:
        """Return the open orders (all, or of `symbol`), oldest first. O(open orders)."""
        if symbol is None:
            return list(self._open.values())
        return [o for o in self._open.values() if o.symbol == symbol]

    def adopt(self, order: OrderState) -> None:
        """Track an order this process did not send (an event for it arrived, e.g. after a
        restart); counted in ``n_unknown_orders``. Its status starts at `PENDING`. O(1)."""
        order.status = PENDING
        self._open[order.client_order_id] = order
        self.n_unknown_orders += 1

    def on_event(
        self,
        client_order_id: str,
        status: int,
        filled_qty: int,
        venue_order_id: int,
        reason: str,
    ) -> OrderState | None:
        """Apply an ORDER_EVENT; return the updated order if it is news, None if not.

        An event is news when it moves the status rank (PENDING < NEW < PARTIALLY_FILLED <
        terminal) or the filled qty forward; anything for a finished or unknown order is
        stale (call `adopt` first to track an unknown one). O(1).
        """
        self.n_events += 1
        self._unanswered.pop(client_order_id, None)  # any event answers the order
        order = self._open.get(client_order_id)
        if order is None:
            done = self._terminal.get(client_order_id)
            if done is not None and done.status == status and done.filled_qty == filled_qty:
                self.n_duplicate_events += 1
            else:
                self.n_stale_events += 1
            return None
        old_rank = _RANK[order.status]
        new_rank = _RANK.get(status, -1)
        if new_rank < 0:
            self.n_stale_events += 1
            return None
        if filled_qty < order.filled_qty or (
            filled_qty == order.filled_qty and new_rank < old_rank
        ):
            self.n_stale_events += 1
            return None
        if filled_qty == order.filled_qty and new_rank == old_rank:
            if status == order.status:
                self.n_duplicate_events += 1
            else:
                self.n_stale_events += 1  # a second, different terminal status
            return None
        order.status = status
        order.filled_qty = filled_qty
        if venue_order_id:
            order.venue_order_id = venue_order_id
        if reason:
            order.reason = reason
        if status in TERMINAL:
            del self._open[client_order_id]
            self._terminal[client_order_id] = order
            if len(self._terminal) > _KEEP_TERMINAL:
                self._terminal.popitem(last=False)
        return order

    def forget(self, client_order_id: str) -> None:
        """Drop an order whose command never left the process (bus refused it). O(1)."""
        self._unanswered.pop(client_order_id, None)
        if self._open.pop(client_order_id, None) is not None:
            self.n_sent -= 1

    def on_fill(self, inst: int, trade_id: int, client_order_id: str) -> bool:
        """Return True if this fill is new; False (counted) if seen before. O(1).

        A fill is keyed by (inst, trade_id, client_order_id): a self-trade fills two of our
        orders with one trade id.
        """
        key = (inst, trade_id, client_order_id)
        if key in self._fill_ids:
            self.n_duplicate_fills += 1
            return False
        self._fill_ids[key] = None
        if len(self._fill_ids) > _KEEP_TRADE_IDS:
            self._fill_ids.popitem(last=False)
        self.n_fills += 1
        return True

    def counters(self) -> dict[str, int]:
        """Return the counters by name."""
        return {
            "n_sent": self.n_sent,
            "n_events": self.n_events,
            "n_duplicate_events": self.n_duplicate_events,
            "n_stale_events": self.n_stale_events,
            "n_unknown_orders": self.n_unknown_orders,
            "n_fills": self.n_fills,
            "n_duplicate_fills": self.n_duplicate_fills,
            "n_open": len(self._open),
            "n_unanswered": len(self._unanswered),
        }
