"""`Runtime` dispatch: start on instruments, md callbacks and latency, exception isolation,
order-event and fill dedupe, positions and PnL, timers, shutdown."""

import logging

import pytest

from tests.unit.strategy.wirefakes import SYMBOL
from tests.unit.strategy.wirefakes import VENUE
from tests.unit.strategy.wirefakes import FeedFake
from tests.unit.strategy.wirefakes import GatewayFake
from tests.unit.strategy.wirefakes import runtime
from tests.unit.strategy.wirefakes import topic
from veloz._core import wire
from veloz._core.latency import now_ns
from veloz.strategy.base import Strategy
from veloz.strategy.base import StrategyState
from veloz.strategy.runtime import Slot


class Recorder(Strategy):
    """Records every callback; raises in `fail_on` when set."""

    def __init__(self, name: str, fail_on: str = "") -> None:
        super().__init__(name)
        self.calls: list[tuple[str, object]] = []
        self.fail_on = fail_on

    def _note(self, what: str, arg: object = None) -> None:
        self.calls.append((what, arg))
        if what == self.fail_on:
            raise RuntimeError(f"boom in {what}")

    def on_start(self) -> None:
        self._note("start")

    def on_stop(self) -> None:
        self._note("stop")

    def on_book(self, book: wire.BookView) -> None:
        self._note("book", book.best_bid())

    def on_trade(self, msg: wire.TradeMsg) -> None:
        self._note("trade", msg.px)

    def on_bbo(self, msg: wire.BboMsg) -> None:
        self._note("bbo", msg.bid_px)

    def on_order(self, update: wire.OrderEventMsg) -> None:
        self._note("order", update.status)

    def on_fill(self, fill: wire.FillMsg) -> None:
        self._note("fill", fill.trade_id)

    def on_timer(self, now_ns: int) -> None:
        self._note("timer", now_ns)

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


def test_strategy_starts_only_when_instrument_known() -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s, start=False)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    assert s.names() == []
    rt.dispatch(topic("instrument"), feed.instrument())
    assert s.names() == ["start"]
    rt.dispatch(topic("instrument"), feed.instrument())  # the once-a-second repeat
    assert s.names() == ["start"]
    assert s.instrument(SYMBOL) is not None
    assert s.instrument(SYMBOL).min_notional_raw == 500 * 10**5  # type: ignore[union-attr]


def test_strategy_not_started_after_instrument_timeout(caplog: pytest.LogCaptureFixture) -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s, start=False)
    rt.tick(now_ns() + 11 * 10**9)
    assert s._ctx is not None and s._ctx.state == StrategyState.FAILED
    assert "strategy.start_timeout strategy=s1 missing=BTCUSDT" in caplog.text
    rt.dispatch(topic("instrument"), feed.instrument())
    assert s.names() == []


def test_book_dispatched_with_view_and_latency_recorded() -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100, ingest_ns=now_ns() - 1000))
    assert s.calls[-1] == ("book", (5_000_000, 100_000))
    assert s.book(SYMBOL) is not None
    lat = rt.latency["ingest_to_dispatch"]
    assert lat.fold() == 1
    assert lat.percentiles_ns()["max"] >= 1000


def test_trade_and_bbo_dispatched() -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    rt.dispatch(topic("trade"), feed.trade(5_000_000, 10, False))
    rt.dispatch(topic("bbo"), feed.bbo(4_999_900, 5_000_000))
    assert s.calls[-2:] == [("trade", 5_000_000), ("bbo", 4_999_900)]


def test_malformed_body_counted_and_next_message_delivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    rt.dispatch(topic("book"), b"VZ\x01garbage")
    rt.dispatch(topic("trade"), feed.bbo(1, 2))  # valid body, wrong type for the topic
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    assert rt.n_malformed == 2
    assert "strategy.malformed kind=book" in caplog.text
    assert s.names()[-1] == "book"


def test_unknown_topic_counted() -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    rt.dispatch(b"md.binance-spot.ETHUSDT.book", feed.book_body(1, 2))
    assert rt.n_unknown_topic == 1


