"""The strategy process's resync with the gateway: which SYNC order commands to send, when.

Owns `Resync`: one ``Action.SYNC`` ORDER_CMD per strategy when it starts and whenever the
exec publisher restarts (seen as the header seq of its ``ex.`` messages going back; then
every open order is also asked about by name), one SYNC naming the order for each order
sent that had no answer within ``resync_after_s``, asked again at doubling intervals, at
most `RESYNC_BURST` SYNCs per look, a SYNC the bus refused sent again every 0.1 s, and the
counters of all that. `veloz.strategy.runtime.Runtime` owns one and calls it. Must not own
sockets or the process loop, dispatch to strategies, decide trades or talk to a venue.
"""

import logging
from collections.abc import Callable

from veloz._core import wire
from veloz._core.latency import now_ns
from veloz.log import RateLimitedLog
from veloz.strategy.base import StrategyContext
from veloz.strategy.base import StrategyState
from veloz.strategy.orders import OrderState

log = logging.getLogger(__name__)

__all__ = ["RESYNC_BURST", "Resync"]

# Per-order SYNCs sent per look at the unanswered orders; the rest wait _RESYNC_SPILL_NS.
RESYNC_BURST = 100
_RESYNC_SPILL_NS = 100_000_000
_SYNCABLE = (StrategyState.WAITING, StrategyState.RUNNING)


