"""RestClient against a tiny aiohttp venue on 127.0.0.1: signing, pacing, resync, unknown status.

The fake venue serves ``/api/v3/time``, ``exchangeInfo``, ``order`` and ``openOrders``; each
test scripts the order answers it wants. Nothing sleeps: a held answer waits on an event.
"""

import asyncio
import hashlib
import hmac
import socket
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import orjson
import pytest
from aiohttp import web

from bench.sim_load import run_async
from veloz.errors import ConfigError
from veloz.errors import VenueError
from veloz.venues.binance.endpoints import SPOT
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.rest import _scrub
from veloz.venues.binance.signing import HmacSigner

KEY = "k" * 64
SECRET = "s" * 64
ORDER_OK = {"symbol": "BTCUSDT", "orderId": 1, "clientOrderId": "vz-1", "status": "NEW"}
RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 50},
]


@dataclass
class Answer:
    status: int = 200
    body: Any = field(default_factory=lambda: ORDER_OK)  # bytes sent as is, else JSON
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False  # wait for FakeVenue.release before answering
    drop: bool = False  # close the connection instead of answering


@dataclass
class Hit:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    peer_port: int


class FakeVenue:
    """Records every request; answers orders from the `answers` script, then ORDER_OK."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        self.answers: list[Answer] = []
        self.skew_ms = 0
        self.release = asyncio.Event()
        self.bad_signatures = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/exchangeInfo", self._info)
        app.router.add_route("*", "/api/v3/order", self._order)
        app.router.add_route("*", "/api/v3/openOrders", self._order)
        return app

    def _hit(self, request: web.Request) -> Hit:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        hit = Hit(
            request.method,
            request.path,
            request.raw_path.partition("?")[2],
            dict(request.headers),
            peer[1] if peer else 0,
        )
        self.hits.append(hit)
        return hit

    def paths(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    async def _time(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.json_response({"serverTime": time.time_ns() // 1_000_000 + self.skew_ms})

    async def _info(self, request: web.Request) -> web.Response:
        self._hit(request)
        return web.json_response({"rateLimits": RATE_LIMITS, "symbols": []})

    async def _order(self, request: web.Request) -> web.Response:
        hit = self._hit(request)
        payload, _, signature = hit.query.rpartition("&signature=")
        want = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if signature != want or hit.headers.get("X-MBX-APIKEY") != KEY:
            self.bad_signatures += 1
        answer = self.answers.pop(0) if self.answers else Answer()
        if answer.hold:
            await self.release.wait()
        if answer.drop and request.transport is not None:
            request.transport.abort()
        body = answer.body if isinstance(answer.body, bytes) else orjson.dumps(answer.body)
        return web.Response(
            status=answer.status,
            body=body,
            headers=answer.headers,
            content_type="application/json",
        )


Scenario = Callable[[FakeVenue, RestClient], Awaitable[None]]


def _run(scenario: Scenario, *, timeout_s: float = 5.0, skew_ms: int = 0) -> FakeVenue:
    venue_box: list[FakeVenue] = []

    async def main() -> None:
        venue = FakeVenue()
        venue.skew_ms = skew_ms
        venue_box.append(venue)
        runner = web.AppRunner(venue.app(), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        ep = SPOT.at_base(f"http://127.0.0.1:{port}")
        client = RestClient(ep, HmacSigner(KEY, SECRET), timeout_s=timeout_s)
        try:
            await client.start()
            await scenario(venue, client)
        finally:
            venue.release.set()
            await client.close()
            await runner.cleanup()

    run_async(main())
    return venue_box[0]


ORDER = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.01")]


async def _place(client: RestClient) -> Any:
    return await client.send_signed("POST", "/api/v3/order", ORDER, is_order=True)


def test_rest_start_syncs_clock_and_loads_limits() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        assert abs(client.time_offset_ms - 5000) < 200
        assert abs(client.now_ms() - (time.time_ns() // 1_000_000 + 5000)) < 200
        assert {(w.kind, w.limit) for w in client.limits.windows()} == {
            ("REQUEST_WEIGHT", 6000),
            ("ORDERS", 50),
        }
        assert client.counters.n_time_syncs == 1

    _run(scenario, skew_ms=5000)


def test_rest_first_order_reuses_the_connection_start_opened() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        await _place(client)
        await _place(client)

    venue = _run(scenario)
    assert len({h.peer_port for h in venue.hits}) == 1
    assert [h.path for h in venue.hits][:2] == ["/api/v3/time", "/api/v3/exchangeInfo"]


def test_rest_signed_request_carries_key_window_timestamp_and_valid_signature() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        assert await _place(client) == ORDER_OK
        await client.send_signed("GET", "/api/v3/openOrders", [("symbol", "\uff11\uff12\uff13")])

    venue = _run(scenario)
    assert venue.bad_signatures == 0
    order = venue.paths("/api/v3/order")[0]
    names = [kv.split("=")[0] for kv in order.query.split("&")]
    assert names == ["symbol", "side", "type", "quantity", "recvWindow", "timestamp", "signature"]
    assert "%EF%BC%91" in venue.paths("/api/v3/openOrders")[0].query  # sent as signed


def test_rest_send_keyed_sends_key_without_signature() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        await client.send_keyed("POST", "/api/v3/openOrders", [("a", "1")])

    hit = _run(scenario).paths("/api/v3/openOrders")[0]
    assert hit.headers["X-MBX-APIKEY"] == KEY and hit.query == "a=1"


def test_rest_used_weight_header_updates_limiter_and_stops_next_send() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(headers={"X-MBX-USED-WEIGHT-1M": "5390"})]
        await _place(client)
        sent = len(venue.hits)
        with pytest.raises(VenueError) as info:
            await client.send_signed("GET", "/api/v3/openOrders", [], weight=20)
        assert len(venue.hits) == sent  # refused locally: nothing sent
        err = info.value
        assert err.code == -1003 and err.retryable and err.retry_after_s > 0
        assert "local rate limit" in err.msg
        assert client.counters.n_local_throttled == 1

    _run(scenario)


def test_rest_order_count_header_full_gives_local_1015() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(headers={"X-MBX-ORDER-COUNT-10S": "45"})]
        await _place(client)
        with pytest.raises(VenueError) as info:
            await _place(client)
        assert info.value.code == -1015
        await client.send_signed("DELETE", "/api/v3/order", [("orderId", "1")])  # not an order

    _run(scenario)


def test_rest_429_blocks_every_request_until_retry_after() -> None:
    body = {"code": -1003, "msg": "Too much request weight used; current limit is 6000."}

    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(429, body, {"Retry-After": "30"})]
        with pytest.raises(VenueError) as info:
            await _place(client)
        assert (info.value.code, info.value.msg, info.value.http_status) == (
            -1003,
            body["msg"],
            429,
        )
        assert info.value.retry_after_s == 30.0
        sent = len(venue.hits)
        for _ in range(5):  # a storm of callers: none reaches the venue
            with pytest.raises(VenueError, match="local rate limit"):
                await client.send_signed("GET", "/api/v3/openOrders", [])
        assert len(venue.hits) == sent
        assert 29.0 < client.limits.blocked_for(client.now_ms() * 1_000_000) <= 30.01
        assert (client.counters.n_429, client.counters.n_local_throttled) == (1, 5)

    _run(scenario)


def test_rest_418_ban_blocks_everything() -> None:
    body = {"code": -1003, "msg": "Way too much request weight used; IP banned until 1."}

    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(418, body, {"Retry-After": "120"})]
        with pytest.raises(VenueError):
            await _place(client)
        with pytest.raises(VenueError, match="local rate limit"):
            await client.get_public("/api/v3/time")
        assert client.counters.n_418 == 1 and client.limits.n_bans == 1

    _run(scenario)


def test_rest_429_order_count_without_retry_after_blocks_orders_not_cancels() -> None:
    body = {"code": -1015, "msg": "Too many new orders; current limit is 50 orders per 10 SECOND."}

    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(429, body)]
        with pytest.raises(VenueError):
            await _place(client)
        with pytest.raises(VenueError, match="local rate limit") as info:
            await _place(client)
        assert info.value.code == -1015
        assert await client.send_signed("DELETE", "/api/v3/order", [("orderId", "1")])

    _run(scenario)


def test_rest_1021_resyncs_once_and_retries_once_with_fresh_timestamp() -> None:
    body = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}

    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(400, body)]
        venue.skew_ms = 3000  # the venue's clock moved: the resync must pick it up
        assert await _place(client) == ORDER_OK
        assert abs(client.time_offset_ms - 3000) < 200

    venue = _run(scenario)
    assert len(venue.paths("/api/v3/time")) == 2  # start + one resync
    first, second = venue.paths("/api/v3/order")
    ts = [dict(kv.split("=") for kv in h.query.split("&"))["timestamp"] for h in (first, second)]
    assert int(ts[1]) - int(ts[0]) > 2500


def test_rest_1021_twice_gives_up_after_one_retry() -> None:
    body = {
        "code": -1021,
        "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
    }

    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(400, body), Answer(400, body), Answer()]
        with pytest.raises(VenueError) as info:
            await _place(client)
        assert (info.value.code, info.value.msg) == (-1021, body["msg"])
        assert client.counters.n_timestamp_retries == 1
        assert client.counters.n_time_syncs == 2

    venue = _run(scenario)
    assert len(venue.paths("/api/v3/order")) == 2


def test_rest_5xx_on_order_is_unknown_status() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(502, b"<html>bad gateway</html>")]
        with pytest.raises(VenueError) as info:
            await _place(client)
        assert info.value.is_unknown and info.value.http_status == 502
        assert client.counters.n_unknown_status == 1

    _run(scenario)


def test_rest_timeout_on_order_is_unknown_status() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(hold=True)]
        with pytest.raises(VenueError) as info:
            await _place(client)
        assert info.value.is_unknown and info.value.code == 0
        assert "no answer within" in info.value.msg

    _run(scenario, timeout_s=0.3)


def test_rest_connection_dropped_on_order_is_unknown_and_hides_query() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(drop=True)]
        with pytest.raises(VenueError) as info:
            await _place(client)
        assert info.value.is_unknown and info.value.code == 0
        assert "Disconnected" in info.value.msg or "Connection" in info.value.msg, info.value.msg
        assert "signature" not in info.value.msg and "timestamp" not in info.value.msg
        assert await _place(client) == ORDER_OK  # a fresh connection serves the next one

    _run(scenario)


def test_rest_scrub_removes_signed_query_from_error_text() -> None:
    text = "400, message='x', url='http://h/api/v3/order?symbol=A&timestamp=1&signature=ab'"
    assert _scrub(text) == "400, message='x', url='http://h/api/v3/order?<query>'"


def test_rest_timeout_on_query_is_not_unknown() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(hold=True)]
        with pytest.raises(VenueError) as info:
            await client.send_signed("GET", "/api/v3/order", [("orderId", "1")])
        assert not info.value.is_unknown and info.value.retryable

    _run(scenario, timeout_s=0.3)


def test_rest_non_json_200_on_order_is_unknown() -> None:
    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(200, b"{oops")]
        with pytest.raises(VenueError) as info:
            await _place(client)
        assert info.value.is_unknown

    _run(scenario)


def test_rest_venue_rejection_keeps_code_and_msg() -> None:
    body = {"code": -2010, "msg": "Account has insufficient balance for requested action."}

    async def scenario(venue: FakeVenue, client: RestClient) -> None:
        venue.answers = [Answer(400, body)]
        with pytest.raises(VenueError) as info:
            await _place(client)
        err = info.value
        assert (err.code, err.msg, err.retryable, err.is_unknown) == (
            -2010,
            body["msg"],
            False,
            False,
        )

    _run(scenario)


def test_rest_connect_refused_is_not_unknown() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there

    async def main() -> None:
        client = RestClient(SPOT.at_base(f"http://127.0.0.1:{port}"), HmacSigner(KEY, SECRET))
        try:
            with pytest.raises(VenueError) as info:
                await client.start()
            assert not info.value.is_unknown and info.value.retryable
        finally:
            await client.close()

    run_async(main())


def test_rest_signed_without_signer_raises_config_error() -> None:
    async def main() -> None:
        client = RestClient(SPOT.at_base("http://127.0.0.1:9"))
        with pytest.raises(ConfigError, match="API key"):
            await client.send_signed("GET", "/api/v3/order", [])

    run_async(main())


def test_rest_before_start_raises_config_error() -> None:
    async def main() -> None:
        client = RestClient(SPOT.at_base("http://127.0.0.1:9"), HmacSigner(KEY, SECRET))
        with pytest.raises(ConfigError, match="start"):
            await client.get_public("/api/v3/time")

    run_async(main())


@pytest.mark.parametrize(
    ("kwargs", "word"), [({"recv_window_ms": 0}, "recv"), ({"timeout_s": 0}, "timeout")]
)
def test_rest_bad_settings_raise_config_error(kwargs: dict[str, Any], word: str) -> None:
    with pytest.raises(ConfigError, match=word):
        RestClient(SPOT, **kwargs)
