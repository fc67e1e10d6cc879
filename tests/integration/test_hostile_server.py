"""Self-tests of `HostileServer`: it must be right before it can judge a feed.

Plain aiohttp clients and a trivial dict-based book check the wire (id chaining, frame shapes,
snapshots, signed orders) and that `truth_at` is the book a correct client rebuilds; then
each cue is shown to do what it says and nothing else.
"""

import time
from collections.abc import Awaitable
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest

from bench.sim_load import run_async
from tests.integration.hostile import DEMO_KEY
from tests.integration.hostile import DEMO_SECRET
from tests.integration.hostile import OTHER_SYMBOL
from tests.integration.hostile import HostileServer
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import rest_signed_query

pytestmark = pytest.mark.integration

VENUES = ["binance-spot", "binance-usdm"]
STREAM_PATH = {"binance-spot": "/stream", "binance-usdm": "/public/stream"}
API = {"binance-spot": "/api/v3", "binance-usdm": "/fapi/v1"}
DEPTH = "btcusdt@depth@100ms"
WAIT_S = 3.0
WRONG_SECRET = "not-the-secret"  # noqa: S105 (a test value)

Body = Callable[[HostileServer, aiohttp.ClientSession], Awaitable[None]]


def _run(body: Body, **server_kw: Any) -> None:
    async def main() -> None:
        async with HostileServer(**server_kw) as server, aiohttp.ClientSession() as http:
            await body(server, http)

    run_async(main())


