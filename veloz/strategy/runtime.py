"""The strategy process's engine: dispatch bus messages to strategies.

Owns `Runtime` (markets, per-strategy contexts, topic dispatch built once, order-event and
fill dedupe, positions from fills, start on instruments, timers, exception isolation,
latency recording at callback entry, the per-strategy `Tally`, and driving its
`veloz.strategy.resync.Resync`: a SYNC when a strategy starts, the ``ex.`` header seqs, the
SYNCs due at each tick) and `Slot`. Must not own sockets or the process loop
(`veloz.strategy.loop`), decide which SYNCs to send (`Resync`), decide trades, talk to a
venue, or parse anything but `veloz._core.wire` bodies.
"""

import logging
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from typing import TypeVar

from veloz._core import fixed
from veloz._core import wire
from veloz._core.latency import now_ns
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.errors import NumberError
from veloz.errors import OrderRejected
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.metrics import LatencySet
from veloz.model.instrument import Instrument
from veloz.strategy.base import Market
from veloz.strategy.base import Strategy
from veloz.strategy.base import StrategyContext
from veloz.strategy.base import StrategyState
from veloz.strategy.config import StrategySpec
from veloz.strategy.orders import OrderState
from veloz.strategy.resync import Resync
from veloz.strategy.summary import ACTION_OFFSET
from veloz.strategy.summary import Tally

log = logging.getLogger(__name__)
M = TypeVar("M", bound=wire.Msg)

__all__ = ["FIGURES", "Runtime", "Slot"]

FIGURES = ("ingest_to_dispatch", "receipt_to_strategy")
_MD_KINDS = ("book", "bbo", "trade", "kline", "status", "instrument")
_POS_SIDE = {int(wire.Side.BUY): 0, int(wire.Side.SELL): 1}  # wire Side -> Position side
_RUNNING = StrategyState.RUNNING
_LATENCY_CAPACITY = 1 << 18  # samples per figure between folds (one fold a second)
_REJECTED = int(wire.Status.REJECTED)
_CANCEL_ACTIONS = frozenset((int(wire.Action.CANCEL), int(wire.Action.CANCEL_ALL)))


class Slot:
    """One strategy in the runtime: its object, spec, context, tally and bound callbacks."""

    __slots__ = (
        "ctx",
        "on_bbo",
        "on_book",
        "on_fill",
        "on_kline",
        "on_order",
        "on_trade",
        "spec",
        "start_deadline_ns",
        "strategy",
        "tally",
    )

    def __init__(
        self,
        spec: StrategySpec,
        strategy: Strategy,
        ctx: StrategyContext,
        tally: Tally | None = None,
    ) -> None:
        self.spec = spec
        self.strategy = strategy
        self.ctx = ctx
        self.tally = tally if tally is not None else Tally()
        # Bound once: one attribute load per dispatch instead of a method lookup.
        self.on_book = strategy.on_book
        self.on_bbo = strategy.on_bbo
        self.on_trade = strategy.on_trade
        self.on_kline = strategy.on_kline
        self.on_order = strategy.on_order
        self.on_fill = strategy.on_fill
        self.start_deadline_ns = 0


