"""The gateway's answers to SYNC commands: a strategy asking what its orders are now.

Owns `SyncAnswers`: a SYNC without a client order id republishes one ORDER_EVENT per live
order of the strategy (its start, the exec publisher's restart); a SYNC naming a client
order id (an order the strategy sent and never heard of) is answered with that order's
fills (those kept in its record, the strategy dedupes them by trade id) and then its last
known state, final ones too, as they were published (reason and code), or with REJECTED
`NEVER_SENT` when the gateway has no record of it; an order whose venue request has not
been answered yet gets no answer here (the venue's answer is on its way and the strategy
asks again if that one is lost too). While the gateway recovers the SYNCs are queued and
answered by `flush`. Must not talk to a venue, journal, change an order record, or decide
anything about an order.

Why "no record" means "never sent": the gateway remembers an order (and journals a ``new``
record, fsync'd before the send) before it sends it, and rebuilds its records from the
journal on restart; PUSH/PULL keep the order of one strategy's commands, so a SYNC cannot
overtake its NEW. Without a journal (tests) the records are those of this process's life.
Records of finished orders are forgotten only past `veloz.oms.orders.MAX_ORDERS`.
"""

import logging

from veloz._core import wire
from veloz.model.events import OrderStatus
from veloz.oms.orders import OrderRecord
from veloz.oms.publish import ExecPublisher

__all__ = ["MAX_PENDING_SYNCS", "NEVER_SENT", "SyncAnswers"]

log = logging.getLogger(__name__)

# The reason of the REJECTED answer to a SYNC for an order the gateway has no record of.
NEVER_SENT = "unknown to the gateway: never sent"
# Per-order SYNCs queued while recovering; past this they are dropped (counted): the
# strategy asks again.
MAX_PENDING_SYNCS = 10_000


class SyncAnswers:
    """Answer the SYNC commands of strategies from the gateway's order records.

    Parameters
    ----------
    orders : dict of str to OrderRecord
        The gateway's order records by client order id (read only).
    pub : ExecPublisher
        Publishes the answers on ``ex.<strategy>.order``.

    Notes
    -----
    Counters: ``n_syncs`` (SYNCs answered, either kind), ``n_syncs_unknown`` (per-order
    SYNCs answered REJECTED `NEVER_SENT`), ``n_syncs_in_flight`` (per-order SYNCs of an
    order the venue has not answered yet: no answer), ``n_syncs_dropped`` (per-order SYNCs
    not queued while recovering: queue full).
    """

    def __init__(self, orders: dict[str, OrderRecord], pub: ExecPublisher) -> None:
        self._orders = orders
        self._pub = pub
        self._pending_strategies: set[str] = set()
        self._pending_orders: dict[tuple[str, str], wire.OrderCmdMsg] = {}
        self.n_syncs = 0
        self.n_syncs_unknown = 0
        self.n_syncs_in_flight = 0
        self.n_syncs_dropped = 0

    def on_sync(self, msg: "wire.OrderCmdMsg", recovering: bool) -> None:
        """Take one SYNC: answer it, or queue it while `recovering`."""
        cid = msg.client_order_id
        if not recovering:
            if cid:
                self.order(msg)
            else:
                self.strategy(msg.strategy)
            return
        if not cid:
            self._pending_strategies.add(msg.strategy)
        elif len(self._pending_orders) < MAX_PENDING_SYNCS:
            self._pending_orders[(msg.strategy, cid)] = msg
        else:
            self.n_syncs_dropped += 1
            log.warning(
                "gateway.sync_dropped strategy=%s cid=%.40r n_syncs_dropped=%d",
                msg.strategy,
                cid,
                self.n_syncs_dropped,
            )

    def strategy(self, strategy: str) -> int:
        """Republish one ORDER_EVENT per live order of `strategy`; return how many."""
        n = 0
        for cid, rec in list(self._orders.items()):
            if rec.strategy == strategy and rec.is_live:
                self._pub.record(cid, rec, "")
                n += 1
        self.n_syncs += 1
        log.info("gateway.sync strategy=%s live=%d", strategy, n)
        return n

    def order(self, msg: "wire.OrderCmdMsg") -> OrderStatus | None:
        """Answer a SYNC naming one order; return the status published (None: none)."""
        strategy = msg.strategy
        cid = msg.client_order_id
        rec = self._orders.get(cid)
        self.n_syncs += 1
        if rec is None or rec.strategy != strategy:
            self.n_syncs_unknown += 1
            log.warning("gateway.sync_order strategy=%s cid=%.40r state=never_sent", strategy, cid)
            self._pub.from_cmd(msg, OrderStatus.REJECTED, 0, NEVER_SENT)
            return OrderStatus.REJECTED
        if rec.status is None:
            self.n_syncs_in_flight += 1
            log.info("gateway.sync_order strategy=%s cid=%s state=in_flight", strategy, cid)
            return None
        fills = rec.fills or ()
        log.info(
            "gateway.sync_order strategy=%s cid=%s state=%s fills=%d",
            strategy,
            cid,
            rec.status.value,
            len(fills),
        )
        for f in fills:  # before the state: a final event finds its fills applied
            self._pub.fill(f, keep=False)
        self._pub.record(cid, rec, rec.reason, rec.error_code)
        return rec.status

    def flush(self) -> int:
        """Answer the SYNCs queued while recovering (strategies first); return how many."""
        n = 0
        for strategy in sorted(self._pending_strategies):
            self.strategy(strategy)
            n += 1
        self._pending_strategies.clear()
        pending = list(self._pending_orders.values())
        self._pending_orders.clear()
        for msg in pending:
            self.order(msg)
            n += 1
        return n
