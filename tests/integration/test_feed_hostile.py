"""`BinanceFeed` against a hostile Binance server: every published book is the true book.

One feed runs in-process on the server's event loop. Its publisher is a recorder that, on
every ``book`` call, compares all levels of the published book with
``server.truth_at(update_id)`` and records any difference, and that flags a book published
while the feed had declared its book invalid. Each case then requires: zero mismatches, live
again within a few seconds, and the right `FeedCounters` field moved.
"""

import asyncio
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import pytest

from bench.sim_load import run_async
from tests.integration.hostile import OTHER_SYMBOL
from tests.integration.hostile import HostileServer
from veloz._core.book import Book
from veloz.model.instrument import Instrument
from veloz.venues.binance.feed import BinanceFeed
from veloz.venues.binance.feed import FeedConfig
from veloz.venues.binance.feed import load_instrument

pytestmark = pytest.mark.integration

log = logging.getLogger(__name__)

VENUES = ["binance-spot", "binance-usdm"]
START_S = 5.0  # first sync
RECOVER_S = 3.0  # "recovered within a few seconds", from the cue
AFTER_BOOKS = 5  # books published after recovery before a case is judged


@dataclass
class Recorder:
    """A `Publisher` that checks every published book against the server's truth."""

    server: HostileServer
    instrument: Instrument
    n_books: int = 0
    n_trades: int = 0
    n_bbo: int = 0
    last_update_id: int = 0
    statuses: list[tuple[bool, str, float]] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    is_declared_live: bool = False

    def book(self, inst: int, book: Book, update_id: int, exch_ns: int, ingest_ns: int) -> None:
        self.n_books += 1
        if not self.is_declared_live:
            self.mismatches.append(f"u={update_id}: book published while declared invalid")
        if update_id < self.last_update_id:
            self.mismatches.append(f"u={update_id}: after u={self.last_update_id}")
        self.last_update_id = update_id
        dp_px, dp_qty = self.instrument.price_dp, self.instrument.qty_dp
        try:
            bids, asks = self.server.truth_levels(update_id, dp_px, dp_qty)
        except KeyError:
            self.mismatches.append(f"u={update_id}: not an id the server ever generated")
            return
        for side, truth in ((0, bids), (1, asks)):
            px, qty = book.top_n(side, book.n_levels(side))
            got = list(zip(px.tolist(), qty.tolist(), strict=True))
            if got != truth:
                diff = next(
                    (i for i, (a, b) in enumerate(zip(got, truth, strict=False)) if a != b),
                    min(len(got), len(truth)),
                )
                self.mismatches.append(
                    f"u={update_id} side={side} levels={len(got)}/{len(truth)} first_diff={diff} "
                    f"got={got[diff : diff + 1]} truth={truth[diff : diff + 1]}"
                )

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
        self.n_bbo += 1

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
        self.n_trades += 1

    def status(self, inst: int, is_live: bool, reason: str, mono_ns: int) -> None:
        self.is_declared_live = is_live
        self.statuses.append((is_live, reason, mono_ns / 1e9))

    def invalid_reasons(self) -> list[str]:
        return [reason for is_live, reason, _ in self.statuses if not is_live]


Scenario = Callable[[HostileServer, BinanceFeed, Recorder], Awaitable[None]]


def _run(
    scenario: Scenario,
    venue: str = "binance-spot",
    *,
    cue_before_start: Callable[[HostileServer], None] | None = None,
    server_kw: dict[str, Any] | None = None,
    **config_kw: Any,
) -> Recorder:
    async def main() -> Recorder:
        # Server pings every 0.25 s (4 pongs/s stay under the 5 frames/s inbound limit): a
        # feed that does not pong within 2 s loses its socket.
        skw: dict[str, Any] = {"rate_hz": 100.0, "ping_interval_s": 0.25, "pong_timeout_s": 2.0}
        skw.update(server_kw or {})
        async with HostileServer(venue=venue, **skw) as server:
            kw: dict[str, Any] = {
                "silence_timeout_s": 5.0,
                "reconnect_min_s": 0.05,
                "reconnect_max_s": 0.5,
                "snapshot_timeout_s": 2.0,
            }
            kw.update(config_kw)
            config = FeedConfig(
                venue=venue,
                symbol="BTCUSDT",
                ws_url=server.ws_url,
                rest_url=server.rest_url,
                depth_speed_ms=100,
                snapshot_limit=1000,
                trades=True,
                **kw,
            )
            instrument = await load_instrument(config)
            rec = Recorder(server, instrument)
            feed = BinanceFeed(config, instrument, rec, inst=0)
            if cue_before_start is not None:
                cue_before_start(server)
            task = asyncio.create_task(feed.run())
            try:
                assert await feed.wait_live(START_S), f"never live: {feed.counters}"
                await _books_after(server, rec, AFTER_BOOKS)
                await scenario(server, feed, rec)
            finally:
                feed.stop()
                await asyncio.wait_for(task, 5.0)
            assert rec.mismatches == [], rec.mismatches[:5]
            assert feed.counters.n_internal_errors == 0
            assert server.counters.n_pong_timeouts == 0
            assert server.counters.n_inbound_limit_closes == 0
            assert server.counters.n_rest_violations == 0
            return rec

    return run_async(main())


