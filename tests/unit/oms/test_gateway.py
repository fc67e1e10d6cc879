"""Gateway core with a scripted fake venue and a recording exec outbox (no sockets, no venue).

Commands and market data are real wire bodies from `wire.Encoder`; what the gateway
publishes is decoded back with `wire.decode`. Each test drives `on_md` / `on_cmd` /
`on_event` directly inside a running loop and waits for the request tasks to finish.
"""

import asyncio
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pytest
import zmq

from bench.sim_load import run_async
from veloz._core import wire
from veloz._core.book import Book
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.errors import ConfigError
from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.model.events import BalanceUpdate
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.model.orders import NewOrder
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import Gateway
from veloz.oms.venue import ExecSink
from veloz.oms.venue import OnSent
from veloz.risk.config import RiskLimits

VENUE = "binance-spot"
BTC = Instrument(VENUE, "BTCUSDT", "BTC", "USDT", "TRADING", 2, 5, 1, 1, 0, 0, 1, 0, 0)
ETH = Instrument(VENUE, "ETHUSDT", "ETH", "USDT", "TRADING", 2, 4, 1, 1, 0, 0, 1, 0, 0)
INST = 7  # the feed's instrument id of BTCUSDT on the bus
PX = 5_000_000  # 50000.00
QTY = 1_000  # 0.01000 BTC
TRIGGER_NS = 1_000_000


@dataclass
class FakeVenue:
    """VenueExec fake: records calls; `place_fx` / `cancel_fx` / `query_fx` script answers."""

    placed: list[NewOrder] = field(default_factory=list)
    canceled: list[tuple[str, str, int]] = field(default_factory=list)
    canceled_all: list[str] = field(default_factory=list)
    queried: list[str] = field(default_factory=list)
    place_fx: Exception | None = None
    cancel_fx: Exception | None = None
    query_fx: list[Exception | OrderUpdate] = field(default_factory=list)
    open_now: list[OrderUpdate] = field(default_factory=list)
    history: list[Fill] = field(default_factory=list)  # the venue's trade history
    sent_after_ns: int = 5_000
    sink: ExecSink | None = None
    is_closed: bool = False

    @property
    def venue(self) -> str:
        return VENUE

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return {"BTCUSDT": BTC, "ETHUSDT": ETH}

    async def start(self, sink: ExecSink) -> None:
        self.sink = sink

    async def close(self) -> None:
        self.is_closed = True

    async def place(self, order: NewOrder, *, on_sent: OnSent | None = None) -> OrderUpdate:
        self.placed.append(order)
        if on_sent is not None:
            on_sent(TRIGGER_NS + self.sent_after_ns)
        if self.place_fx is not None:
            raise self.place_fx
        return update(order.client_order_id, OrderStatus.NEW, order_id=100 + len(self.placed))

    async def cancel(
        self,
        symbol: str,
        *,
        client_order_id: str = "",
        order_id: int = 0,
        on_sent: OnSent | None = None,
    ) -> OrderUpdate:
        self.canceled.append((symbol, client_order_id, order_id))
        if on_sent is not None:
            on_sent(TRIGGER_NS + self.sent_after_ns)
        if self.cancel_fx is not None:
            raise self.cancel_fx
        return update(client_order_id, OrderStatus.CANCELED, order_id=order_id)

    async def cancel_all(self, symbol: str, *, on_sent: OnSent | None = None) -> list[OrderUpdate]:
        self.canceled_all.append(symbol)
        return [update(o.client_order_id, OrderStatus.CANCELED) for o in self.placed]

    async def query(
        self, symbol: str, *, client_order_id: str = "", order_id: int = 0
    ) -> OrderUpdate:
        self.queried.append(client_order_id)
        fx = self.query_fx.pop(0) if self.query_fx else update(client_order_id, OrderStatus.NEW)
        if isinstance(fx, Exception):
            raise fx
        return fx

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        return list(self.open_now)

    async def trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Fill]:
        page = [f for f in self.history if f.symbol == symbol]
        return [f for f in page if from_id is None or f.trade_id >= from_id][:limit]


