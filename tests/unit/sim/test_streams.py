"""Market-stream protocol: control replies, shapes, limits, depth timers, ping and lifetime."""

import asyncio
from typing import Any

import orjson
import pytest
from aiohttp import WSMsgType

from tests.unit.sim.simfakes import T0
from tests.unit.sim.simfakes import Diff
from tests.unit.sim.simfakes import Trade
from tests.unit.sim.simfakes import run
from tests.unit.sim.simfakes import wait_for
from veloz.sim.streams import SPOT_POLICY
from veloz.sim.streams import StreamPolicy
from veloz.sim.streams import stream_family


async def _send(ws: Any, text: str) -> Any:
    await ws.send_str(text)
    return orjson.loads((await ws.receive(timeout=2)).data)


def test_streams_subscribe_list_unsubscribe_replies_exactly() -> None:
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws")
        sub = '{"method":"SUBSCRIBE","params":["btcusdt@trade","btcusdt@depth"],"id":1}'
        await ws.send_str(sub)
        assert (await ws.receive(timeout=2)).data == '{"result":null,"id":1}'
        reply = await _send(ws, '{"method":"LIST_SUBSCRIPTIONS","id":"abc3"}')
        assert reply == {"result": ["btcusdt@trade", "btcusdt@depth"], "id": "abc3"}
        unsub = '{"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":null}'
        assert await _send(ws, unsub) == {"result": None, "id": None}
        reply = await _send(ws, '{"method":"LIST_SUBSCRIPTIONS","id":3}')
        assert reply == {"result": ["btcusdt@trade"], "id": 3}
        await ws.close()

    run(body)


def test_streams_raw_multi_path_and_combined_shapes() -> None:
    async def body(server, client, ex, clock) -> None:
        raw = await client.ws_connect("/ws/btcusdt@trade/ethusdt@trade")
        comb = await client.ws_connect("/stream?streams=btcusdt@trade")
        await wait_for(lambda: server.connections.n_opened == 2)
        ex["spot"].emit(Trade("ETHUSDT", 9))
        ex["spot"].emit(Trade("BTCUSDT", 10))
        assert await raw.receive_json(timeout=2) == {"e": "trade", "s": "ETHUSDT", "t": 9}
        assert await raw.receive_json(timeout=2) == {"e": "trade", "s": "BTCUSDT", "t": 10}
        got = await comb.receive_json(timeout=2)
        assert got == {"stream": "btcusdt@trade", "data": {"e": "trade", "s": "BTCUSDT", "t": 10}}
        # SET_PROPERTY combined toggles the shape on a raw connection
        assert await _send(raw, '{"method":"GET_PROPERTY","params":["combined"],"id":4}') == {
            "result": False,
            "id": 4,
        }
        reply = await _send(raw, '{"method":"SET_PROPERTY","params":["combined",true],"id":5}')
        assert reply == {"result": None, "id": 5}
        ex["spot"].emit(Trade("BTCUSDT", 11))
        assert (await raw.receive_json(timeout=2))["stream"] == "btcusdt@trade"

    run(body)


