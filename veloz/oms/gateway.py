"""The order gateway loop: order commands in, pre-trade, venue calls, order events and fills out.

Owns the PULL/SUB draining on the asyncio loop (``add_reader`` on the edge-triggered ZMQ
FDs, drained with NOBLOCK until EVENTS has no POLLIN), the decoding and checking of
ORDER_CMDs, the client-order-id -> strategy map that routes answers and user-data events
to ``ex.<strategy>.order|fill`` (``ex._.`` when no strategy owns the order), the mid per
symbol from the md sockets, the trigger-to-send figure, and the turn of every refusal into a
REJECTED order event. Must not talk to a venue except through `VenueExec`, retry an order,
dedupe events (strategies do), or hold keys.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from collections.abc import Coroutine
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any
from typing import Protocol
from typing import cast

import zmq

from veloz._core import fixed
from veloz._core import wire
from veloz.errors import ConfigError
from veloz.errors import NumberError
from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.metrics import LatencySet
from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.oms.config import GatewayConfig
from veloz.oms.venue import NewOrder
from veloz.oms.venue import VenueExec
from veloz.risk.pretrade import PreTrade

__all__ = ["FIGURE", "NOBODY", "Gateway", "GatewayCounters", "Inbox", "Outbox"]

log = logging.getLogger(__name__)

FIGURE = "trigger_to_send"
NOBODY = "_"  # the strategy name of orders no strategy owns
# Orders remembered for routing; past this the oldest finished ones are forgotten.
MAX_ORDERS = 100_000
# Seconds between the tries to learn an order's state after an unknown outcome.
RESOLVE_DELAYS_S = (0.2, 0.5, 1.0, 2.0)
# Seconds shutdown waits for requests in flight.
DRAIN_TIMEOUT_S = 3.0
_REASON_BYTES = 200

_BOOK, _BBO, _STATUS, _INSTRUMENT = range(4)
_MD_KINDS = {b"book": _BOOK, b"bbo": _BBO, b"status": _STATUS, b"instrument": _INSTRUMENT}

# Wire enum codes (0 = none) <-> the venue-neutral texts of NewOrder / OrderUpdate.
_SIDE_TEXT = {int(wire.Side.BUY): "BUY", int(wire.Side.SELL): "SELL"}
_TYPE_TEXT = {
    int(wire.OrdType.LIMIT): "LIMIT",
    int(wire.OrdType.MARKET): "MARKET",
    int(wire.OrdType.LIMIT_MAKER): "LIMIT_MAKER",
}
_TIF_TEXT = {
    int(wire.Tif.GTC): "GTC",
    int(wire.Tif.IOC): "IOC",
    int(wire.Tif.FOK): "FOK",
    int(wire.Tif.GTX): "GTX",
}
_SIDE_CODE = {text: code for code, text in _SIDE_TEXT.items()}
_TYPE_CODE = {text: code for code, text in _TYPE_TEXT.items()}
_TIF_CODE = {text: code for code, text in _TIF_TEXT.items()}
_STATUS_CODE = {
    OrderStatus.NEW: int(wire.Status.NEW),
    OrderStatus.PARTIALLY_FILLED: int(wire.Status.PARTIALLY_FILLED),
    OrderStatus.FILLED: int(wire.Status.FILLED),
    OrderStatus.CANCELED: int(wire.Status.CANCELED),
    OrderStatus.REJECTED: int(wire.Status.REJECTED),
    OrderStatus.EXPIRED: int(wire.Status.EXPIRED),
}


class Inbox(Protocol):
    """A bound PULL or connected SUB (`veloz.bus.sockets`) the gateway drains."""

    def poll_recv(self) -> tuple[bytes, bytes] | None:
        """The next ``(topic, body)`` without waiting, or None."""
        ...

    def fileno(self) -> int:
        """The ZMQ_FD to watch."""
        ...

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """The zmq socket (for ZMQ_EVENTS)."""
        ...


class Outbox(Protocol):
    """The bound ``exec`` PUB."""

    def send(self, topic: bytes, body: bytes) -> bool:
        """Send without blocking; False = dropped."""
        ...


@dataclass(slots=True)
class GatewayCounters:
    """What the gateway did since start (all counts)."""

    n_cmds: int = 0  # order commands received
    n_malformed: int = 0  # undecodable or non-ORDER_CMD bodies on `orders` (skipped)
    n_rejected_gateway: int = 0  # commands the gateway itself could not take
    n_rejected_risk: int = 0  # pre-trade refusals (per rule: PreTradeCounters)
    n_rejected_local: int = 0  # refused by the venue client's own check (nothing sent)
    n_rejected_venue: int = 0  # refused by the venue, or not sent (retryable refusal)
    n_placed: int = 0  # orders the venue accepted
    n_cancels: int = 0  # cancel requests answered
    n_cancels_failed: int = 0  # cancel refusals (the order's state is queried and published)
    n_cancels_unknown: int = 0  # cancels of an order and instrument the gateway never saw
    n_unknown_status: int = 0  # requests with an unknown outcome (the order is queried)
    n_unresolved: int = 0  # unknown outcomes still unknown after every query
    n_order_events: int = 0  # ORDER_EVENTs published
    n_fills: int = 0  # FILLs published
    n_unowned: int = 0  # events published to ex._ (no strategy owns the order)
    n_other_events: int = 0  # balance/position events (not published yet)
    n_restarts: int = 0  # user-data restarts (open orders published again)
    n_dropped: int = 0  # exec PUB sends refused (HWM)
    n_md: int = 0  # md messages used
    n_md_malformed: int = 0  # md messages that could not be read or scaled (skipped)
    n_dispatch_errors: int = 0  # bugs caught in a per-message handler
    n_task_errors: int = 0  # bugs caught in a request task

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return asdict(self)


class _Order:
    # What the gateway knows of one order: its owner and its last known state.
    __slots__ = (
        "filled_qty",
        "inst",
        "ord_type",
        "order_id",
        "px",
        "qty",
        "side",
        "slot",
        "status",
        "strategy",
        "symbol",
        "tif",
    )

    def __init__(self, strategy: str, inst: int, slot: int, order: NewOrder) -> None:
        self.strategy = strategy
        self.inst = inst  # bus instrument id the strategy used
        self.slot = slot
        self.symbol = order.symbol
        self.side = order.side
        self.ord_type = order.order_type
        self.tif = order.tif
        self.px = order.px
        self.qty = order.qty
        self.order_id = 0
        self.status: OrderStatus | None = None  # None: sent, no answer yet
        self.filled_qty = 0

    @property
    def is_live(self) -> bool:
        return self.status is None or not self.status.is_terminal

    def apply(self, u: OrderUpdate) -> None:
        if u.order_id:
            self.order_id = u.order_id
        if self.status is not None and self.status.is_terminal and not u.status.is_terminal:
            return  # a late, older state: the strategy dedupes, our bookkeeping stays final
        self.status = u.status
        self.filled_qty = max(self.filled_qty, u.filled_qty)


class _Sent:
    # on_sent hook of one request: records trigger-to-send once (a resend is not a trigger).
    __slots__ = ("_record", "_trigger_ns")

    def __init__(self, record: Callable[[int], None], trigger_ns: int) -> None:
        self._record = record
        self._trigger_ns = trigger_ns

    def __call__(self, sent_ns: int) -> None:
        if self._trigger_ns:
            self._record(sent_ns - self._trigger_ns)
            self._trigger_ns = 0


def _code_text(exc: OrderRejected | VenueError | WireError) -> tuple[int, str]:
    # The venue's code and own words of a refusal (0 and the message for a WireError).
    if isinstance(exc, OrderRejected):
        return exc.code, exc.reason
    if isinstance(exc, VenueError):
        return exc.code, exc.msg
    return 0, str(exc)


def _cut(text: str) -> str:
    # Wire strings are at most 255 UTF-8 bytes; venue texts are cut well below that.
    raw = text.encode("utf-8")
    if len(raw) <= _REASON_BYTES:
        return text
    return raw[:_REASON_BYTES].decode("utf-8", "ignore")


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

    Raises
    ------
    ConfigError
        A configured symbol the venue does not list, or a risk limit that does not fit an
        instrument's scale.
    """

    def __init__(
        self, cfg: GatewayConfig, venue: VenueExec, out: Outbox, *, proc: str = "gateway"
    ) -> None:
        missing = [s for s in cfg.symbols if s not in venue.instruments]
        if missing:
            raise ConfigError(f"symbols: {', '.join(missing)} not listed by {cfg.venue}")
        self.cfg = cfg
        self._venue = venue
        self._out = out
        self._insts: list[Instrument] = [venue.instruments[s] for s in cfg.symbols]
        self.pretrade = PreTrade(cfg.risk, self._insts)
        self._slot_by_symbol = {s: i for i, s in enumerate(cfg.symbols)}
        self._slot_by_inst: dict[int, int] = {}
        self._inst_by_slot = [-1] * len(cfg.symbols)
        self._views = [wire.BookView() for _ in cfg.symbols]
        self._md_topics: dict[bytes, tuple[int, int]] = {}
        for slot, sym in enumerate(cfg.symbols):
            for kind_text, kind in _MD_KINDS.items():
                topic = f"md.{cfg.venue}.{sym}.".encode() + kind_text
                self._md_topics[topic] = (kind, slot)
        self._orders: dict[str, _Order] = {}
        self._topic_cache: dict[str, tuple[bytes, bytes]] = {}
        self.encoder = wire.Encoder(wire.venue_id(cfg.venue))
        self.latency = LatencySet(proc, [FIGURE])
        self._record = self.latency[FIGURE].record
        self.counters = GatewayCounters()
        self._tasks: set[asyncio.Task[None]] = set()
        self._bad = RateLimitedLog(log)
        self._refused = RateLimitedLog(log, burst=20)  # refusals: a storm logs a summary

    # ---- bus names -------------------------------------------------------------------------

    def md_names(self) -> list[str]:
        """The md publishers to follow: ``md.<venue>.<SYMBOL>`` per symbol."""
        return [f"md.{self.cfg.venue}.{s}" for s in self.cfg.symbols]

    def md_prefixes(self) -> list[bytes]:
        """The md topics to subscribe (book, bbo, status, instrument of each symbol)."""
        return list(self._md_topics)

    def inst_of(self, symbol: str) -> int:
        """The bus instrument id the feed of `symbol` uses, -1 while unknown."""
        return self._inst_by_slot[self._slot_by_symbol[symbol]]

    # ---- market data -----------------------------------------------------------------------

    def on_md(self, topic: bytes, body: bytes) -> None:
        """Take one md message: a mid from BBO/BOOK, the feed's instrument id, liveness."""
        key = self._md_topics.get(topic)
        if key is None:
            return
        kind, slot = key
        inst = self._insts[slot]
        try:
            if kind == _BBO:
                m = wire.decode(body)
                if not isinstance(m, wire.BboMsg):
                    raise WireError(f"not a BBO body on {topic!r}")
                self._learn(slot, int(m.header.inst))
                self._set_mid(slot, m.bid_px, m.ask_px, m.price_dp, inst)
            elif kind == _BOOK:
                view = self._views[slot]
                view.update(body)
                self._learn(slot, int(view.inst))
                bid = view.best_bid()
                ask = view.best_ask()
                bid_px = bid[0] if bid is not None else 0
                ask_px = ask[0] if ask is not None else 0
                self._set_mid(slot, bid_px, ask_px, view.price_dp, inst)
            elif kind == _STATUS:
                s = wire.decode(body)
                if not isinstance(s, wire.StatusMsg):
                    raise WireError(f"not a STATUS body on {topic!r}")
                if not s.is_live:
                    self.pretrade.clear_mid(slot)
                    log.info("gateway.md_not_live symbol=%s reason=%s", inst.symbol, s.reason)
            else:
                i = wire.decode(body)
                if not isinstance(i, wire.InstrumentMsg):
                    raise WireError(f"not an INSTRUMENT body on {topic!r}")
                if i.symbol != inst.symbol:
                    raise WireError(f"instrument {i.symbol!r} on the topic of {inst.symbol}")
                self._learn(slot, int(i.header.inst))
        except (WireError, NumberError) as exc:
            self.counters.n_md_malformed += 1
            self._bad.warning("gateway.md_malformed topic=%.80r error=%s", topic, exc)
            return
        self.counters.n_md += 1

    def _set_mid(self, slot: int, bid_px: int, ask_px: int, dp: int, inst: Instrument) -> None:
        if dp != inst.price_dp:
            bid_px = fixed.rescale(bid_px, dp, inst.price_dp) if bid_px else 0
            ask_px = fixed.rescale(ask_px, dp, inst.price_dp) if ask_px else 0
        self.pretrade.set_mid(slot, bid_px, ask_px)

    def _learn(self, slot: int, inst_id: int) -> None:
        old = self._inst_by_slot[slot]
        if old == inst_id:
            return
        if old >= 0:
            self._slot_by_inst.pop(old, None)
        self._inst_by_slot[slot] = inst_id
        self._slot_by_inst[inst_id] = slot
        log.info("gateway.instrument symbol=%s inst=%d", self._insts[slot].symbol, inst_id)

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
        side = _SIDE_TEXT.get(int(msg.side or 0))
        ord_type = _TYPE_TEXT.get(int(msg.ord_type or 0))
        cid = msg.client_order_id
        if side is None or ord_type is None or not cid:
            self._refuse(msg, "a new order needs side, order type and client_order_id")
            return
        is_market = ord_type == "MARKET"
        tif = "" if is_market or ord_type == "LIMIT_MAKER" else _TIF_TEXT.get(int(msg.tif or 0), "")
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
            self._publish_cmd(msg, OrderStatus.REJECTED, 0, why)
            return
        order = NewOrder(inst.symbol, side, ord_type, qty, px, tif, cid, bool(msg.reduce_only))
        rec = _Order(msg.strategy, inst_id, slot, order)
        self._remember(cid, rec)
        self._spawn(self._place(order, rec, hdr.ingest_ns))

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
            self._publish_state(msg, rec, why)
            return
        symbol = self._insts[slot].symbol
        order_id = rec.order_id if rec is not None else 0
        self._spawn(self._do_cancel(symbol, cid, order_id, msg.header.ingest_ns))

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
                self._publish_rec(cid, r, why)
            return
        others = any(
            r.slot == slot and r.is_live and r.strategy != strategy for r in self._orders.values()
        )
        symbol = self._insts[slot].symbol
        trigger_ns = msg.header.ingest_ns
        if not others:
            # Nobody else has an order here: one request also catches orders we never saw.
            self._spawn(self._do_cancel_all(symbol, trigger_ns))
            return
        for cid, r in mine:
            self._spawn(self._do_cancel(symbol, cid, r.order_id, trigger_ns))

    def _remember(self, cid: str, rec: _Order) -> None:
        orders = self._orders
        orders.pop(cid, None)  # a reused id becomes the newest
        orders[cid] = rec
        if len(orders) > MAX_ORDERS:
            # Forget the oldest finished orders (insertion order); live ones stay.
            for old in [k for k, r in orders.items() if not r.is_live][: len(orders) // 10]:
                del orders[old]

    # ---- venue requests (tasks) ------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, None]) -> None:
        # Task supervisor of one request: a bug is counted and logged, never silent.
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            self.counters.n_task_errors += 1
            log.exception("gateway.task_error")

    async def _place(self, order: NewOrder, rec: _Order, trigger_ns: int) -> None:
        c = self.counters
        try:
            u = await self._venue.place(order, on_sent=_Sent(self._record, trigger_ns))
        except OrderRejected as exc:
            if exc.by == "venue":
                c.n_rejected_venue += 1
            else:
                c.n_rejected_local += 1
            rec.status = OrderStatus.REJECTED
            self._publish_rec(order.client_order_id, rec, exc.reason, exc.code)
            return
        except VenueError as exc:
            if exc.is_unknown:
                c.n_unknown_status += 1
                log.warning(
                    "gateway.order_unknown cid=%s code=%d msg=%.200s",
                    order.client_order_id,
                    exc.code,
                    exc.msg,
                )
                await self._resolve(order.symbol, order.client_order_id, rec, exc.msg, exc.code)
                return
            c.n_rejected_venue += 1  # retryable refusal: nothing was executed
            rec.status = OrderStatus.REJECTED
            self._refused.warning(
                "gateway.order_not_sent cid=%s code=%d msg=%.200s",
                order.client_order_id,
                exc.code,
                exc.msg,
            )
            self._publish_rec(order.client_order_id, rec, exc.msg, exc.code)
            return
        except WireError as exc:
            c.n_unknown_status += 1
            await self._resolve(order.symbol, order.client_order_id, rec, str(exc), 0)
            return
        c.n_placed += 1
        self._publish_update(u)

    async def _do_cancel(self, symbol: str, cid: str, order_id: int, trigger_ns: int) -> None:
        c = self.counters
        try:
            u = await self._venue.cancel(
                symbol,
                client_order_id=cid,
                order_id=order_id,
                on_sent=_Sent(self._record, trigger_ns),
            )
        except (OrderRejected, VenueError, WireError) as exc:
            c.n_cancels_failed += 1
            code, text = _code_text(exc)
            self._refused.warning(
                "gateway.cancel_failed cid=%s code=%d msg=%.200s", cid, code, text
            )
            await self._resolve(symbol, cid, self._orders.get(cid), f"cancel: {text}", code)
            return
        c.n_cancels += 1
        self._publish_update(u)

    async def _do_cancel_all(self, symbol: str, trigger_ns: int) -> None:
        try:
            done = await self._venue.cancel_all(symbol, on_sent=_Sent(self._record, trigger_ns))
        except (OrderRejected, VenueError, WireError) as exc:
            self.counters.n_cancels_failed += 1
            log.warning("gateway.cancel_all_failed symbol=%s error=%.200s", symbol, exc)
            return
        self.counters.n_cancels += 1
        for u in done:
            self._publish_update(u)

    async def _resolve(
        self, symbol: str, cid: str, rec: _Order | None, why: str, code: int
    ) -> None:
        # After an unknown outcome or a failed cancel: ask the venue what the order is now
        # and publish that (with `why`); an order the venue does not know is REJECTED.
        for delay_s in RESOLVE_DELAYS_S:
            try:
                u = await self._venue.query(symbol, client_order_id=cid)
            except OrderRejected:  # the venue does not know the order: it never was
                if rec is not None:
                    rec.status = OrderStatus.REJECTED
                    self._publish_rec(cid, rec, why, code)
                return
            except (VenueError, WireError) as exc:
                log.warning(
                    "gateway.query_failed cid=%s error=%.200s retry_in_s=%s", cid, exc, delay_s
                )
                await asyncio.sleep(delay_s)
                continue
            self._publish_update(u, why=why, code=code)
            return
        self.counters.n_unresolved += 1
        log.error("gateway.order_unresolved cid=%s symbol=%s why=%.200s", cid, symbol, why)

    async def _reconcile(self, reason: str) -> None:
        # After a user-data restart: publish the state of every open order (issue 6 does
        # the full reconciliation of what may have been missed).
        try:
            open_now = await self._venue.open_orders()
        except (OrderRejected, VenueError, WireError) as exc:
            log.warning("gateway.reconcile_failed reason=%s error=%.200s", reason, exc)
            return
        for u in open_now:
            self._publish_update(u)
        log.info("gateway.reconciled reason=%s open=%d", reason, len(open_now))

    # ---- venue events (ExecSink) -----------------------------------------------------------

    def on_event(self, ev: ExecEvent) -> None:
        """Publish one user-data event: order updates and fills to their strategy."""
        if isinstance(ev, OrderUpdate):
            self._publish_update(ev)
        elif isinstance(ev, Fill):
            self._publish_fill(ev)
        else:
            self.counters.n_other_events += 1

    def on_restart(self, reason: str) -> None:
        """The user stream restarted: publish the open orders' state again."""
        self.counters.n_restarts += 1
        self._spawn(self._reconcile(reason))

    # ---- publishing ------------------------------------------------------------------------

    def _topics(self, strategy: str) -> tuple[bytes, bytes]:
        t = self._topic_cache.get(strategy)
        if t is None:
            t = (f"ex.{strategy}.order".encode(), f"ex.{strategy}.fill".encode())
            self._topic_cache[strategy] = t
        return t

    def _send(self, topic: bytes, body: bytes) -> None:
        if not self._out.send(topic, body):
            self.counters.n_dropped += 1

    def _owner(self, cid: str, symbol: str) -> tuple[str, int, _Order | None]:
        rec = self._orders.get(cid)
        if rec is not None:
            return rec.strategy, rec.inst, rec
        self.counters.n_unowned += 1
        slot = self._slot_by_symbol.get(symbol)
        inst = self._inst_by_slot[slot] if slot is not None else 0
        return NOBODY, max(inst, 0), None

    def _scales(self, symbol: str) -> tuple[int, int]:
        slot = self._slot_by_symbol.get(symbol)
        if slot is not None:
            inst = self._insts[slot]
            return inst.price_dp, inst.qty_dp
        other = self._venue.instruments.get(symbol)
        return (other.price_dp, other.qty_dp) if other is not None else (0, 0)

    def _publish_update(self, u: OrderUpdate, *, why: str = "", code: int = 0) -> None:
        strategy, inst, rec = self._owner(u.client_order_id, u.symbol)
        if rec is not None:
            rec.apply(u)
        price_dp, qty_dp = self._scales(u.symbol)
        body = self.encoder.order_event(
            inst,
            strategy,
            u.client_order_id,
            u.order_id,
            _STATUS_CODE[u.status],
            _SIDE_CODE.get(u.side, 0),
            _TYPE_CODE.get(u.order_type, 0),
            _TIF_CODE.get(u.tif, 0),
            price_dp,
            qty_dp,
            u.px,
            u.qty,
            u.filled_qty,
            code,
            _cut(why or u.reason),
            u.exch_ns,
            u.recv_ns,
        )
        self.counters.n_order_events += 1
        self._send(self._topics(strategy)[0], body)

    def _publish_fill(self, f: Fill) -> None:
        strategy, inst, _ = self._owner(f.client_order_id, f.symbol)
        price_dp, qty_dp = self._scales(f.symbol)
        body = self.encoder.fill(
            inst,
            strategy,
            f.client_order_id,
            f.order_id,
            f.trade_id,
            _SIDE_CODE.get(f.side, 0),
            price_dp,
            qty_dp,
            f.px,
            f.qty,
            f.fee,
            _cut(f.fee_asset),
            f.is_maker,
            f.realized_pnl,
            f.exch_ns,
            f.recv_ns,
        )
        self.counters.n_fills += 1
        self._send(self._topics(strategy)[1], body)

    def _publish_rec(self, cid: str, rec: _Order, why: str, code: int = 0) -> None:
        # The order's last known state (REJECTED after a refusal) with `why`; now as recv.
        inst = self._insts[rec.slot]
        status = rec.status if rec.status is not None else OrderStatus.NEW
        body = self.encoder.order_event(
            rec.inst,
            rec.strategy,
            cid,
            rec.order_id,
            _STATUS_CODE[status],
            _SIDE_CODE.get(rec.side, 0),
            _TYPE_CODE.get(rec.ord_type, 0),
            _TIF_CODE.get(rec.tif, 0),
            inst.price_dp,
            inst.qty_dp,
            rec.px,
            rec.qty,
            rec.filled_qty,
            code,
            _cut(why),
            0,
            time.monotonic_ns(),
        )
        self.counters.n_order_events += 1
        self._send(self._topics(rec.strategy)[0], body)

    def _publish_state(self, msg: "wire.OrderCmdMsg", rec: _Order | None, why: str) -> None:
        # A refused cancel: the order stays as it was; tell the strategy why.
        if rec is not None:
            self._publish_rec(msg.client_order_id, rec, why)
        else:
            self._publish_cmd(msg, OrderStatus.NEW, 0, why)

    def _refuse(self, msg: "wire.OrderCmdMsg", why: str) -> None:
        self.counters.n_rejected_gateway += 1
        self._bad.warning(
            "gateway.cmd_refused strategy=%s cid=%.40r reason=%s",
            msg.strategy,
            msg.client_order_id,
            why,
        )
        if msg.action == wire.Action.NEW:
            self._publish_cmd(msg, OrderStatus.REJECTED, 0, why)

    def _publish_cmd(
        self, msg: "wire.OrderCmdMsg", status: OrderStatus, code: int, why: str
    ) -> None:
        # An order event built from the command itself (the order never reached a venue).
        body = self.encoder.order_event(
            int(msg.header.inst),
            msg.strategy,
            msg.client_order_id,
            0,
            _STATUS_CODE[status],
            int(msg.side or 0),
            int(msg.ord_type or 0),
            int(msg.tif or 0),
            msg.price_dp,
            msg.qty_dp,
            msg.px,
            msg.qty,
            0,
            code,
            _cut(why),
            0,
            time.monotonic_ns(),
        )
        self.counters.n_order_events += 1
        self._send(self._topics(msg.strategy)[0], body)

    def publish_latency(self) -> None:
        """Fold the figure and publish ``lat.<proc>`` on exec (a drop loses one snapshot)."""
        for topic, body in self.latency.messages(self.encoder):
            self._send(topic, body)

    # ---- the loop --------------------------------------------------------------------------

    def drain(self, inbox: Inbox, handler: Callable[[bytes, bytes], None]) -> None:
        """Handle every queued message of `inbox`.

        ZMQ FDs are edge-triggered: read while ZMQ_EVENTS has POLLIN, else the next message
        would never wake the loop. Asking EVENTS first (not reading until ``zmq.Again``)
        keeps the exception off the path of the last command before its request task runs.
        """
        sock = inbox.socket
        while cast(int, sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            msg = inbox.poll_recv()
            if msg is None:
                continue  # a malformed multipart message, counted by the socket
            try:
                handler(msg[0], msg[1])
            except Exception:  # per-message dispatch wrapper
                self.counters.n_dispatch_errors += 1
                log.exception("gateway.dispatch_error topic=%.80r", msg[0])

    async def run(
        self,
        orders: Inbox,
        md: Inbox,
        stop: asyncio.Event,
        rediscover: Callable[[], object] | None = None,
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

        Raises
        ------
        VenueError, WireError
            The venue could not be started.
        """
        loop = asyncio.get_running_loop()
        await self._venue.start(self)
        loop.add_reader(orders.fileno(), self.drain, orders, self.on_cmd)
        loop.add_reader(md.fileno(), self.drain, md, self.on_md)
        ticker = loop.create_task(self._tick(orders, md, rediscover))
        log.info("gateway.started venue=%s symbols=%s", self.cfg.venue, ",".join(self.cfg.symbols))
        try:
            self.drain(md, self.on_md)
            self.drain(orders, self.on_cmd)
            await stop.wait()
        finally:
            loop.remove_reader(orders.fileno())
            loop.remove_reader(md.fileno())
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            await self._finish()

    async def _finish(self) -> None:
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=DRAIN_TIMEOUT_S)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("gateway.requests_abandoned n=%d", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        await self._venue.close()
        self.publish_latency()
        self.log_status("gateway.stopped")

    async def _tick(
        self, orders: Inbox, md: Inbox, rediscover: Callable[[], object] | None
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
                self.publish_latency()
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