def update(
    cid: str, status: OrderStatus, *, order_id: int = 1, filled: int = 0, recv_ns: int = 42
) -> OrderUpdate:
    return OrderUpdate(
        VENUE, "BTCUSDT", cid, order_id, "BUY", "LIMIT", "GTC", status, "NEW",
        PX, QTY, filled, "", 1_700_000_000_000_000_000, recv_ns,
    )  # fmt: skip


class Out:
    """Recording exec PUB."""

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, Any]] = []

    def send(self, topic: bytes, body: bytes) -> bool:
        self.sent.append((topic, wire.decode(body)))
        return True

    def of(self, topic: bytes) -> list[Any]:
        return [m for t, m in self.sent if t == topic]


class Rig:
    def __init__(self, **risk: Any) -> None:
        limits: dict[str, Any] = {
            "max_notional": "100000",
            "price_band_bps": 500,
            "max_orders_per_s": 1000.0,
        }
        limits.update(risk)
        cfg = GatewayConfig(symbols=["BTCUSDT", "ETHUSDT"], risk=RiskLimits(**limits))
        self.venue = FakeVenue()
        self.out = Out()
        self.gw = Gateway(cfg, self.venue, self.out)
        self.md = wire.Encoder(wire.venue_id(VENUE))
        self.strat = wire.Encoder(0)

    def bbo(self, bid: int = PX - 100, ask: int = PX + 100, dp: int = 2, inst: int = INST) -> None:
        body = self.md.bbo(inst, 1, dp, 5, bid, 1, ask, 1, 0, 0)
        self.gw.on_md(b"md.binance-spot.BTCUSDT.bbo", body)

    def cmd(self, body: bytes, strategy: str = "s1") -> None:
        self.gw.on_cmd(f"cmd.{strategy}".encode(), body)

    def new(
        self,
        cid: str = "c1",
        *,
        px: int = PX,
        qty: int = QTY,
        side: int = wire.Side.BUY,
        ord_type: int = wire.OrdType.LIMIT,
        tif: int = wire.Tif.GTC,
        strategy: str = "s1",
        inst: int = INST,
    ) -> None:
        body = self.strat.order_cmd(
            inst, wire.Action.NEW, strategy, cid, side, ord_type, tif, 2, 5, px, qty, False,
            TRIGGER_NS,
        )  # fmt: skip
        self.cmd(body, strategy)

    def cancel(
        self, cid: str = "c1", strategy: str = "s1", action: int = wire.Action.CANCEL
    ) -> None:
        body = self.strat.order_cmd(
            INST, action, strategy, cid, 0, 0, 0, 2, 5, 0, 0, False, TRIGGER_NS
        )
        self.cmd(body, strategy)

    async def settle(self) -> None:
        # Let every request task the gateway started run to its end.
        while self.gw._tasks:
            await asyncio.gather(*list(self.gw._tasks))

    def events(self, strategy: str = "s1") -> list[Any]:
        return self.out.of(f"ex.{strategy}.order".encode())


def in_loop(fn: Callable[[Rig], Awaitable[None]], **risk: Any) -> Rig:
    rig_box: list[Rig] = []

    async def main() -> None:
        rig = Rig(**risk)
        rig_box.append(rig)
        await fn(rig)
        await rig.settle()

    run_async(main())
    return rig_box[0]


# ---- config -------------------------------------------------------------------------------


