"""The order gateway: order commands in, pre-trade, venue calls, order events and fills out.

Owns the `Gateway` that wires one venue product's parts together: it decodes and checks
ORDER_CMDs (decoding, scale, `GatewayRisk`: the pre-trade rules and the risk state engine),
acts on every risk state change (RISK_STATE on ``exec`` topic ``risk.gateway``, a log line,
the webhook, an audit record, cancel-all in CANCEL_ONLY / HALTED), feeds the risk engine
each second (positions, equity, the p99 of trigger-to-send over a recent window), answers
the operator's ``control`` requests (status, kill, resume), writes the audit records of the
order path, keeps the client-order-id -> strategy records, journals each command before
its request starts, turns every refusal into a REJECTED order event, recovers from the
journal, and serves the loop until stopped. Its parts: `requests` (each venue request as a
task, and every answer journaled, applied and published), `resync` (SYNC answers),
`market` (mids, instrument ids), `publish` (``exec`` messages), `orders` (records),
`inbox` (ZMQ draining), `codes`, `counters`. Must not talk to a venue except through
`VenueExec` and `VenueRequests`, retry an order, dedupe events (strategies do), or hold keys.

Audit durability: records are queued on the order path and written once the requests of
that pass of the loop are sent; the file is opened with group commit and a timer fsyncs it
every `AUDIT_FSYNC_MS`. So an order costs no audit work before its send. The trade-off: a
process crash can lose the records of one loop pass, a machine crash those of the last
`AUDIT_FSYNC_MS` ms. The journal, which recovery depends on, is synced before every send;
the audit file is the operator's record, not the recovery source.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from typing import Any
from typing import Protocol

from veloz._core import fixed
from veloz._core import wire
from veloz.audit.log import AuditLog
from veloz.audit.record import Kind
from veloz.errors import ConfigError
from veloz.errors import NumberError
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.metrics import LatencySet
from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.model.orders import NewOrder
from veloz.oms import inbox
from veloz.oms.codes import SIDE_TEXT
from veloz.oms.codes import TIF_TEXT
from veloz.oms.codes import TYPE_TEXT
from veloz.oms.config import GatewayConfig
from veloz.oms.counters import GatewayCounters
from veloz.oms.inbox import Inbox
from veloz.oms.journal import CancelAllSent
from veloz.oms.journal import CancelSent
from veloz.oms.journal import Journal
from veloz.oms.journal import OrderSent
from veloz.oms.market import MarketData
from veloz.oms.orders import OrderRecord
from veloz.oms.orders import remember
from veloz.oms.publish import NOBODY
from veloz.oms.publish import ExecPublisher
from veloz.oms.publish import Outbox
from veloz.oms.recovery import rebuild
from veloz.oms.recovery import reconcile
from veloz.oms.requests import VenueRequests
from veloz.oms.resync import SyncAnswers
from veloz.oms.riskwire import GatewayRisk
from veloz.oms.state import ExecState
from veloz.oms.venue import VenueExec
from veloz.risk.engine import RiskEvent
from veloz.risk.engine import RiskState

# GatewayCounters, Inbox, Outbox, NOBODY live in the part modules; re-exported: public face.
__all__ = ["FIGURE", "NOBODY", "ControlServer", "Gateway", "GatewayCounters", "Inbox", "Outbox"]

log = logging.getLogger(__name__)


class ControlServer(Protocol):
    """The operator channel the gateway serves (`veloz.bus.sockets.RepSocket`)."""

    def fileno(self) -> int: ...

    def serve_pending(self, handler: Callable[[dict[str, Any]], dict[str, Any]]) -> int: ...


FIGURE = "trigger_to_send"
# Span of each of the two rotating histograms whose p99 the risk engine's latency rule reads
# (the last 10-20 s; fewer than `veloz.metrics.RECENT_MIN_COUNT` samples: 0, no figure).
RISK_P99_WINDOW_S = 10.0
# Recovery waits this long at most for the strategies with live orders to subscribe.
SUBSCRIBER_WAIT_S = 3.0
SUBSCRIBER_POLL_S = 0.02
# Seconds shutdown waits for requests in flight.
DRAIN_TIMEOUT_S = 3.0
# Audit group commit: records are fsync'd at most this many ms after they are written.
AUDIT_FSYNC_MS = 200
RISK_TOPIC = b"risk.gateway"
RISK_STRATEGY = "_risk"  # the journal's owner of the cancels the risk state sends
# Seconds between sweeps that cancel orders still live in CANCEL_ONLY / HALTED (an order
# in flight when the state changed comes back NEW after the first cancel-all).
RISK_SWEEP_S = 5.0


class Gateway:
    """The gateway of one venue product: commands in, venue calls, events out.

    Parameters
    ----------
    cfg : GatewayConfig
        Venue, symbols, risk limits, bus.
    venue : VenueExec
        Order entry and user data; started by `run` with this gateway as its sink.
    out : Outbox
        The ``exec`` PUB.
    proc : str
        Process name of the latency file and topic (``lat.<proc>``).
    journal : Journal, optional
        When given: every command sent and venue event is journaled before it is acted on,
        `run` rebuilds the state from it and reconciles with the venue before taking
        commands (refused meanwhile: REJECTED "gateway recovering").
    audit : AuditLog, optional
        Where order_sent, cancel, risk_state and operator_command records go.
    webhook : callable, optional
        Called with every `RiskEvent` (`veloz.risk.webhook.WebhookSender`); must not block.

    Raises
    ------
    ConfigError
        A configured symbol the venue does not list, or a risk limit that does not fit an
        instrument's scale.
    """

    def __init__(
        self,
        cfg: GatewayConfig,
        venue: VenueExec,
        out: Outbox,
        *,
        proc: str = "gateway",
        journal: Journal | None = None,
        audit: AuditLog | None = None,
        webhook: Callable[[RiskEvent], None] | None = None,
    ) -> None:
        missing = [s for s in cfg.symbols if s not in venue.instruments]
        if missing:
            raise ConfigError(f"symbols: {', '.join(missing)} not listed by {cfg.venue}")
        self.cfg = cfg
        self._venue = venue
        self._insts: list[Instrument] = [venue.instruments[s] for s in cfg.symbols]
        self._out = out
        self._audit = audit
        self._audit_queue: list[tuple[Kind, Mapping[str, Any]]] = []
        self._webhook = webhook
        self.n_risk_events = 0
        self.n_audit_errors = 0
        self._last_sweep_ns = 0
        self.pretrade = GatewayRisk(cfg.risk, self._insts, on_event=self._on_risk_event)
        self.risk = self.pretrade.engine
        self.counters = GatewayCounters()
        self.market = MarketData(cfg.venue, self._insts, self.pretrade, self.counters)
        self._slot_by_symbol = {s: i for i, s in enumerate(cfg.symbols)}
        self._slot_by_inst = self.market.slot_by_inst
        self._orders: dict[str, OrderRecord] = {}
        self._pub = ExecPublisher(
            cfg.venue,
            out,
            self.counters,
            self._orders,
            self._insts,
            self.market.inst_by_slot,
            venue.instruments,
        )
        self.encoder = self._pub.encoder
        self.latency = LatencySet(proc, [FIGURE], window_s=RISK_P99_WINDOW_S)
        self._bad = RateLimitedLog(log)
        self._refused = RateLimitedLog(log, burst=20)  # refusals: a storm logs a summary
        self._journal = journal
        self.state = ExecState(self._insts)
        self.recovering = journal is not None
        self._syncs = SyncAnswers(self._orders, self._pub)
        self._req = VenueRequests(
            cfg.venue,
            venue,
            self.state,
            self._pub,
            self._orders,
            self.counters,
            self.risk,
            self.latency[FIGURE].record,
            journal,
            self._refused,
        )
        self._tasks = self._req.tasks  # the requests in flight (tests wait on them)
        self._spawn = self._req.spawn
        self._update = self._req.update

    @property
    def n_syncs(self) -> int:
        """SYNC commands answered (`SyncAnswers.n_syncs`)."""
        return self._syncs.n_syncs

    # ---- bus names and market data ---------------------------------------------------------

    def md_names(self) -> list[str]:
        """The md publishers to follow: ``md.<venue>.<SYMBOL>`` per symbol."""
        return self.market.names()

    def md_prefixes(self) -> list[bytes]:
        """The md topics to subscribe (book, bbo, status, instrument of each symbol)."""
        return self.market.prefixes()

    def inst_of(self, symbol: str) -> int:
        """The bus instrument id the feed of `symbol` uses, -1 while unknown."""
        return self.market.inst_by_slot[self._slot_by_symbol[symbol]]

    def on_md(self, topic: bytes, body: bytes) -> None:
        """Take one md message (`MarketData.on_md`)."""
        self.market.on_md(topic, body)

    # ---- commands --------------------------------------------------------------------------

    def on_cmd(self, topic: bytes, body: bytes) -> None:
        """Take one ORDER_CMD: check it and start its venue request, or publish a REJECTED."""
        c = self.counters
        c.n_cmds += 1
        try:
            msg = wire.decode(body)
        except WireError as exc:
            c.n_malformed += 1
            self._bad.warning("gateway.cmd_malformed topic=%.80r error=%s", topic, exc)
            return
        if not isinstance(msg, wire.OrderCmdMsg):
            c.n_malformed += 1
            self._bad.warning("gateway.cmd_malformed topic=%.80r error=not an ORDER_CMD", topic)
            return
        strategy = msg.strategy
        if not strategy or "." in strategy:
            c.n_malformed += 1
            self._bad.warning("gateway.cmd_malformed topic=%.80r strategy=%.40r", topic, strategy)
            return
        if topic != b"cmd." + strategy.encode():
            self._refuse(msg, f"topic {topic[:80]!r} is not cmd.{strategy}")
            return
        action = msg.action
        if action == wire.Action.SYNC:
            self._syncs.on_sync(msg, self.recovering)  # queued while recovering
            return
        if self.recovering:
            self._refuse(msg, "gateway recovering")
            return
        if action == wire.Action.NEW:
            self._new(msg)
        elif action == wire.Action.CANCEL:
            self._cancel(msg)
        else:
            self._cancel_all(msg)

    def _new(self, msg: "wire.OrderCmdMsg") -> None:
        hdr = msg.header
        inst_id = int(hdr.inst)
        slot = self._slot_by_inst.get(inst_id)
        if slot is None:
            self._refuse(msg, f"unknown instrument id {inst_id}: no md of {self.cfg.venue} has it")
            return
        inst = self._insts[slot]
        side = SIDE_TEXT.get(int(msg.side or 0))
        ord_type = TYPE_TEXT.get(int(msg.ord_type or 0))
        cid = msg.client_order_id
        if side is None or ord_type is None or not cid:
            self._refuse(msg, "a new order needs side, order type and client_order_id")
            return
        is_market = ord_type == "MARKET"
        tif = "" if is_market or ord_type == "LIMIT_MAKER" else TIF_TEXT.get(int(msg.tif or 0), "")
        if ord_type == "LIMIT" and not tif:
            self._refuse(msg, "a LIMIT order needs a time in force")
            return
        try:
            px = fixed.rescale(msg.px, msg.price_dp, inst.price_dp)
            qty = fixed.rescale(msg.qty, msg.qty_dp, inst.qty_dp)
        except NumberError as exc:
            self._refuse(msg, f"{inst.symbol}: price or quantity off scale ({exc})")
            return
        if qty <= 0 or (not is_market and px <= 0):
            self._refuse(msg, f"{inst.symbol}: quantity and limit price must be > 0")
            return
        why = self.pretrade.check_new(slot, side == "BUY", is_market, px, qty, time.monotonic_ns())
        if why is not None:
            self.counters.n_rejected_risk += 1
            self._refused.warning(
                "gateway.order_refused strategy=%s cid=%s reason=%s", msg.strategy, cid, why
            )
            self._pub.from_cmd(msg, OrderStatus.REJECTED, 0, why)
            return
        order = NewOrder(inst.symbol, side, ord_type, qty, px, tif, cid, bool(msg.reduce_only))
        rec = OrderRecord(msg.strategy, inst_id, slot, order)
        remember(self._orders, cid, rec)
        seq = 0
        if self._journal is not None:
            seq = self._journal.append(OrderSent(msg.strategy, inst_id, order))
        self.state.orders.on_sent(
            cid, msg.strategy, self.cfg.venue, inst.symbol, side, ord_type, tif, px, qty
        )
        self._audit_rec(
            Kind.ORDER_SENT,
            {
                "strategy": msg.strategy,
                "cid": cid,
                "symbol": inst.symbol,
                "side": side,
                "type": ord_type,
                "tif": tif,
                "px": inst.px_text(px) if not is_market else "",
                "qty": inst.qty_text(qty),
                "reduce_only": bool(msg.reduce_only),
            },
        )
        self._spawn(self._req.place(order, rec, hdr.ingest_ns, seq))

    def _cancel(self, msg: "wire.OrderCmdMsg") -> None:
        cid = msg.client_order_id
        rec = self._orders.get(cid)
        slot = rec.slot if rec is not None else self._slot_by_inst.get(int(msg.header.inst))
        if slot is None or not cid:
            self.counters.n_cancels_unknown += 1
            self._bad.warning(
                "gateway.cancel_unknown strategy=%s cid=%.40r inst=%d",
                msg.strategy,
                cid,
                msg.header.inst,
            )
            return
        why = self.pretrade.check_cancel(time.monotonic_ns())
        if why is not None:
            self.counters.n_rejected_risk += 1
            self._refused.warning(
                "gateway.cancel_refused strategy=%s cid=%s reason=%s", msg.strategy, cid, why
            )
            self._pub.state(msg, rec, why)
            return
        symbol = self._insts[slot].symbol
        order_id = rec.order_id if rec is not None else 0
        seq = self._note_cancel(msg.strategy, symbol, cid, order_id)
        self._spawn(self._req.cancel(symbol, cid, order_id, msg.header.ingest_ns, seq))

    def _cancel_all(self, msg: "wire.OrderCmdMsg") -> None:
        strategy = msg.strategy
        slot = self._slot_by_inst.get(int(msg.header.inst))
        if slot is None:
            self.counters.n_cancels_unknown += 1
            self._bad.warning(
                "gateway.cancel_all_unknown strategy=%s inst=%d", strategy, msg.header.inst
            )
            return
        mine = [
            (cid, r)
            for cid, r in self._orders.items()
            if r.slot == slot and r.is_live and r.strategy == strategy
        ]
        why = self.pretrade.check_cancel(time.monotonic_ns())
        if why is not None:
            self.counters.n_rejected_risk += 1
            self._refused.warning("gateway.cancel_all_refused strategy=%s reason=%s", strategy, why)
            for cid, r in mine:
                self._pub.record(cid, r, why)
            return
        others = any(
            r.slot == slot and r.is_live and r.strategy != strategy for r in self._orders.values()
        )
        symbol = self._insts[slot].symbol
        trigger_ns = msg.header.ingest_ns
        if not others:
            # Nobody else has an order here: one request also catches orders we never saw.
            self._send_cancel_all(strategy, symbol, trigger_ns)
            return
        for cid, r in mine:
            seq = self._note_cancel(strategy, symbol, cid, r.order_id)
            self._spawn(self._req.cancel(symbol, cid, r.order_id, trigger_ns, seq))

    def _send_cancel_all(self, strategy: str, symbol: str, trigger_ns: int) -> None:
        # Journal, audit and start one cancel-all request for `symbol`.
        seq = 0
        if self._journal is not None:
            seq = self._journal.append(CancelAllSent(strategy, symbol))
        self._audit_rec(Kind.CANCEL, {"strategy": strategy, "symbol": symbol, "cid": "*"})
        self._spawn(self._req.cancel_all(symbol, trigger_ns, seq))

    def _note_cancel(self, strategy: str, symbol: str, cid: str, order_id: int) -> int:
        # Journal a cancel about to be sent (its sequence number, 0 without a journal).
        self.state.orders.on_cancel_sent(cid)
        self._audit_rec(
            Kind.CANCEL,
            {"strategy": strategy, "symbol": symbol, "cid": cid, "order_id": order_id},
        )
        if self._journal is None:
            return 0
        return self._journal.append(CancelSent(strategy, symbol, cid, order_id))

    def _refuse(self, msg: "wire.OrderCmdMsg", why: str) -> None:
        # A command the gateway itself cannot take: counted, logged, a NEW one REJECTED.
        self.counters.n_rejected_gateway += 1
        self._bad.warning(
            "gateway.cmd_refused strategy=%s cid=%.40r reason=%s",
            msg.strategy,
            msg.client_order_id,
            why,
        )
        if msg.action == wire.Action.NEW:
            self._pub.from_cmd(msg, OrderStatus.REJECTED, 0, why)

    # ---- risk state, SYNC, operator commands, audit ----------------------------------------

    def _on_risk_event(self, ev: RiskEvent) -> None:
        # One risk state change: RISK_STATE on exec, a log line, the audit record, the
        # webhook; CANCEL_ONLY / HALTED also cancel the live orders of the symbols concerned.
        self.n_risk_events += 1
        body = self.encoder.risk_state(
            int(ev.old),
            int(ev.new),
            ev.symbol,
            ev.trigger[:255],
            ev.detail[:255],
            time.monotonic_ns(),
        )
        if not self._out.send(RISK_TOPIC, body):
            self.counters.n_dropped += 1
        log.warning(
            "gateway.risk_state old=%s new=%s scope=%s trigger=%s detail=%.200s",
            ev.old.name,
            ev.new.name,
            ev.symbol or "*",
            ev.trigger,
            ev.detail,
        )
        self._audit_rec(Kind.RISK_STATE, ev.as_dict())
        if self._webhook is not None:
            self._webhook(ev)
        if ev.new >= RiskState.CANCEL_ONLY:
            # Soon, not now: the engine sets its new state after this callback returns.
            try:
                asyncio.get_running_loop().call_soon(self.cancel_live, f"risk {ev.new.name}")
            except RuntimeError:
                self.counters.n_task_errors += 1
                log.error("gateway.cancel_live_no_loop why=risk %s", ev.new.name)

    def cancel_live(self, why: str) -> int:
        """Cancel every live order of the symbols the risk state says to; return requests.

        One cancel-all per symbol with a live order (it also catches orders never seen).
        Needs the running loop; without one nothing is sent (counted in n_task_errors).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.counters.n_task_errors += 1
            log.error("gateway.cancel_live_no_loop why=%s", why)
            return 0
        n = 0
        now = time.monotonic_ns()
        self._last_sweep_ns = now
        for symbol in self.risk.symbols_to_cancel():
            slot = self._slot_by_symbol[symbol]
            if any(r.slot == slot and r.is_live for r in self._orders.values()):
                log.warning("gateway.cancel_live symbol=%s why=%s", symbol, why)
                self._send_cancel_all(RISK_STRATEGY, symbol, now)
                n += 1
        return n

    def sync(self, strategy: str) -> int:
        """Republish one ORDER_EVENT per live order of `strategy` (Action.SYNC); return n."""
        return self._syncs.strategy(strategy)

    def control(self, req: Mapping[str, Any]) -> dict[str, Any]:
        """Answer one operator request: ``{"cmd": "status"|"kill"|"resume", ...}``.

        ``kill`` takes ``reason``; ``kill`` and ``resume`` take ``operator``. Each command
        is an audit record. The reply has ``ok`` and, on success, ``status``.
        """
        cmd = req.get("cmd")
        reason = str(req.get("reason") or "operator kill")[:200]
        operator = str(req.get("operator") or "operator")[:64]
        if cmd not in ("status", "kill", "resume"):
            log.warning("gateway.control_bad cmd=%.40r", cmd)
            return {"ok": False, "error": f"unknown cmd {cmd!r}: status, kill or resume"}
        now = time.monotonic_ns()
        if cmd != "status":
            self._audit_rec(
                Kind.OPERATOR_COMMAND, {"cmd": cmd, "reason": reason, "operator": operator}
            )
            log.warning("gateway.operator cmd=%s operator=%s reason=%s", cmd, operator, reason)
        if cmd == "kill" and not self.risk.kill(reason, now):
            self.cancel_live("operator kill")  # already HALTED: no event, sweep again
        elif cmd == "resume":
            self.risk.resume(now, operator)
        return {"ok": True, "status": self.status()}

    def status(self) -> dict[str, Any]:
        """Risk state per scope, conditions, limits, counters (the ``control`` status)."""
        st: dict[str, Any] = dict(self.pretrade.status())
        c = self.counters
        st["gateway"] = {
            "venue": self.cfg.venue,
            "recovering": self.recovering,
            "live_orders": sum(1 for r in self._orders.values() if r.is_live),
            "n_cmds": c.n_cmds,
            "n_placed": c.n_placed,
            "n_rejected_risk": c.n_rejected_risk,
            "n_rejected_venue": c.n_rejected_venue,
            "n_cancels": c.n_cancels,
            "n_risk_events": self.n_risk_events,
            "n_syncs": self.n_syncs,
            "n_syncs_unknown": self._syncs.n_syncs_unknown,
            "n_syncs_in_flight": self._syncs.n_syncs_in_flight,
            "n_audit_errors": self.n_audit_errors,
        }
        return st

    def _audit_rec(self, kind: Kind, data: Mapping[str, Any]) -> None:
        # Queue one audit record, written once the requests started in this pass of the
        # loop have been sent (two call_soon hops put the write after their first step):
        # the hash and the write (~80 us) stay off trigger-to-send. One queue for every
        # kind keeps the file in the order things happened.
        if self._audit is None:
            return
        self._audit_queue.append((kind, data))
        if len(self._audit_queue) > 1:
            return  # a flush is already scheduled
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (tools, tests): write now
            self.flush_audit()
            return
        loop.call_soon(loop.call_soon, self.flush_audit)

    def flush_audit(self) -> None:
        """Write the queued audit records; a failing audit file is counted and logged,
        never fatal to the order path."""
        queue, self._audit_queue = self._audit_queue, []
        if self._audit is None:
            return
        for kind, data in queue:
            try:
                self._audit.append(kind, data)
            except (OSError, ValueError) as exc:
                self.n_audit_errors += 1
                log.error("gateway.audit_failed kind=%s error=%s", kind.value, exc)

    def risk_tick(self) -> None:
        """The once-a-second risk inputs (positions, equity, p99) and timers.

        The p99 is trigger-to-send's over the recent window (`RISK_P99_WINDOW_S`: the last
        10-20 s), 0 when it holds too few samples; the published figures stay lifetime.
        """
        lat = self.latency[FIGURE]
        lat.fold()
        now = time.monotonic_ns()
        self.pretrade.tick(self.state, lat.recent_p99_ns(now), now)
        if now - self._last_sweep_ns >= RISK_SWEEP_S * 1e9 and self.cancel_live("risk sweep"):
            self._last_sweep_ns = now

    # ---- venue events (ExecSink) -----------------------------------------------------------

    def on_event(self, ev: ExecEvent) -> None:
        """Journal and apply one user-data event, then publish order updates and fills to
        their strategy."""
        if self._journal is not None:
            self._journal.append(ev)
        self.state.apply(ev)
        if isinstance(ev, OrderUpdate):
            self._pub.update(ev)
        elif isinstance(ev, Fill):
            self._pub.fill(ev)
        else:
            self.counters.n_other_events += 1

    def on_restart(self, reason: str) -> None:
        """The user stream restarted: publish the open orders' state again."""
        self.counters.n_restarts += 1
        self._spawn(self._req.reconcile(reason))

    def publish_latency(self) -> None:
        """Fold the figure and publish ``lat.<proc>`` on exec (a drop loses one snapshot)."""
        self._pub.latency(self.latency)

    # ---- the loop --------------------------------------------------------------------------

    def drain(self, inbox_: Inbox, handler: Callable[[bytes, bytes], None]) -> None:
        """Handle every queued message of `inbox_` (`inbox.drain`; bugs are counted)."""
        inbox.drain(inbox_, handler, self.counters)

    async def run(
        self,
        orders: Inbox,
        md: Inbox,
        stop: asyncio.Event,
        rediscover: Callable[[], object] | None = None,
        control: "ControlServer | None" = None,
        subscriptions: Callable[[], Collection[bytes]] | None = None,
    ) -> None:
        """Start the venue, serve until `stop` is set, then shut down cleanly.

        Parameters
        ----------
        orders : Inbox
            The bound ``orders`` PULL.
        md : Inbox
            A SUB on `md_names` with `md_prefixes` subscribed.
        stop : asyncio.Event
            Set by the signal handlers.
        rediscover : callable, optional
            Called every second (``SubSocket.rediscover``: md publishers that appear late).
        control : ControlServer, optional
            The bound ``control`` REP (`veloz.bus.sockets.RepSocket`): operator requests.
        subscriptions : callable, optional
            The ``exec`` topic prefixes subscribed now (`PubSocket.subscriptions`). With it,
            recovery first waits up to `SUBSCRIBER_WAIT_S` for every strategy with a live
            order to subscribe, so what recovery publishes (caught-up fills, final states)
            reaches them and they see the new publisher's seq start again.

        Raises
        ------
        VenueError, WireError
            The venue could not be started.
        """
        loop = asyncio.get_running_loop()
        self.replay_journal()
        await self._venue.start(self)
        loop.add_reader(orders.fileno(), self.drain, orders, self.on_cmd)
        loop.add_reader(md.fileno(), self.drain, md, self.on_md)
        if control is not None:
            loop.add_reader(control.fileno(), self._serve_control, control)
        ticker = loop.create_task(self._tick(orders, md, rediscover, control))
        syncer = loop.create_task(self._audit_timer())
        log.info("gateway.started venue=%s symbols=%s", self.cfg.venue, ",".join(self.cfg.symbols))
        if self.recovering:
            self._spawn(self.recover(subscriptions))
        try:
            self.drain(md, self.on_md)
            self.drain(orders, self.on_cmd)
            await stop.wait()
        finally:
            loop.remove_reader(orders.fileno())
            loop.remove_reader(md.fileno())
            if control is not None:
                loop.remove_reader(control.fileno())
            ticker.cancel()
            syncer.cancel()
            await asyncio.gather(ticker, syncer, return_exceptions=True)
            await self._finish()

    def replay_journal(self) -> int:
        """Rebuild the state and order records (with their fills) from the journal, before
        the venue starts; return the records applied (0 without a journal)."""
        if self._journal is None:
            return 0
        entries = self._journal.entries
        n = rebuild(entries, self.cfg.venue, self.state, self._orders, self._slot_by_symbol)
        for e in entries:  # the fills a SYNC naming their order repeats
            if isinstance(e, Fill):
                rec = self._orders.get(e.client_order_id)
                if rec is not None:
                    rec.keep_fill(e)
        self._journal.entries = []
        log.info("gateway.journal_replayed records=%d orders=%d", n, len(self._orders))
        return n

    async def recover(self, subscriptions: Callable[[], Collection[bytes]] | None = None) -> None:
        """Reconcile with the started venue (`recovery.reconcile`), then take commands.

        With `subscriptions` (see `run`), first wait for the strategies with live orders to
        subscribe to ``exec``. A venue that keeps failing is tried again every 2 s; commands
        stay refused meanwhile (the state is not known).
        """
        if subscriptions is not None:
            await self._await_subscribers(subscriptions)
        while True:
            try:
                await reconcile(self._venue, self.state, self._update, on_fill=self.on_event)
            except (VenueError, WireError) as exc:
                log.error("gateway.recovery_failed error=%.200s retry_in_s=2", exc)
                await asyncio.sleep(2.0)
                continue
            break
        self.recovering = False
        log.info("gateway.recovered orders=%d", len(self._orders))
        self._syncs.flush()

    async def _await_subscribers(self, subscriptions: Callable[[], Collection[bytes]]) -> None:
        # A strategy's SUB reconnects ~0.1-0.2 s after the gateway binds again; what is
        # published before that is lost to it (ZMQ slow joiner). Bounded: a strategy that is
        # gone for good must not keep the gateway from recovering.
        want = {r.strategy for r in self._orders.values() if r.is_live and r.strategy}
        want.discard(RISK_STRATEGY)
        deadline = time.monotonic() + SUBSCRIBER_WAIT_S
        missing = sorted(want)
        while missing:
            subs = subscriptions()
            missing = [s for s in missing if f"ex.{s}.".encode() not in subs]
            if not missing or time.monotonic() >= deadline:
                break
            await asyncio.sleep(SUBSCRIBER_POLL_S)
        if missing:
            log.warning(
                "gateway.subscribers_missing strategies=%s waited_s=%.1f: their answers from "
                "recovery may be lost (they ask again by name)",
                ",".join(missing),
                SUBSCRIBER_WAIT_S,
            )
        elif want:
            log.info("gateway.subscribers_ready strategies=%s", ",".join(sorted(want)))

    async def _finish(self) -> None:
        await self._req.finish(DRAIN_TIMEOUT_S)
        self.flush_audit()
        await self._venue.close()
        self.publish_latency()
        self.log_status("gateway.stopped")

    def _serve_control(self, control: "ControlServer") -> None:
        # Reader callback of the control REP; a bug is counted, the loop goes on.
        try:
            control.serve_pending(self.control)
        except Exception:  # dispatch wrapper of operator requests
            self.counters.n_task_errors += 1
            log.exception("gateway.control_error")

    async def _audit_timer(self) -> None:
        # Group commit of the audit file: fsync what is due every AUDIT_FSYNC_MS.
        if self._audit is None:
            return
        while True:
            await asyncio.sleep(AUDIT_FSYNC_MS / 1000)
            try:
                self._audit.sync_if_due()
            except OSError as exc:
                self.n_audit_errors += 1
                log.error("gateway.audit_sync_failed error=%s", exc)

    async def _tick(
        self,
        orders: Inbox,
        md: Inbox,
        rediscover: Callable[[], object] | None,
        control: "ControlServer | None" = None,
    ) -> None:
        # Every latency interval: publish the figure; every second: look for late md
        # publishers and drain both sockets (cheap insurance against a lost FD edge).
        interval_s = self.cfg.latency_interval_s
        status_every = max(1, round(self.cfg.status_interval_s / interval_s))
        n = 0
        while True:
            await asyncio.sleep(interval_s)
            n += 1
            try:
                if rediscover is not None:
                    rediscover()
                self.drain(md, self.on_md)
                self.drain(orders, self.on_cmd)
                if control is not None:
                    self._serve_control(control)
                self.publish_latency()
                self.risk_tick()
                if n % status_every == 0:
                    self.log_status("gateway.status")
            except asyncio.CancelledError:
                raise
            except Exception:  # supervisor of the periodic work
                self.counters.n_task_errors += 1
                log.exception("gateway.tick_error")

    def log_status(self, event: str) -> None:
        """Log the counters and the trigger-to-send figure on one line."""
        c = self.counters
        lat = self.latency[FIGURE].summary()
        log.info(
            "%s cmds=%d placed=%d rejected_risk=%d rejected_venue=%d rejected_gateway=%d "
            "cancels=%d order_events=%d fills=%d unowned=%d dropped=%d malformed=%d md=%d "
            "unknown_status=%d trigger_to_send_n=%d p50_us=%.1f p99_us=%.1f",
            event,
            c.n_cmds,
            c.n_placed,
            c.n_rejected_risk,
            c.n_rejected_venue,
            c.n_rejected_gateway,
            c.n_cancels,
            c.n_order_events,
            c.n_fills,
            c.n_unowned,
            c.n_dropped,
            c.n_malformed,
            c.n_md,
            c.n_unknown_status,
            int(lat["count"]),
            lat["p50_us"],
            lat["p99_us"],
        )
