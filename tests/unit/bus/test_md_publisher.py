"""BusPublisher: a feed's events as wire messages on md.<venue>.<SYMBOL>.<kind> topics."""

import inspect
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from veloz._core import fixed
from veloz._core import wire
from veloz._core.book import Book
from veloz._core.book import Side
from veloz.bus import endpoints as ep
from veloz.bus.endpoints import BusConfig
from veloz.bus.md import BusPublisher
from veloz.bus.md import md_topic
from veloz.bus.publisher import Publisher
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import SubSocket
from veloz.errors import ConfigError
from veloz.errors import WireError
from veloz.model.instrument import Instrument

Ctx = zmq.Context[zmq.Socket[bytes]]

INST = Instrument(
    venue="binance-spot",
    symbol="BTCUSDT",
    base="BTC",
    quote="USDT",
    status="TRADING",
    price_dp=2,
    qty_dp=5,
    tick_raw=1,
    step_raw=1,
    min_px_raw=1,
    max_px_raw=100_000_000,
    min_qty_raw=1,
    max_qty_raw=900_000_000,
    min_notional_raw=5_0000001,  # 5.0000001 at notional_dp 7 -> 5.01 at price_dp 2
)
NAME = "md.binance-spot.BTCUSDT"


@pytest.fixture
def cfg() -> Iterator[BusConfig]:
    path = Path(tempfile.mkdtemp(prefix="vz"))
    yield BusConfig(run_dir=path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ctx() -> Iterator[Ctx]:
    c: Ctx = zmq.Context()
    yield c
    c.destroy(linger=0)


def _book(n: int = 3) -> Book:
    book = Book(2, 5)
    for i in range(n):
        book.apply_level(Side.BID, fixed.parse(f"{100 - i}.00", 2), fixed.parse(f"{i + 1}", 5))
        book.apply_level(Side.ASK, fixed.parse(f"{101 + i}.00", 2), fixed.parse("0.5", 5))
    return book


def _joined(pub: BusPublisher, sub: SubSocket) -> None:
    # Instrument messages go out until the subscription has arrived; then drain.
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        pub.publish_instrument()
        if sub.recv(timeout_ms=20) is not None:
            while sub.poll_recv() is not None:
                pass
            return
    raise AssertionError("subscriber never joined")


@pytest.mark.parametrize("name", ["book", "bbo", "trade", "kline", "status"])
def test_bus_publisher_methods_match_the_publisher_protocol(name: str) -> None:
    ours = inspect.signature(getattr(BusPublisher, name))
    theirs = inspect.signature(getattr(Publisher, name))
    assert list(ours.parameters) == list(theirs.parameters)


def test_md_topic_bad_kind_is_value_error() -> None:
    assert md_topic("binance-usdm", "ethusdt", "bbo") == b"md.binance-usdm.ETHUSDT.bbo"
    with pytest.raises(ValueError, match="kind"):
        md_topic("binance-spot", "BTCUSDT", "depth")


def test_bus_publisher_unknown_venue_is_wire_error(cfg: BusConfig) -> None:
    with pytest.raises(WireError):
        BusPublisher(cfg, INST, "kraken")


def test_bus_publisher_binds_name_and_second_one_is_config_error(cfg: BusConfig, ctx: Ctx) -> None:
    pub = BusPublisher(cfg, INST, "binance-spot", socket=PubSocket(cfg, NAME, ctx=ctx))
    assert ep.find(cfg, NAME) is not None
    assert pub.seq == 1  # the instrument message at start
    with pytest.raises(ConfigError, match=r"already publishes md\.binance-spot\.BTCUSDT"):
        BusPublisher(cfg, INST, "binance-spot")
    pub.close()
    assert ep.find(cfg, NAME) is None


def test_bus_publisher_every_kind_decodes_on_its_topic(cfg: BusConfig, ctx: Ctx) -> None:
    pub = BusPublisher(
        cfg, INST, "binance-spot", 7, depth_levels=2, socket=PubSocket(cfg, NAME, ctx=ctx)
    )
    with SubSocket(cfg, [NAME], ctx=ctx) as sub:
        _joined(pub, sub)
        pub.book(7, _book(), 1001, 1_700_000_000_000_000_000, 11)
        pub.bbo(7, 1002, 10000, 100000, 10100, 50000, 0, 12)
        pub.trade(7, 55, 10050, 300, True, 1_700_000_000_000_000_001, 13)
        pub.kline(7, 60, 120, 60, 1, 2, 3, 4, 5, 6, False, 0, 14)
        pub.status(7, False, "gap", 15)
        pub.publish_instrument()
        got = [sub.recv(timeout_ms=2000) for _ in range(6)]
    pub.close()
    assert [g[0] if g else None for g in got] == [
        md_topic("binance-spot", "BTCUSDT", k)
        for k in ("book", "bbo", "trade", "kline", "status", "instrument")
    ]
    msgs = [wire.decode(g[1]) for g in got if g is not None]
    book, bbo, trade, kline, status, instrument = msgs
    assert isinstance(book, wire.BookMsg)
    assert book.bids == ((10000, 100000), (9900, 200000))
    assert book.asks == ((10100, 50000), (10200, 50000))
    assert (book.update_id, book.header.inst, book.header.ingest_ns) == (1001, 7, 11)
    assert book.header.venue == wire.venue_id("binance-spot")
    assert isinstance(bbo, wire.BboMsg)
    assert (bbo.bid_px, bbo.ask_qty, bbo.price_dp, bbo.qty_dp) == (10000, 50000, 2, 5)
    assert isinstance(trade, wire.TradeMsg)
    assert (trade.trade_id, trade.px, trade.qty, trade.is_buyer_maker) == (55, 10050, 300, True)
    assert isinstance(kline, wire.KlineMsg)
    assert (kline.interval_s, kline.close_px, kline.n_trades) == (60, 4, 6)
    assert isinstance(status, wire.StatusMsg)
    assert (status.is_live, status.reason) == (False, "gap")
    assert isinstance(instrument, wire.InstrumentMsg)
    assert (instrument.symbol, instrument.base, instrument.quote) == ("BTCUSDT", "BTC", "USDT")
    assert (instrument.tick_raw, instrument.step_raw, instrument.max_qty_raw) == (1, 1, 900_000_000)
    assert instrument.min_notional_raw == 501
    seqs = [m.header.seq for m in msgs]
    assert seqs == list(range(seqs[0], seqs[0] + 6))


def test_bus_publisher_bad_argument_counted_not_raised(
    cfg: BusConfig, ctx: Ctx, caplog: pytest.LogCaptureFixture
) -> None:
    pub = BusPublisher(cfg, INST, "binance-spot", socket=PubSocket(cfg, NAME, ctx=ctx))
    pub.kline(0, 0, 0, -1, 1, 1, 1, 1, 1, 1, True, 0, 0)  # interval_s < 0
    pub.trade(-1, 1, 1, 1, False, 0, 0)  # inst < 0
    assert pub.n_errors == 2
    assert "bus.encode_failed" in caplog.text
    pub.close()


def test_bus_publisher_stalled_sub_never_blocks_and_reader_sees_seq_gap(
    cfg: BusConfig, ctx: Ctx
) -> None:
    small = BusConfig(run_dir=cfg.run_dir, sndhwm=50, rcvhwm=50)
    pub = BusPublisher(small, INST, "binance-spot", socket=PubSocket(small, NAME, ctx=ctx))
    book = _book(20)
    with SubSocket(small, [NAME], ctx=ctx) as sub:
        _joined(pub, sub)
        t0 = time.monotonic()
        for i in range(20_000):
            pub.book(0, book, i, 0, 0)
        assert time.monotonic() - t0 < 10.0  # never waited on the reader
        seqs = []
        while (msg := sub.recv(timeout_ms=200)) is not None:
            seqs.append(wire.header(msg[1]).seq)
    pub.close()
    assert 0 < len(seqs) < 20_000
    assert seqs == sorted(seqs)
    assert seqs[-1] - seqs[0] + 1 > len(seqs)  # the subscriber sees the gap


def test_bus_publisher_nodrop_socket_counts_drops(cfg: BusConfig, ctx: Ctx) -> None:
    small = BusConfig(run_dir=cfg.run_dir, sndhwm=50, rcvhwm=50)
    sock = PubSocket(small, NAME, nodrop=True, ctx=ctx)
    pub = BusPublisher(small, INST, "binance-spot", socket=sock)
    with SubSocket(small, [NAME], ctx=ctx) as sub:
        _joined(pub, sub)
        for i in range(20_000):
            pub.trade(0, i, 1, 1, False, 0, 0)
        assert pub.n_dropped > 0
        assert pub.n_sent + pub.n_dropped >= 20_000
    pub.close()