def test_callback_exception_stops_only_that_strategy(caplog: pytest.LogCaptureFixture) -> None:
    bad = Recorder("bad", fail_on="book")
    good = Recorder("good")
    failed: list[Slot] = []
    rt, sent, feed = runtime(bad, good, on_failed=failed.append)
    cid = bad.buy(SYMBOL, "0.001", "50000")
    with caplog.at_level(logging.ERROR):
        rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
        rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_200))
    assert bad._ctx is not None and bad._ctx.state == StrategyState.FAILED
    assert bad._ctx.n_errors == 1
    assert [f.ctx.name for f in failed] == ["bad"]  # told once, when it happened
    assert bad.names() == ["start", "book", "stop"]
    assert good.names() == ["start", "book", "book"]
    cancels = [c for c in sent.decoded() if c.action == wire.Action.CANCEL]
    assert [c.client_order_id for c in cancels] == [cid]
    (rec,) = [r for r in caplog.records if "callback_failed" in r.getMessage()]
    assert rec.exc_info is not None and "boom in book" in caplog.text


def test_exception_in_on_start_fails_strategy() -> None:
    s = Recorder("s1", fail_on="start")
    runtime(s)
    assert s._ctx is not None and s._ctx.state == StrategyState.FAILED
    assert s.names() == ["start", "stop"]


def test_duplicate_and_stale_order_events_delivered_once() -> None:
    s = Recorder("s1")
    rt, _, _ = runtime(s)
    gw = GatewayFake()
    cid = s.buy(SYMBOL, "0.001", "50000")
    for body in (
        gw.event("s1", cid, wire.Status.NEW),
        gw.event("s1", cid, wire.Status.NEW),
        gw.event("s1", cid, wire.Status.PARTIALLY_FILLED, filled=40),
        gw.event("s1", cid, wire.Status.NEW),
        gw.event("s1", cid, wire.Status.FILLED, filled=100),
        gw.event("s1", cid, wire.Status.FILLED, filled=100),
    ):
        rt.dispatch(b"ex.s1.order", body)
    orders = [a for w, a in s.calls if w == "order"]
    assert orders == [wire.Status.NEW, wire.Status.PARTIALLY_FILLED, wire.Status.FILLED]
    c = s._ctx.orders.counters()  # type: ignore[union-attr]
    assert (c["n_duplicate_events"], c["n_stale_events"], c["n_open"]) == (2, 1, 0)
    assert rt.latency["receipt_to_strategy"].fold() == 3


def test_event_for_unknown_order_is_adopted_and_delivered() -> None:
    s = Recorder("s1")
    rt, _, _ = runtime(s)
    rt.dispatch(b"ex.s1.order", GatewayFake().event("s1", "old.1", wire.Status.NEW))
    assert s.calls[-1] == ("order", wire.Status.NEW)
    (order,) = s.open_orders()
    assert order.client_order_id == "old.1" and order.symbol == SYMBOL


def test_fills_update_position_once_per_trade_id() -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    gw = GatewayFake()
    # buy 0.00200 @ 50000.00 in two fills (one repeated), sell 0.00100 @ 50100.00
    rt.dispatch(b"ex.s1.fill", gw.fill("s1", "a", 1, wire.Side.BUY, 5_000_000, 100, fee=5))
    rt.dispatch(b"ex.s1.fill", gw.fill("s1", "a", 1, wire.Side.BUY, 5_000_000, 100, fee=5))
    rt.dispatch(b"ex.s1.fill", gw.fill("s1", "a", 2, wire.Side.BUY, 5_000_000, 100, fee=5))
    rt.dispatch(b"ex.s1.fill", gw.fill("s1", "b", 3, wire.Side.SELL, 5_010_000, 100))
    assert [a for w, a in s.calls if w == "fill"] == [1, 2, 3]
    pos = s.position(SYMBOL)
    assert pos is not None
    assert (pos.qty, pos.entry_px, pos.n_fills) == (100, 5_000_000, 3)
    assert pos.realized_pnl == 10_000 * 100  # 100.00 USDT/BTC * 0.00100 BTC at dp 7
    assert pos.fees == {"USDT": 10}
    rt.dispatch(topic("book"), feed.book_body(5_020_000, 5_020_100))
    pos = s.position(SYMBOL)
    assert pos is not None and pos.unrealized_pnl == 20_000 * 100  # long marked at the bid
    totals = s.pnl()
    assert (totals.realized, totals.unrealized, totals.dp) == (1_000_000, 2_000_000, 7)
    assert s._ctx.orders.n_duplicate_fills == 1  # type: ignore[union-attr]


