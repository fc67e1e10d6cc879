"""Gateway recovery: rebuild the order state from the journal, then reconcile with the venue.

Owns `rebuild` (journal records -> `ExecState` and the gateway's `OrderRecord` table),
`catch_up_fills` (the venue's trade history since the last fill the state knows, per symbol,
each trade handed to the gateway's fill hook as a `Fill`, which journals, applies and
publishes it) and `reconcile` (those fills first, then the venue's open orders and the final
state of every order the journal leaves live, each handed to the gateway's emit hook,
also of one the caught-up fills complete).
The gateway refuses commands until `reconcile` returns. Must not talk to a venue except
through `VenueExec`, publish or journal itself (the hooks do), or retry an order.

Without a fill hook (``on_fill=None``) `reconcile` skips the trade history: fills made while
the gateway was down are then learned only as the orders' cumulative filled quantity.
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
from veloz.model.events import Fill
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
    "TRADES_PAGE",
    "FillCounts",
    "ReconcileCounts",
    "catch_up_fills",
    "rebuild",
    "reconcile",
    "rejected_update",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

# Seconds between tries of one venue call during reconciliation (the last one repeats).
RETRY_DELAYS_S = (0.2, 0.5, 1.0, 2.0)
# Trades asked for per trade-history call (Binance's maximum).
TRADES_PAGE = 1000
# The reason published for an order the venue does not know after a restart.
NOT_AT_VENUE = "not at venue after gateway restart"


@dataclass(slots=True)
class FillCounts:
    """What the trade-history catch-up found (all counters).

    ``n_symbols``: symbols read; ``n_pages``: trade-history calls; ``n_trades``: trades
    listed; ``n_new``: of those, fills the state did not know (handed to the hook);
    ``n_adopted``: orders of new fills the state did not know (their client id queried);
    ``n_unmapped``: new fills whose client order id could not be learned (booked under "").
    """

    n_symbols: int = 0
    n_pages: int = 0
    n_trades: int = 0
    n_new: int = 0
    n_adopted: int = 0
    n_unmapped: int = 0


@dataclass(slots=True)
class ReconcileCounts:
    """What reconciliation found (all counters).

    ``n_open``: open orders the venue listed; ``n_adopted``: of those, orders the journal did
    not know; ``n_queried``: orders the journal left live that the venue did not list;
    ``n_gone``: of those, orders the venue does not know (published REJECTED);
    ``n_unresolved``: orders whose state could not be learned (left live, logged);
    ``fills``: the trade-history catch-up's counts (None when it was skipped).
    """

    n_open: int = 0
    n_adopted: int = 0
    n_queried: int = 0
    n_gone: int = 0
    n_unresolved: int = 0
    fills: FillCounts | None = None


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


async def catch_up_fills(
    venue: VenueExec,
    state: ExecState,
    on_fill: Callable[[Fill], None],
    symbols: Iterable[str] | None = None,
) -> FillCounts:
    """Hand every trade since the last fill the state knows, per symbol, to `on_fill`.

    For each symbol the venue's trade history is read from the trade after the last known
    one (from the first trade when none is known but the state has orders there; a symbol
    with neither is skipped), page by page, oldest first. Trades the state has already
    booked are skipped (the hook's state dedupes again, by trade id). Each new fill gets its
    order's client id: from the state by venue order id, else by querying the venue.

    Parameters
    ----------
    venue : VenueExec
        Started order entry.
    state : ExecState
        The rebuilt state (read here; the hook applies what it is given).
    on_fill : callable
        Takes one `Fill`: journal, apply to `state` and publish it.
    symbols : iterable of str, optional
        Symbols to consider (default: every symbol of `venue` the state has orders or
        fills on); one with neither is skipped (no trade to start from).

    Returns
    -------
    FillCounts

    Raises
    ------
    VenueError, WireError
        A trade-history page could not be read after repeated tries.
    """
    c = FillCounts()
    name = venue.venue
    known, last = state.orders.known_fills(name)
    cid_of: dict[tuple[str, int], str] = {}
    has_orders: set[str] = set()
    for e in state.orders.orders.values():
        if e.venue == name:
            has_orders.add(e.symbol)
            if e.order_id:
                cid_of[(e.symbol, e.order_id)] = e.cid
    todo = sorted(set(last) | has_orders) if symbols is None else list(symbols)
    for symbol in todo:
        if symbol not in last and symbol not in has_orders:
            continue
        c.n_symbols += 1
        from_id = last.get(symbol, -1) + 1
        while True:

            def page(symbol: str = symbol, from_id: int = from_id) -> Awaitable[list[Fill]]:
                return venue.trades(symbol, from_id=from_id, limit=TRADES_PAGE)

            fills = await _retry("trades", page)
            c.n_pages += 1
            c.n_trades += len(fills)
            for f in fills:
                if (f.trade_id, f.order_id) in known:
                    continue
                known.add((f.trade_id, f.order_id))
                cid = f.client_order_id or await _cid_of(venue, symbol, f.order_id, cid_of, c)
                c.n_new += 1
                on_fill(Fill(
                    f.venue, f.symbol, cid, f.order_id, f.trade_id, f.side, f.px, f.qty,
                    f.fee, f.fee_asset, f.is_maker, f.realized_pnl, f.exch_ns, f.recv_ns,
                ))  # fmt: skip
            if len(fills) < TRADES_PAGE or fills[-1].trade_id < from_id:
                break
            from_id = fills[-1].trade_id + 1
    log.info(
        "recovery.fills_caught_up symbols=%d pages=%d trades=%d new=%d adopted=%d unmapped=%d",
        c.n_symbols,
        c.n_pages,
        c.n_trades,
        c.n_new,
        c.n_adopted,
        c.n_unmapped,
    )
    return c


async def _cid_of(
    venue: VenueExec, symbol: str, order_id: int, cid_of: dict[tuple[str, int], str], c: FillCounts
) -> str:
    # The client order id of venue order `order_id`: known, else queried (once per order).
    key = (symbol, order_id)
    cid = cid_of.get(key)
    if cid is not None:
        return cid

    def query() -> Awaitable[OrderUpdate]:
        return venue.query(symbol, order_id=order_id)

    try:
        cid = (await _retry("query", query)).client_order_id
        c.n_adopted += 1
    except (OrderRejected, VenueError, WireError) as exc:
        c.n_unmapped += 1
        log.error(
            "recovery.fill_unmapped symbol=%s order_id=%d error=%.200s", symbol, order_id, exc
        )
        cid = ""
    cid_of[key] = cid
    return cid


async def reconcile(
    venue: VenueExec,
    state: ExecState,
    emit: Callable[[OrderUpdate], None],
    *,
    on_fill: Callable[[Fill], None] | None = None,
    symbols: Iterable[str] | None = None,
) -> ReconcileCounts:
    """Learn from the venue the fills and order states the journal misses; hand them on.

    With `on_fill`, first the trades made since the last journaled fill (`catch_up_fills`,
    on `symbols`). Then every order the venue lists as open is emitted (an unknown one is
    adopted by the emit hook's state). Every order the journal left live that the venue does
    not list is queried and its final state emitted, also when the caught-up fills already
    complete it (the update is what ends its routing record and tells its strategy); one the
    venue does not know is emitted REJECTED (`NOT_AT_VENUE`).

    Parameters
    ----------
    venue : VenueExec
        Started order entry.
    state : ExecState
        The rebuilt state (read here; the emit hook applies what is emitted).
    emit : callable
        Takes one `OrderUpdate`: journal, apply to `state` and publish it.
    on_fill : callable, optional
        Takes one `Fill`: journal, apply to `state` and publish it; None skips the trade
        history (logged).
    symbols : iterable of str, optional
        Symbols whose trade history is read (see `catch_up_fills`).

    Returns
    -------
    ReconcileCounts

    Raises
    ------
    VenueError, WireError
        The venue's open orders or trade history could not be read after repeated tries.
    """
    c = ReconcileCounts()
    # Live as the journal left them, before the catch-up: an order its caught-up fills
    # complete is still queried, so its final state is journaled and published (its routing
    # record and its strategy learn it from an update, not from the fills alone).
    live = [e for e in state.orders.orders.values() if e.is_live]
    if on_fill is not None:
        c.fills = await catch_up_fills(venue, state, on_fill, symbols)
    else:
        log.warning("recovery.fills_skipped reason=no_fill_hook")
    open_now: list[OrderUpdate] = await _retry("open_orders", venue.open_orders)
    listed = {u.client_order_id for u in open_now}
    c.n_open = len(open_now)
    for u in open_now:
        if state.orders.get(u.client_order_id) is None:
            c.n_adopted += 1
        emit(u)
    for e in live:
        if e.cid in listed:
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
