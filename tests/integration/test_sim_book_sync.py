"""`veloz sim` as a real process: our own decoder, sync and book follow its depth stream.

Records the simulator's combined depth and bookTicker stream over a websocket, takes a REST
snapshot mid-recording as a live feed would, and replays it all through the same Replay the
`veloz replay` command uses: no gap, a valid book, and every bookTicker at a matching update
id agreeing with our book. A gap injected through the admin endpoint must be detected.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import orjson
import pytest

from bench.sim_load import SimProc
from veloz._core import fixed
from veloz.venues.binance.replay import Replay

pytestmark = pytest.mark.integration

VENUES = {
    "spot": ("binance-spot", "/api/v3/depth", "/stream"),
    "usdm": ("binance-usdm", "/fapi/v1/depth", "/public/stream"),
}


@pytest.fixture(scope="module")
def sim() -> Iterator[dict[str, Any]]:
    with SimProc(
        2000, seed=7, venue="both", symbols="BTCUSDT", log_level=None, start_timeout_s=30
    ) as proc:
        yield proc.urls


async def _record(
    urls: dict[str, Any], venue: str, seconds: float, gap_after: float | None = None
) -> tuple[list[bytes], bytes]:
    _, depth_path, stream_path = VENUES[venue]
    frames: list[bytes] = []
    streams = "btcusdt@depth@100ms/btcusdt@bookTicker"
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{urls['ws']}{stream_path}?streams={streams}")
        loop = asyncio.get_running_loop()
        start = loop.time()
        snapshot = b""
        gap_sent = False
        while loop.time() - start < seconds:
            try:
                msg = await asyncio.wait_for(ws.receive(), timeout=0.2)
            except TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frames.append(msg.data.encode())
            if not snapshot and len(frames) >= 5:
                # a live feed buffers a few diffs, then takes the snapshot
                async with http.get(f"{urls['rest']}{depth_path}?symbol=BTCUSDT&limit=1000") as r:
                    assert r.status == 200
                    snapshot = await r.read()
            if gap_after is not None and not gap_sent and loop.time() - start > gap_after:
                body = {"fault": "gap", "symbol": "BTCUSDT", "n": 3, "venue": venue}
                async with http.post(f"{urls['admin']}/faults", json=body) as r:
                    assert r.status == 200
                gap_sent = True
        await ws.close()
    assert snapshot, "no snapshot taken: the stream sent fewer than 5 frames"
    return frames, snapshot


@pytest.mark.parametrize("venue", ["spot", "usdm"])
def test_sim_depth_stream_syncs_our_book_and_matches_every_ticker(
    sim: dict[str, Any], venue: str
) -> None:
    # A ticker is checkable only when its update id ends a depth event, which a 3 s recording
    # does not always contain: record again (at most twice more) until one does.
    for _ in range(3):
        frames, snapshot = asyncio.run(_record(sim, venue, seconds=3.0))
        replay = Replay(VENUES[venue][0], "BTCUSDT", 8, 8, [snapshot])
        report = replay.run(frames)
        if report.bbo_checks:
            break
    assert report.malformed == 0
    assert report.gaps == 0
    assert report.book_valid, report.invalid_reason
    assert report.depth_events > 10
    assert report.bbo_checks > 0
    assert report.bbo_mismatches == 0
    assert replay.book.n_levels(0) > 100 and replay.book.n_levels(1) > 100


def test_sim_injected_gap_is_detected_by_our_sync(sim: dict[str, Any]) -> None:
    frames, snapshot = asyncio.run(_record(sim, "spot", seconds=3.0, gap_after=1.5))
    report = Replay("binance-spot", "BTCUSDT", 8, 8, [snapshot]).run(frames)
    assert report.gaps == 1
    assert report.book_valid is False
    assert "no later snapshot" in (report.invalid_reason or "")


async def _post_signed_garbage(rest: str) -> int:
    url = f"{rest}/api/v3/order?symbol=BTCUSDT&timestamp=1&signature=deadbeefcafe"
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, headers={"X-MBX-APIKEY": "k" * 64}) as r,
    ):
        return r.status


def test_sim_logs_no_signature_or_signed_query() -> None:
    proc = SimProc(None, seed=None, venue="spot", symbols="BTCUSDT", log_level="DEBUG")
    with proc.start(timeout_s=30):
        status = asyncio.run(_post_signed_garbage(proc.rest))
        assert status in (400, 401)
    out, err = proc.stdout, proc.stderr  # all of it: the sim has stopped
    assert "deadbeefcafe" not in out + err
    assert "signature=" not in out + err


async def _admin_book_then_stream_to_it(urls: dict[str, Any], venue: str) -> dict[str, Any]:
    # Record the stream from before a snapshot until the diff that ends at the admin book's
    # update id; return the admin book, the frames and the snapshot.
    _, depth_path, stream_path = VENUES[venue]
    frames: list[bytes] = []
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{urls['ws']}{stream_path}?streams=btcusdt@depth@100ms")
        while len(frames) < 3:
            frames.append((await asyncio.wait_for(ws.receive(), 5)).data.encode())
        async with http.get(f"{urls['rest']}{depth_path}?symbol=BTCUSDT&limit=1000") as r:
            snapshot = await r.read()
        while len(frames) < 8:
            frames.append((await asyncio.wait_for(ws.receive(), 5)).data.encode())
        async with http.get(f"{urls['admin']}/book?venue={venue}&symbol=BTCUSDT") as r:
            assert r.status == 200
            book = await r.json()
        while orjson.loads(frames[-1])["data"]["u"] < book["lastUpdateId"]:
            frames.append((await asyncio.wait_for(ws.receive(), 5)).data.encode())
        await ws.close()
    return {"book": book, "frames": frames, "snapshot": snapshot}


@pytest.mark.parametrize("venue", ["spot", "usdm"])
def test_sim_admin_book_equals_a_synced_client_book_at_its_update_id(
    sim: dict[str, Any], venue: str
) -> None:
    got = asyncio.run(_admin_book_then_stream_to_it(sim, venue))
    book = got["book"]
    assert orjson.loads(got["frames"][-1])["data"]["u"] == book["lastUpdateId"]  # flushed now
    replay = Replay(VENUES[venue][0], "BTCUSDT", 8, 8, [got["snapshot"]])
    report = replay.run(got["frames"])
    assert report.book_valid, report.invalid_reason
    assert report.update_id == book["lastUpdateId"]
    n_bids, n_asks = len(book["bids"]), len(book["asks"])
    assert n_bids > 100 and n_asks > 100
    replay.top_levels(max(n_bids, n_asks))
    assert _raws(report.bids) == _raws(book["bids"])
    assert _raws(report.asks) == _raws(book["asks"])


def _raws(levels: list[list[str]]) -> list[tuple[int, int]]:
    return [(fixed.parse(p, 8), fixed.parse(q, 8)) for p, q in levels]


def test_sim_admin_book_bad_venue_or_symbol_is_a_400(sim: dict[str, Any]) -> None:
    async def go() -> list[int]:
        async with aiohttp.ClientSession() as http:
            out = []
            for query in ("venue=coinm&symbol=BTCUSDT", "venue=spot&symbol=NOPE"):
                async with http.get(f"{sim['admin']}/book?{query}") as r:
                    out.append(r.status)
            return out

    assert asyncio.run(go()) == [400, 400]