def test_timer_fires_on_tick_after_interval() -> None:
    s = Recorder("s1")
    rt, _, _ = runtime(s)
    s.set_timer(0.5)
    start = now_ns()
    assert rt.tick(start) > start  # not due yet; returns its deadline
    assert "timer" not in s.names()
    rt.tick(start + 600_000_000)
    assert s.names().count("timer") == 1


def test_stop_all_calls_on_stop_and_cancels_open_orders() -> None:
    s = Recorder("s1")
    rt, sent, _ = runtime(s)
    cid = s.buy(SYMBOL, "0.001", "50000")
    rt.stop_all()
    assert s.names()[-1] == "stop"
    assert s._ctx is not None and s._ctx.state == StrategyState.STOPPED
    assert sent.decoded()[-1].client_order_id == cid
    assert sent.decoded()[-1].action == wire.Action.CANCEL


def test_events_after_stop_update_state_without_callbacks() -> None:
    s = Recorder("s1")
    rt, _, _ = runtime(s)
    cid = s.buy(SYMBOL, "0.001", "50000")
    rt.stop_all()
    rt.dispatch(b"ex.s1.order", GatewayFake().event("s1", cid, wire.Status.CANCELED))
    assert "order" not in s.names()
    assert s.open_orders() == []


def test_two_strategies_share_one_book() -> None:
    a, b = Recorder("a"), Recorder("b")
    rt, _, feed = runtime(a, b)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    assert a.book(SYMBOL) is b.book(SYMBOL)
    assert rt.sub_prefixes() == [b"md.binance-spot.BTCUSDT.", b"ex.a.", b"ex.b."]
    assert rt.sub_names() == ["md.binance-spot.BTCUSDT", "exec"]


def test_status_message_sets_market_liveness() -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    rt.dispatch(topic("status"), feed.status(True))
    assert rt.markets[("binance-spot", SYMBOL)].is_live
    rt.dispatch(topic("status"), feed.status(False))
    assert not rt.markets[("binance-spot", SYMBOL)].is_live


def test_set_timer_flags_runtime_to_recompute_its_wakeup() -> None:
    s = Recorder("s1")
    rt, _, _ = runtime(s)
    rt.tick(now_ns())
    assert not rt.has_new_timer
    s.set_timer(0.05)
    assert rt.has_new_timer
    assert rt.tick(now_ns()) > 0 and not rt.has_new_timer


def test_seq_gap_in_a_feeds_messages_counts_the_lost_ones_and_delivers_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    rt.dispatch(topic("trade"), feed.trade(5_000_000, 10, False))
    for _ in range(3):  # dropped at the feed's high-water mark: never dispatched
        feed.bbo(1, 2)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    rt.dispatch(topic("bbo"), feed.bbo(4_999_900, 5_000_000))
    assert rt.n_md_lost == 3
    assert rt.markets[(VENUE, SYMBOL)].n_lost == 3
    assert rt.counters()["n_md_lost"] == 3
    assert "strategy.md_lost venue=binance-spot symbol=BTCUSDT lost=3" in caplog.text
    assert s.names()[-2:] == ["book", "bbo"]


def test_seq_restart_of_a_feed_is_not_counted_as_loss() -> None:
    s = Recorder("s1")
    rt, _, feed = runtime(s)
    rt.dispatch(topic("trade"), feed.trade(5_000_000, 10, False))
    restarted = FeedFake()  # a restarted feed process: its encoder counts from 1 again
    rt.dispatch(topic("trade"), restarted.trade(5_000_000, 10, False))
    rt.dispatch(topic("trade"), restarted.trade(5_000_000, 10, False))
    assert rt.n_md_lost == 0
