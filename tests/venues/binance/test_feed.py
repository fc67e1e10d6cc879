"""BinanceFeed's logic without sockets: frames go straight into the per-frame handler.

Connections are stand-ins (`FakeConn`) registered as the feed's links; snapshots go through
the same `_apply_snapshot` the snapshot task calls. A recording publisher flags any book
event published while the feed is not live. `veloz feed`'s argument and config handling is
at the end (it fails before any socket is opened).
"""

import logging
import random
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import orjson
import pytest

from procs import feed as feed_proc
from veloz._core import fixed
from veloz._core.book import Book
from veloz.errors import ConfigError
from veloz.model.instrument import Instrument
from veloz.venues.binance.feed import BinanceFeed
from veloz.venues.binance.feed import FeedConfig
from veloz.venues.binance.feed import FeedCounters
from veloz.venues.binance.feedlinks import Link

SPOT = "binance-spot"
USDM = "binance-usdm"
E_MS = 1_700_000_000_000
EXAMPLE = Path(__file__).resolve().parents[3] / "veloz" / "config" / "examples" / "feed.toml"


def instrument(venue: str = SPOT, symbol: str = "BTCUSDT") -> Instrument:
    return Instrument(
        venue=venue,
        symbol=symbol,
        base="BTC",
        quote="USDT",
        status="TRADING",
        price_dp=8,
        qty_dp=8,
        tick_raw=1_000_000,
        step_raw=1_000,
        min_px_raw=0,
        max_px_raw=0,
        min_qty_raw=0,
        max_qty_raw=0,
        min_notional_raw=0,
    )


def px(text: str) -> int:
    return fixed.parse(text, 8)


@dataclass
class Recorder:
    """A Publisher that records everything and flags a book published while not live."""

    feed: BinanceFeed | None = None
    books: list[tuple[int, int, int]] = field(default_factory=list)  # update_id, exch, ingest
    trades: list[tuple[int, int, int, bool]] = field(default_factory=list)
    bbos: list[tuple[int, ...]] = field(default_factory=list)
    statuses: list[tuple[bool, str]] = field(default_factory=list)
    violations: list[int] = field(default_factory=list)

    def book(self, inst: int, book: Book, update_id: int, exch_ns: int, ingest_ns: int) -> None:
        assert self.feed is not None
        if not self.feed.is_live or book.is_crossed():
            self.violations.append(update_id)
        self.books.append((update_id, exch_ns, ingest_ns))

    def bbo(
        self,
        inst: int,
        update_id: int,
        bid_px: int,
        bid_qty: int,
        ask_px: int,
        ask_qty: int,
        exch_ns: int,
        ingest_ns: int,
    ) -> None:
        self.bbos.append((update_id, bid_px, bid_qty, ask_px, ask_qty))

    def trade(
        self,
        inst: int,
        trade_id: int,
        px: int,
        qty: int,
        is_buyer_maker: bool,
        exch_ns: int,
        ingest_ns: int,
    ) -> None:
        self.trades.append((trade_id, px, qty, is_buyer_maker))

    def status(self, inst: int, is_live: bool, reason: str, mono_ns: int) -> None:
        self.statuses.append((is_live, reason))