async def _next_data(ws: aiohttp.ClientWebSocketResponse) -> Any:
    # The next text frame as JSON (pings are answered by aiohttp's autoping).
    msg = await ws.receive(timeout=WAIT_S)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def _next_depth(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        frame = await _next_data(ws)
        if frame.get("stream", "").endswith("@depth@100ms") or frame.get("e") == "depthUpdate":
            data: dict[str, Any] = frame.get("data", frame)
            return data


def _chained(venue: str, prev_u: int, event: dict[str, Any]) -> bool:
    if venue == "binance-usdm":
        return bool(event["pu"] == prev_u)
    return bool(event["U"] == prev_u + 1)


def _apply(book: dict[Decimal, Decimal], levels: list[list[str]]) -> None:
    for px, qty in levels:
        if Decimal(qty) == 0:
            book.pop(Decimal(px), None)
        else:
            book[Decimal(px)] = Decimal(qty)


def _as_decimal(side: dict[str, str]) -> dict[Decimal, Decimal]:
    return {Decimal(p): Decimal(q) for p, q in side.items()}


async def _signed(
    http: aiohttp.ClientSession,
    server: HostileServer,
    method: str,
    params: list[tuple[str, str]],
    *,
    ts_ms: int | None = None,
    key: str = DEMO_KEY,
    secret: str = DEMO_SECRET,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    ts = server.server_ms() if ts_ms is None else ts_ms
    query = rest_signed_query(HmacSigner(key, secret), [*params, ("timestamp", str(ts))])
    url = f"{server.rest_url}{API[server.venue]}/order?{query}"
    async with http.request(method, url, headers={"X-MBX-APIKEY": key}) as r:
        return r.status, await r.json(), dict(r.headers)


ORDER = [
    ("symbol", "BTCUSDT"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", "0.01000"),
    ("price", "60000.00"),
]


# -- the wire -----------------------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES)
def test_hostile_depth_stream_ids_chain_without_holes(venue: str) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}{STREAM_PATH[venue]}?streams={DEPTH}")
        prev = await _next_depth(ws)
        for _ in range(60):
            event = await _next_depth(ws)
            assert event["s"] == "BTCUSDT" and event["U"] <= event["u"]
            assert event["U"] > prev["u"]
            assert _chained(venue, prev["u"], event), (prev, event)
            prev = event
        await ws.close()

    _run(body, venue=venue, rate_hz=200.0)


@pytest.mark.parametrize("venue", VENUES)
def test_hostile_truth_at_equals_dict_book_from_snapshot_and_diffs(venue: str) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}{STREAM_PATH[venue]}?streams={DEPTH}")
        buffered = [await _next_depth(ws) for _ in range(3)]
        url = f"{server.rest_url}{API[venue]}/depth?symbol=BTCUSDT&limit=1000"
        async with http.get(url) as r:
            assert r.status == 200
            snap = await r.json()
        last = snap["lastUpdateId"]
        bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
        asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
        t_bids, t_asks = server.truth_at(last)
        assert (bids, asks) == (_as_decimal(t_bids), _as_decimal(t_asks))
        if venue == "binance-usdm":
            assert isinstance(snap["E"], int) and isinstance(snap["T"], int)
        book_u = last
        checked = 0
        while checked < 120:
            event = buffered.pop(0) if buffered else await _next_depth(ws)
            keep = event["u"] >= last if venue == "binance-usdm" else event["u"] > last
            if not keep:
                continue
            if checked == 0:  # the first applied event must cover the snapshot id
                lo = last if venue == "binance-usdm" else last + 1
                assert event["U"] <= lo <= event["u"], (last, event)
            else:
                assert _chained(venue, book_u, event)
            _apply(bids, event["b"])
            _apply(asks, event["a"])
            book_u = event["u"]
            t_bids, t_asks = server.truth_at(book_u)
            assert bids == _as_decimal(t_bids), book_u
            assert asks == _as_decimal(t_asks), book_u
            assert max(bids) < min(asks)
            checked += 1
        await ws.close()

    _run(body, venue=venue, rate_hz=200.0)


@pytest.mark.parametrize("venue", VENUES)
def test_hostile_exchange_info_maps_to_an_instrument_the_depth_text_fits(venue: str) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        async with http.get(f"{server.rest_url}{API[venue]}/exchangeInfo?symbol=BTCUSDT") as r:
            assert r.status == 200
            inst = instruments_from_exchange_info(await r.json(), venue)["BTCUSDT"]
        assert inst.status == "TRADING"
        assert inst.price_dp == 8 and inst.qty_dp == 8
        assert inst.tick_raw == server.tick_e8 and inst.step_raw == server.step_e8
        b, a = server.truth_levels(server.update_id, inst.price_dp, inst.qty_dp)
        assert all(px % inst.tick_raw == 0 and qty % inst.step_raw == 0 for px, qty in b + a)
        async with http.get(f"{server.rest_url}{API[venue]}/time") as r:
            server_ms = (await r.json())["serverTime"]
        assert abs(server_ms - time.time() * 1000) < 5000

    _run(body, venue=venue)


def test_hostile_trade_and_book_ticker_streams_carry_the_truth() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        streams = "btcusdt@trade/btcusdt@bookTicker"
        ws = await http.ws_connect(f"{server.ws_url}/stream?streams={streams}")
        seen: set[str] = set()
        while seen != {"btcusdt@trade", "btcusdt@bookTicker"}:
            frame = await _next_data(ws)
            seen.add(frame["stream"])
            data = frame["data"]
            if frame["stream"] == "btcusdt@bookTicker":
                t_bids, t_asks = server.truth_at(data["u"])
                best_bid = max(t_bids, key=Decimal)
                best_ask = min(t_asks, key=Decimal)
                assert (data["b"], data["B"]) == (best_bid, t_bids[best_bid])
                assert (data["a"], data["A"]) == (best_ask, t_asks[best_ask])
            else:
                assert data["e"] == "trade" and data["s"] == "BTCUSDT"
        await ws.close()

    _run(body, rate_hz=200.0, trade_prob=0.5)


def test_hostile_usdm_serves_depth_on_public_trades_on_market_nothing_on_legacy() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        market = await http.ws_connect(
            f"{server.ws_url}/market/stream?streams=btcusdt@depth@100ms/btcusdt@aggTrade"
        )
        legacy = await http.ws_connect(f"{server.ws_url}/stream?streams={DEPTH}")
        public = await http.ws_connect(f"{server.ws_url}/public/ws/{DEPTH}")
        raw = await _next_data(public)
        assert raw["e"] == "depthUpdate" and "pu" in raw and "T" in raw  # raw: no wrapper
        for _ in range(5):
            frame = await _next_data(market)
            assert frame["stream"] == "btcusdt@aggTrade" and frame["data"]["e"] == "aggTrade"
        assert server.counters.n_ws_connections == 3
        with pytest.raises(TimeoutError):
            await legacy.receive(timeout=0.3)
        for ws in (market, legacy, public):
            await ws.close()

    _run(body, venue="binance-usdm", rate_hz=200.0, trade_prob=0.8)


def test_hostile_raw_socket_subscribe_reply_and_list() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}/ws")
        await ws.send_str('{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms"],"id":7}')
        assert await _next_data(ws) == {"result": None, "id": 7}
        await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":8}')
        assert await _next_data(ws) == {"result": [DEPTH], "id": 8}
        event = await _next_depth(ws)
        assert event["e"] == "depthUpdate"
        await ws.close()

    _run(body)


