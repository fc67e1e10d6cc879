"""Fault injection: every kind applied through the admin endpoint, counted and visible."""

import asyncio
import time
from typing import Any

import pytest
from aiohttp import WSMsgType

from tests.unit.sim.simfakes import T0
from tests.unit.sim.simfakes import Diff
from tests.unit.sim.simfakes import Trade
from tests.unit.sim.simfakes import run
from tests.unit.sim.simfakes import wait_for
from veloz.sim.faults import MALFORMED_FRAME
from veloz.sim.faults import FaultError
from veloz.sim.faults import parse_flag


async def _post(client: Any, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/admin/faults", json=body)
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def _counters(client: Any) -> dict[str, int]:
    return dict((await (await client.get("/admin/faults")).json())["counters"])


async def _closed(ws: Any) -> bool:
    msg = await ws.receive(timeout=2)
    return msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)


def test_faults_drop_one_then_all_and_list_connections() -> None:
    async def body(server, client, ex, clock) -> None:
        a = await client.ws_connect("/ws/btcusdt@trade")
        b = await client.ws_connect("/stream?streams=btcusdt@trade")
        await wait_for(lambda: server.connections.n_opened == 2)
        listed = await (await client.get("/admin/connections")).json()
        assert [(c["id"], c["path"], c["streams"]) for c in listed] == [
            (1, "/ws/btcusdt@trade", ["btcusdt@trade"]),
            (2, "/stream?streams=btcusdt@trade", ["btcusdt@trade"]),
        ]
        assert await _post(client, {"fault": "drop", "conn": 1}) == {"applied": "drop", "closed": 1}
        assert await _closed(a)
        assert (await _post(client, {"fault": "drop"}))["closed"] == 1
        assert await _closed(b)
        assert (await _counters(client))["drop"] == 2

    run(body, venues=("spot",))


def test_faults_gap_jumps_next_diff_u_and_pu() -> None:
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/public/ws/btcusdt@depth@100ms")
        await wait_for(lambda: server.connections.n_opened == 1)
        hub = server.hubs["usdm"]
        hub.tick(T0)
        ex["usdm"].emit(Diff("BTCUSDT", 10, 12, 9, (("1", "1"),)))
        hub.tick(T0 + 100)
        first = await ws.receive_json(timeout=2)
        await _post(client, {"fault": "gap", "symbol": "btcusdt", "n": 5, "venue": "usdm"})
        ex["usdm"].emit(Diff("BTCUSDT", 13, 14, 12, (("1", "2"),)))
        hub.tick(T0 + 200)
        second = await ws.receive_json(timeout=2)
        assert (first["U"], first["u"]) == (10, 12)
        assert (second["U"], second["u"], second["pu"]) == (18, 18, 17)
        ex["usdm"].emit(Diff("BTCUSDT", 15, 15, 14, (("1", "3"),)))
        hub.tick(T0 + 300)
        assert (await ws.receive_json(timeout=2))["U"] == 15  # one-shot
        assert (await _counters(client))["gap"] == 1

    run(body, venues=("usdm",))


def test_faults_stall_holds_frames_then_releases_in_order() -> None:
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws/btcusdt@trade/ethusdt@trade")
        await wait_for(lambda: server.connections.n_opened == 1)
        done = await _post(client, {"fault": "stall", "symbol": "BTCUSDT", "ms": 500})
        assert done["until_ms"] == T0 + 500
        ex["spot"].emit(Trade("BTCUSDT", 1))
        ex["spot"].emit(Trade("BTCUSDT", 2))
        ex["spot"].emit(Trade("ETHUSDT", 3))  # other symbol not stalled
        assert (await ws.receive_json(timeout=2))["t"] == 3
        active = (await (await client.get("/admin/faults")).json())["active"]
        assert active["stalls"] == {"spot": {"btcusdt": T0 + 500}}
        server.tick(T0 + 499)
        ex["spot"].emit(Trade("ETHUSDT", 4))
        assert (await ws.receive_json(timeout=2))["t"] == 4
        server.tick(T0 + 500)
        assert [(await ws.receive_json(timeout=2))["t"] for _ in range(2)] == [1, 2]
        assert (await _counters(client))["stall"] == 1

    run(body, venues=("spot",))