class Runtime:
    """Several strategies in one process, fed by `dispatch(topic, body)`.

    Parameters
    ----------
    proc : str
        Process name (latency set ``strategy.<proc>``).
    strategies : iterable of (StrategySpec, Strategy)
        Constructed strategies with their config.
    send : callable
        ``send(topic, body) -> bool`` for ORDER_CMDs (a `PushSocket.send`); False = refused.
    start_timeout_s : float
        Seconds a strategy waits for its instruments before it is marked FAILED.
    resync_after_s : float
        Seconds an order sent may go without any answer before the gateway is asked about
        it (a SYNC naming it); then again after 2, 4, 8, 16 (at most) times that.
    on_failed : callable, optional
        Called with the `Slot` of a strategy once it is stopped FAILED (the process's
        audit record); must not raise.

    Notes
    -----
    Counters: ``n_messages``, ``n_malformed`` (bodies that fail to decode, or of the wrong
    type for their topic), ``n_unknown_topic``, ``n_bad_fills`` (fills that could not be
    applied to a position), ``n_md_lost`` (market-data messages a feed sent that never
    arrived: gaps in the header seq of a feed's messages; per market in ``Market.n_lost``),
    and, kept by its `Resync` (``runtime.resync``), ``n_exec_restarts`` (the exec publisher
    restarted: the seq of ``ex.`` messages went back), ``n_syncs_sent`` /
    ``n_syncs_refused`` (SYNC commands the bus took / refused; the refused count includes
    per-order ones), ``n_resyncs`` (per-order SYNCs the bus took: orders whose answer was
    lost, or never sent, or slow).
    Per strategy: ``ctx.n_errors``, ``ctx.orders.counters()`` and ``slot.tally`` (cancels
    sent, bus refusals, rejections by gateway or venue).
    """

    def __init__(
        self,
        proc: str,
        strategies: Iterable[tuple[StrategySpec, Strategy]],
        send: Callable[[bytes, bytes], bool],
        start_timeout_s: float = 10.0,
        resync_after_s: float = 2.0,
        on_failed: "Callable[[Slot], None] | None" = None,
    ) -> None:
        self.proc = proc
        self._on_failed = on_failed
        self.latency = LatencySet(f"strategy.{proc}", FIGURES, capacity=_LATENCY_CAPACITY)
        self._rec_md = self.latency["ingest_to_dispatch"].record_since
        self._rec_ex = self.latency["receipt_to_strategy"].record_since
        self._start_timeout_ns = int(start_timeout_s * 1e9)
        self.markets: dict[tuple[str, str], Market] = {}
        self.slots: list[Slot] = []
        self._bad_log = RateLimitedLog(log)
        self.n_messages = 0
        self.n_malformed = 0
        self.n_unknown_topic = 0
        self.n_bad_fills = 0
        self.n_md_lost = 0
        self.has_new_timer = False  # a strategy set a timer since the last tick()
        self._handlers: dict[bytes, Callable[[bytes], None]] = {}
        for spec, strategy in strategies:
            markets = {s: self._market(spec.venue, s) for s in spec.symbols}
            tally = Tally()
            ctx = StrategyContext(
                spec.name,
                spec.venue,
                markets,
                _counting_send(tally, send),
                on_timer_change=self._timers_changed,
            )
            strategy._bind(ctx)
            self.slots.append(Slot(spec, strategy, ctx, tally))
        self.resync = Resync([s.ctx for s in self.slots], resync_after_s, self._timers_changed)
        self._build_handlers()

    # The resync counters, read where they were before `Resync` owned them.
    @property
    def n_exec_restarts(self) -> int:
        """Restarts of the exec publisher seen (`Resync.n_exec_restarts`)."""
        return self.resync.n_exec_restarts

    @property
    def n_syncs_sent(self) -> int:
        """SYNC commands the bus took (`Resync.n_syncs_sent`)."""
        return self.resync.n_syncs_sent

    @property
    def n_syncs_refused(self) -> int:
        """SYNC commands the bus refused, per-order ones included (`Resync.n_syncs_refused`)."""
        return self.resync.n_syncs_refused

    @property
    def n_resyncs(self) -> int:
        """Per-order SYNCs the bus took (`Resync.n_resyncs`)."""
        return self.resync.n_resyncs

    # ---- set-up ---------------------------------------------------------------------------
    def _timers_changed(self) -> None:
        self.has_new_timer = True

    def _market(self, venue: str, symbol: str) -> Market:
        key = (venue, symbol)
        market = self.markets.get(key)
        if market is None:
            market = self.markets[key] = Market(venue, symbol)
        return market

    def _build_handlers(self) -> None:
        # One dict from exact topic to a closure holding everything it needs, built once.
        for (venue, symbol), market in self.markets.items():
            subs = [s for s in self.slots if s.spec.venue == venue and symbol in s.spec.symbols]
            base = f"md.{venue}.{symbol}."
            self._handlers[(base + "book").encode()] = self._book_handler(market, subs)
            for kind in ("bbo", "trade", "kline"):
                self._handlers[(base + kind).encode()] = self._msg_handler(kind, market, subs)
            self._handlers[(base + "status").encode()] = self._status_handler(market)
            self._handlers[(base + "instrument").encode()] = self._instrument_handler(market)
        for slot in self.slots:
            name = slot.spec.name
            self._handlers[f"ex.{name}.order".encode()] = self._order_handler(slot)
            self._handlers[f"ex.{name}.fill".encode()] = self._fill_handler(slot)

    def sub_names(self) -> list[str]:
        """Publisher names to connect: ``md.<venue>.<SYMBOL>`` of every market, ``exec``."""
        return [f"md.{v}.{s}" for v, s in self.markets] + ["exec"]

    def sub_prefixes(self) -> list[bytes]:
        """Topic prefixes to subscribe: ``md.<venue>.<SYMBOL>.`` and ``ex.<name>.``."""
        md = [f"md.{v}.{s}.".encode() for v, s in self.markets]
        return md + [f"ex.{slot.spec.name}.".encode() for slot in self.slots]

    # ---- dispatch -------------------------------------------------------------------------
    def dispatch(self, topic: bytes, body: bytes) -> None:
        """Route one bus message to its handler; unknown topics are counted. O(1) + callbacks."""
        self.n_messages += 1
        handler = self._handlers.get(topic)
        if handler is None:
            self.n_unknown_topic += 1
            self._bad_log.warning("strategy.unknown_topic topic=%r", topic[:200])
            return
        handler(body)

    def _decode_as(self, body: bytes, cls: type[M], what: str) -> M | None:
        # Decode a body that must be a `cls` message; anything else is counted as malformed.
        try:
            msg = wire.decode(body)
        except WireError as exc:
            self._malformed(what, body, exc)
            return None
        if type(msg) is not cls:
            self._malformed(what, body, WireError(f"{type(msg).__name__} on a {what} topic"))
            return None
        return msg

    def _malformed(self, what: str, body: bytes, exc: Exception) -> None:
        self.n_malformed += 1
        self._bad_log.warning(
            "strategy.malformed kind=%s error=%s n_malformed=%d body=%r",
            what,
            exc,
            self.n_malformed,
            body[:200],
        )

    def _note_seq(self, market: Market, seq: int) -> None:
        # Every message of one feed comes from one encoder, and we subscribe to all of them:
        # a jump in seq is messages dropped at a high-water mark. A smaller seq is a restart.
        last = market.last_seq
        market.last_seq = seq
        if last == 0 or seq == last + 1:
            return
        if seq > last:
            lost = seq - last - 1
            market.n_lost += lost
            self.n_md_lost += lost
            self._bad_log.warning(
                "strategy.md_lost venue=%s symbol=%s lost=%d n_md_lost=%d",
                market.venue,
                market.symbol,
                lost,
                self.n_md_lost,
            )
        else:
            log.info(
                "strategy.md_restart venue=%s symbol=%s seq=%d last=%d",
                market.venue,
                market.symbol,
                seq,
                last,
            )

    def _book_handler(self, market: Market, subs: list[Slot]) -> Callable[[bytes], None]:
        book = market.book
        rec = self._rec_md

        def on_book(body: bytes) -> None:
            try:
                book.update(body)
            except WireError as exc:
                self._malformed("book", body, exc)
                return
            market.has_book = True
            if book.seq != market.last_seq + 1:
                self._note_seq(market, book.seq)
            else:
                market.last_seq = book.seq
            ingest = book.ingest_ns
            for slot in subs:
                if slot.ctx.state != _RUNNING:
                    continue
                rec(ingest)
                try:
                    slot.on_book(book)
                except Exception:  # dispatch wrapper: isolate the strategy (STYLE §6)
                    self._fail(slot, "on_book")

        return on_book

    def _msg_handler(self, kind: str, market: Market, subs: list[Slot]) -> Callable[[bytes], None]:
        rec = self._rec_md
        msg_cls: type[wire.Msg] = {
            "bbo": wire.BboMsg,
            "trade": wire.TradeMsg,
            "kline": wire.KlineMsg,
        }[kind]
        callback = "on_" + kind

        def on_msg(body: bytes) -> None:
            msg = self._decode_as(body, msg_cls, kind)
            if msg is None:
                return
            header = msg.header
            if header.seq != market.last_seq + 1:
                self._note_seq(market, header.seq)
            else:
                market.last_seq = header.seq
            ingest = header.ingest_ns
            for slot in subs:
                if slot.ctx.state != _RUNNING:
                    continue
                fn = getattr(slot, callback)
                rec(ingest)
                try:
                    fn(msg)
                except Exception:  # dispatch wrapper: isolate the strategy (STYLE §6)
                    self._fail(slot, callback)

        return on_msg

    def _status_handler(self, market: Market) -> Callable[[bytes], None]:
        def on_status(body: bytes) -> None:
            msg = self._decode_as(body, wire.StatusMsg, "status")
            if msg is None:
                return
            self._note_seq(market, msg.header.seq)
            if bool(msg.is_live) != market.is_live:
                market.is_live = bool(msg.is_live)
                log.info(
                    "strategy.md_status venue=%s symbol=%s live=%d reason=%s",
                    market.venue,
                    market.symbol,
                    market.is_live,
                    msg.reason,
                )

        return on_status

    def _instrument_handler(self, market: Market) -> Callable[[bytes], None]:
        def on_instrument(body: bytes) -> None:
            try:
                msg = wire.decode(body)
                if not isinstance(msg, wire.InstrumentMsg):
                    raise WireError(f"{type(msg).__name__} on an instrument topic")
                if msg.symbol != market.symbol:
                    raise WireError(f"symbol {msg.symbol!r} on the {market.symbol} topic")
                ins = _instrument(market.venue, msg)
            except (WireError, ValueError) as exc:
                self._malformed("instrument", body, exc)
                return
            self._note_seq(market, msg.header.seq)
            inst = int(msg.header.inst)
            if ins == market.instrument and inst == market.inst:
                return
            if market.instrument is not None:
                log.warning(
                    "strategy.instrument_changed venue=%s symbol=%s inst=%d old=%s new=%s",
                    market.venue,
                    market.symbol,
                    inst,
                    market.instrument,
                    ins,
                )
            else:
                log.info(
                    "strategy.instrument venue=%s symbol=%s inst=%d price_dp=%d qty_dp=%d",
                    market.venue,
                    market.symbol,
                    inst,
                    ins.price_dp,
                    ins.qty_dp,
                )
            market.instrument = ins
            market.inst = inst
            self._start_ready()

        return on_instrument

    def _order_handler(self, slot: Slot) -> Callable[[bytes], None]:
        ctx = slot.ctx
        orders = ctx.orders
        tally = slot.tally
        rec = self._rec_ex
        note_exec_seq = self.resync.note_exec_seq

        def on_order(body: bytes) -> None:
            msg = self._decode_as(body, wire.OrderEventMsg, "order")
            if msg is None:
                return
            note_exec_seq(msg.header.seq)
            cid = msg.client_order_id
            if orders.get(cid) is None:
                orders.adopt(self._order_from_event(ctx, msg))
                log.info("strategy.order_adopted strategy=%s cid=%s", ctx.name, cid)
            status = int(msg.status)
            order = orders.on_event(cid, status, msg.filled_qty, msg.venue_order_id, msg.reason)
            if order is None:
                return
            if status == _REJECTED:
                tally.on_rejected(msg.error_code)
            if ctx.state != _RUNNING:
                return
            rec(msg.header.ingest_ns)
            try:
                slot.on_order(msg)
            except Exception:  # dispatch wrapper: isolate the strategy (STYLE §6)
                self._fail(slot, "on_order")

        return on_order

    def _fill_handler(self, slot: Slot) -> Callable[[bytes], None]:
        ctx = slot.ctx
        rec = self._rec_ex
        note_exec_seq = self.resync.note_exec_seq

        def on_fill(body: bytes) -> None:
            msg = self._decode_as(body, wire.FillMsg, "fill")
            if msg is None:
                return
            note_exec_seq(msg.header.seq)
            if not ctx.orders.on_fill(msg.header.inst, msg.trade_id, msg.client_order_id):
                return
            self._apply_fill(ctx, msg)
            if ctx.state != _RUNNING:
                return
            rec(msg.header.ingest_ns)
            try:
                slot.on_fill(msg)
            except Exception:  # dispatch wrapper: isolate the strategy (STYLE §6)
                self._fail(slot, "on_fill")

        return on_fill

    def _apply_fill(self, ctx: StrategyContext, msg: wire.FillMsg) -> None:
        # Position and fees from a new fill; a fill that cannot be applied is counted and
        # logged, and still delivered (the strategy may know better).
        market = _market_of(ctx, msg.header.inst)
        if market is None:  # the gateway numbered it otherwise: go by our order's symbol
            order = ctx.orders.get(msg.client_order_id)
            market = None if order is None else ctx.markets.get(order.symbol)
        pos = None if market is None else ctx.position_of(market.symbol)
        side = _POS_SIDE.get(-1 if msg.side is None else int(msg.side))
        try:
            if market is None or pos is None:
                raise ValueError(f"no instrument known for inst {msg.header.inst}")
            if side is None:
                raise ValueError(f"fill side {msg.side!r}")
            px = fixed.rescale(msg.px, msg.price_dp, pos.price_dp)
            qty = fixed.rescale(msg.qty, msg.qty_dp, pos.qty_dp)
            pos.apply_fill(side, Px(px), Qty(qty))
        except (ValueError, NumberError) as exc:
            self.n_bad_fills += 1
            log.error(
                "strategy.fill_not_applied strategy=%s cid=%s trade_id=%d error=%s n_bad_fills=%d",
                ctx.name,
                msg.client_order_id,
                msg.trade_id,
                exc,
                self.n_bad_fills,
            )
            return
        if msg.fee:
            fees = ctx.fees.setdefault(market.symbol, {})
            fees[msg.fee_asset] = fees.get(msg.fee_asset, 0) + msg.fee

    def _order_from_event(self, ctx: StrategyContext, msg: wire.OrderEventMsg) -> OrderState:
        market = _market_of(ctx, msg.header.inst)
        return OrderState(
            client_order_id=msg.client_order_id,
            symbol="?" if market is None else market.symbol,
            inst=int(msg.header.inst),
            side=0 if msg.side is None else int(msg.side),
            ord_type=0 if msg.ord_type is None else int(msg.ord_type),
            tif=0 if msg.tif is None else int(msg.tif),
            px=msg.px,
            qty=msg.qty,
            price_dp=msg.price_dp,
            qty_dp=msg.qty_dp,
            venue_order_id=msg.venue_order_id,
        )

    # ---- lifecycle ------------------------------------------------------------------------
    def begin(self, mono_ns: int | None = None) -> None:
        """Arm the start timeout of every waiting strategy (call once, when the loop starts)."""
        now = now_ns() if mono_ns is None else mono_ns
        for slot in self.slots:
            slot.start_deadline_ns = now + self._start_timeout_ns
        self._start_ready()

    def _start_ready(self) -> None:
        for slot in self.slots:
            ctx = slot.ctx
            if ctx.state != StrategyState.WAITING or slot.start_deadline_ns == 0:
                continue
            if any(m.instrument is None for m in ctx.markets.values()):
                continue
            ctx.state = _RUNNING
            slot.tally.has_started = True
            log.info("strategy.start strategy=%s symbols=%s", ctx.name, ",".join(ctx.markets))
            self.resync.sync(ctx)  # orders the gateway knows of us (after a restart of ours)
            try:
                slot.strategy.on_start()
            except Exception:  # dispatch wrapper: isolate the strategy (STYLE §6)
                self._fail(slot, "on_start")

    def tick(self, mono_ns: int) -> int:
        """Run due timers, start timeouts and the asks about unanswered orders; return the
        next deadline (mono ns, 0 = none)."""
        nearest = self.resync.tick(mono_ns)
        self.has_new_timer = False  # also what a SYNC refused just now set: `nearest` has it
        for slot in self.slots:
            ctx = slot.ctx
            if ctx.state == StrategyState.WAITING and slot.start_deadline_ns:
                if mono_ns >= slot.start_deadline_ns:
                    missing = [s for s, m in ctx.markets.items() if m.instrument is None]
                    log.error(
                        "strategy.start_timeout strategy=%s missing=%s: no instrument "
                        "message from their feeds; strategy not started",
                        ctx.name,
                        ",".join(missing),
                    )
                    ctx.state = StrategyState.FAILED
                    slot.tally.error = "start timeout: no instrument for " + ",".join(missing)
                    continue
                deadline = slot.start_deadline_ns
            elif ctx.state == _RUNNING and ctx.timer_ns:
                if mono_ns >= ctx.next_timer_ns:
                    ctx.next_timer_ns += ctx.timer_ns
                    if ctx.next_timer_ns <= mono_ns:  # fell behind: skip, do not burst
                        ctx.next_timer_ns = mono_ns + ctx.timer_ns
                    ctx.n_timers += 1
                    try:
                        slot.strategy.on_timer(mono_ns)
                    except Exception:  # dispatch wrapper: isolate the strategy (STYLE §6)
                        self._fail(slot, "on_timer")
                        continue
                if not ctx.timer_ns:  # on_timer turned it off
                    continue
                deadline = ctx.next_timer_ns
            else:
                continue
            if nearest == 0 or deadline < nearest:
                nearest = deadline
        return nearest

    def _fail(self, slot: Slot, where: str) -> None:
        # Called from inside an `except` block: log.exception carries the traceback.
        ctx = slot.ctx
        ctx.n_errors += 1
        if not slot.tally.error:
            slot.tally.note_exception(where)
        log.exception(
            "strategy.callback_failed strategy=%s callback=%s n_errors=%d: stopping it",
            ctx.name,
            where,
            ctx.n_errors,
        )
        self.stop_one(slot, failed=True)

    def stop_one(self, slot: Slot, failed: bool = False) -> None:
        """Stop one strategy: on_stop (if it ran), cancel its open orders, mark it done."""
        ctx = slot.ctx
        if ctx.state in (StrategyState.STOPPING, StrategyState.STOPPED, StrategyState.FAILED):
            return
        was_running = ctx.state == _RUNNING
        ctx.state = StrategyState.STOPPING
        if was_running:
            try:
                slot.strategy.on_stop()
            except Exception:  # dispatch wrapper: on_stop failing still cancels below
                ctx.n_errors += 1
                failed = True
                if not slot.tally.error:
                    slot.tally.note_exception("on_stop")
                log.exception(
                    "strategy.callback_failed strategy=%s callback=on_stop n_errors=%d",
                    ctx.name,
                    ctx.n_errors,
                )
        try:
            n = slot.strategy.cancel_all()
        except OrderRejected as exc:
            n = -1
            log.error("strategy.cancel_all_failed strategy=%s error=%s", ctx.name, exc)
        ctx.state = StrategyState.FAILED if failed else StrategyState.STOPPED
        ctx.timer_ns = 0
        log.info(
            "strategy.stopped strategy=%s state=%s cancels_sent=%d n_errors=%d %s",
            ctx.name,
            StrategyState.NAMES[ctx.state],
            n,
            ctx.n_errors,
            " ".join(f"{k}={v}" for k, v in ctx.orders.counters().items()),
        )
        if failed and self._on_failed is not None:
            self._on_failed(slot)

    def stop_all(self) -> None:
        """Stop every strategy (shutdown)."""
        for slot in self.slots:
            self.stop_one(slot)

    def counters(self) -> dict[str, Any]:
        """Return the runtime counters and each strategy's state and counters."""
        return {
            "n_messages": self.n_messages,
            "n_malformed": self.n_malformed,
            "n_md_lost": self.n_md_lost,
            "n_unknown_topic": self.n_unknown_topic,
            "n_bad_fills": self.n_bad_fills,
            "n_exec_restarts": self.n_exec_restarts,
            "n_syncs_sent": self.n_syncs_sent,
            "n_syncs_refused": self.n_syncs_refused,
            "n_resyncs": self.n_resyncs,
            "strategies": {
                s.ctx.name: {
                    "state": StrategyState.NAMES[s.ctx.state],
                    "n_errors": s.ctx.n_errors,
                    **s.ctx.orders.counters(),
                }
                for s in self.slots
            },
        }


