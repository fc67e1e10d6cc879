"""WsApiClient against a tiny scripted WS-API server (aiohttp on 127.0.0.1) in the test.

The server records every request frame per connection and answers by a per-test script;
the rate limiter is a recording fake, so what the client feeds it is seen exactly. Every
wait is on a condition with a timeout; nothing sleeps to synchronise.
"""

import asyncio
import hashlib
import hmac
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from aiohttp import WSMsgType
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.sim_load import run_async
from veloz.errors import ConfigError
from veloz.errors import VenueError
from veloz.venues.binance.endpoints import SPOT
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import ws_payload
from veloz.venues.binance.wsapi import WsApiClient

WAIT_S = 5.0
KEY = "k" * 64
SECRET = "s" * 64
WEIGHT_1M = {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1}
RATE_LIMITS = [WEIGHT_1M | {"limit": 6000, "count": 7}]
ERROR_2010 = {"code": -2010, "msg": "Account has insufficient balance for requested action."}

Reply = dict[str, Any] | str | None  # an answer, "close" (drop the connection), or no answer
Script = Callable[[int, dict[str, Any]], Awaitable[Reply] | Reply]


class FakeApi:
    """A WS-API server: records frames as (connection number, request), answers by `script`."""

    def __init__(self) -> None:
        self.frames: list[tuple[int, dict[str, Any]]] = []
        self.conns: list[web.WebSocketResponse] = []
        self.script: Script = default_script
        self._changed = asyncio.Event()

    def methods(self, conn: int | None = None) -> list[str]:
        return [r["method"] for c, r in self.frames if conn is None or c == conn]

    async def wait(self, pred: Callable[[], bool]) -> None:
        async with asyncio.timeout(WAIT_S):
            while not pred():
                self._changed.clear()
                await self._changed.wait()

    def changed(self) -> None:
        self._changed.set()

    async def push(self, conn: int, frame: dict[str, Any] | bytes) -> None:
        data = frame if isinstance(frame, bytes) else orjson.dumps(frame)
        await self.conns[conn].send_str(data.decode())

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        no = len(self.conns)
        self.conns.append(ws)
        self.changed()
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            req = orjson.loads(msg.data)
            self.frames.append((no, req))
            self.changed()
            reply = self.script(no, req)
            if asyncio.iscoroutine(reply):
                reply = await reply
            if reply == "close":
                await ws.close()
                break
            if isinstance(reply, dict):
                await ws.send_str(orjson.dumps(reply).decode())
        self.changed()
        return ws


def ok(req: dict[str, Any], result: Any) -> dict[str, Any]:
    return {"id": req["id"], "status": 200, "result": result, "rateLimits": RATE_LIMITS}


def default_script(conn: int, req: dict[str, Any]) -> Reply:
    method = req["method"]
    if method == "session.logon":
        return ok(req, {"apiKey": KEY, "authorizedSince": 1, "connectedSince": 1})
    if method == "time":
        return ok(req, {"serverTime": 1})
    if method.startswith("userDataStream.subscribe"):
        return ok(req, {"subscriptionId": 0})
    return ok(req, {"echo": req.get("params"), "conn": conn})


class FakeLimits:
    """Records what the client tells the limiter; `wait_s` is what acquire answers."""

    def __init__(self, wait_s: float = 0.0) -> None:
        self.wait_s = wait_s
        self.acquired: list[tuple[int, bool]] = []
        self.updates: list[list[dict[str, Any]]] = []
        self.blocks: list[tuple[float, bool, bool]] = []
        self.last_refusal = "REQUEST_WEIGHT 5400/5400 per 1 MINUTE"
        self.last_refusal_kind = "REQUEST_WEIGHT"

    def acquire(self, weight: int, is_order: bool, now_ns: int) -> float:
        self.acquired.append((weight, is_order))
        return self.wait_s

    def update_from_ws(self, rate_limits: list[dict[str, Any]], now_ns: int) -> None:
        self.updates.append(rate_limits)

    def block(
        self, retry_after_s: float, now_ns: int, is_ban: bool, *, orders_only: bool = False
    ) -> None:
        self.blocks.append((retry_after_s, is_ban, orders_only))