def test_faults_rest_delay_and_forced_429_418() -> None:
    async def body(server, client, ex, clock) -> None:
        await _post(client, {"fault": "rest_delay", "ms": 150})
        start = time.monotonic()
        assert (await client.get("/api/v3/ping")).status == 200
        assert time.monotonic() - start >= 0.15
        await _post(client, {"fault": "rest_delay", "ms": 0})
        await _post(client, {"fault": "force", "status": 429, "ms": 3000})
        resp = await client.get("/api/v3/ping")
        assert (resp.status, resp.headers["Retry-After"]) == (429, "3")
        await _post(client, {"fault": "force", "status": 418, "ms": 2000, "venue": "spot"})
        resp = await client.get("/api/v3/ping")
        assert resp.status == 418 and (await resp.json())["code"] == -1003
        forced = (await (await client.get("/admin/faults")).json())["active"]["forced"]
        want = {"venue": "spot", "ip": "127.0.0.1", "status": 418, "until_ms": T0 + 2000}
        assert forced == [want]
        counters = await _counters(client)
        assert (counters["rest_delay"], counters["force"]) == (2, 2)

    run(body, venues=("spot",))


def test_faults_malformed_frame_reaches_every_connection() -> None:
    async def body(server, client, ex, clock) -> None:
        a = await client.ws_connect("/ws")
        b = await client.ws_connect("/ws-api/v3")
        await wait_for(lambda: server.connections.n_opened == 2)
        assert (await _post(client, {"fault": "malformed"}))["sent"] == 2
        for ws in (a, b):
            msg = await ws.receive(timeout=2)
            assert msg.data.encode() == MALFORMED_FRAME
        assert (await _post(client, {"fault": "malformed", "conn": 2}))["sent"] == 1
        assert (await b.receive(timeout=2)).data.encode() == MALFORMED_FRAME

    run(body, venues=("spot",))


def test_faults_close_all_at_and_drop_every_fire_on_tick() -> None:
    async def body(server, client, ex, clock) -> None:
        a = await client.ws_connect("/ws")
        await wait_for(lambda: server.connections.n_opened == 1)
        assert (await _post(client, {"fault": "close_all_at", "in_ms": 1000}))["at_ms"] == T0 + 1000
        server.tick(T0 + 999)
        assert server.connections.closed_by_reason.get("fault_rollover") is None
        server.tick(T0 + 1000)
        assert await _closed(a)
        await _post(client, {"fault": "drop_every", "ms": 100})
        b = await client.ws_connect("/ws")
        await wait_for(lambda: server.connections.n_opened == 2)
        server.tick(T0 + 100)
        assert await _closed(b)
        counters = await _counters(client)
        assert (counters["close_all_at"], counters["drop_every"], counters["drop"]) == (1, 1, 1)

    run(body, venues=("spot",))


def test_faults_bad_bodies_answer_400_naming_the_field() -> None:
    async def body(server, client, ex, clock) -> None:
        for payload, fragment in [
            ({"fault": "explode"}, "'fault'"),
            ({"fault": "gap", "symbol": "BTCUSDT", "n": 0}, "'n'"),
            ({"fault": "force", "status": 500, "ms": 1}, "'status'"),
            ({"fault": "drop", "conn": 99}, "99"),
        ]:
            resp = await client.post("/admin/faults", json=payload)
            assert resp.status == 400
            assert fragment in (await resp.json())["error"]
        resp = await client.post("/admin/faults", data=b"[1")
        assert resp.status == 400
        assert sum((await _counters(client)).values()) == 0

    run(body, venues=("spot",))


def test_faults_scheduled_from_flags_fire_at_their_time() -> None:
    async def body(server, client, ex, clock) -> None:
        at, spec = parse_flag("--fault-429-at", "2:1.5", T0)
        server.faults.schedule(at, spec)
        server.tick(T0 + 1999)
        assert (await client.get("/api/v3/ping")).status == 200
        server.tick(T0 + 2000)
        clock.now_ms = T0 + 2000
        assert (await client.get("/api/v3/ping")).status == 429
        assert (await _counters(client))["force"] == 1

    run(body, venues=("spot",))
    assert parse_flag("--fault-gap", "btcusdt:3@10", T0) == (
        T0 + 10_000,
        {"fault": "gap", "symbol": "BTCUSDT", "n": 3},
    )
    assert parse_flag("--fault-drop-every", "30", T0) == (T0, {"fault": "drop_every", "ms": 30_000})
    with pytest.raises(FaultError, match="--fault-gap 'BTCUSDT': expected SYMBOL:N@SECONDS"):
        parse_flag("--fault-gap", "BTCUSDT", T0)


def test_faults_admin_snapshot_lists_scheduled() -> None:
    async def body(server, client, ex, clock) -> None:
        server.faults.schedule(T0 + 5, {"fault": "drop"})
        snap = await (await client.get("/admin/faults")).json()
        assert snap["active"]["scheduled"] == [{"at_ms": T0 + 5, "fault": "drop"}]
        await asyncio.sleep(0)

    run(body, venues=("spot",))
