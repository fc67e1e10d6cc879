"""The gateway's venue requests: each order, cancel, cancel-all, query and reconcile a task.

Owns `VenueRequests`: starting each request as a supervised task (a bug is counted and
logged, never silent), the wait for the command's journal fsync before its send,
trigger-to-send through `SentStamp`, a refusal turned into a journaled final REJECTED, the
query after an unknown outcome or a failed cancel, the republish of open orders after a
user-data restart, journaling, applying and publishing every answer, and the wait for the
requests in flight at shutdown. Must not decide whether a request is sent (the gateway and
its pre-trade do), retry an order, or talk to a venue except through `VenueExec`.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any
from typing import Protocol

from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.orders import NewOrder
from veloz.oms.codes import code_text
from veloz.oms.counters import GatewayCounters
from veloz.oms.journal import Journal
from veloz.oms.orders import OrderRecord
from veloz.oms.orders import SentStamp
from veloz.oms.publish import ExecPublisher
from veloz.oms.recovery import rejected_update
from veloz.oms.state import ExecState
from veloz.oms.venue import VenueExec

__all__ = ["RESOLVE_DELAYS_S", "ErrorCounts", "VenueRequests"]

log = logging.getLogger(__name__)

# Seconds between the tries to learn an order's state after an unknown outcome.
RESOLVE_DELAYS_S = (0.2, 0.5, 1.0, 2.0)


class ErrorCounts(Protocol):
    """Where venue rejects and errors count toward the risk engine's error spike."""

    def on_reject(self, mono_ns: int) -> object: ...

    def on_error(self, mono_ns: int) -> object: ...