async def _books_after(server: HostileServer, rec: Recorder, n: int) -> None:
    mark = rec.n_books
    await server.wait_until(lambda: rec.n_books >= mark + n, RECOVER_S, f"{n} more books")


async def _recovered(
    server: HostileServer, feed: BinanceFeed, rec: Recorder, moved: Callable[[], bool], what: str
) -> float:
    # Wait for the counter to move, then for the book to be live and publishing; seconds taken.
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await server.wait_until(moved, RECOVER_S, what)
    await server.wait_until(
        lambda: feed.is_live and rec.is_declared_live, RECOVER_S - (loop.time() - t0), "live"
    )
    took = loop.time() - t0
    log.info("feed_recovered after=%r seconds=%.3f", what, took)
    await _books_after(server, rec, AFTER_BOOKS)
    return took


@pytest.mark.parametrize("venue", VENUES)
def test_feed_gap_in_update_ids_resyncs_and_publishes_only_true_books(venue: str) -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        server.gap(3)
        await _recovered(server, feed, rec, lambda: feed.counters.n_gaps >= 1, "a gap")
        assert feed.counters.n_gaps == 1 and feed.counters.n_resyncs == 1
        assert rec.invalid_reasons() == ["gap"]
        assert feed.counters.n_snapshots == 2

    _run(scenario, venue)


@pytest.mark.parametrize("venue", VENUES)
def test_feed_snapshot_older_than_buffered_events_is_refetched_at_start(venue: str) -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        assert feed.counters.n_snapshots_too_old == 1
        assert server.counters.n_old_snapshots == 1
        assert feed.counters.n_snapshots == 2 and server.counters.n_snapshots == 2
        assert rec.invalid_reasons() == []

    _run(scenario, venue, cue_before_start=lambda server: server.old_snapshot())


@pytest.mark.parametrize("venue", VENUES)
def test_feed_snapshot_older_than_buffered_events_is_refetched_on_resync(venue: str) -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        server.old_snapshot()
        server.gap(2)
        await _recovered(
            server, feed, rec, lambda: feed.counters.n_snapshots_too_old >= 1, "a too-old snapshot"
        )
        assert feed.counters.n_snapshots_too_old == 1 and feed.counters.n_gaps == 1
        assert rec.invalid_reasons() == ["gap"]

    _run(scenario, venue)


@pytest.mark.parametrize("abrupt", [False, True], ids=["close-frame", "tcp-abort"])
def test_feed_disconnect_mid_stream_reconnects_and_resyncs(abrupt: bool) -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        opened = server.counters.n_ws_connections
        server.disconnect(abrupt=abrupt)
        await _recovered(server, feed, rec, lambda: feed.counters.n_reconnects >= 1, "a reconnect")
        assert feed.counters.n_reconnects == 1
        assert server.counters.n_ws_connections == opened + 1
        assert rec.invalid_reasons() == ["disconnected"]

    _run(scenario)


def test_feed_stall_times_out_on_silence_and_reconnects() -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        server.stall(4.0)  # longer than silence_timeout_s: only a new socket can recover
        took = await _recovered(
            server,
            feed,
            rec,
            lambda: feed.counters.n_silence_timeouts >= 1 and feed.counters.n_reconnects >= 1,
            "a silence timeout and a reconnect",
        )
        assert took < 4.0, "recovered only when the stall ended, not by reconnecting"
        assert feed.counters.n_silence_timeouts == 1 and feed.counters.n_reconnects == 1
        assert rec.invalid_reasons() == ["disconnected"]

    _run(scenario, silence_timeout_s=1.0)


