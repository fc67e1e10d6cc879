"""The Binance feed against `veloz sim` (a real process), and its websocket on 127.0.0.1.

Feeds run in-process on uvloop; the sim's admin endpoint injects gaps, drops, forced 429s
and shows its own book at a given update id (``GET /admin/book`` flushes the symbol's
pending diffs first, so the feed receives the diff ending exactly there). The recording
publisher flags any book event published while the feed is not live. `veloz feed` itself
runs once as a subprocess. The last section drives `WsConnection` against scripted aiohttp
servers: ping payloads echoed, silence, close frames, fragments, refused upgrades.
"""

import asyncio
import subprocess
import sys
import time
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web

from bench.sim_load import REPO
from bench.sim_load import SimProc
from bench.sim_load import run_async
from veloz._core import fixed
from veloz._core.book import Book
from veloz.errors import VenueError
from veloz.venues.binance.feed import BinanceFeed
from veloz.venues.binance.feed import FeedConfig
from veloz.venues.binance.feed import load_instrument
from veloz.venues.binance.ws import WsConnection

pytestmark = pytest.mark.integration

VENUES = {"binance-spot": "spot", "binance-usdm": "usdm"}
LIVE_S = 5.0


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(2000, venue="both", symbols="BTCUSDT,ETHUSDT", start_timeout_s=30) as proc:
        yield proc


@dataclass
class Recorder:
    """A Publisher that records events, keeps recent books, and flags invalid publishing."""

    feed: BinanceFeed | None = None
    keep_books: bool = False
    n_books: int = 0
    n_trades: int = 0
    statuses: list[tuple[bool, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    history: deque[tuple[int, list[tuple[int, int]], list[tuple[int, int]]]] = field(
        default_factory=lambda: deque(maxlen=200)
    )
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def book(self, inst: int, book: Book, update_id: int, exch_ns: int, ingest_ns: int) -> None:
        assert self.feed is not None
        if not self.feed.is_live:
            self.violations.append(f"book at {update_id} while not live")
        if self.statuses and not self.statuses[-1][0]:
            self.violations.append(f"book at {update_id} after status False")
        self.n_books += 1
        if self.keep_books:
            sides = []
            for side in (0, 1):
                px, qty = book.top_n(side, book.n_levels(side))
                sides.append(list(zip(px.tolist(), qty.tolist(), strict=True)))
            self.history.append((update_id, sides[0], sides[1]))
        self.changed.set()

    def bbo(self, *args: Any) -> None:
        self.changed.set()

    def trade(self, *args: Any) -> None:
        self.n_trades += 1
        self.changed.set()

    def status(self, inst: int, is_live: bool, reason: str, mono_ns: int) -> None:
        self.statuses.append((is_live, reason))
        self.changed.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout_s: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))
            except TimeoutError:
                continue


Scenario = Callable[[SimProc, BinanceFeed, Recorder, aiohttp.ClientSession], Awaitable[None]]


def _run_feed(
    sim: SimProc, venue: str, scenario: Scenario, keep_books: bool = False, **kw: Any
) -> tuple[BinanceFeed, Recorder]:
    async def main() -> tuple[BinanceFeed, Recorder]:
        opts: dict[str, Any] = {"reconnect_min_s": 0.05, "reconnect_max_s": 0.5} | kw
        config = FeedConfig(venue=venue, ws_url=sim.ws, rest_url=sim.rest, **opts)
        instrument = await load_instrument(config)
        rec = Recorder(keep_books=keep_books)
        feed = BinanceFeed(config, instrument, rec)
        rec.feed = feed
        task = asyncio.create_task(feed.run())
        try:
            assert await feed.wait_live(LIVE_S), f"not live within {LIVE_S}s: {feed.counters}"
            async with aiohttp.ClientSession() as http:
                await scenario(sim, feed, rec, http)
        finally:
            feed.stop()
            await asyncio.wait_for(task, 5.0)
        assert rec.violations == [], rec.violations[:5]
        assert feed.counters.n_internal_errors == 0
        assert feed.counters.n_malformed == 0
        return feed, rec

    return run_async(main())