class Resync:
    """The SYNC commands of the strategies of one process, and when each is due.

    Parameters
    ----------
    contexts : list of StrategyContext
        The strategies' contexts, in the runtime's order (their sends and orders).
    resync_after_s : float
        Seconds an order sent may go without any answer before the gateway is asked about
        it (a SYNC naming it); then again after 2, 4, 8, 16 (at most) times that.
    on_timer : callable
        Called when something became due sooner than the last `tick` said (a refused SYNC
        to send again, open orders to ask about): the loop should tick at once.

    Notes
    -----
    Counters: ``n_exec_restarts`` (the exec publisher restarted: the seq of ``ex.``
    messages went back), ``n_syncs_sent`` / ``n_syncs_refused`` (SYNC commands the bus
    took / refused; the refused count includes per-order ones), ``n_resyncs`` (per-order
    SYNCs the bus took: orders whose answer was lost, or never sent, or slow).
    """

    __slots__ = (
        "_contexts",
        "_exec_seq",
        "_has_unanswered",
        "_log",
        "_next_resync_ns",
        "_next_sync_retry_ns",
        "_on_timer",
        "_resync_after_ns",
        "_sync_retry",
        "n_exec_restarts",
        "n_resyncs",
        "n_syncs_refused",
        "n_syncs_sent",
    )

    def __init__(
        self,
        contexts: list[StrategyContext],
        resync_after_s: float,
        on_timer: Callable[[], None],
    ) -> None:
        self._contexts = contexts
        self._on_timer = on_timer
        self.n_exec_restarts = 0
        self.n_syncs_sent = 0
        self.n_syncs_refused = 0
        self.n_resyncs = 0
        self._resync_after_ns = max(1, int(resync_after_s * 1e9))
        self._next_resync_ns = 0  # next look at the unanswered orders (mono ns)
        self._has_unanswered = False  # some were left at the last look
        self._sync_retry: set[str] = set()  # strategies whose SYNC the bus refused
        self._next_sync_retry_ns = 0
        self._log = RateLimitedLog(log)
        self._exec_seq = 0  # last header seq of an ex. message (one encoder on exec)

    def note_exec_seq(self, seq: int) -> None:
        """Take the header seq of an ``ex.`` message; on a restart, SYNC every strategy.

        The gateway's exec PUB numbers everything it sends with one encoder: 1, 2, 3 ...
        (gaps: messages for other strategies, or dropped). A seq at or below the last one
        seen means it restarted: ask it to republish our live orders. O(1) otherwise.
        """
        last = self._exec_seq
        self._exec_seq = seq
        if last == 0 or seq > last:
            return
        self.n_exec_restarts += 1
        log.warning(
            "strategy.exec_restart seq=%d last=%d n_exec_restarts=%d",
            seq,
            last,
            self.n_exec_restarts,
        )
        self.sync_all()
        # What the gateway published while we were not listening (the fills it caught up
        # during its recovery, the final states) is lost: ask about every open order by name
        # at the next tick; the answers carry their fills (duplicates are dropped).
        n = sum(ctx.orders.ask_about_open() for ctx in self._contexts)
        if n:
            self._has_unanswered = True
            self._next_resync_ns = 0
            self._on_timer()  # the loop ticks at once

    def sync(self, ctx: StrategyContext) -> bool:
        """Send one ``Action.SYNC`` ORDER_CMD for `ctx`'s strategy: the gateway republishes
        the state of its live orders (the order and fill dedupe makes repeats harmless).
        Return False when the bus refused it (counted, logged, sent again from `tick` every
        0.1 s until the bus takes it)."""
        body = ctx.encoder.order_cmd(
            0, wire.Action.SYNC, ctx.name, "", 0, 0, 0, 0, 0, 0, 0, False, now_ns()
        )
        if not ctx.send(ctx.topic, body):
            self.n_syncs_refused += 1
            self._log.warning(
                "strategy.sync_refused strategy=%s n_syncs_refused=%d retry_in_ms=%d",
                ctx.name,
                self.n_syncs_refused,
                _RESYNC_SPILL_NS // 1_000_000,
            )
            self._sync_retry.add(ctx.name)
            self._on_timer()
            return False
        self._sync_retry.discard(ctx.name)
        self.n_syncs_sent += 1
        log.info("strategy.sync_sent strategy=%s", ctx.name)
        return True

    def sync_all(self) -> int:
        """Send a SYNC for every running or starting strategy; return how many went out."""
        n = 0
        for ctx in self._contexts:
            if ctx.state in _SYNCABLE and self.sync(ctx):
                n += 1
        return n

    def resync(self, ctx: StrategyContext, order: OrderState) -> bool:
        """Send one SYNC naming `order` (sent, never answered): the gateway answers with
        its state, or REJECTED when it never received it. Return False when the bus
        refused it (counted, logged)."""
        cid = order.client_order_id
        body = ctx.encoder.order_cmd(
            order.inst,
            wire.Action.SYNC,
            ctx.name,
            cid,
            order.side,
            order.ord_type,
            order.tif,
            order.price_dp,
            order.qty_dp,
            order.px,
            order.qty,
            False,
            now_ns(),
        )
        if not ctx.send(ctx.topic, body):
            self.n_syncs_refused += 1
            self._log.warning(
                "strategy.resync_refused strategy=%s cid=%s n_syncs_refused=%d",
                ctx.name,
                cid,
                self.n_syncs_refused,
            )
            return False
        self.n_resyncs += 1
        self._log.warning(
            "strategy.resync strategy=%s cid=%s status=%s n_resyncs=%d",
            ctx.name,
            cid,
            order.status_name,
            self.n_resyncs,
        )
        return True

    def tick(self, mono_ns: int) -> int:
        """Send the SYNCs due at `mono_ns` (per-order asks, refused SYNCs again); return the
        next deadline (mono ns, 0 = none)."""
        if mono_ns >= self._next_resync_ns:
            self._next_resync_ns = self._look(mono_ns)
        nearest = self._next_resync_ns if self._has_unanswered else 0
        if self._sync_retry:
            if mono_ns >= self._next_sync_retry_ns:
                for ctx in self._contexts:
                    if ctx.name not in self._sync_retry:
                        continue
                    if ctx.state in _SYNCABLE:
                        self.sync(ctx)
                    else:
                        self._sync_retry.discard(ctx.name)
                self._next_sync_retry_ns = mono_ns + _RESYNC_SPILL_NS
            if self._sync_retry and (nearest == 0 or self._next_sync_retry_ns < nearest):
                nearest = self._next_sync_retry_ns
        return nearest

    def _look(self, now: int) -> int:
        # Ask about every unanswered order that is due (at most RESYNC_BURST); return when
        # to look next. An order sent after this look is due no sooner than now + after.
        after = self._resync_after_ns
        budget = RESYNC_BURST
        next_ns = now + after
        left = False
        for ctx in self._contexts:
            orders = ctx.orders
            if not orders.n_unanswered:
                continue
            if budget <= 0:  # more wait for the next look, soon
                self._has_unanswered = True
                return now + _RESYNC_SPILL_NS
            due, at = orders.overdue(now, after, budget)
            budget -= len(due)
            for order in due:
                if not self.resync(ctx, order):  # the bus refused: ask again soon
                    orders.ask_again(order.client_order_id)
                    at = now + _RESYNC_SPILL_NS
            if at:
                left = True
                next_ns = min(next_ns, at)
        self._has_unanswered = left
        return max(next_ns, now + _RESYNC_SPILL_NS) if next_ns <= now else next_ns