def test_feed_malformed_frame_is_counted_and_the_book_stays_live() -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        server.malformed()
        await server.wait_until(lambda: server.counters.n_malformed_sent == 1, RECOVER_S, "sent")
        await server.wait_until(lambda: feed.counters.n_malformed >= 1, RECOVER_S, "counted")
        await _books_after(server, rec, AFTER_BOOKS)
        assert feed.counters.n_malformed == 1
        assert feed.counters.n_gaps == 0 and feed.counters.n_reconnects == 0
        assert feed.is_live and rec.invalid_reasons() == []

    _run(scenario)


@pytest.mark.parametrize("venue", VENUES)
def test_feed_wrong_symbol_frame_is_counted_and_leaves_the_book_untouched(venue: str) -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        server.wrong_symbol()
        await server.wait_until(lambda: server.counters.n_wrong_symbol_sent == 1, RECOVER_S, "sent")
        await server.wait_until(lambda: feed.counters.n_wrong_symbol >= 1, RECOVER_S, "counted")
        await _books_after(server, rec, AFTER_BOOKS)
        assert feed.counters.n_wrong_symbol == 1
        # Applied, the foreign frame's ids would have shown as a gap or stale event next.
        assert feed.counters.n_gaps == 0 and feed.counters.n_stale == 0
        assert feed.is_live and rec.invalid_reasons() == []

    rec = _run(scenario, venue)
    assert rec.instrument.symbol != OTHER_SYMBOL


@pytest.mark.parametrize("venue", VENUES)
def test_feed_rollover_by_age_switches_sockets_without_an_invalid_period(venue: str) -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        def depth_socks() -> int:
            return sum(c.first_depth_u is not None for c in server.conns)

        # Two depth-socket rollovers (USD-M rolls its /market trades socket too).
        await server.wait_until(lambda: depth_socks() >= 3, 4.0, "two depth rollovers")
        await _books_after(server, rec, AFTER_BOOKS)
        assert feed.counters.n_rollovers >= 2
        assert rec.invalid_reasons() == []
        assert [s[0] for s in rec.statuses] == [True]
        assert feed.counters.n_reconnects == 0 and feed.counters.n_gaps == 0
        assert server.counters.n_ws_closed_by_server == 0  # the feed closed the old ones
        assert sum(not c.closed for c in server.conns if c.first_depth_u is not None) <= 2

    _run(scenario, venue, rollover_after_s=1.0)


@pytest.mark.parametrize("venue", VENUES)
def test_feed_server_shutdown_rolls_over_without_an_invalid_period(venue: str) -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        opened = server.counters.n_ws_connections
        server.server_shutdown(close_after_s=3.0)
        await server.wait_until(
            lambda: feed.counters.n_rollovers >= 1 and server.counters.n_shutdown_sent >= 1,
            RECOVER_S,
            "a rollover after serverShutdown",
        )
        await _books_after(server, rec, AFTER_BOOKS)
        n_socks = server.counters.n_shutdown_sent  # one notice per open socket
        assert feed.counters.n_server_shutdowns == n_socks
        assert feed.counters.n_rollovers == n_socks
        assert server.counters.n_ws_connections == opened + n_socks
        assert rec.invalid_reasons() == [] and [s[0] for s in rec.statuses] == [True]
        assert feed.counters.n_reconnects == 0 and feed.counters.n_gaps == 0
        # Every notified socket was closed by the feed before the server's deadline.
        await server.wait_until(
            lambda: all(c.closed for c in server.conns if c.close_at_s is not None),
            RECOVER_S,
            "the old sockets closed",
        )
        assert server.counters.n_ws_closed_by_server == 0

    _run(scenario, venue)


def test_feed_snapshot_429_is_waited_out_before_the_resync_snapshot() -> None:
    async def scenario(server: HostileServer, feed: BinanceFeed, rec: Recorder) -> None:
        server.rest_status(429, retry_after_s=1.0, count=1)
        server.gap(2)
        took = await _recovered(
            server, feed, rec, lambda: feed.counters.n_snapshot_errors >= 1, "a refused snapshot"
        )
        assert took >= 1.0 - 0.05, "resynced before Retry-After passed"
        depth = [c for c in server.rest_log if c.path.endswith("/depth")]
        assert [c.status for c in depth] == [200, 429, 200]
        assert depth[2].t_s - depth[1].t_s >= 1.0 - 0.02
        assert feed.counters.n_gaps == 1 and rec.invalid_reasons() == ["gap"]
        # (_run also asserts the server saw no request inside the Retry-After window)

    _run(scenario)