def test_hostile_pings_then_closes_a_client_that_never_pongs() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}", autoping=False)
        kinds: list[aiohttp.WSMsgType] = []
        while True:
            msg = await ws.receive(timeout=WAIT_S)
            kinds.append(msg.type)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                break
        assert aiohttp.WSMsgType.PING in kinds
        assert ws.close_code == 1008
        assert server.counters.n_pong_timeouts == 1

    _run(body, ping_interval_s=0.1, pong_timeout_s=0.4)


def test_hostile_closes_a_client_over_the_inbound_message_limit() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}")
        for i in range(8):
            await ws.send_str(f'{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}')
        while (await ws.receive(timeout=WAIT_S)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert ws.close_code == 1008
        assert server.counters.n_inbound_limit_closes == 1

    _run(body)


# -- cues ---------------------------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES)
def test_hostile_gap_withholds_n_events_while_the_truth_moves_on(venue: str) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}{STREAM_PATH[venue]}?streams={DEPTH}")
        prev = await _next_depth(ws)
        server.gap(3)
        while _chained(venue, prev["u"], event := await _next_depth(ws)):
            prev = event
        skipped = [i for i in server.known_ids() if prev["u"] < i < event["u"]]
        assert len(skipped) == 3  # generated (truth_at knows them), never sent
        assert server.counters.n_depth_skipped == 3
        following = await _next_depth(ws)
        assert _chained(venue, event["u"], following)
        await ws.close()

    _run(body, venue=venue, rate_hz=200.0)


@pytest.mark.parametrize("venue", VENUES)
def test_hostile_old_snapshot_predates_the_first_streamed_event_once(venue: str) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}{STREAM_PATH[venue]}?streams={DEPTH}")
        first = await _next_depth(ws)
        server.old_snapshot()
        url = f"{server.rest_url}{API[venue]}/depth?symbol=BTCUSDT&limit=1000"
        async with http.get(url) as r:
            old = await r.json()
        async with http.get(url) as r:
            fresh = await r.json()
        assert old["lastUpdateId"] + 1 < first["U"]  # too old under both venues' rules
        assert fresh["lastUpdateId"] >= first["u"]
        t_bids, t_asks = server.truth_at(old["lastUpdateId"])
        assert {p: q for p, q in old["bids"]} == t_bids
        assert {p: q for p, q in old["asks"]} == t_asks
        assert server.counters.n_old_snapshots == 1
        await ws.close()

    _run(body, venue=venue, rate_hz=200.0)


@pytest.mark.parametrize("abrupt", [False, True], ids=["close-frame", "tcp-abort"])
def test_hostile_disconnect_drops_every_open_socket_and_accepts_new_ones(abrupt: bool) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        socks = [await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}") for _ in range(2)]
        for ws in socks:
            await _next_depth(ws)
        server.disconnect(abrupt=abrupt)
        for ws in socks:
            while (await ws.receive(timeout=WAIT_S)).type == aiohttp.WSMsgType.TEXT:
                pass
            assert ws.closed
            if not abrupt:
                assert ws.close_code == 1001
        key = "n_ws_aborted" if abrupt else "n_ws_closed_by_server"
        assert getattr(server.counters, key) == 2
        again = await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}")
        assert (await _next_depth(again))["s"] == "BTCUSDT"
        await again.close()

    _run(body)


def test_hostile_stall_sends_nothing_not_even_pings_and_resumes_with_a_gap() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        loop_time = server.now_s
        ws = await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}", autoping=False)
        kinds: set[aiohttp.WSMsgType] = set()
        prev: dict[str, Any] = {}
        while aiohttp.WSMsgType.PING not in kinds or not prev:
            msg = await ws.receive(timeout=WAIT_S)
            kinds.add(msg.type)
            if msg.type == aiohttp.WSMsgType.PING:
                await ws.pong(msg.data)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                prev = orjson.loads(msg.data)
        server.stall(0.8)
        stalled_at = loop_time()
        during = await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}")  # opened later: served
        assert (await _next_depth(during))["e"] == "depthUpdate"
        await ws.ping(b"are you there")  # not answered while stalled
        while True:
            msg = await ws.receive(timeout=WAIT_S)
            if msg.type == aiohttp.WSMsgType.TEXT:
                break
            assert msg.type == aiohttp.WSMsgType.PING, msg  # only after the stall
            assert loop_time() - stalled_at >= 0.75
        assert loop_time() - stalled_at >= 0.75
        event = orjson.loads(msg.data)
        assert event["U"] > prev["u"] + 1  # the truth moved on while nothing was sent
        assert server.counters.n_stalled_frames > 0
        await ws.close()
        await during.close()

    _run(body, ping_interval_s=0.05, rate_hz=100.0)


