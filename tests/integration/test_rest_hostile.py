"""`RestClient` against a hostile Binance server: 429 storms, a 418 ban, -1021 on orders.

The server (`tests.integration.hostile`) logs every request it sees with its loop time, so
"the client sent nothing in that window" is checked on the server's side, not taken from
the client's own counters. Each test states the required behaviour; the client is never
changed to fit a test.
"""

import itertools
from collections.abc import Awaitable
from collections.abc import Callable

import pytest

from bench.sim_load import run_async
from tests.integration.hostile import DEMO_KEY
from tests.integration.hostile import DEMO_SECRET
from tests.integration.hostile import HostileServer
from tests.integration.hostile import RestCall
from veloz.errors import VenueError
from veloz.venues.binance import endpoints
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import HmacSigner

pytestmark = pytest.mark.integration

MSG_1021 = "Timestamp for this request is outside of the recvWindow."
DEPTH_PARAMS = [("symbol", "BTCUSDT"), ("limit", "5")]
ORDER = [
    ("symbol", "BTCUSDT"),
    ("side", "BUY"),
    ("type", "LIMIT"),
    ("timeInForce", "GTC"),
    ("quantity", "0.01000"),
    ("price", "60000.00"),
]
SLACK_S = 0.02  # the server's loop time and the client's wall clock tick apart

Body = Callable[[HostileServer, RestClient], Awaitable[None]]


def _run(body: Body, venue: str = "binance-spot") -> None:
    async def main() -> None:
        async with HostileServer(venue=venue, rate_hz=50.0) as server:
            ep = endpoints.endpoints(venue).at_base(server.rest_url)
            rest = RestClient(ep, HmacSigner(DEMO_KEY, DEMO_SECRET), recv_window_ms=5000)
            await rest.start()
            try:
                await body(server, rest)
            finally:
                await rest.close()

    run_async(main())


def _calls(server: HostileServer, path: str) -> list[RestCall]:
    return [c for c in server.rest_log if c.path == path]


def _assert_quiet_after_refusals(server: HostileServer, retry_after_s: float) -> None:
    # After every 429/418 the server saw, nothing arrived before its Retry-After passed.
    log = server.rest_log
    for refused, nxt in itertools.pairwise(log):
        if refused.status in (429, 418):
            assert nxt.t_s - refused.t_s >= retry_after_s - SLACK_S, (refused, nxt)


async def _blocked_out(server: HostileServer, rest: RestClient, timeout_s: float) -> None:
    # Wait until the client's own block has run out (its limiter says so).
    await server.wait_until(
        lambda: rest.limits.blocked_for(rest.now_ms() * 1_000_000) == 0.0,
        timeout_s,
        "the client's 429/418 block to end",
    )


def test_rest_429_storm_waits_out_every_retry_after_and_never_provokes_a_ban() -> None:
    async def body(server: HostileServer, rest: RestClient) -> None:
        path = rest.endpoints.depth_path
        server.rest_status(429, retry_after_s=1.0, count=3)
        errors: list[VenueError] = []
        for _ in range(3):
            with pytest.raises(VenueError) as info:
                await rest.get_public(path, DEPTH_PARAMS, weight=5)
            errors.append(info.value)
            seen = len(server.rest_log)
            # Callers keep asking at once (a strategy loop would): refused locally, unsent.
            for _ in range(5):
                with pytest.raises(VenueError) as local:
                    await rest.get_public(path, DEPTH_PARAMS, weight=5)
                assert local.value.retryable and local.value.retry_after_s > 0
            with pytest.raises(VenueError):
                await rest.send_signed("POST", rest.endpoints.order_path, ORDER, is_order=True)
            assert len(server.rest_log) == seen, "a request went out inside Retry-After"
            await _blocked_out(server, rest, 3.0)
        book = await rest.get_public(path, DEPTH_PARAMS, weight=5)
        assert len(book["bids"]) == 5
        assert [e.http_status for e in errors] == [429, 429, 429]
        assert all(e.code == -1003 and e.retryable for e in errors)
        assert all(e.retry_after_s == pytest.approx(1.0) for e in errors)
        assert [c.status for c in _calls(server, path)] == [429, 429, 429, 200]
        _assert_quiet_after_refusals(server, 1.0)
        assert server.counters.n_rest_violations == 0 and server.counters.n_418 == 0
        assert server.counters.n_orders == 0
        assert rest.counters.n_429 == 3 and rest.counters.n_418 == 0
        assert rest.counters.n_local_throttled == 3 * 6

    _run(body)