@asynccontextmanager
async def serve() -> AsyncIterator[tuple[FakeApi, str]]:
    api = FakeApi()
    app = web.Application()
    app.router.add_get("/ws-api/v3", api.handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield api, f"ws://127.0.0.1:{port}/ws-api/v3"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def client(url: str, **kwargs: Any) -> AsyncIterator[WsApiClient]:
    signer = kwargs.pop("signer", None)
    ws = WsApiClient(SPOT.with_urls(ws_api_url=url), signer, **kwargs)
    try:
        yield ws
    finally:
        await ws.close()


def run(coro: Coroutine[Any, Any, None]) -> None:
    run_async(coro)


# ---- requests and answers -------------------------------------------------------------------


def test_wsapi_connect_warms_with_one_ping_round_trip() -> None:
    async def main() -> None:
        async with serve() as (api, url), client(url) as ws:
            await ws.connect()
            assert ws.is_connected
            assert api.methods() == ["ping"]
            assert ws.counters.n_connects == 1

    run(main())


def test_wsapi_answers_matched_by_id_when_server_answers_out_of_order() -> None:
    async def main() -> None:
        held: list[dict[str, Any]] = []

        async def script(conn: int, req: dict[str, Any]) -> Reply:
            if req["method"] == "ping":
                return ok(req, {})
            held.append(req)
            if len(held) < 2:
                return None
            # Answer the second request first, then the first one.
            for r in reversed(held):
                await api.conns[conn].send_str(orjson.dumps(ok(r, r["params"])).decode())
            return None

        async with serve() as (api, url), client(url) as ws:
            api.script = script
            await ws.connect()
            first = asyncio.ensure_future(ws.request("a", {"n": "1"}))
            second = asyncio.ensure_future(ws.request("b", {"n": "2"}))
            assert await first == {"n": "1"}
            assert await second == {"n": "2"}
            ids = [r["id"] for _, r in api.frames]
            assert len(set(ids)) == len(ids)  # unique on the connection

    run(main())


def test_wsapi_error_answer_raises_venue_error_keeping_code_and_msg() -> None:
    async def main() -> None:
        def script(conn: int, req: dict[str, Any]) -> Reply:
            if req["method"] == "order.place":
                return {"id": req["id"], "status": 400, "error": ERROR_2010}
            return ok(req, {})

        async with serve() as (api, url), client(url) as ws:
            api.script = script
            await ws.connect()
            with pytest.raises(VenueError) as info:
                await ws.request("order.place", {"symbol": "BTCUSDT"}, is_order=True)
            err = info.value
            assert (err.code, err.msg, err.http_status) == (-2010, ERROR_2010["msg"], 400)
            assert not err.is_unknown and not err.retryable
            assert ws.counters.n_answers_error == 1

    run(main())


def test_wsapi_5xx_answer_to_order_is_unknown_status() -> None:
    async def main() -> None:
        def script(conn: int, req: dict[str, Any]) -> Reply:
            if req["method"] == "order.place":
                error = {"code": -1007, "msg": "Timeout waiting for response from backend server."}
                return {"id": req["id"], "status": 503, "error": error}
            return ok(req, {})

        async with serve() as (api, url), client(url) as ws:
            api.script = script
            await ws.connect()
            with pytest.raises(VenueError) as info:
                await ws.request("order.place", {}, is_order=True)
            assert (info.value.code, info.value.is_unknown) == (-1007, True)

    run(main())


def test_wsapi_rate_limits_of_every_answer_feed_the_limiter() -> None:
    async def main() -> None:
        limits = FakeLimits()

        def script(conn: int, req: dict[str, Any]) -> Reply:
            if req["method"] == "bad":
                return {"id": req["id"], "status": 400, "error": ERROR_2010, "rateLimits": []}
            return ok(req, {})

        async with serve() as (api, url), client(url, limits=limits) as ws:
            api.script = script
            await ws.connect()
            await ws.request("time", weight=1)
            with pytest.raises(VenueError):
                await ws.request("bad", {}, weight=4, is_order=True)
            assert limits.acquired == [(1, False), (1, False), (4, True)]  # ping, time, bad
            assert limits.updates == [RATE_LIMITS, RATE_LIMITS, []]

    run(main())


def test_wsapi_429_blocks_the_limiter_for_the_venues_retry_after() -> None:
    async def main() -> None:
        limits = FakeLimits()
        error = {
            "code": -1003,
            "msg": "Too much request weight used; current limit is 6000 per 1 MINUTE.",
            "data": {"serverTime": 1_000_000, "retryAfter": 1_012_500},
        }

        def script(conn: int, req: dict[str, Any]) -> Reply:
            if req["method"] == "depth":
                return {"id": req["id"], "status": 429, "error": error}
            return ok(req, {})

        async with serve() as (api, url), client(url, limits=limits) as ws:
            api.script = script
            await ws.connect()
            with pytest.raises(VenueError) as info:
                await ws.request("depth", {}, weight=5)
            assert (info.value.code, info.value.retryable) == (-1003, True)
            assert limits.blocks == [(12.5, False, False)]

    run(main())


def test_wsapi_local_throttle_refuses_and_sends_nothing() -> None:
    async def main() -> None:
        limits = FakeLimits()
        async with serve() as (api, url), client(url, limits=limits) as ws:
            await ws.connect()
            limits.wait_s = 1.5
            with pytest.raises(VenueError) as info:
                await ws.request("order.place", {"symbol": "BTCUSDT"}, is_order=True)
            err = info.value
            assert (err.code, err.retryable, err.retry_after_s) == (-1003, True, 1.5)
            assert "local rate limit" in err.msg
            limits.wait_s = 0.0
            await ws.request("time")  # the next frame the server sees is this one
            assert api.methods() == ["ping", "time"]
            assert ws.counters.n_local_throttled == 1

    run(main())


def test_wsapi_timeout_on_order_is_unknown_and_on_query_retryable() -> None:
    async def main() -> None:
        def script(conn: int, req: dict[str, Any]) -> Reply:
            return ok(req, {}) if req["method"] == "ping" else None  # never answers the rest

        async with serve() as (api, url), client(url, timeout_s=0.2) as ws:
            api.script = script
            await ws.connect()
            with pytest.raises(VenueError) as order:
                await ws.request("order.place", {}, is_order=True)
            assert (order.value.is_unknown, order.value.retryable) == (True, False)
            with pytest.raises(VenueError) as query:
                await ws.request("order.status", {})
            assert (query.value.is_unknown, query.value.retryable) == (False, True)
            assert ws.counters.n_timeouts == 2
            assert ws.is_connected  # a timeout does not drop the connection

    run(main())


def test_wsapi_disconnect_fails_pending_order_as_unknown_and_reconnects() -> None:
    async def main() -> None:
        reconnected = asyncio.Event()

        def script(conn: int, req: dict[str, Any]) -> Reply:
            if req["method"] == "order.place" and conn == 0:
                return "close"
            return ok(req, {"conn": conn})

        async def on_reconnect() -> None:
            reconnected.set()

        async with serve() as (api, url), client(url) as ws:
            api.script = script
            ws.on_reconnect(on_reconnect)
            await ws.connect()
            with pytest.raises(VenueError) as info:
                await ws.request("order.place", {}, is_order=True)
            assert (info.value.is_unknown, info.value.code) == (True, 0)
            async with asyncio.timeout(WAIT_S):
                await reconnected.wait()
            assert ws.is_connected
            assert await ws.request("time") == {"conn": 1}
            c = ws.counters
            assert (c.n_disconnects, c.n_failed_by_disconnect, c.n_connects) == (1, 1, 2)

    run(main())


def test_wsapi_request_while_disconnected_is_refused_without_sending() -> None:
    async def main() -> None:
        async with serve() as (_api, url), client(url) as ws:
            with pytest.raises(VenueError) as info:
                await ws.request("time")
            assert (info.value.retryable, info.value.is_unknown) == (True, False)
            assert ws.counters.n_not_connected == 1

    run(main())


def test_wsapi_connect_to_nothing_raises_retryable_venue_error() -> None:
    async def main() -> None:
        async with serve() as (_api, url):
            dead = url  # the server is gone once the block ends
        async with client(dead, timeout_s=1.0) as ws:
            with pytest.raises(VenueError) as info:
                await ws.connect()
            assert info.value.retryable and not ws.is_connected

    run(main())


# ---- signing and session logon --------------------------------------------------------------


def test_wsapi_hmac_signed_request_carries_key_stamp_window_and_valid_signature() -> None:
    async def main() -> None:
        async with (
            serve() as (api, url),
            client(url, signer=HmacSigner(KEY, SECRET), clock_ms=lambda: 1_700_000_000_123) as ws,
        ):
            await ws.connect()
            params = {"symbol": "BTCUSDT", "orderId": "42"}
            await ws.request("order.status", params, signed=True, weight=4)
            assert params == {"symbol": "BTCUSDT", "orderId": "42"}  # caller's dict untouched
            sent = api.frames[-1][1]["params"]
            assert sent["timestamp"] == 1_700_000_000_123 and sent["recvWindow"] == 5000
            assert sent["orderId"] == 42 and sent["apiKey"] == KEY
            text = ws_payload({k: str(v) for k, v in sent.items()})
            want = hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest()
            assert sent["signature"] == want

    run(main())


def test_wsapi_ed25519_logs_on_then_signed_requests_carry_only_the_stamp() -> None:
    async def main() -> None:
        signer = Ed25519Signer(KEY, Ed25519PrivateKey.generate().private_bytes_raw())
        async with serve() as (api, url), client(url, signer=signer) as ws:
            await ws.connect()
            assert ws.is_logged_on and ws.counters.n_logons == 1
            assert api.methods() == ["ping", "session.logon"]
            logon = api.frames[1][1]["params"]
            assert logon["apiKey"] == KEY and "signature" in logon
            await ws.request("order.place", {"symbol": "BTCUSDT"}, signed=True, is_order=True)
            sent = api.frames[-1][1]["params"]
            assert set(sent) == {"symbol", "timestamp", "recvWindow"}

    run(main())


def test_wsapi_signed_request_without_signer_is_config_error() -> None:
    async def main() -> None:
        async with serve() as (api, url), client(url) as ws:
            await ws.connect()
            with pytest.raises(ConfigError):
                await ws.request("order.status", {}, signed=True)
            assert api.methods() == ["ping"]

    run(main())


# ---- events, shutdown, lifetime, bad frames -------------------------------------------------


def test_wsapi_user_events_reach_callbacks_with_receive_time() -> None:
    async def main() -> None:
        seen: list[tuple[dict[str, Any], int]] = []
        got = asyncio.Event()

        def on_event(event: dict[str, Any], recv_ns: int) -> None:
            seen.append((event, recv_ns))
            got.set()

        async with serve() as (api, url), client(url) as ws:
            ws.on_user_event(on_event)
            await ws.connect()
            event = {"e": "outboundAccountPosition", "E": 1, "u": 1, "B": []}
            await api.push(0, {"subscriptionId": 0, "event": event})
            async with asyncio.timeout(WAIT_S):
                await got.wait()
            assert seen[0][0] == event and seen[0][1] > 0
            assert ws.counters.n_user_events == 1

    run(main())


def test_wsapi_failing_callback_is_counted_and_others_still_called() -> None:
    async def main() -> None:
        got = asyncio.Event()

        def bad(event: dict[str, Any], recv_ns: int) -> None:
            raise RuntimeError("consumer bug")

        async with serve() as (api, url), client(url) as ws:
            ws.on_user_event(bad)
            ws.on_user_event(lambda e, t: got.set())
            await ws.connect()
            await api.push(0, {"subscriptionId": 0, "event": {"e": "balanceUpdate"}})
            async with asyncio.timeout(WAIT_S):
                await got.wait()
            assert ws.counters.n_callback_errors == 1 and ws.is_connected

    run(main())


def test_wsapi_server_shutdown_switches_to_a_new_connection_and_closes_the_old() -> None:
    async def main() -> None:
        switched = asyncio.Event()

        async def hook() -> None:
            switched.set()

        async with serve() as (api, url), client(url) as ws:
            ws.on_reconnect(hook)
            await ws.connect()
            await api.push(0, {"event": {"e": "serverShutdown", "E": 1}})
            async with asyncio.timeout(WAIT_S):
                await switched.wait()
            assert await ws.request("time") == {"serverTime": 1}
            assert api.methods(1) == ["ping", "time"]  # served by the new connection
            await api.wait(lambda: api.conns[0].closed)
            c = ws.counters
            assert (c.n_server_shutdowns, c.n_switches, c.n_disconnects) == (1, 1, 0)

    run(main())


def test_wsapi_connection_older_than_max_age_is_replaced() -> None:
    async def main() -> None:
        switched = asyncio.Event()

        async def hook() -> None:
            switched.set()

        async with serve() as (api, url), client(url) as ws:
            ws.max_age_s = 0.2
            ws.on_reconnect(hook)
            await ws.connect()
            async with asyncio.timeout(WAIT_S):
                await switched.wait()
            assert ws.counters.n_switches >= 1 and len(api.conns) >= 2
            assert ws.is_connected

    run(main())


def test_wsapi_malformed_frame_is_counted_and_connection_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        async with serve() as (api, url), client(url) as ws:
            await ws.connect()
            await api.conns[0].send_str('{"e":"depthUpdate","E":17')
            await api.conns[0].send_str('{"id": 999, "status": 200, "result": {}}')
            # Frames arrive in order: once this answer is in, the two above were handled.
            assert await ws.request("time") == {"serverTime": 1}
            c = ws.counters
            assert (c.n_frames_malformed, c.n_answers_unmatched) == (1, 1)
            assert "wsapi_frame_malformed" in caplog.text
            assert ws.is_connected

    run(main())


def test_wsapi_close_fails_nothing_twice_and_stops_reconnecting() -> None:
    async def main() -> None:
        async with serve() as (api, url):
            ws = WsApiClient(SPOT.with_urls(ws_api_url=url), None)
            await ws.connect()
            await ws.close()
            assert not ws.is_connected
            await api.wait(lambda: api.conns[0].closed)
            assert len(api.conns) == 1 and ws.counters.n_disconnects == 0

    run(main())