def test_hostile_malformed_sends_one_truncated_frame_and_the_stream_stays_chained() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}/stream?streams={DEPTH}")
        prev = await _next_depth(ws)
        server.malformed()
        bad: list[str] = []
        for _ in range(20):
            msg = await ws.receive(timeout=WAIT_S)
            try:
                event = orjson.loads(msg.data)["data"]
            except orjson.JSONDecodeError:
                bad.append(msg.data)
                continue
            assert _chained("binance-spot", prev["u"], event)
            prev = event
        assert len(bad) == 1 and bad[0].startswith('{"stream":"btcusdt@depth@100ms"')
        assert server.counters.n_malformed_sent == 1

    _run(body, rate_hz=200.0)


@pytest.mark.parametrize("venue", VENUES)
def test_hostile_wrong_symbol_sends_one_foreign_frame_and_the_stream_stays_chained(
    venue: str,
) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        ws = await http.ws_connect(f"{server.ws_url}{STREAM_PATH[venue]}?streams={DEPTH}")
        prev = await _next_depth(ws)
        server.wrong_symbol()
        foreign: list[dict[str, Any]] = []
        for _ in range(20):
            frame = await _next_data(ws)
            if frame["data"]["s"] != "BTCUSDT":
                foreign.append(frame)
                continue
            assert _chained(venue, prev["u"], frame["data"])
            prev = frame["data"]
        assert len(foreign) == 1
        assert foreign[0]["stream"] == f"{OTHER_SYMBOL.lower()}@depth@100ms"
        assert foreign[0]["data"]["s"] == OTHER_SYMBOL
        assert server.counters.n_wrong_symbol_sent == 1

    _run(body, venue=venue, rate_hz=200.0)


def test_hostile_server_shutdown_notifies_raw_and_combined_then_closes() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        combined = await http.ws_connect(f"{server.ws_url}/stream?streams={DEPTH}")
        raw = await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}")
        await _next_depth(combined)
        await _next_depth(raw)
        server.server_shutdown(close_after_s=0.3)
        while "stream" not in (frame := await _next_data(combined)) or "@depth" in frame["stream"]:
            pass
        assert frame["stream"] == "!serverShutdown"
        assert frame["data"]["e"] == "serverShutdown" and isinstance(frame["data"]["E"], int)
        while (frame := await _next_data(raw)).get("e") == "depthUpdate":
            pass
        assert frame["e"] == "serverShutdown"
        for ws in (combined, raw):
            while (await ws.receive(timeout=WAIT_S)).type == aiohttp.WSMsgType.TEXT:
                pass
            assert ws.close_code == 1001
        assert server.counters.n_shutdown_sent == 2
        later = await http.ws_connect(f"{server.ws_url}/ws/{DEPTH}")
        assert (await _next_depth(later))["s"] == "BTCUSDT"
        await later.close()

    _run(body)


def test_hostile_rest_429_storm_answers_retry_after_and_bans_a_client_ignoring_it() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        url = f"{server.rest_url}/api/v3/time"
        server.rest_status(429, retry_after_s=0.3, count=2)
        async with http.get(url) as r:
            assert r.status == 429 and r.headers["Retry-After"] == "0.3"
            assert (await r.json())["code"] == -1003
            assert "X-MBX-USED-WEIGHT-1M" in r.headers
        await server.wait_until(lambda: server.now_s() >= server.rest_log[-1].t_s + 0.3, 2.0)
        async with http.get(url) as r:  # after Retry-After: the second cued 429
            assert r.status == 429
        await server.wait_until(lambda: server.now_s() >= server.rest_log[-1].t_s + 0.3, 2.0)
        async with http.get(url) as r:
            assert r.status == 200
        assert server.counters.n_rest_violations == 0
        server.rest_status(429, retry_after_s=5.0, count=1)
        async with http.get(url) as r:
            assert r.status == 429
        async with http.get(url) as r:  # inside the window: Binance bans the IP
            assert r.status == 418 and r.headers["Retry-After"] == "120"
        assert server.counters.n_rest_violations == 1
        assert [c.status for c in server.rest_log] == [429, 429, 200, 429, 418]

    _run(body)