def test_streams_control_errors_match_binance_table() -> None:
    cases = [
        ("{not json", {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 2"}),
        (
            '{"params":[],"id":1}',
            {"code": 2, "msg": "Invalid request: missing field `method` at line 1 column 20"},
        ),
        (
            '{"method":"SUBSCRIBEX","params":[],"id":1}',
            {
                "code": 2,
                "msg": "Invalid request: unknown variant `SUBSCRIBEX`, expected one of "
                "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, "
                "`GET_PROPERTY` at line 1 column 22",
            },
        ),
        (
            '{"method":"LIST_SUBSCRIPTIONS","id":1.5}',
            {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
        ),
        (
            '{"method":"LIST_SUBSCRIPTIONS","id":"has-dash"}',
            {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"},
        ),
        (
            '{"method":"LIST_SUBSCRIPTIONS","id":1,"x":2}',
            {"code": 2, "msg": "Invalid request: too many parameters"},
        ),
        (
            '{"method":"GET_PROPERTY","params":["combined","x"],"id":1}',
            {"code": 2, "msg": "Invalid request: too many parameters"},
        ),
        (
            '{"method":"GET_PROPERTY","params":[7],"id":1}',
            {"code": 2, "msg": "Invalid request: property name must be a string"},
        ),
        (
            '{"method":"SET_PROPERTY","params":["colour",true],"id":8}',
            {"code": 0, "msg": "Unknown property", "id": 8},
        ),
        (
            '{"method":"SET_PROPERTY","params":["combined","yes"],"id":1}',
            {"code": 1, "msg": "Invalid value type: expected Boolean"},
        ),
        (
            '{"method":"SUBSCRIBE","params":["BTC USDT"],"id":1}',
            {"code": 2, "msg": "Invalid request: invalid stream"},
        ),
    ]

    async def body(server, client, ex, clock) -> None:
        for text, want in cases:
            ws = await client.ws_connect("/ws")  # fresh socket: 5 msg/s limit
            assert await _send(ws, text) == want, text
            await ws.close()

    run(body)


def test_streams_usdm_families_reject_wrong_streams_and_legacy_is_silent() -> None:
    async def body(server, client, ex, clock) -> None:
        resp = await client.get("/public/ws/btcusdt@aggTrade")
        assert resp.status == 400
        assert await resp.json() == {"code": 2, "msg": "Invalid request: invalid stream"}
        pub = await client.ws_connect("/public/ws/btcusdt@bookTicker")
        reply = await _send(pub, '{"method":"SUBSCRIBE","params":["btcusdt@kline_1m"],"id":1}')
        assert reply == {"code": 2, "msg": "Invalid request: invalid stream"}
        market = await client.ws_connect("/market/stream?streams=btcusdt@trade")
        legacy = await client.ws_connect("/ws/btcusdt@trade")  # usdm-only server: silent
        await wait_for(lambda: server.connections.n_opened == 3)
        ex["usdm"].emit(Trade("BTCUSDT", 1))
        assert (await market.receive_json(timeout=2))["data"]["t"] == 1
        reply = await _send(legacy, '{"method":"LIST_SUBSCRIPTIONS","id":2}')
        assert reply == {"result": ["btcusdt@trade"], "id": 2}  # no trade frame came first

    run(body, venues=("usdm",))
    assert stream_family("!bookTicker") == "public"
    assert stream_family("btcusdt@depth20@100ms") == "public"
    assert stream_family("btcusdt@markPrice@1s") == "market"


def test_streams_max_streams_per_connection_is_enforced() -> None:
    policy = StreamPolicy(inbound_per_s=5, ping_interval_s=20, pong_timeout_s=60, max_streams=2)

    async def body(server, client, ex, clock) -> None:
        resp = await client.get("/ws/a@trade/b@trade/c@trade")
        assert resp.status == 400
        ws = await client.ws_connect("/ws/a@trade/b@trade")
        reply = await _send(ws, '{"method":"SUBSCRIBE","params":["c@trade"],"id":1}')
        assert reply == {"code": 2, "msg": "Invalid request: too many streams"}

    run(body, venues=("spot",), policies={"spot": policy})


def test_streams_inbound_rate_over_limit_disconnects() -> None:
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws")
        for i in range(6):
            await ws.send_str(f'{{"method":"LIST_SUBSCRIPTIONS","id":{i}}}')
        frames = []
        while True:
            msg = await ws.receive(timeout=2)
            if msg.type is not WSMsgType.TEXT:
                break
            frames.append(msg.data)
        assert len(frames) <= 5  # replies still queued at the 6th message are dropped
        assert ws.close_code == 1008
        assert server.connections.n_rate_disconnects == 1

    run(body, venues=("spot",))


def test_streams_slow_consumer_is_dropped_and_others_keep_receiving() -> None:
    policy = StreamPolicy(
        inbound_per_s=5,
        ping_interval_s=20,
        pong_timeout_s=60,
        send_queue_max=8,
        close_timeout_s=0.2,
    )

    async def body(server, client, ex, clock) -> None:
        slow = await client.ws_connect("/ws/btcusdt@trade")  # never reads
        fast = await client.ws_connect("/ws/btcusdt@trade")
        await wait_for(lambda: server.connections.n_opened == 2)
        big = "x" * 65_536
        n = 0
        while server.connections.n_slow_disconnects == 0:
            n += 1
            assert n < 2000, "slow consumer was never dropped"
            ex["spot"].emit(_Big("BTCUSDT", n, big))
            assert (await fast.receive_json(timeout=2))["t"] == n
        ex["spot"].emit(_Big("BTCUSDT", n + 1, ""))
        assert (await fast.receive_json(timeout=2))["t"] == n + 1
        assert server.connections.closed_by_reason["slow_consumer"] == 1
        del slow

    run(body, venues=("spot",), policies={"spot": policy})


class _Big(Trade):
    def __init__(self, symbol: str, trade_id: int, pad: str) -> None:
        object.__setattr__(self, "symbol", symbol)
        object.__setattr__(self, "trade_id", trade_id)
        object.__setattr__(self, "pad", pad)

    def payload(self) -> dict[str, Any]:
        return {"e": "trade", "t": self.trade_id, "pad": self.pad}  # type: ignore[attr-defined]


def test_streams_depth_flushes_per_speed_on_the_fake_clock() -> None:
    async def body(server, client, ex, clock) -> None:
        fast = await client.ws_connect("/ws/btcusdt@depth@100ms")
        slow = await client.ws_connect("/ws/btcusdt@depth")
        await wait_for(lambda: server.connections.n_opened == 2)
        hub = server.hubs["spot"]
        hub.tick(T0)  # arm timers at T0 (a whole second)
        ex["spot"].emit(Diff("BTCUSDT", 1, 2, 0, (("1.0", "5"),)))
        clock.now_ms = T0 + 99
        hub.tick(clock.now_ms)
        ex["spot"].emit(Diff("BTCUSDT", 3, 3, 2, (("1.0", "6"), ("2.0", "1"))))
        hub.tick(T0 + 100)
        got = await fast.receive_json(timeout=2)
        assert (got["U"], got["u"], got["b"]) == (1, 3, [["1.0", "6"], ["2.0", "1"]])
        hub.tick(T0 + 999)
        ex["spot"].emit(Diff("BTCUSDT", 4, 4, 3, (("3.0", "1"),)))
        hub.tick(T0 + 1000)
        got = await fast.receive_json(timeout=2)
        assert (got["U"], got["u"]) == (4, 4)
        got = await slow.receive_json(timeout=2)
        assert (got["U"], got["u"], len(got["b"])) == (1, 4, 3)

    run(body, venues=("spot",))


def test_streams_no_pong_within_window_disconnects() -> None:
    policy = StreamPolicy(inbound_per_s=50, ping_interval_s=0.05, pong_timeout_s=0.12)

    async def body(server, client, ex, clock) -> None:
        mute = await client.ws_connect("/ws", autoping=False)
        polite = await client.ws_connect("/ws")
        reader = asyncio.create_task(polite.receive())  # aiohttp answers pings while reading
        n_pings = 0
        while True:
            msg = await mute.receive(timeout=2)
            if msg.type is WSMsgType.PING:
                n_pings += 1
                continue
            break
        assert msg.type is WSMsgType.CLOSE and mute.close_code == 1008
        assert n_pings >= 1
        assert server.connections.n_pong_timeouts == 1
        assert not polite.closed and not reader.done()
        reader.cancel()

    run(body, venues=("spot",), policies={"spot": policy})


def test_streams_lifetime_closes_the_connection() -> None:
    policy = StreamPolicy(inbound_per_s=5, ping_interval_s=20, pong_timeout_s=60, lifetime_s=0.1)

    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws")
        msg = await ws.receive(timeout=2)
        assert msg.type is WSMsgType.CLOSE and ws.close_code == 1000
        assert server.connections.closed_by_reason["lifetime"] == 1

    run(body, venues=("spot",), policies={"spot": policy})


def test_streams_default_policies_are_binance_values() -> None:
    assert (SPOT_POLICY.inbound_per_s, SPOT_POLICY.ping_interval_s) == (5, 20.0)
    assert (SPOT_POLICY.pong_timeout_s, SPOT_POLICY.max_streams) == (60.0, 1024)
    assert SPOT_POLICY.lifetime_s == 86_400.0


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/private/ws/abcDEF123", "/private/ws/<redacted>"),
        (
            "/private/ws?listenKey=abc123&events=ORDER_TRADE_UPDATE",
            "/private/ws?listenKey=<redacted>&events=ORDER_TRADE_UPDATE",
        ),
        ("/stream?streams=btcusdt@trade", "/stream?streams=btcusdt@trade"),
    ],
)
def test_redact_path_hides_listen_keys_only(path: str, shown: str) -> None:
    from veloz.sim.streams import redact_path

    assert redact_path(path) == shown