async def _fault(http: aiohttp.ClientSession, sim: SimProc, body: dict[str, Any]) -> Any:
    async with http.post(f"{sim.admin}/faults", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _live_again(feed: BinanceFeed, rec: Recorder, timeout_s: float = LIVE_S) -> None:
    await rec.wait_until(
        lambda: feed.is_live and bool(rec.statuses) and rec.statuses[-1][0],
        timeout_s,
        "live again",
    )
    mark = rec.n_books
    await rec.wait_until(lambda: rec.n_books >= mark + 3, timeout_s, "books after recovery")


@pytest.mark.parametrize("venue", list(VENUES))
def test_feed_sim_goes_live_and_its_book_equals_the_sims_book_at_equal_update_ids(
    sim: SimProc, venue: str
) -> None:
    async def scenario(
        sim: SimProc, feed: BinanceFeed, rec: Recorder, http: aiohttp.ClientSession
    ) -> None:
        for _ in range(3):
            url = f"{sim.admin}/book?venue={VENUES[venue]}&symbol=BTCUSDT"
            async with http.get(url) as resp:
                assert resp.status == 200
                truth = orjson.loads(await resp.read())
            u = truth["lastUpdateId"]
            await rec.wait_until(
                lambda u=u: any(h[0] >= u for h in rec.history), 3.0, f"update id {u}"
            )
            got = next((h for h in rec.history if h[0] == u), None)
            assert got is not None, f"no book published at update id {u}"
            for side, key in ((1, "bids"), (2, "asks")):
                want = [(fixed.parse(p, 8), fixed.parse(q, 8)) for p, q in truth[key]]
                assert got[side] == want, f"{key} differ at update id {u}"
            assert len(got[1]) > 50 and len(got[2]) > 50

    feed, rec = _run_feed(sim, venue, scenario, keep_books=True)
    assert rec.statuses == [(True, "synced")]
    assert feed.counters.n_gaps == 0
    assert rec.n_trades > 0, "trades are subscribed by default"


@pytest.mark.parametrize("venue", list(VENUES))
def test_feed_sim_gap_fault_causes_exactly_one_resync_and_recovers(
    sim: SimProc, venue: str
) -> None:
    async def scenario(
        sim: SimProc, feed: BinanceFeed, rec: Recorder, http: aiohttp.ClientSession
    ) -> None:
        resyncs = feed.counters.n_resyncs
        t0 = time.monotonic()
        await _fault(
            http, sim, {"fault": "gap", "symbol": "BTCUSDT", "n": 3, "venue": VENUES[venue]}
        )
        await rec.wait_until(lambda: feed.counters.n_gaps >= 1, 3.0, "the gap")
        await _live_again(feed, rec)
        assert time.monotonic() - t0 < 4.0
        assert feed.counters.n_resyncs == resyncs + 1
        assert feed.counters.n_snapshots == 2

    _, rec = _run_feed(sim, venue, scenario)
    assert rec.statuses == [(True, "synced"), (False, "gap"), (True, "synced")]


def test_feed_sim_drop_fault_reconnects_and_recovers(sim: SimProc) -> None:
    async def scenario(
        sim: SimProc, feed: BinanceFeed, rec: Recorder, http: aiohttp.ClientSession
    ) -> None:
        await _fault(http, sim, {"fault": "drop"})
        await rec.wait_until(lambda: feed.counters.n_reconnects >= 1, 3.0, "a reconnect")
        await _live_again(feed, rec)

    feed, rec = _run_feed(sim, "binance-usdm", scenario)
    assert rec.statuses == [(True, "synced"), (False, "disconnected"), (True, "synced")]
    assert feed.counters.n_resyncs == 1


def test_feed_sim_redundant_keeps_the_book_live_while_one_connection_is_dropped(
    sim: SimProc,
) -> None:
    async def scenario(
        sim: SimProc, feed: BinanceFeed, rec: Recorder, http: aiohttp.ClientSession
    ) -> None:
        async with http.get(f"{sim.admin}/connections") as resp:
            conns = [c for c in await resp.json() if "btcusdt@depth@100ms" in c["streams"]]
        assert len(conns) == 2
        await rec.wait_until(lambda: feed.counters.n_dup_dropped > 0, 3.0, "duplicates")
        await _fault(http, sim, {"fault": "drop", "conn": conns[0]["id"]})
        await rec.wait_until(lambda: feed.counters.n_reconnects >= 1, 3.0, "a reconnect")
        dups = feed.counters.n_dup_dropped
        mark = rec.n_books
        await rec.wait_until(
            lambda: feed.counters.n_dup_dropped > dups and rec.n_books > mark + 3,
            3.0,
            "the new connection delivering duplicates again",
        )
        assert feed.is_live

    feed, rec = _run_feed(sim, "binance-spot", scenario, redundant=True)
    assert rec.statuses == [(True, "synced")]
    assert feed.counters.n_resyncs == 0 and feed.counters.n_snapshots == 1


@pytest.mark.parametrize("venue", list(VENUES))
def test_feed_sim_short_rollover_switches_connections_without_going_invalid(
    sim: SimProc, venue: str
) -> None:
    async def scenario(
        sim: SimProc, feed: BinanceFeed, rec: Recorder, http: aiohttp.ClientSession
    ) -> None:
        await rec.wait_until(lambda: feed.counters.n_rollovers >= 2, 5.0, "two rollovers")
        mark = rec.n_books
        await rec.wait_until(lambda: rec.n_books > mark + 3, 3.0, "books after the rollovers")

    feed, rec = _run_feed(sim, venue, scenario, rollover_after_s=1.0)
    assert rec.statuses == [(True, "synced")]
    assert feed.counters.n_resyncs == 0 and feed.counters.n_reconnects == 0
    assert feed.counters.n_snapshots == 1


def test_feed_sim_forced_429_on_the_snapshot_is_counted_and_retried(sim: SimProc) -> None:
    async def scenario(
        sim: SimProc, feed: BinanceFeed, rec: Recorder, http: aiohttp.ClientSession
    ) -> None:
        await _fault(http, sim, {"fault": "force", "status": 429, "ms": 1000, "venue": "spot"})
        await _fault(http, sim, {"fault": "gap", "symbol": "BTCUSDT", "n": 2, "venue": "spot"})
        await rec.wait_until(lambda: feed.counters.n_snapshot_errors >= 1, 3.0, "a 429")
        await _live_again(feed, rec, 6.0)

    feed, rec = _run_feed(sim, "binance-spot", scenario)
    assert rec.statuses[-1] == (True, "synced")
    assert feed.counters.n_snapshots >= 2


def test_veloz_feed_subprocess_prints_json_lines_and_exits_0(sim: SimProc) -> None:
    cmd = [sys.executable, "-m", "procs.cli", "feed", "--venue", "binance-spot"]
    cmd += ["--symbol", "ETHUSDT", "--ws-url", sim.ws, "--rest-url", sim.rest]
    cmd += ["--duration", "3", "--print", "--depth-levels", "3", "--log-level", "WARNING"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    lines = [orjson.loads(line) for line in proc.stdout.splitlines()]
    kinds = [line["type"] for line in lines]
    statuses = [line for line in lines if line["type"] == "status"]
    assert statuses and statuses[0]["is_live"] is True and statuses[0]["reason"] == "synced"
    books = [line for line in lines if line["type"] == "book"]
    assert len(books) > 5
    assert all(len(b["bids"]) == 3 and len(b["asks"]) == 3 for b in books)
    assert all(b["symbol"] == "ETHUSDT" for b in books)
    assert fixed.parse(books[-1]["bids"][0][0], 8) < fixed.parse(books[-1]["asks"][0][0], 8)
    assert "trade" in kinds
    n_events = sum(kind in ("book", "trade", "bbo") for kind in kinds)
    assert kinds[-1] == "counters" and lines[-1]["n_published"] == n_events
    assert b"Traceback" not in proc.stderr


def test_veloz_feed_print_into_a_closed_pipe_stops_quietly_with_exit_0(sim: SimProc) -> None:
    cmd = [sys.executable, "-m", "procs.cli", "feed", "--venue", "binance-spot"]
    cmd += ["--symbol", "BTCUSDT", "--ws-url", sim.ws, "--rest-url", sim.rest]
    cmd += ["--duration", "20", "--print", "--log-level", "WARNING"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `veloz feed --print | head -1` does
    _, err = proc.communicate(timeout=15)  # well before --duration: the closed pipe stops it
    assert orjson.loads(first)["type"] in ("book", "trade", "status")
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in err and b"BrokenPipe" not in err


# -- WsConnection against scripted servers -----------------------------------------------


Handler = Callable[[web.Request, web.WebSocketResponse], Awaitable[None]]


async def _serve(handler: Handler | None, status: int = 101) -> tuple[web.AppRunner, str]:
    async def route(request: web.Request) -> web.StreamResponse:
        if handler is None:
            return web.Response(status=status, headers={"Retry-After": "7"}, text="slow down")
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await handler(request, ws)
        return ws

    app = web.Application()
    app.router.add_get("/ws", route)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"ws://127.0.0.1:{port}/ws"


def test_ws_server_ping_is_answered_with_the_same_payload_and_counts_as_life() -> None:
    async def main() -> None:
        pongs: asyncio.Queue[bytes] = asyncio.Queue()

        async def handler(request: web.Request, ws: web.WebSocketResponse) -> None:
            for payload in (b"abc123", b""):
                await ws.ping(payload)
                msg = await ws.receive(timeout=2)
                assert msg.type is aiohttp.WSMsgType.PONG
                await pongs.put(msg.data)
            await ws.receive()  # until the client closes

        runner, url = await _serve(handler)
        try:
            conn = WsConnection(url, lambda p, n: None, silence_timeout_s=5.0, name="t")
            await conn.connect(2.0)
            assert await asyncio.wait_for(pongs.get(), 2) == b"abc123"
            assert await asyncio.wait_for(pongs.get(), 2) == b""
            assert conn.n_pings == 2 and conn.n_frames == 2 and conn.is_open
            conn.close()
            await asyncio.wait_for(conn.wait_closed(), 2)
            assert conn.close_reason == "closed"
        finally:
            await runner.cleanup()

    run_async(main())


def test_ws_text_frames_reach_the_callback_with_a_monotonic_ingest_time() -> None:
    async def main() -> None:
        got: list[tuple[bytes, int]] = []
        done = asyncio.Event()

        async def handler(request: web.Request, ws: web.WebSocketResponse) -> None:
            await ws.send_str('{"a":1}')
            await ws.send_bytes(b'{"b":2}')
            # one message in two frames: TEXT without FIN, then CONTINUATION with FIN
            assert request.transport is not None
            request.transport.write(b"\x01\x04" + b'{"c"' + b"\x80\x03" + b":3}")
            await ws.receive()

        def on_frame(payload: bytes, ingest_ns: int) -> None:
            got.append((payload, ingest_ns))
            if len(got) == 3:
                done.set()

        runner, url = await _serve(handler)
        try:
            before = time.monotonic_ns()
            conn = WsConnection(url, on_frame, silence_timeout_s=5.0)
            await conn.connect(2.0)
            await asyncio.wait_for(done.wait(), 2)
            assert [p for p, _ in got] == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
            assert all(before <= n <= time.monotonic_ns() for _, n in got)
            conn.close()
            await conn.wait_closed()
        finally:
            await runner.cleanup()

    run_async(main())


def test_ws_callback_exception_is_counted_and_the_connection_stays_open() -> None:
    async def main() -> None:
        seen: list[bytes] = []
        done = asyncio.Event()

        async def handler(request: web.Request, ws: web.WebSocketResponse) -> None:
            await ws.send_str("boom")
            await ws.send_str("fine")
            await ws.receive()

        def on_frame(payload: bytes, ingest_ns: int) -> None:
            seen.append(payload)
            if payload == b"boom":
                raise RuntimeError("handler bug")
            done.set()

        runner, url = await _serve(handler)
        try:
            conn = WsConnection(url, on_frame, silence_timeout_s=5.0)
            await conn.connect(2.0)
            await asyncio.wait_for(done.wait(), 2)
            assert seen == [b"boom", b"fine"] and conn.n_callback_errors == 1 and conn.is_open
            conn.close()
            await conn.wait_closed()
        finally:
            await runner.cleanup()

    run_async(main())


def test_ws_silent_server_is_detected_and_closed_with_reason_silence() -> None:
    async def main() -> None:
        async def handler(request: web.Request, ws: web.WebSocketResponse) -> None:
            await ws.receive()  # say nothing

        closed: list[str] = []
        runner, url = await _serve(handler)
        try:
            conn = WsConnection(
                url,
                lambda p, n: None,
                silence_timeout_s=0.3,
                on_close=lambda c: closed.append(c.close_reason),
            )
            t0 = time.monotonic()
            await conn.connect(2.0)
            await asyncio.wait_for(conn.wait_closed(), 3)
            assert 0.25 <= time.monotonic() - t0 < 2.0
            assert closed == ["silence"] and not conn.is_open
        finally:
            await runner.cleanup()

    run_async(main())


def test_ws_server_close_frame_is_reported_with_its_code() -> None:
    async def main() -> None:
        async def handler(request: web.Request, ws: web.WebSocketResponse) -> None:
            await ws.close(code=1008, message=b"bye")

        runner, url = await _serve(handler)
        try:
            conn = WsConnection(url, lambda p, n: None, silence_timeout_s=5.0)
            await conn.connect(2.0)
            await asyncio.wait_for(conn.wait_closed(), 3)
            assert conn.close_reason == "server_close code=1008"
        finally:
            await runner.cleanup()

    run_async(main())


def test_ws_refused_upgrade_raises_venue_error_with_status_and_retry_after() -> None:
    async def main() -> None:
        runner, url = await _serve(None, status=429)
        try:
            conn = WsConnection(url, lambda p, n: None, silence_timeout_s=5.0, name="t")
            with pytest.raises(VenueError) as info:
                await conn.connect(2.0)
            assert info.value.http_status == 429 and info.value.retry_after_s == 7.0
            assert info.value.retryable
        finally:
            await runner.cleanup()
        with pytest.raises(VenueError, match="connect failed"):
            await WsConnection(url, lambda p, n: None, silence_timeout_s=1.0).connect(2.0)

    run_async(main())
