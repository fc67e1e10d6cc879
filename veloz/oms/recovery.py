"""Gateway recovery: rebuild the order state from the journal, then reconcile with the venue.

Owns `rebuild` (journal records -> `ExecState` and the gateway's `OrderRecord` table) and
`reconcile` (the venue's open orders and the final state of every order the journal leaves
live, each handed to the gateway's emit hook, which journals, applies and publishes it).
The gateway refuses commands until `reconcile` returns. Must not talk to a venue except
through `VenueExec`, publish or journal itself (the emit hook does), or retry an order.

Known limit: fills that happened while the gateway was down are learned as the orders'
cumulative filled quantity (their final `OrderUpdate`), not as individual fills; positions
booked from fills miss them until a venue trade-history call exists on `VenueExec`.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.oms.journal import CancelAllSent
from veloz.oms.journal import CancelSent
from veloz.oms.journal import Entry
from veloz.oms.journal import OrderSent
from veloz.oms.orders import OrderRecord
from veloz.oms.orders import remember
from veloz.oms.state import ExecState
from veloz.oms.state import OrderEntry
from veloz.oms.venue import VenueExec

__all__ = [
    "NOT_AT_VENUE",
    "RETRY_DELAYS_S",
    "ReconcileCounts",
    "rebuild",
    "reconcile",
    "rejected_update",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Seconds between tries of one venue call during reconciliation (the last one repeats).
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0)
# The reason published for an order the venue does not know after a restart.
NOT_AT_VENUE = "not at venue after gateway restart"


@dataclass(slots=True)
class ReconcileCounts:
    """What reconciliation found (all counters).

    ``n_open``: open orders the venue listed; ``n_adopted``: of those, orders the journal did
    not know; ``n_queried``: orders the journal left live that the venue did not list;
    ``n_gone``: of those, orders the venue does not know (published REJECTED);
    ``n_unresolved``: orders whose state could not be learned (left live, logged).
    """

    n_open: int = 0
    n_adopted: int = 0
    n_queried: int = 0
    n_gone: int = 0
    n_unresolved: int = 0


def rejected_update(
    venue: str, cid: str, rec: OrderRecord | OrderEntry, reason: str, order_id: int = 0
) -> OrderUpdate:
    """Build the REJECTED `OrderUpdate` of an order the venue refused or does not know."""
    if isinstance(rec, OrderRecord):
        side, ord_type, filled = rec.side, rec.ord_type, rec.filled_qty
    else:
        side, ord_type, filled = rec.side, rec.order_type, rec.filled_qty
    return OrderUpdate(
        venue,
        rec.symbol,
        cid,
        order_id or rec.order_id,
        side,
        ord_type,
        rec.tif,
        OrderStatus.REJECTED,
        "REJECTED",
        rec.px,
        rec.qty,
        filled,
        reason,
        0,
        time.monotonic_ns(),
    )


def rebuild(
    entries: Iterable[Entry],
    venue: str,
    state: ExecState,
    records: dict[str, OrderRecord],
    slot_by_symbol: dict[str, int],
) -> int:
    """Apply journal records to `state` and `records` in order; return how many were applied.

    Parameters
    ----------
    entries : iterable of Entry
        `journal.replay` or `Journal.entries`.
    venue : str
        The gateway's venue name (of the orders it sent).
    state : ExecState
        Fresh state to rebuild.
    records : dict of str to OrderRecord
        The gateway's (empty) routing records; orders on symbols no longer configured get no
        record (their events go to nobody) but stay in `state`.
    slot_by_symbol : dict of str to int
        The configured symbols' slots.
    """
    n = 0
    for e in entries:
        n += 1
        if isinstance(e, OrderSent):
            o = e.order
            state.orders.on_sent(
                o.client_order_id,
                e.strategy,
                venue,
                o.symbol,
                o.side,
                o.order_type,
                o.tif,
                o.px,
                o.qty,
            )
            slot = slot_by_symbol.get(o.symbol)
            if slot is not None:
                remember(records, o.client_order_id, OrderRecord(e.strategy, e.inst, slot, o))
        elif isinstance(e, CancelSent):
            state.orders.on_cancel_sent(e.client_order_id)
        elif isinstance(e, CancelAllSent):
            pass  # its answers (journaled updates) say which orders it canceled
        else:
            state.apply(e)
            if isinstance(e, OrderUpdate):
                rec = records.get(e.client_order_id)
                if rec is not None:
                    rec.apply(e)
    return n


async def _retry(what: str, call: Callable[[], Awaitable[_T]]) -> _T:
    # Call until the venue answers; VenueError / WireError are retried with a back-off
    # (about 15 s in all), then raised.
    i = 0
    while True:
        try:
            return await call()
        except (VenueError, WireError) as exc:
            delay_s = RETRY_DELAYS_S[min(i, len(RETRY_DELAYS_S) - 1)]
            log.warning(
                "recovery.venue_failed call=%s error=%.200s retry_in_s=%s", what, exc, delay_s
            )
            i += 1
            if i > 8:
                raise
            await asyncio.sleep(delay_s)


async def reconcile(
    venue: VenueExec, state: ExecState, emit: Callable[[OrderUpdate], None]
) -> ReconcileCounts:
    """Learn from the venue the state of every order the journal leaves live; emit it.

    Every order the venue lists as open is emitted (an unknown one is adopted by the emit
    hook's state). Every live order the venue does not list is queried and its final state
    emitted; one the venue does not know is emitted REJECTED (`NOT_AT_VENUE`).

    Parameters
    ----------
    venue : VenueExec
        Started order entry.
    state : ExecState
        The rebuilt state (read here; the emit hook applies what is emitted).
    emit : callable
        Takes one `OrderUpdate`: journal, apply to `state` and publish it.

    Returns
    -------
    ReconcileCounts

    Raises
    ------
    VenueError, WireError
        The venue's open orders could not be read after repeated tries.
    """
    c = ReconcileCounts()
    live = [e for e in state.orders.orders.values() if e.is_live]
    open_now: list[OrderUpdate] = await _retry("open_orders", venue.open_orders)
    listed = {u.client_order_id for u in open_now}
    c.n_open = len(open_now)
    for u in open_now:
        if state.orders.get(u.client_order_id) is None:
            c.n_adopted += 1
        emit(u)
    for e in live:
        if e.cid in listed or not e.is_live:
            continue
        c.n_queried += 1
        symbol, cid = e.symbol, e.cid

        def query(symbol: str = symbol, cid: str = cid) -> Awaitable[OrderUpdate]:
            return venue.query(symbol, client_order_id=cid)

        try:
            u = await _retry("query", query)
        except OrderRejected:  # the venue does not know it: never placed
            c.n_gone += 1
            emit(rejected_update(e.venue, cid, e, NOT_AT_VENUE))
            continue
        except (VenueError, WireError) as exc:
            c.n_unresolved += 1
            log.error("recovery.order_unresolved cid=%s symbol=%s error=%.200s", cid, symbol, exc)
            continue
        emit(u)
    log.info(
        "recovery.reconciled open=%d adopted=%d queried=%d gone=%d unresolved=%d",
        c.n_open,
        c.n_adopted,
        c.n_queried,
        c.n_gone,
        c.n_unresolved,
    )
    return c