def _counting_send(
    tally: Tally, send: Callable[[bytes, bytes], bool]
) -> Callable[[bytes, bytes], bool]:
    # The context's send, counting bus refusals and cancels: one call and one byte read
    # per command on top of the PUSH.
    def send_counted(topic: bytes, body: bytes) -> bool:
        if not send(topic, body):
            tally.n_refused_bus += 1
            return False
        if body[ACTION_OFFSET] in _CANCEL_ACTIONS:
            tally.n_cancels_sent += 1
        return True

    return send_counted


def _market_of(ctx: StrategyContext, inst: int) -> Market | None:
    for market in ctx.markets.values():
        if market.inst == inst:
            return market
    return None


def _instrument(venue: str, msg: wire.InstrumentMsg) -> Instrument:
    # INSTRUMENT carries min_notional at price_dp; Instrument keeps it at price_dp + qty_dp.
    return Instrument(
        venue=venue,
        symbol=msg.symbol,
        base=msg.base,
        quote=msg.quote,
        status="TRADING",
        price_dp=msg.price_dp,
        qty_dp=msg.qty_dp,
        tick_raw=msg.tick_raw,
        step_raw=msg.step_raw,
        min_px_raw=0,
        max_px_raw=0,
        min_qty_raw=msg.min_qty_raw,
        max_qty_raw=msg.max_qty_raw,
        min_notional_raw=msg.min_notional_raw * 10**msg.qty_dp,
    )