class FakeConn:
    """Stands in for a WsConnection: open until closed."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_open = True
        self.close_reason = ""
        self.age_s = 0.0
        self.opened_ns = 0

    def close(self, reason: str = "closed") -> None:
        self.is_open = False
        self.close_reason = self.close_reason or reason


class Harness:
    """A feed, its recorder and helpers to push frames and snapshots through it."""

    def __init__(self, venue: str = SPOT, **kw: Any) -> None:
        base = {"ws_url": "ws://127.0.0.1:9", "rest_url": "http://127.0.0.1:9"}
        self.venue = venue
        self.config = FeedConfig(venue=venue, symbol="BTCUSDT", **(base | kw))
        self.rec = Recorder()
        self.feed = BinanceFeed(self.config, instrument(venue), self.rec, inst=4)
        self.rec.feed = self.feed
        self.links: list[Link] = []
        self.ingest = 1_000

    @property
    def c(self) -> FeedCounters:
        return self.feed.counters

    def link(self, slot: int = 0) -> Link:
        s = self.feed._slots[slot]
        link = Link(s, carries_trades=True, carries_bbo=True)
        link.conn = FakeConn(f"{s.name}#{len(self.links) + 1}")  # type: ignore[assignment]
        self.feed._links.add(link)
        if s.link is None:
            s.link = link
        self.links.append(link)
        return link

    def close(self, link: Link, reason: str = "eof") -> None:
        assert link.conn is not None
        link.conn.close(reason)
        self.feed._on_conn_closed(link, link.conn)

    def frame(self, link: Link, payload: bytes | dict[str, Any]) -> None:
        if isinstance(payload, dict):
            payload = orjson.dumps({"stream": "btcusdt@x", "data": payload})
        self.ingest += 1
        self.feed._on_frame(link, payload, self.ingest)

    def diff(
        self,
        link: Link,
        first: int,
        last: int,
        bids: list[tuple[str, str]] = (),  # type: ignore[assignment]
        asks: list[tuple[str, str]] = (),  # type: ignore[assignment]
        prev: int | None = None,
        symbol: str = "BTCUSDT",
    ) -> None:
        data: dict[str, Any] = {
            "e": "depthUpdate",
            "E": E_MS + last,
            "s": symbol,
            "U": first,
            "u": last,
            "b": [list(b) for b in bids],
            "a": [list(a) for a in asks],
        }
        if self.venue == USDM:
            data["T"] = E_MS + last
            data["pu"] = first - 1 if prev is None else prev
        self.frame(link, data)

    def snapshot(
        self,
        last_id: int,
        bids: list[tuple[str, str]] = (("100.00", "1"), ("99.00", "2")),  # type: ignore[assignment]
        asks: list[tuple[str, str]] = (("101.00", "1"), ("102.00", "2")),  # type: ignore[assignment]
    ) -> int:
        body: dict[str, Any] = {
            "lastUpdateId": last_id,
            "bids": [list(b) for b in bids],
            "asks": [list(a) for a in asks],
        }
        if self.venue == USDM:
            body |= {"E": E_MS, "T": E_MS}
        return self.feed._apply_snapshot(orjson.dumps(body))

    def live_at(self, link: Link, update_id: int = 10) -> None:
        """Buffer one diff, apply a snapshot at `update_id`: the feed is live after."""
        self.diff(link, update_id, update_id + 1, bids=[("100.00", "1.5")])
        self.snapshot(update_id)
        assert self.feed.is_live and self.feed.update_id == update_id + 1


# -- config ---------------------------------------------------------------------------------


def test_feed_config_defaults_are_the_documented_ones() -> None:
    cfg = FeedConfig()
    assert (cfg.venue, cfg.symbol, cfg.ws_url, cfg.rest_url) == (SPOT, "BTCUSDT", None, None)
    assert (cfg.depth_speed_ms, cfg.snapshot_limit, cfg.trades, cfg.book_ticker) == (
        100,
        1000,
        True,
        False,
    )
    assert (cfg.redundant, cfg.silence_timeout_s, cfg.rollover_after_s) == (False, 10.0, 82800.0)
    assert (cfg.reconnect_min_s, cfg.reconnect_max_s, cfg.snapshot_timeout_s) == (0.2, 30.0, 10.0)
    assert cfg.max_buffered == 10000
    assert cfg.endpoints().ws_url == "wss://stream.binance.com:9443"


@pytest.mark.parametrize(
    ("kw", "start"),
    [
        ({"venue": "binance-coinm"}, "venue='binance-coinm'"),
        ({"symbol": "BTC-USDT"}, "symbol='BTC-USDT': must be letters and digits"),
        ({"depth_speed_ms": 250}, "depth_speed_ms=250: must be one of 100, 1000"),
        ({"venue": USDM, "depth_speed_ms": 1000}, "depth_speed_ms=1000: must be one of 100, 250"),
        ({"snapshot_limit": 5001}, "snapshot_limit=5001: must be 1..5000"),
        ({"venue": USDM, "snapshot_limit": 5000}, "snapshot_limit=5000: must be one of 5, 10"),
        ({"ws_url": "http://127.0.0.1:1"}, "ws_url='http://127.0.0.1:1'"),
        ({"silence_timeout_s": 0.0}, "silence_timeout_s=0.0: must be > 0"),
        ({"reconnect_min_s": 2.0, "reconnect_max_s": 1.0}, "reconnect_max_s=1.0: must be >="),
        ({"max_buffered": 0}, "max_buffered=0: must be >= 1"),
    ],
)
def test_feed_config_bad_value_raises_config_error_naming_the_field(
    kw: dict[str, Any], start: str
) -> None:
    with pytest.raises(ConfigError) as info:
        FeedConfig(**kw)
    assert str(info.value).startswith(start)


def test_feed_config_spot_streams_share_one_connection() -> None:
    cfg = FeedConfig(ws_url="ws://127.0.0.1:5", book_ticker=True)
    assert cfg.depth_streams() == ["btcusdt@depth@100ms", "btcusdt@trade", "btcusdt@bookTicker"]
    assert cfg.trade_streams() == []
    assert FeedConfig(depth_speed_ms=1000).depth_stream() == "btcusdt@depth"
    feed = BinanceFeed(cfg, instrument(), Recorder())
    assert feed.stream_urls == [
        "ws://127.0.0.1:5/stream?streams=btcusdt@depth@100ms/btcusdt@trade/btcusdt@bookTicker"
    ]


def test_feed_config_usdm_depth_on_public_and_trades_on_market() -> None:
    cfg = FeedConfig(venue=USDM, ws_url="ws://127.0.0.1:5", book_ticker=True, redundant=True)
    assert FeedConfig(venue=USDM, depth_speed_ms=250).depth_stream() == "btcusdt@depth"
    feed = BinanceFeed(cfg, instrument(USDM), Recorder())
    public = "ws://127.0.0.1:5/public/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker"
    market = "ws://127.0.0.1:5/market/stream?streams=btcusdt@aggTrade"
    assert feed.stream_urls == [public, public, market]


def test_feed_instrument_of_another_symbol_is_refused() -> None:
    with pytest.raises(ConfigError, match="does not match"):
        BinanceFeed(FeedConfig(), instrument(symbol="ETHUSDT"), Recorder())


# -- sync and publishing ------------------------------------------------------------------


def test_feed_buffers_diffs_then_snapshot_syncs_and_publishes_status_and_book() -> None:
    h = Harness()
    link = h.link()
    h.diff(link, 5, 8, bids=[("100.00", "3")])
    h.diff(link, 9, 12, asks=[("101.00", "0")])
    assert not h.feed.is_live and h.rec.books == [] and h.feed.update_id == 0
    assert h.feed._want_snapshot.is_set()
    h.snapshot(10)
    assert h.feed.is_live and h.feed.update_id == 12
    assert h.rec.statuses == [(True, "synced")]
    assert [b[0] for b in h.rec.books] == [12]
    assert h.feed.book.best_bid() == (px("100.00"), px("1"))  # 5..8 is older than the snapshot
    assert h.feed.book.best_ask() == (px("102.00"), px("2"))  # 9..12 deleted 101.00
    assert h.c.n_snapshots == 1 and h.c.n_resyncs == 0


def test_feed_live_diff_publishes_book_with_its_ids_and_times() -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.diff(link, 12, 14, bids=[("100.50", "1")])
    update_id, exch_ns, ingest_ns = h.rec.books[-1]
    assert update_id == 14 and exch_ns == (E_MS + 14) * 1_000_000 and ingest_ns == h.ingest
    assert h.feed.book.best_bid() == (px("100.50"), px("1"))
    assert h.c.n_published == 2 and h.c.ingest_to_publish_n == 1
    assert h.c.ingest_to_publish_ns_sum >= h.c.ingest_to_publish_ns_max > 0
    assert h.rec.violations == []


def test_feed_snapshot_newer_than_every_diff_waits_for_the_covering_diff() -> None:
    h = Harness()
    link = h.link()
    h.diff(link, 5, 8)
    h.snapshot(20)
    assert not h.feed.is_live and h.rec.statuses == []
    h.diff(link, 9, 20)  # stale for the snapshot
    h.diff(link, 21, 22, asks=[("101.00", "4")])
    assert h.feed.is_live and h.feed.update_id == 22
    assert h.rec.statuses == [(True, "synced")]
    assert h.feed.book.best_ask() == (px("101.00"), px("4"))


def test_feed_gap_goes_invalid_counts_and_resyncs_from_the_next_snapshot() -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.diff(link, 15, 16, bids=[("99.50", "1")])  # 12..14 lost
    assert not h.feed.is_live and h.feed.update_id == 11
    assert h.rec.statuses == [(True, "synced"), (False, "gap")]
    assert (h.c.n_gaps, h.c.n_resyncs) == (1, 1)
    assert h.feed._want_snapshot.is_set()
    h.diff(link, 17, 18)  # still buffered, not published
    assert [b[0] for b in h.rec.books] == [11]
    h.snapshot(16)
    assert h.feed.is_live and h.feed.update_id == 18
    assert h.rec.statuses[-1] == (True, "synced") and h.rec.violations == []


def test_feed_crossed_book_goes_invalid_and_resets_for_a_new_snapshot() -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.diff(link, 12, 12, bids=[("101.50", "1")])  # bid above the best ask
    assert not h.feed.is_live
    assert h.rec.statuses[-1] == (False, "crossed")
    assert h.c.n_resyncs == 1 and h.rec.violations == []
    assert [b[0] for b in h.rec.books] == [11]
    assert h.feed._sync.needs_snapshot and h.feed._sync.n_buffered == 0


def test_feed_crossed_snapshot_is_not_published_and_asks_for_another() -> None:
    h = Harness()
    link = h.link()
    h.diff(link, 5, 11)
    h.snapshot(10, bids=[("102.00", "1")], asks=[("101.00", "1")])
    assert not h.feed.is_live and h.rec.books == [] and h.rec.statuses == []
    assert h.c.n_resyncs == 1 and h.feed._want_snapshot.is_set()


def test_feed_snapshot_too_old_counts_and_asks_for_another() -> None:
    h = Harness()
    link = h.link()
    h.diff(link, 50, 51)
    h.feed._want_snapshot.clear()
    h.snapshot(10)
    assert not h.feed.is_live
    assert h.c.n_snapshots_too_old == 1 and h.feed._want_snapshot.is_set()
    assert h.feed._snap_failures == 1 and h.feed._snapshot_delay_s() >= 0.2
    h.snapshot(50)
    assert h.feed.is_live


def test_feed_malformed_snapshot_counts_an_error_and_waits_for_another(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    link = h.link()
    h.diff(link, 5, 11)
    assert h.feed._apply_snapshot(b'{"lastUpdateId": "ten", "bids": [], "asks": []}') == -1
    assert h.c.n_snapshot_errors == 1 and h.c.n_snapshots == 0 and not h.feed.is_live
    assert "feed.snapshot_malformed" in caplog.text and "lastUpdateId" in caplog.text
    h.snapshot(10)
    assert h.feed.is_live


def test_feed_stale_diff_on_a_single_connection_counts_as_stale() -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.diff(link, 8, 11)
    assert h.c.n_stale == 1 and h.c.n_dup_dropped == 0 and len(h.rec.books) == 1


def test_feed_usdm_chains_on_pu_and_a_broken_pu_is_a_gap() -> None:
    h = Harness(USDM)
    link = h.link()
    h.diff(link, 8, 12, prev=7)
    h.snapshot(10)  # USD-M: first event U <= L <= u
    assert h.feed.is_live and h.feed.update_id == 12
    h.diff(link, 20, 25, prev=12)  # U jumps but pu chains: fine on USD-M
    assert h.feed.is_live and h.feed.update_id == 25
    h.diff(link, 26, 27, prev=24)
    assert not h.feed.is_live and h.c.n_gaps == 1
    assert h.rec.statuses == [(True, "synced"), (False, "gap")]


# -- bad input ---------------------------------------------------------------------------


def test_feed_malformed_frame_is_counted_logged_and_leaves_the_book(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.frame(link, b'{"e":"depthUpdate","E":17')
    assert h.c.n_malformed == 1 and h.feed.is_live and len(h.rec.books) == 1
    assert "feed.frame_malformed" in caplog.text and "not valid JSON" in caplog.text
    h.diff(link, 12, 12)
    assert h.feed.update_id == 12


def test_feed_depth_frame_missing_a_field_is_malformed_not_a_gap() -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.frame(link, {"e": "depthUpdate", "E": E_MS, "s": "BTCUSDT", "U": 12, "b": [], "a": []})
    assert h.c.n_malformed == 1 and h.c.n_gaps == 0 and h.feed.is_live


def test_feed_frame_for_another_symbol_is_counted_and_not_applied(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.diff(link, 12, 12, bids=[("50.00", "1")], symbol="ETHUSDT")
    assert h.c.n_wrong_symbol == 1 and h.feed.update_id == 11
    assert h.feed.book.n_levels(0) == 2 and "feed.frame_wrong_symbol" in caplog.text


def test_feed_unknown_event_is_counted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness()
    link = h.link()
    h.frame(link, {"e": "fancyNewEvent", "E": E_MS, "s": "BTCUSDT"})
    h.frame(link, b'{"result":null,"id":1}')
    assert h.c.n_unknown == 2 and h.c.n_malformed == 0
    assert "feed.frame_unknown" in caplog.text and "kind=control" in caplog.text


def test_feed_venue_error_frame_is_counted() -> None:
    h = Harness()
    link = h.link()
    h.frame(link, b'{"code":2,"msg":"Invalid request: invalid stream"}')
    assert h.c.n_venue_errors == 1 and h.c.n_malformed == 0


def test_feed_repeated_bad_frames_log_a_few_lines_then_summaries(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    link = h.link()
    caplog.set_level(logging.WARNING)
    for _ in range(200):
        h.frame(link, b"not json")
    lines = [r for r in caplog.records if "feed.frame_malformed" in r.getMessage()]
    assert h.c.n_malformed == 200
    assert 5 <= len(lines) <= 7


# -- trades, tickers, shutdown notices ------------------------------------------------------


def _trade(trade_id: int, price: str = "100.10") -> dict[str, Any]:
    return {
        "e": "trade",
        "E": E_MS,
        "s": "BTCUSDT",
        "t": trade_id,
        "p": price,
        "q": "0.5",
        "T": E_MS,
        "m": True,
        "M": True,
    }


def test_feed_trades_are_published_while_the_book_is_not_live() -> None:
    h = Harness()
    link = h.link()
    h.frame(link, _trade(7))
    assert not h.feed.is_live
    assert h.rec.trades == [(7, px("100.10"), px("0.5"), True)]


def test_feed_duplicate_trade_ids_are_dropped_and_counted() -> None:
    h = Harness()
    link = h.link()
    for trade_id in (7, 8, 8, 6, 9):
        h.frame(link, _trade(trade_id))
    assert [t[0] for t in h.rec.trades] == [7, 8, 9]
    assert h.c.n_dup_dropped == 2


def test_feed_usdm_agg_trade_is_published_with_its_agg_id() -> None:
    h = Harness(USDM)
    link = h.link(slot=1)  # the /market trades connection
    agg = {"e": "aggTrade", "E": E_MS, "s": "BTCUSDT", "a": 5, "p": "100.1", "q": "2"}
    h.frame(link, agg | {"f": 10, "l": 12, "T": E_MS, "m": False})
    assert h.rec.trades == [(5, px("100.1"), px("2"), False)]


def test_feed_book_ticker_is_published_and_an_identical_repeat_dropped() -> None:
    h = Harness(book_ticker=True)
    link = h.link()
    bbo = {"u": 40, "s": "BTCUSDT", "b": "100.0", "B": "1", "a": "100.1", "A": "2"}
    h.frame(link, orjson.dumps({"stream": "btcusdt@bookTicker", "data": bbo}))
    h.frame(link, orjson.dumps({"stream": "btcusdt@bookTicker", "data": bbo}))
    older = bbo | {"u": 39}
    h.frame(link, orjson.dumps({"stream": "btcusdt@bookTicker", "data": older}))
    assert h.rec.bbos == [(40, px("100.0"), px("1"), px("100.1"), px("2"))]
    assert h.c.n_dup_dropped == 2


def test_feed_server_shutdown_counts_and_asks_the_slot_to_roll_over(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness()
    link = h.link()
    h.frame(link, orjson.dumps({"stream": "!serverShutdown", "data": {"e": "serverShutdown"}}))
    assert h.c.n_server_shutdowns == 1
    assert link.slot.roll_now and link.slot.wake.is_set()
    assert "feed.server_shutdown" in caplog.text


# -- several connections ------------------------------------------------------------------


def test_feed_redundant_duplicates_are_dropped_and_each_event_published_once() -> None:
    h = Harness(redundant=True)
    a, b = h.link(0), h.link(1)
    h.live_at(a, 10)
    h.diff(b, 12, 12, bids=[("100.20", "1")])  # b joins by chaining on
    assert b.is_joined
    h.diff(a, 12, 12, bids=[("100.20", "1")])
    h.diff(a, 13, 13)
    h.diff(b, 13, 13)
    assert [u for u, _, _ in h.rec.books] == [11, 12, 13]
    assert h.c.n_dup_dropped == 2 and h.c.n_stale == 0 and h.rec.violations == []


def test_feed_redundant_losing_one_connection_keeps_the_book_live() -> None:
    h = Harness(redundant=True)
    a, b = h.link(0), h.link(1)
    h.live_at(a, 10)
    h.diff(b, 12, 12)
    h.close(a)
    assert h.feed.is_live and h.rec.statuses == [(True, "synced")]
    h.diff(b, 13, 13)
    assert h.feed.update_id == 13 and h.c.n_resyncs == 0


def test_feed_joining_connection_ahead_of_the_book_is_held_not_a_gap() -> None:
    h = Harness(redundant=True)
    a, b = h.link(0), h.link(1)
    h.live_at(a, 10)  # book at 11
    h.diff(b, 13, 13, bids=[("100.30", "1")])  # b is ahead: 12 not seen yet
    assert not b.is_joined and h.feed.update_id == 11 and h.c.n_gaps == 0
    h.diff(a, 12, 12)  # the joined link delivers 12
    h.diff(b, 14, 14)  # b settles: its held 13 chains on now
    assert b.is_joined and h.feed.update_id == 14 and h.c.n_gaps == 0
    assert h.feed.book.best_bid() == (px("100.30"), px("1"))
    h.diff(a, 13, 13)
    assert h.c.n_dup_dropped == 1 and h.feed.is_live


def test_feed_joining_connection_left_alone_with_a_real_gap_resyncs() -> None:
    h = Harness(redundant=True)
    a, b = h.link(0), h.link(1)
    h.live_at(a, 10)
    h.diff(b, 14, 14)  # 12 and 13 missing
    assert not b.is_joined
    h.close(a)  # the only source of 12..13 is gone: b's held diff is a gap now
    assert b.is_joined and not h.feed.is_live
    assert h.c.n_gaps == 1 and h.rec.statuses[-1] == (False, "gap")


def test_feed_losing_the_only_depth_connection_invalidates_and_resets() -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    h.close(link, "server_close code=1008")
    assert not h.feed.is_live and h.feed.update_id == 11
    assert h.rec.statuses == [(True, "synced"), (False, "disconnected")]
    assert h.c.n_resyncs == 1 and h.feed._sync.n_buffered == 0
    assert h.feed._sync.needs_snapshot


def test_feed_silence_close_is_counted() -> None:
    h = Harness()
    link = h.link()
    h.close(link, "silence")
    assert h.c.n_silence_timeouts == 1


def test_feed_planned_close_of_the_only_connection_changes_nothing() -> None:
    h = Harness()
    link = h.link()
    h.live_at(link, 10)
    link.is_planned_close = True
    h.close(link, "rollover")
    assert h.feed.is_live and h.rec.statuses == [(True, "synced")]


def test_feed_losing_the_trades_connection_leaves_the_book_live() -> None:
    h = Harness(USDM)
    depth, trades = h.link(0), h.link(1)
    h.diff(depth, 8, 12, prev=7)
    h.snapshot(10)
    h.close(trades)
    assert h.feed.is_live and h.rec.statuses == [(True, "synced")]


# -- timing helpers -------------------------------------------------------------------------


def test_feed_backoff_grows_and_stays_within_bounds() -> None:
    h = Harness(reconnect_min_s=0.1, reconnect_max_s=1.0)
    random.seed(3)
    assert h.feed._backoff_s(1) == pytest.approx(0.1)
    for failures in range(1, 40):
        delay = h.feed._backoff_s(failures)
        assert 0.1 <= delay <= min(1.0, 0.1 * 2 ** (failures - 1)) + 1e-9
    assert max(h.feed._backoff_s(10) for _ in range(50)) > 0.5


def test_feed_stop_is_idempotent_and_wakes_every_waiter() -> None:
    h = Harness(redundant=True)
    h.feed.stop()
    h.feed.stop()
    assert h.feed._stopping and h.feed._stop_event.is_set()
    assert all(slot.wake.is_set() for slot in h.feed._slots)


def test_feed_counters_as_dict_holds_every_documented_counter() -> None:
    names = set(FeedCounters().as_dict())
    documented = {
        "n_frames",
        "n_malformed",
        "n_wrong_symbol",
        "n_unknown",
        "n_gaps",
        "n_resyncs",
        "n_reconnects",
        "n_stale",
        "n_snapshots",
        "n_snapshot_errors",
        "n_snapshots_too_old",
        "n_rollovers",
        "n_silence_timeouts",
        "n_server_shutdowns",
        "n_published",
        "n_dup_dropped",
        "ingest_to_publish_ns_sum",
        "ingest_to_publish_ns_max",
        "ingest_to_publish_n",
    }
    assert documented <= names
    assert all(v == 0 for v in FeedCounters().as_dict().values())


# -- veloz feed: arguments and config -------------------------------------------------------


def test_veloz_feed_bad_venue_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert feed_proc.main(["--venue", "binance-coinm"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_veloz_feed_bad_ws_url_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert feed_proc.main(["--ws-url", "http://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("veloz feed: ws_url='http://127.0.0.1:1'") and "Traceback" not in err


def test_veloz_feed_bad_duration_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert feed_proc.main(["--duration", "0"]) == 2
    assert "--duration 0.0: must be > 0" in capsys.readouterr().err


def test_veloz_feed_config_unknown_key_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feed.toml"
    path.write_text('[feed]\nsymbol = "ETHUSDT"\nsilence_timeout = 5\n')
    assert feed_proc.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: feed.silence_timeout: unknown key" in err and "Traceback" not in err


def test_veloz_feed_config_wrong_type_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feed.toml"
    path.write_text('[feed]\nredundant = "yes"\n')
    assert feed_proc.main(["--config", str(path)]) == 2
    assert "feed.redundant: expected boolean, got string 'yes'" in capsys.readouterr().err


def test_veloz_feed_flags_override_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "feed.toml"
    path.write_text('log_level = "DEBUG"\n[feed]\nvenue = "binance-usdm"\nsymbol = "ETHUSDT"\n')
    args = feed_proc._parser().parse_args(
        ["--config", str(path), "--symbol", "BNBUSDT", "--redundant", "--depth-levels", "3"]
    )
    cfg = feed_proc._load(args)
    assert (cfg.feed.venue, cfg.feed.symbol, cfg.feed.redundant) == (USDM, "BNBUSDT", True)
    assert (cfg.log_level, cfg.depth_levels) == ("DEBUG", 3)


def test_veloz_feed_example_config_loads_with_the_defaults() -> None:
    args = feed_proc._parser().parse_args(["--config", str(EXAMPLE)])
    assert feed_proc._load(args) == feed_proc.FeedProcessConfig()