def test_rest_418_stops_all_traffic_for_retry_after_and_reports_when_to_retry() -> None:
    async def body(server: HostileServer, rest: RestClient) -> None:
        server.rest_status(418, retry_after_s=2.0, count=1)
        with pytest.raises(VenueError) as info:
            await rest.get_public(rest.endpoints.time_path)
        ban = info.value
        assert ban.http_status == 418 and ban.code == -1003
        assert ban.retry_after_s == pytest.approx(2.0)
        assert not ban.is_unknown
        assert "IP banned until" in ban.msg  # the venue's message kept
        seen = len(server.rest_log)
        # Every kind of request stops: public, signed, order, and the clock resync.
        with pytest.raises(VenueError) as local:
            await rest.get_public(rest.endpoints.depth_path, DEPTH_PARAMS, weight=5)
        assert 0 < local.value.retry_after_s <= 2.0
        with pytest.raises(VenueError):
            await rest.send_signed("POST", rest.endpoints.order_path, ORDER, is_order=True)
        with pytest.raises(VenueError):
            await rest.send_signed("GET", rest.endpoints.order_path, [("symbol", "BTCUSDT")])
        with pytest.raises(VenueError):
            await rest.sync_time()
        assert len(server.rest_log) == seen, "a request went out during the ban"
        await _blocked_out(server, rest, 4.0)
        order = await rest.send_signed("POST", rest.endpoints.order_path, ORDER, is_order=True)
        assert order["status"] == "NEW"
        _assert_quiet_after_refusals(server, 2.0)
        assert server.counters.n_418 == 1 and server.counters.n_rest_violations == 0
        assert rest.counters.n_418 == 1 and rest.counters.n_local_throttled == 4

    _run(body)


@pytest.mark.parametrize("venue", ["binance-spot", "binance-usdm"])
def test_rest_order_1021_resyncs_time_and_retries_once_to_success(venue: str) -> None:
    async def body(server: HostileServer, rest: RestClient) -> None:
        time_path = rest.endpoints.time_path
        syncs_before = server.counters.rest_calls[time_path]
        server.order_error(-1021, MSG_1021, count=1)
        order = await rest.send_signed("POST", rest.endpoints.order_path, ORDER, is_order=True)
        assert order["status"] == "NEW" and order["symbol"] == "BTCUSDT"
        assert server.counters.rest_calls[time_path] == syncs_before + 1
        order_calls = _calls(server, rest.endpoints.order_path)
        assert [c.status for c in order_calls] == [400, 200]
        resync = [c for c in server.rest_log if c.path == time_path][-1]
        assert order_calls[0].t_s <= resync.t_s <= order_calls[1].t_s  # synced in between
        assert len(server.orders_received) == 1
        assert rest.counters.n_timestamp_retries == 1 and rest.counters.n_time_syncs == 2

    _run(body, venue)


def test_rest_order_real_clock_skew_is_corrected_by_the_resync() -> None:
    async def body(server: HostileServer, rest: RestClient) -> None:
        server.clock_offset_ms = 8000  # the venue's clock jumped: our timestamps look old
        order = await rest.send_signed("POST", rest.endpoints.order_path, ORDER, is_order=True)
        assert order["status"] == "NEW"
        assert rest.time_offset_ms == pytest.approx(8000, abs=500)
        assert server.counters.n_auth_failures == 1  # the one -1021 from the real check
        assert rest.counters.n_timestamp_retries == 1

    _run(body)


def test_rest_order_two_1021_in_a_row_raise_with_the_venue_message() -> None:
    async def body(server: HostileServer, rest: RestClient) -> None:
        server.order_error(-1021, MSG_1021, count=2)
        with pytest.raises(VenueError) as info:
            await rest.send_signed("POST", rest.endpoints.order_path, ORDER, is_order=True)
        err = info.value
        assert err.code == -1021 and err.msg == MSG_1021 and err.http_status == 400
        assert not err.is_unknown  # -1021: the venue did not execute it
        order_calls = _calls(server, rest.endpoints.order_path)
        assert [c.status for c in order_calls] == [400, 400]  # one retry, not more
        assert server.counters.n_orders == 2 and server.orders_received == []
        assert rest.counters.n_timestamp_retries == 1 and rest.counters.n_time_syncs == 2

    _run(body)