def test_gateway_symbol_the_venue_does_not_list_is_config_error() -> None:
    with pytest.raises(ConfigError, match="SOLUSDT"):
        Gateway(GatewayConfig(symbols=["SOLUSDT"]), FakeVenue(), Out())


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"venue": "okx"}, "venue"),
        ({"transport": "fix"}, "transport"),
        ({"symbols": []}, "symbols"),
        ({"symbols": ["btcusdt"]}, "symbols"),
        ({"rest_url": "ftp://x"}, "rest_url"),
        ({"journal_sync": "never"}, "journal_sync"),
        ({"risk": RiskLimits(max_order_qty={"ETHUSDT": "1"})}, "max_order_qty.ETHUSDT"),
    ],
)
def test_gateway_config_bad_value_names_the_key(kw: dict[str, Any], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        GatewayConfig(**kw)


# ---- market data --------------------------------------------------------------------------


def test_gateway_md_names_and_prefixes_cover_each_symbol() -> None:
    gw = Rig().gw
    assert gw.md_names() == ["md.binance-spot.BTCUSDT", "md.binance-spot.ETHUSDT"]
    assert b"md.binance-spot.BTCUSDT.bbo" in gw.md_prefixes()
    assert len(gw.md_prefixes()) == 8


def test_gateway_bbo_teaches_instrument_id_and_mid() -> None:
    rig = Rig()
    assert rig.gw.inst_of("BTCUSDT") == -1
    rig.bbo()
    assert rig.gw.inst_of("BTCUSDT") == INST
    assert rig.gw.pretrade.mid_x2(0) == 2 * PX


def test_gateway_bbo_at_another_scale_is_rescaled_exactly() -> None:
    rig = Rig()
    rig.bbo(bid=(PX - 100) * 10, ask=(PX + 100) * 10, dp=3)
    assert rig.gw.pretrade.mid_x2(0) == 2 * PX


def test_gateway_book_message_gives_the_mid() -> None:
    rig = Rig()
    book = Book(2, 5)
    book.apply_level(0, Px(PX - 2), Qty(10))
    book.apply_level(1, Px(PX + 4), Qty(10))
    rig.gw.on_md(b"md.binance-spot.BTCUSDT.book", rig.md.book(INST, book, 5, 1, 0, 0))
    assert rig.gw.pretrade.mid_x2(0) == 2 * PX + 2
    assert rig.gw.inst_of("BTCUSDT") == INST


def test_gateway_md_not_live_status_clears_the_mid() -> None:
    rig = Rig()
    rig.bbo()
    rig.gw.on_md(b"md.binance-spot.BTCUSDT.status", rig.md.status(INST, False, "gap", 0))
    assert rig.gw.pretrade.mid_x2(0) == 0


def test_gateway_malformed_md_is_counted_and_next_message_used() -> None:
    rig = Rig()
    rig.gw.on_md(b"md.binance-spot.BTCUSDT.bbo", b"VZ\x01junk")
    rig.gw.on_md(b"md.binance-spot.BTCUSDT.bbo", rig.md.status(INST, True, "", 0))
    rig.bbo()
    assert rig.gw.counters.n_md_malformed == 2
    assert rig.gw.pretrade.mid_x2(0) == 2 * PX


def test_gateway_instrument_message_with_another_symbol_is_malformed() -> None:
    rig = Rig()
    body = rig.md.instrument(INST, "ETHUSDT", "ETH", "USDT", 2, 4, 1, 1, 0, 0, 0)
    rig.gw.on_md(b"md.binance-spot.BTCUSDT.instrument", body)
    assert rig.gw.counters.n_md_malformed == 1 and rig.gw.inst_of("BTCUSDT") == -1


# ---- new orders ---------------------------------------------------------------------------


def test_gateway_limit_order_goes_to_venue_and_answer_routes_to_its_strategy() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        assert rig.venue.placed == [
            NewOrder("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTC", "c1", False)
        ]
        (ev,) = rig.events()
        assert (ev.client_order_id, ev.status, ev.venue_order_id) == ("c1", wire.Status.NEW, 101)
        assert (ev.header.inst, ev.header.ingest_ns, ev.strategy) == (INST, 42, "s1")
        assert (ev.px, ev.qty, ev.price_dp, ev.qty_dp) == (PX, QTY, 2, 5)

    rig = in_loop(fn)
    assert rig.gw.counters.n_placed == 1


def test_gateway_records_trigger_to_send_from_the_on_sent_stamp() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()

    rig = in_loop(fn)
    lat = rig.gw.latency["trigger_to_send"]
    assert lat.fold() == 1
    assert lat.percentiles_ns()["max"] == pytest.approx(5_000, rel=0.01)


def test_gateway_over_limit_order_is_rejected_with_rule_text_and_not_sent() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("big", qty=300_000)  # 3 BTC at 50000 = 150000 USDT
        await rig.settle()
        (ev,) = rig.events()
        assert ev.status == wire.Status.REJECTED
        assert ev.reason == "max_notional: 150000.00 > 100000.00 USDT"
        assert (ev.client_order_id, ev.qty, ev.venue_order_id) == ("big", 300_000, 0)

    rig = in_loop(fn)
    assert rig.venue.placed == []
    assert rig.gw.counters.n_rejected_risk == 1
    assert rig.gw.pretrade.core.counters()["n_max_notional"] == 1


def test_gateway_order_for_unknown_instrument_id_is_rejected() -> None:
    async def fn(rig: Rig) -> None:
        rig.new("c1")
        (ev,) = rig.events()
        assert ev.status == wire.Status.REJECTED
        assert ev.reason.startswith("unknown instrument id 7")

    rig = in_loop(fn)
    assert rig.gw.counters.n_rejected_gateway == 1


def test_gateway_order_before_a_mid_is_refused_no_market_data() -> None:
    async def fn(rig: Rig) -> None:
        body = rig.md.instrument(INST, "BTCUSDT", "BTC", "USDT", 2, 5, 1, 1, 0, 0, 0)
        rig.gw.on_md(b"md.binance-spot.BTCUSDT.instrument", body)
        rig.new("c1")
        (ev,) = rig.events()
        assert ev.reason == "no_market_data: no BBO or book yet"

    in_loop(fn)


def test_gateway_malformed_command_is_counted_and_next_one_served() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.gw.on_cmd(b"cmd.s1", b"garbage")
        rig.gw.on_cmd(b"cmd.s1", rig.md.status(INST, True, "", 0))  # not an ORDER_CMD
        rig.new("c2")
        await rig.settle()
        assert [e.client_order_id for e in rig.events()] == ["c2"]

    rig = in_loop(fn)
    assert rig.gw.counters.n_malformed == 2 and rig.gw.counters.n_cmds == 3


def test_gateway_command_on_another_strategys_topic_is_rejected() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        body = rig.strat.order_cmd(
            INST, wire.Action.NEW, "s1", "c1", 1, 1, 1, 2, 5, PX, QTY, False, TRIGGER_NS
        )
        rig.gw.on_cmd(b"cmd.s2", body)
        (ev,) = rig.events("s1")
        assert ev.status == wire.Status.REJECTED and "is not cmd.s1" in ev.reason

    rig = in_loop(fn)
    assert rig.venue.placed == []


def test_gateway_limit_without_tif_and_zero_qty_are_rejected() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("a", tif=0)
        rig.new("b", qty=0)
        reasons = [e.reason for e in rig.events()]
        assert reasons == [
            "a LIMIT order needs a time in force",
            "BTCUSDT: quantity and limit price must be > 0",
        ]

    in_loop(fn)


def test_gateway_market_order_sends_no_price_and_no_tif() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("m1", px=0, ord_type=wire.OrdType.MARKET, tif=0, side=wire.Side.SELL)
        await rig.settle()
        assert rig.venue.placed == [NewOrder("BTCUSDT", "SELL", "MARKET", QTY, 0, "", "m1")]

    in_loop(fn)


def test_gateway_venue_rejection_becomes_rejected_event_with_code() -> None:
    async def fn(rig: Rig) -> None:
        rig.venue.place_fx = OrderRejected("Account has insufficient balance", "venue", -2010)
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        (ev,) = rig.events()
        assert (ev.status, ev.error_code) == (wire.Status.REJECTED, -2010)
        assert ev.reason == "Account has insufficient balance"

    rig = in_loop(fn)
    assert rig.gw.counters.n_rejected_venue == 1


def test_gateway_retryable_refusal_is_rejected_with_venue_code() -> None:
    async def fn(rig: Rig) -> None:
        rig.venue.place_fx = VenueError(-1015, "local rate limit", retryable=True)
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        (ev,) = rig.events()
        assert (ev.status, ev.error_code, ev.reason) == (
            wire.Status.REJECTED,
            -1015,
            "local rate limit",
        )

    in_loop(fn)


def test_gateway_unknown_outcome_queries_and_publishes_what_the_order_is() -> None:
    async def fn(rig: Rig) -> None:
        rig.venue.place_fx = VenueError(0, "no answer", retryable=False, is_unknown=True)
        rig.venue.query_fx = [update("c1", OrderStatus.FILLED, filled=QTY, order_id=9)]
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        (ev,) = rig.events()
        assert (ev.status, ev.filled_qty, ev.venue_order_id) == (wire.Status.FILLED, QTY, 9)
        assert ev.reason == "no answer"

    rig = in_loop(fn)
    assert rig.venue.queried == ["c1"] and rig.gw.counters.n_unknown_status == 1


def test_gateway_unknown_outcome_of_order_the_venue_never_saw_is_rejected() -> None:
    async def fn(rig: Rig) -> None:
        rig.venue.place_fx = VenueError(0, "lost", retryable=False, is_unknown=True)
        rig.venue.query_fx = [OrderRejected("Order does not exist.", "venue", -2013)]
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        (ev,) = rig.events()
        assert (ev.status, ev.reason) == (wire.Status.REJECTED, "lost")

    in_loop(fn)


# ---- cancels ------------------------------------------------------------------------------


def test_gateway_cancel_uses_the_venue_id_learned_and_publishes_canceled() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.cancel("c1")
        await rig.settle()
        assert rig.venue.canceled == [("BTCUSDT", "c1", 101)]
        assert [e.status for e in rig.events()] == [wire.Status.NEW, wire.Status.CANCELED]

    rig = in_loop(fn)
    assert rig.gw.latency["trigger_to_send"].fold() == 2


def test_gateway_failed_cancel_publishes_the_orders_real_state() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.venue.cancel_fx = VenueError(-2011, "Unknown order sent.", retryable=False)
        rig.venue.query_fx = [update("c1", OrderStatus.FILLED, filled=QTY)]
        rig.cancel("c1")
        await rig.settle()
        ev = rig.events()[-1]
        assert (ev.status, ev.error_code) == (wire.Status.FILLED, -2011)
        assert ev.reason == "cancel: Unknown order sent."

    rig = in_loop(fn)
    assert rig.gw.counters.n_cancels_failed == 1


def test_gateway_cancel_over_rate_keeps_order_state_and_says_why() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.cancel("c1")
        rig.cancel("c1")
        await rig.settle()
        refused = [e for e in rig.events() if e.reason.startswith("cancel_rate:")]
        assert len(refused) == 1 and refused[0].status == wire.Status.NEW

    rig = in_loop(fn, max_cancels_per_s=1.0)
    assert len(rig.venue.canceled) == 1


def test_gateway_cancel_of_unknown_order_and_instrument_is_counted() -> None:
    async def fn(rig: Rig) -> None:
        rig.cancel("nope")

    rig = in_loop(fn)
    assert rig.gw.counters.n_cancels_unknown == 1 and rig.venue.canceled == []


def test_gateway_cancel_all_of_sole_strategy_uses_one_venue_request() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        rig.new("c2")
        await rig.settle()
        rig.cancel("", action=wire.Action.CANCEL_ALL)
        await rig.settle()

    rig = in_loop(fn)
    assert rig.venue.canceled_all == ["BTCUSDT"] and rig.venue.canceled == []
    assert [e.status for e in rig.events()].count(wire.Status.CANCELED) == 2


def test_gateway_cancel_all_with_other_strategies_live_cancels_only_its_own() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("a1", strategy="s1")
        rig.new("b1", strategy="s2")
        await rig.settle()
        rig.cancel("", strategy="s1", action=wire.Action.CANCEL_ALL)
        await rig.settle()

    rig = in_loop(fn)
    assert rig.venue.canceled_all == []
    assert rig.venue.canceled == [("BTCUSDT", "a1", 101)]


# ---- user data ----------------------------------------------------------------------------


def test_gateway_user_events_route_by_client_order_id_else_to_nobody() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.gw.on_event(update("c1", OrderStatus.PARTIALLY_FILLED, filled=500, recv_ns=77))
        rig.gw.on_event(update("manual", OrderStatus.NEW))
        fill = Fill(VENUE, "BTCUSDT", "c1", 101, 555, "BUY", PX, 500, 12, "BNB", True, 0, 1, 78)
        rig.gw.on_event(fill)
        rig.gw.on_event(BalanceUpdate(VENUE, "USDT", 1, 1, "", 0, 0))
        ev = rig.events()[-1]
        assert (ev.status, ev.filled_qty, ev.header.ingest_ns) == (
            wire.Status.PARTIALLY_FILLED,
            500,
            77,
        )
        (other,) = rig.events("_")
        assert other.client_order_id == "manual" and other.header.inst == INST
        (f,) = rig.out.of(b"ex.s1.fill")
        assert (f.trade_id, f.qty, f.fee, f.fee_asset, f.is_maker) == (555, 500, 12, "BNB", True)
        assert (f.header.ingest_ns, f.header.inst) == (78, INST)

    rig = in_loop(fn)
    assert rig.gw.counters.n_unowned == 1 and rig.gw.counters.n_other_events == 1


def test_gateway_user_stream_restart_republishes_open_orders() -> None:
    async def fn(rig: Rig) -> None:
        rig.venue.open_now = [update("x1", OrderStatus.NEW), update("x2", OrderStatus.NEW)]
        rig.gw.on_restart("reconnect")
        await rig.settle()
        assert [e.client_order_id for e in rig.events("_")] == ["x1", "x2"]

    rig = in_loop(fn)
    assert rig.gw.counters.n_restarts == 1


def test_gateway_publishes_latency_snapshot_on_exec() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.gw.publish_latency()
        (lat,) = rig.out.of(b"lat.gateway")
        assert lat.name == "trigger_to_send" and lat.count == 1

    in_loop(fn)


# ---- draining -----------------------------------------------------------------------------


class _Sock:
    def __init__(self, box: "_Inbox") -> None:
        self._box = box

    def getsockopt(self, opt: int) -> int:
        return zmq.POLLIN if self._box.queue else 0


class _Inbox:
    # poll_recv gives None once for a bad message, as SubSocket does, then the rest.
    def __init__(self, items: list[tuple[bytes, bytes] | None]) -> None:
        self.queue = items

    def poll_recv(self) -> tuple[bytes, bytes] | None:
        return self.queue.pop(0) if self.queue else None

    def fileno(self) -> int:
        return -1

    @property
    def socket(self) -> _Sock:
        return _Sock(self)


def test_gateway_drain_reads_past_a_skipped_message_until_nothing_is_queued() -> None:
    rig = Rig()
    seen: list[bytes] = []
    box = _Inbox([(b"a", b""), None, (b"b", b"")])
    rig.gw.drain(box, lambda t, b: seen.append(t))  # type: ignore[arg-type]
    assert seen == [b"a", b"b"]


def test_gateway_drain_survives_a_handler_bug() -> None:
    rig = Rig()
    seen: list[bytes] = []

    def handler(topic: bytes, body: bytes) -> None:
        if topic == b"a":
            raise RuntimeError("bug")
        seen.append(topic)

    rig.gw.drain(_Inbox([(b"a", b""), (b"b", b"")]), handler)  # type: ignore[arg-type]
    assert seen == [b"b"] and rig.gw.counters.n_dispatch_errors == 1