class VenueRequests:
    """The venue requests of one gateway, each run as a task.

    Parameters
    ----------
    venue_name : str
        The venue (``binance-spot`` ...) of the REJECTED updates built here.
    venue : VenueExec
        Order entry.
    state : ExecState
        The gateway's order state and positions; every answer is applied to it.
    pub : ExecPublisher
        Publishes every answer to the owning strategy (and updates its record).
    orders : dict of str to OrderRecord
        The gateway's order records by client order id (read).
    counters : GatewayCounters
        ``n_placed``, ``n_rejected_*``, ``n_cancels*``, ``n_unknown_status``,
        ``n_unresolved`` and ``n_task_errors`` are counted here.
    risk : ErrorCounts
        The risk engine (venue rejects and errors feed its error-spike rule).
    record : callable
        Takes one trigger-to-send duration in ns (``Latency.record``).
    journal : Journal, optional
        Every answer is journaled before it is applied; a send waits for its command's fsync.
    refused : RateLimitedLog
        Where refusals are logged (shared with the gateway's command path).
    """

    def __init__(
        self,
        venue_name: str,
        venue: VenueExec,
        state: ExecState,
        pub: ExecPublisher,
        orders: dict[str, OrderRecord],
        counters: GatewayCounters,
        risk: ErrorCounts,
        record: Callable[[int], None],
        journal: Journal | None,
        refused: RateLimitedLog,
    ) -> None:
        self._venue_name = venue_name
        self._venue = venue
        self._state = state
        self._pub = pub
        self._orders = orders
        self._counters = counters
        self._risk = risk
        self._record = record
        self._journal = journal
        self._refused = refused
        self.tasks: set[asyncio.Task[None]] = set()

    # ---- tasks ---------------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run `coro` as a supervised task of the running loop (kept until it ends)."""
        task = asyncio.get_running_loop().create_task(self._guarded(coro))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, None]) -> None:
        # Task supervisor of one request: a bug is counted and logged, never silent.
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            self._counters.n_task_errors += 1
            log.exception("gateway.task_error")

    async def finish(self, timeout_s: float) -> int:
        """Wait up to `timeout_s` for the requests in flight, cancel the rest; return how
        many were abandoned."""
        tasks = list(self.tasks)
        if not tasks:
            return 0
        _, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("gateway.requests_abandoned n=%d", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)

    async def _synced(self, seq: int) -> None:
        # A send waits for its command's fsync (group commit).
        if seq and self._journal is not None:
            await self._journal.synced(seq)

    # ---- answers -------------------------------------------------------------------------

    def rejected(self, cid: str, rec: OrderRecord, why: str, code: int = 0) -> None:
        """The order is final REJECTED: journal and apply that, publish it with `why`."""
        u = rejected_update(self._venue_name, cid, rec, why)
        if self._journal is not None:
            self._journal.append(u)
        self._state.apply(u)
        rec.status = OrderStatus.REJECTED
        rec.reason = why
        rec.error_code = code
        self._pub.record(cid, rec, why, code)

    def update(self, u: OrderUpdate, *, why: str = "", code: int = 0) -> None:
        """A venue answer or event: journaled, applied to the state, then published."""
        if self._journal is not None:
            self._journal.append(u)
        self._state.apply(u)
        self._pub.update(u, why=why, code=code)

    # ---- requests ------------------------------------------------------------------------

    async def place(self, order: NewOrder, rec: OrderRecord, trigger_ns: int, seq: int) -> None:
        """Send one new order (after its journal record is synced); publish the answer."""
        c = self._counters
        cid = order.client_order_id
        await self._synced(seq)
        try:
            u = await self._venue.place(order, on_sent=SentStamp(self._record, trigger_ns))
        except OrderRejected as exc:
            if exc.by == "venue":
                c.n_rejected_venue += 1
                self._risk.on_reject(time.monotonic_ns())
            else:
                c.n_rejected_local += 1
            self.rejected(cid, rec, exc.reason, exc.code)
            return
        except VenueError as exc:
            if exc.is_unknown:
                c.n_unknown_status += 1
                log.warning(
                    "gateway.order_unknown cid=%s code=%d msg=%.200s", cid, exc.code, exc.msg
                )
                await self.resolve(order.symbol, cid, rec, exc.msg, exc.code)
                return
            c.n_rejected_venue += 1  # retryable refusal: nothing was executed
            self._risk.on_error(time.monotonic_ns())
            self._refused.warning(
                "gateway.order_not_sent cid=%s code=%d msg=%.200s", cid, exc.code, exc.msg
            )
            self.rejected(cid, rec, exc.msg, exc.code)
            return
        except WireError as exc:
            c.n_unknown_status += 1
            await self.resolve(order.symbol, cid, rec, str(exc), 0)
            return
        c.n_placed += 1
        self.update(u)

    async def cancel(
        self, symbol: str, cid: str, order_id: int, trigger_ns: int, seq: int = 0
    ) -> None:
        """Cancel one order; a refusal queries and publishes the order's real state."""
        c = self._counters
        await self._synced(seq)
        try:
            u = await self._venue.cancel(
                symbol,
                client_order_id=cid,
                order_id=order_id,
                on_sent=SentStamp(self._record, trigger_ns),
            )
        except (OrderRejected, VenueError, WireError) as exc:
            c.n_cancels_failed += 1
            self._risk.on_error(time.monotonic_ns())
            code, text = code_text(exc)
            self._refused.warning(
                "gateway.cancel_failed cid=%s code=%d msg=%.200s", cid, code, text
            )
            await self.resolve(symbol, cid, self._orders.get(cid), f"cancel: {text}", code)
            return
        c.n_cancels += 1
        self.update(u)

    async def cancel_all(self, symbol: str, trigger_ns: int, seq: int = 0) -> None:
        """Cancel every open order of `symbol` in one request; publish each canceled one."""
        await self._synced(seq)
        try:
            done = await self._venue.cancel_all(symbol, on_sent=SentStamp(self._record, trigger_ns))
        except (OrderRejected, VenueError, WireError) as exc:
            self._counters.n_cancels_failed += 1
            log.warning("gateway.cancel_all_failed symbol=%s error=%.200s", symbol, exc)
            return
        self._counters.n_cancels += 1
        for u in done:
            self.update(u)

    async def resolve(
        self, symbol: str, cid: str, rec: OrderRecord | None, why: str, code: int
    ) -> None:
        """After an unknown outcome or a failed cancel: ask the venue what the order is now
        and publish that (with `why`); an order the venue does not know is REJECTED."""
        for delay_s in RESOLVE_DELAYS_S:
            try:
                u = await self._venue.query(symbol, client_order_id=cid)
            except OrderRejected:  # the venue does not know the order: it never was
                if rec is not None:
                    self.rejected(cid, rec, why, code)
                return
            except (VenueError, WireError) as exc:
                log.warning(
                    "gateway.query_failed cid=%s error=%.200s retry_in_s=%s", cid, exc, delay_s
                )
                await asyncio.sleep(delay_s)
                continue
            self.update(u, why=why, code=code)
            return
        self._counters.n_unresolved += 1
        log.error("gateway.order_unresolved cid=%s symbol=%s why=%.200s", cid, symbol, why)

    async def reconcile(self, reason: str) -> None:
        """After a user-data restart: publish the state of every open order."""
        try:
            open_now = await self._venue.open_orders()
        except (OrderRejected, VenueError, WireError) as exc:
            log.warning("gateway.reconcile_failed reason=%s error=%.200s", reason, exc)
            return
        for u in open_now:
            self.update(u)
        log.info("gateway.reconciled reason=%s open=%d", reason, len(open_now))
