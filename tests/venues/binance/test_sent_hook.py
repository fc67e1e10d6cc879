"""The ``on_sent`` hook of WsApiClient, RestClient and BinanceExec: when it fires, and when not.

Uses the scripted fake venues of `test_wsapi` and `test_rest`. A held answer proves the hook
fired while the request was still waiting (so it stamps the send, not the answer).
"""

import asyncio
import time
from typing import Any

from tests.venues.binance.test_rest import Answer
from tests.venues.binance.test_rest import FakeVenue
from tests.venues.binance.test_rest import _run
from tests.venues.binance.test_wsapi import FakeLimits
from tests.venues.binance.test_wsapi import Reply
from tests.venues.binance.test_wsapi import client
from tests.venues.binance.test_wsapi import ok
from tests.venues.binance.test_wsapi import run
from tests.venues.binance.test_wsapi import serve
from veloz.errors import VenueError
from veloz.model.events import OrderStatus
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import SPOT
from veloz.venues.binance.execution import BinanceExec
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import HmacSigner

ORDER = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.01")]


# ---- WS API ---------------------------------------------------------------------------------


def test_wsapi_on_sent_fires_once_after_send_before_the_answer() -> None:
    async def main() -> None:
        release = asyncio.Event()
        stamps: list[int] = []

        async def script(conn: int, req: dict[str, Any]) -> Reply:
            if req["method"] == "ping":
                return ok(req, {})
            await release.wait()
            return ok(req, {"done": True})

        async with serve() as (api, url), client(url) as ws:
            api.script = script
            await ws.connect()
            t0 = time.monotonic_ns()
            fut = asyncio.ensure_future(ws.request("order.test", {"a": "1"}, on_sent=stamps.append))
            await api.wait(lambda: len(api.frames) == 2)
            assert len(stamps) == 1 and not fut.done()  # stamped before any answer
            release.set()
            assert await fut == {"done": True}
            assert len(stamps) == 1
            assert t0 <= stamps[0] <= time.monotonic_ns()

    run(main())


def test_wsapi_on_sent_not_called_when_throttled_locally() -> None:
    async def main() -> None:
        stamps: list[int] = []
        async with serve() as (api, url), client(url) as ws:
            await ws.connect()
            ws._limits = FakeLimits(wait_s=1.0)  # type: ignore[assignment]
            try:
                await ws.request("order.place", {}, is_order=True, on_sent=stamps.append)
            except VenueError as exc:
                assert exc.retryable
            else:
                raise AssertionError("throttled request was sent")
            assert stamps == []
            assert api.methods() == ["ping"]

    run(main())


def test_wsapi_on_sent_that_raises_is_counted_and_request_still_answered() -> None:
    def boom(ns: int) -> None:
        raise RuntimeError("hook bug")

    async def main() -> None:
        async with serve() as (_api, url), client(url) as ws:
            await ws.connect()
            result = await ws.request("order.test", {"a": "1"}, on_sent=boom)
            assert result["echo"] == {"a": "1"}
            assert ws.counters.n_callback_errors == 1

    run(main())


# ---- REST -----------------------------------------------------------------------------------


def test_rest_on_sent_fires_once_before_the_answer() -> None:
    stamps: list[int] = []

    async def scenario(venue: FakeVenue, rest: RestClient) -> None:
        venue.answers = [Answer(hold=True)]
        sent = asyncio.Event()

        def on_sent(ns: int) -> None:
            stamps.append(ns)
            sent.set()

        t0 = time.monotonic_ns()
        fut = asyncio.ensure_future(
            rest.send_signed("POST", "/api/v3/order", ORDER, is_order=True, on_sent=on_sent)
        )
        async with asyncio.timeout(5.0):
            await sent.wait()
        assert not fut.done()  # the venue holds its answer: the stamp is the send's
        venue.release.set()
        await fut
        assert len(stamps) == 1
        assert t0 <= stamps[0] <= time.monotonic_ns()
        assert len(venue.paths("/api/v3/order")) == 1


def test_rest_on_sent_not_called_when_throttled_locally() -> None:
    stamps: list[int] = []

    async def scenario(venue: FakeVenue, rest: RestClient) -> None:
        rest.limits.block(5.0, time.time_ns(), is_ban=True)
        try:
            await rest.send_signed(
                "POST", "/api/v3/order", ORDER, is_order=True, on_sent=stamps.append
            )
        except VenueError as exc:
            assert exc.retryable
        else:
            raise AssertionError("throttled request was sent")

    venue = _run(scenario)
    assert stamps == []
    assert venue.paths("/api/v3/order") == []


def test_rest_on_sent_that_raises_is_counted_and_request_still_answered() -> None:
    def boom(ns: int) -> None:
        raise RuntimeError("hook bug")

    async def scenario(venue: FakeVenue, rest: RestClient) -> None:
        doc = await rest.send_signed("POST", "/api/v3/order", ORDER, is_order=True, on_sent=boom)
        assert doc["orderId"] == 1
        assert rest.counters.n_on_sent_errors == 1

    _run(scenario)


# ---- BinanceExec ----------------------------------------------------------------------------

INST = Instrument("binance-spot", "BTCUSDT", "BTC", "USDT", "TRADING", 2, 5, 1, 1, 1, 0, 1, 0, 0)


class _FakeWs:
    # Duck-typed WsApiClient: answers every request and calls on_sent as the real one does.
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    async def request(
        self,
        method: str,
        params: dict[str, str] | None = None,
        *,
        signed: bool = False,
        weight: int = 1,
        is_order: bool = False,
        on_sent: Any = None,
    ) -> Any:
        self.calls.append((method, on_sent is not None))
        if on_sent is not None:
            on_sent(123)
        assert params is not None
        cid = params.get("newClientOrderId") or params.get("origClientOrderId", "x")
        status = "CANCELED" if method == "order.cancel" else "NEW"
        return {
            "symbol": "BTCUSDT",
            "orderId": 9,
            "clientOrderId": cid,
            "status": status,
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": "100.00",
            "origQty": "0.01000",
            "executedQty": "0",
        }


def test_exec_place_and_cancel_pass_on_sent_to_the_wsapi_client() -> None:
    async def main() -> None:
        ws = _FakeWs()
        rest = RestClient(SPOT, HmacSigner("k" * 64, "s" * 64))
        ex = BinanceExec(
            SPOT,
            HmacSigner("k" * 64, "s" * 64),
            {"BTCUSDT": INST},
            transport="wsapi",
            rest=rest,
            ws=ws,  # type: ignore[arg-type]
        )
        stamps: list[int] = []
        req = OrderRequest("BTCUSDT", "BUY", "LIMIT", 1000, 10000, "GTC", "c1")
        placed = await ex.place(req, on_sent=stamps.append)
        canceled = await ex.cancel("BTCUSDT", client_order_id="c1", on_sent=stamps.append)
        assert placed.status is OrderStatus.NEW and canceled.status is OrderStatus.CANCELED
        assert stamps == [123, 123]
        assert ws.calls == [("order.place", True), ("order.cancel", True)]

    run(main())