def test_hostile_rest_418_refuses_every_call_until_retry_after() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        url = f"{server.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=5"
        server.rest_status(418, retry_after_s=0.4, count=1)
        async with http.get(url) as r:
            assert r.status == 418 and r.headers["Retry-After"] == "0.4"
            assert "IP banned until" in (await r.json())["msg"]
        async with http.get(url) as r:
            assert r.status == 418
        await server.wait_until(lambda: server.now_s() >= server.rest_log[0].t_s + 0.4, 2.0)
        async with http.get(url) as r:
            assert r.status == 200
        assert server.counters.n_418 == 2 and server.counters.rest_calls["/api/v3/depth"] == 3

    _run(body)


@pytest.mark.parametrize("venue", VENUES)
def test_hostile_signed_order_new_query_cancel_with_rate_headers(venue: str) -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        status, order, headers = await _signed(http, server, "POST", ORDER)
        assert status == 200, order
        assert order["status"] == "NEW" and order["symbol"] == "BTCUSDT"
        assert headers["X-MBX-ORDER-COUNT-10S"] == "1"
        assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 1
        oid = [("symbol", "BTCUSDT"), ("orderId", str(order["orderId"]))]
        status, got, _ = await _signed(http, server, "GET", oid)
        assert status == 200 and got["orderId"] == order["orderId"]
        status, got, _ = await _signed(http, server, "DELETE", oid)
        assert status == 200 and got["status"] == "CANCELED"
        status, got, _ = await _signed(http, server, "DELETE", oid)
        assert (status, got["code"]) == (400, -2011)
        assert server.counters.n_orders == 1 and len(server.orders_received) == 1
        assert server.orders_received[0]["price"] == "60000.00"

    _run(body, venue=venue)


def test_hostile_signed_order_rejects_bad_signature_key_and_stale_timestamp() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        status, err, _ = await _signed(http, server, "POST", ORDER, secret=WRONG_SECRET)
        assert (status, err["code"]) == (400, -1022)
        status, err, _ = await _signed(http, server, "POST", ORDER, key="other-key")
        assert (status, err["code"]) == (401, -2015)
        stale = server.server_ms() - 6000
        status, err, _ = await _signed(http, server, "POST", ORDER, ts_ms=stale)
        assert (status, err["code"]) == (400, -1021)
        assert err["msg"] == "Timestamp for this request is outside of the recvWindow."
        server.clock_offset_ms = -3000  # server clock behind: our timestamp is ahead
        ahead = int(time.time() * 1000)
        status, err, _ = await _signed(http, server, "POST", ORDER, ts_ms=ahead)
        assert (status, err["code"]) == (400, -1021)
        assert server.counters.n_orders == 0 and server.counters.n_auth_failures == 4

    _run(body)


def test_hostile_order_error_cue_answers_count_times_then_accepts() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        msg = "Timestamp for this request is outside of the recvWindow."
        server.order_error(-1021, msg, count=2)
        for _ in range(2):
            status, err, headers = await _signed(http, server, "POST", ORDER)
            assert (status, err) == (400, {"code": -1021, "msg": msg})
            assert "X-MBX-ORDER-COUNT-10S" not in headers
        status, order, _ = await _signed(http, server, "POST", ORDER)
        assert status == 200 and order["status"] == "NEW"
        assert server.counters.n_order_errors == 2 and server.counters.n_orders == 3

    _run(body)


def test_hostile_same_seed_gives_the_same_events() -> None:
    a = HostileServer(seed=5, warmup_steps=50)
    b = HostileServer(seed=5, warmup_steps=50)
    c = HostileServer(seed=6, warmup_steps=50)
    assert a.known_ids() == b.known_ids()
    assert a.truth_at(a.update_id) == b.truth_at(b.update_id)
    assert a.truth_at(a.update_id) != c.truth_at(c.update_id)


def test_hostile_rest_bad_depth_limit_is_a_binance_1100_not_a_500() -> None:
    async def body(server: HostileServer, http: aiohttp.ClientSession) -> None:
        async with http.get(f"{server.rest_url}/api/v3/depth?symbol=BTCUSDT&limit=x") as r:
            assert r.status == 400
            assert (await r.json())["code"] == -1100
            assert "X-MBX-USED-WEIGHT-1M" in r.headers

    _run(body)
