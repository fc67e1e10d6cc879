"""The example strategies on fake market data: what they send, and when."""

from tests.unit.strategy.wirefakes import SYMBOL
from tests.unit.strategy.wirefakes import GatewayFake
from tests.unit.strategy.wirefakes import runtime
from tests.unit.strategy.wirefakes import topic
from veloz._core import wire
from veloz.strategy.examples.market_maker import MarketMaker
from veloz.strategy.examples.momentum import Momentum

MM_PARAMS = {"size": "0.0010", "half_spread_ticks": 2, "requote_ticks": 1, "skew_ticks": 1}


def _news(sent_before: int, sent: object) -> list[wire.OrderCmdMsg]:
    return sent.decoded()[sent_before:]  # type: ignore[attr-defined, no-any-return]


def test_market_maker_quotes_both_sides_around_mid() -> None:
    mm = MarketMaker("mm", MM_PARAMS)
    rt, sent, feed = runtime(mm)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))  # mid 50000.50
    bid, ask = sent.decoded()
    assert (bid.side, bid.px, bid.qty, bid.ord_type) == (
        wire.Side.BUY,
        5_000_030,  # mid - 0.20, down to the 0.10 tick
        100,
        wire.OrdType.LIMIT_MAKER,
    )
    assert (ask.side, ask.px) == (wire.Side.SELL, 5_000_070)


def test_market_maker_keeps_quotes_on_small_move_and_requotes_on_big_one() -> None:
    mm = MarketMaker("mm", MM_PARAMS)
    rt, sent, feed = runtime(mm)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    rt.dispatch(topic("book"), feed.book_body(5_000_010, 5_000_110))  # +0.10: one tick
    assert len(sent.msgs) == 2
    rt.dispatch(topic("book"), feed.book_body(5_000_100, 5_000_200))  # +1.00
    actions = [c.action for c in _news(2, sent)]
    assert actions == [wire.Action.CANCEL, wire.Action.CANCEL, wire.Action.NEW, wire.Action.NEW]


def test_market_maker_skews_down_when_long() -> None:
    mm = MarketMaker("mm", MM_PARAMS)
    rt, sent, feed = runtime(mm)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    bid_cid = sent.decoded()[0].client_order_id
    gw = GatewayFake()
    rt.dispatch(b"ex.mm.fill", gw.fill("mm", bid_cid, 1, wire.Side.BUY, 5_000_030, 200))
    rt.dispatch(b"ex.mm.order", gw.event("mm", bid_cid, wire.Status.FILLED, filled=200, qty=200))
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    (bid,) = _news(2, sent)
    assert (bid.side, bid.px) == (wire.Side.BUY, 5_000_010)  # 2 ticks lower: long 2 x size


def test_market_maker_stops_bidding_at_inventory_cap() -> None:
    mm = MarketMaker("mm", MM_PARAMS | {"max_inventory": "0.0010"})
    rt, sent, feed = runtime(mm)
    gw = GatewayFake()
    rt.dispatch(b"ex.mm.fill", gw.fill("mm", "x", 1, wire.Side.BUY, 5_000_000, 100))
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    assert [c.side for c in sent.decoded()] == [wire.Side.SELL]


def test_market_maker_cancels_quotes_on_stop() -> None:
    mm = MarketMaker("mm", MM_PARAMS)
    rt, sent, feed = runtime(mm)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    rt.stop_all()
    assert [c.action for c in _news(2, sent)] == [wire.Action.CANCEL, wire.Action.CANCEL]


def test_market_maker_cancel_refused_by_the_bus_is_sent_again_at_the_next_book() -> None:
    # The gateway is down when the quotes are replaced: the cancels are refused, the old
    # quotes stay open at the venue. Once the bus takes commands again they are cancelled.
    mm = MarketMaker("mm", MM_PARAMS)
    rt, sent, feed = runtime(mm)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    old = {c.client_order_id for c in sent.decoded()}
    sent.ok = False
    rt.dispatch(topic("book"), feed.book_body(5_000_100, 5_000_200))  # requote: all refused
    assert mm.strays == old and (mm.bid_id, mm.ask_id) == (None, None)
    sent.ok = True
    rt.dispatch(topic("book"), feed.book_body(5_000_100, 5_000_200))
    news = _news(2, sent)
    assert {c.client_order_id for c in news if c.action == wire.Action.CANCEL} == old
    assert [c.action for c in news].count(wire.Action.NEW) == 2
    assert mm.strays == set()
    rt.dispatch(topic("book"), feed.book_body(5_000_100, 5_000_200))
    assert len(_news(2, sent)) == 4  # each cancel sent once


def test_market_maker_cancels_an_open_order_that_is_no_longer_a_quote() -> None:
    # After a gateway restart its SYNC republishes an order the strategy had replaced.
    mm = MarketMaker("mm", MM_PARAMS)
    rt, sent, feed = runtime(mm)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    bid_cid = sent.decoded()[0].client_order_id
    mm.bid_id = None  # as if its cancel had been refused and the id forgotten
    gw = GatewayFake()
    rt.dispatch(b"ex.mm.order", gw.event("mm", bid_cid, wire.Status.NEW))
    assert mm.strays == {bid_cid}
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    cancels = [c for c in _news(2, sent) if c.action == wire.Action.CANCEL]
    assert [c.client_order_id for c in cancels] == [bid_cid]
    rt.dispatch(b"ex.mm.order", gw.event("mm", bid_cid, wire.Status.NEW))  # late duplicate
    assert mm.strays == set()  # being cancelled: not a stray again
    rt.dispatch(b"ex.mm.order", gw.event("mm", bid_cid, wire.Status.CANCELED))
    assert bid_cid not in {o.client_order_id for o in mm.open_orders()}


def test_market_maker_default_size_meets_min_notional() -> None:
    mm = MarketMaker("mm")
    rt, sent, feed = runtime(mm)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    bid, ask = sent.decoded()
    assert bid.qty == ask.qty
    assert bid.px * bid.qty >= 500 * 10**5  # min notional 5 USDT at dp 7
    assert bid.qty % 10 == 0


def test_momentum_buys_ioc_at_ask_on_buy_flow_and_rising_mid() -> None:
    mo = Momentum("mo", {"size": "0.0010", "flow_threshold": "0.0020", "min_move_ticks": 2})
    rt, sent, feed = runtime(mo)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    rt.dispatch(topic("book"), feed.book_body(5_000_050, 5_000_150))  # mid +0.50
    rt.dispatch(topic("trade"), feed.trade(5_000_150, 100, False, 1))
    assert sent.msgs == []  # flow 0.0010 < threshold
    rt.dispatch(topic("trade"), feed.trade(5_000_150, 100, False, 2))
    (cmd,) = sent.decoded()
    assert (cmd.side, cmd.tif, cmd.px, cmd.qty) == (wire.Side.BUY, wire.Tif.IOC, 5_000_150, 100)
    rt.dispatch(topic("trade"), feed.trade(5_000_150, 100, False, 3))
    assert len(sent.msgs) == 1  # cooldown


def test_momentum_sells_on_sell_flow_and_falling_mid() -> None:
    mo = Momentum("mo", {"size": "0.0010", "flow_threshold": "0.0010"})
    rt, sent, feed = runtime(mo)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    rt.dispatch(topic("book"), feed.book_body(4_999_000, 4_999_100))
    rt.dispatch(topic("trade"), feed.trade(4_999_000, 100, True, 1))
    (cmd,) = sent.decoded()
    assert (cmd.side, cmd.px) == (wire.Side.SELL, 4_999_000)
    assert mo.symbols == [SYMBOL]
