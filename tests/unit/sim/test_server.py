"""REST routing, auth, limits and errors; listenKey lifecycle; WS-API framing and signing."""

import base64
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

from tests.unit.sim.simfakes import READ_SECRET
from tests.unit.sim.simfakes import READER
from tests.unit.sim.simfakes import T0
from tests.unit.sim.simfakes import TRADER
from tests.unit.sim.simfakes import run
from tests.unit.sim.simfakes import signed_query
from tests.unit.sim.simfakes import ws_sign
from veloz.sim.auth import ApiKey
from veloz.sim.limits import RateInterval
from veloz.sim.limits import RateLimitConfig
from veloz.sim.limits import WindowLimit
from veloz.sim.routes import ROUTES
from veloz.sim.server import LISTEN_KEY_TTL_MS
from veloz.sim.server import USDM_LIMITS

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "2"}


def test_server_public_rest_answers_with_weight_header() -> None:
    async def body(server, client, ex, clock) -> None:
        resp = await client.get("/api/v3/depth?symbol=BTCUSDT&limit=500")
        assert resp.status == 200
        assert await resp.json() == {"lastUpdateId": 7, "bids": [], "asks": []}
        assert resp.headers["X-MBX-USED-WEIGHT-1M"] == "25"
        resp = await client.get("/api/v3/depth?symbol=NOPE")
        assert resp.status == 400
        assert await resp.json() == {"code": -1121, "msg": "Invalid symbol."}
        assert resp.headers["X-MBX-USED-WEIGHT-1M"] == "30"
        resp = await client.get("/fapi/v1/time")
        assert await resp.json() == {"serverTime": T0}
        assert resp.headers["X-MBX-USED-WEIGHT-1M"] == "1"

    run(body)


def test_server_exchange_info_publishes_the_limits_it_enforces() -> None:
    async def body(server, client, ex, clock) -> None:
        spot = await (await client.get("/api/v3/exchangeInfo")).json()
        usdm = await (await client.get("/fapi/v1/exchangeInfo")).json()
        assert spot["orderLimits"] == [w.limit for w in RateLimitConfig().orders]
        assert usdm["orderLimits"] == [w.limit for w in USDM_LIMITS.orders]

    run(body)

    async def unlimited(server, client, ex, clock) -> None:
        spot = await (await client.get("/api/v3/exchangeInfo")).json()
        assert spot["orderLimits"] == [w.limit for w in RateLimitConfig.unlimited().orders]

    run(unlimited, ("spot",), limits={"spot": RateLimitConfig.unlimited()})


def test_server_signed_rest_auth_failures_are_binance_errors() -> None:
    async def body(server, client, ex, clock) -> None:
        query = signed_query({**ORDER, "timestamp": str(T0)})
        resp = await client.post(f"/api/v3/order?{query}")
        assert (resp.status, (await resp.json())["code"]) == (401, -2014)
        resp = await client.post(f"/api/v3/order?{query}", headers={"X-MBX-APIKEY": "U" * 64})
        assert (resp.status, (await resp.json())["code"]) == (401, -2015)
        bad = query[:-1] + ("0" if query[-1] != "0" else "1")
        resp = await client.post(f"/api/v3/order?{bad}", headers={"X-MBX-APIKEY": TRADER})
        assert (resp.status, (await resp.json())["code"]) == (400, -1022)
        read_only = signed_query({**ORDER, "timestamp": str(T0)}, READ_SECRET)
        resp = await client.post(f"/api/v3/order?{read_only}", headers={"X-MBX-APIKEY": READER})
        assert (resp.status, (await resp.json())["code"]) == (401, -2015)
        assert "X-MBX-USED-WEIGHT-1M" in resp.headers
        assert ex["spot"].calls == []

    run(body)


def test_server_signed_order_in_body_reaches_exchange_with_order_counts() -> None:
    async def body(server, client, ex, clock) -> None:
        form = signed_query({**ORDER, "timestamp": str(T0)})
        headers = {"X-MBX-APIKEY": TRADER, "Content-Type": "application/x-www-form-urlencoded"}
        resp = await client.post("/api/v3/order", data=form.encode(), headers=headers)
        assert resp.status == 200, await resp.text()
        assert await resp.json() == {"symbol": "BTCUSDT", "orderId": 1, "status": "NEW"}
        assert resp.headers["X-MBX-ORDER-COUNT-10S"] == "1"
        assert resp.headers["X-MBX-ORDER-COUNT-1D"] == "1"
        name, account, params = ex["spot"].calls[0]
        assert (name, account, params["symbol"]) == ("new_order", 1, "BTCUSDT")
        assert params["price"] == "2"
        query = signed_query({"symbol": "BTCUSDT", "orderId": "1", "timestamp": str(T0)})
        resp = await client.delete(f"/api/v3/order?{query}", headers={"X-MBX-APIKEY": TRADER})
        assert await resp.json() == {"code": -2011, "msg": "Unknown order sent."}

    run(body)


def test_server_weight_limit_gives_429_with_retry_after() -> None:
    small = RateLimitConfig(request_weight=WindowLimit(2, RateInterval(1, "MINUTE")))

    async def body(server, client, ex, clock) -> None:
        for _ in range(2):
            assert (await client.get("/api/v3/ping")).status == 200
        resp = await client.get("/api/v3/ping")
        assert resp.status == 429
        assert (await resp.json())["code"] == -1003
        assert resp.headers["Retry-After"] == "60"
        assert resp.headers["X-MBX-USED-WEIGHT-1M"] == "3"

    run(body, venues=("spot",), limits={"spot": small})


def test_server_handler_crash_answers_minus_1000_without_traceback() -> None:
    async def body(server, client, ex, clock) -> None:
        query = signed_query({"timestamp": str(T0)})
        resp = await client.get(f"/api/v3/account?{query}", headers={"X-MBX-APIKEY": TRADER})
        assert resp.status == 500
        text = await resp.text()
        assert text == (
            '{"code":-1000,"msg":"An unknown error occurred while processing the request."}'
        )
        assert "Traceback" not in text and "boom" not in text
        assert server.n_handler_crashes == 1

    run(body, venues=("spot",))


def test_server_listen_key_lifecycle_and_private_stream() -> None:
    async def body(server, client, ex, clock) -> None:
        hdr = {"X-MBX-APIKEY": TRADER}
        resp = await client.post("/fapi/v1/listenKey", headers=hdr)
        key = (await resp.json())["listenKey"]
        assert len(key) == 64
        again = await (await client.post("/fapi/v1/listenKey", headers=hdr)).json()
        assert again == {"listenKey": key}
        assert (await client.post("/fapi/v1/listenKey")).status == 401
        ws = await client.ws_connect(f"/private/ws/{key}")
        await _until_open(server, 1)
        ex["usdm"].emit_user(2, {"e": "ORDER_TRADE_UPDATE", "who": "other"})
        ex["usdm"].emit_user(1, {"e": "ORDER_TRADE_UPDATE", "who": "me"})
        assert (await ws.receive_json(timeout=2))["who"] == "me"
        clock.now_ms = T0 + LISTEN_KEY_TTL_MS - 1
        assert (await client.put("/fapi/v1/listenKey", headers=hdr)).status == 200
        server.tick(T0 + LISTEN_KEY_TTL_MS)  # extended: still alive
        server.tick(clock.now_ms + LISTEN_KEY_TTL_MS)
        got = await ws.receive_json(timeout=2)
        assert got == {
            "e": "listenKeyExpired",
            "E": clock.now_ms + LISTEN_KEY_TTL_MS,
            "listenKey": key,
        }
        resp = await client.put("/fapi/v1/listenKey", headers=hdr)
        assert await resp.json() == {"code": -1125, "msg": "This listenKey does not exist."}
        assert (await client.get(f"/private/ws/{key}")).status == 400
        new = (await (await client.post("/fapi/v1/listenKey", headers=hdr)).json())["listenKey"]
        assert new != key
        assert await (await client.delete("/fapi/v1/listenKey", headers=hdr)).json() == {}

    run(body, venues=("usdm",))


async def _until_open(server: Any, n: int) -> None:
    from tests.unit.sim.simfakes import wait_for

    await wait_for(lambda: server.connections.n_opened >= n)


def test_server_ws_api_ping_time_and_bad_frames() -> None:
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws-api/v3")
        await ws.send_str('{"id":"a1","method":"ping","params":{}}')
        reply = await ws.receive_json(timeout=2)
        assert reply == {
            "id": "a1",
            "status": 200,
            "result": {},
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                    "count": 1,
                }
            ],
        }
        await ws.send_str('{"id":2,"method":"time"}')
        assert (await ws.receive_json(timeout=2))["result"] == {"serverTime": T0}
        await ws.send_str('{"id":3,"method":"nope"}')
        reply = await ws.receive_json(timeout=2)
        assert (reply["id"], reply["status"], reply["error"]["code"]) == (3, 400, -1102)
        await ws.send_str("not json")
        assert (await ws.receive_json(timeout=2))["id"] is None

    run(body, venues=("spot",))


def test_server_ws_api_signed_order_place_and_user_stream_subscription() -> None:
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws-api/v3")
        sub = ws_sign({"apiKey": TRADER, "timestamp": T0})
        await ws.send_str(_req(1, "userDataStream.subscribe.signature", sub))
        reply = await ws.receive_json(timeout=2)
        assert reply["result"] == {"subscriptionId": 0}, reply
        params = ws_sign({**ORDER, "apiKey": TRADER, "timestamp": T0})
        await ws.send_str(_req(2, "order.place", params))
        first = await ws.receive_json(timeout=2)
        second = await ws.receive_json(timeout=2)
        event, reply = (first, second) if "subscriptionId" in first else (second, first)
        assert event == {"subscriptionId": 0, "event": {"e": "executionReport", "i": 1, "X": "NEW"}}
        assert reply["status"] == 200 and reply["result"]["orderId"] == 1
        kinds = [r["rateLimitType"] for r in reply["rateLimits"]]
        assert kinds == ["REQUEST_WEIGHT", "ORDERS", "ORDERS"]
        _, account, passed = ex["spot"].calls[0]
        assert account == 1 and passed["timestamp"] == str(T0)
        bad = {**params, "signature": "0" * 64}
        await ws.send_str(_req(3, "order.place", bad))
        reply = await ws.receive_json(timeout=2)
        assert reply["status"] == 400 and reply["error"]["code"] == -1022

    run(body, venues=("spot",))


def test_server_ws_api_user_stream_unsubscribe_stops_events_and_allows_resubscribe() -> None:
    # python-binance unsubscribes when its user socket closes; -1102 there raised in the client.
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws-api/v3")
        sub = ws_sign({"apiKey": TRADER, "timestamp": T0})
        await ws.send_str(_req(1, "userDataStream.subscribe.signature", sub))
        assert (await ws.receive_json(timeout=2))["result"] == {"subscriptionId": 0}
        await ws.send_str(_req(2, "userDataStream.unsubscribe", {"subscriptionId": 0}))
        reply = await ws.receive_json(timeout=2)
        assert (reply["status"], reply["result"]) == (200, {}), reply
        ended = await ws.receive_json(timeout=2)  # after the reply, as Binance ends a stream
        assert ended["subscriptionId"] == 0
        assert ended["event"]["e"] == "eventStreamTerminated"
        assert not server._uds.get(1)
        ex["spot"].emit_user(1, {"e": "executionReport", "i": 9})  # no subscriber: dropped
        await ws.send_str(_req(3, "userDataStream.subscribe.signature", sub))
        reply = await ws.receive_json(timeout=2)
        assert reply["result"] == {"subscriptionId": 1}, reply
        await ws.send_str(_req(4, "userDataStream.unsubscribe", {}))  # no id: every one
        assert (await ws.receive_json(timeout=2))["result"] == {}
        ended = await ws.receive_json(timeout=2)
        assert (ended["subscriptionId"], ended["event"]["e"]) == (1, "eventStreamTerminated")
        assert not server._uds.get(1)
        await ws.send_str(_req(5, "userDataStream.unsubscribe", {"subscriptionId": "x"}))
        assert (await ws.receive_json(timeout=2))["error"]["code"] == -1102

    run(body, venues=("spot",))


def test_server_usdm_v3_account_routes_and_leverage_bracket_are_served() -> None:
    # ccxt reads /fapi/v3/account, /fapi/v3/positionRisk and /fapi/v1/leverageBracket;
    # python-binance reads /fapi/v3/balance.
    routes = {(r.method, r.path): r for r in ROUTES}
    for path, call in (
        ("/fapi/v3/balance", "futures_balance"),
        ("/fapi/v3/account", "futures_account_v3"),
        ("/fapi/v3/positionRisk", "position_risk_v3"),
        ("/fapi/v1/leverageBracket", "leverage_bracket"),
    ):
        route = routes[("GET", path)]
        assert (route.venue, route.call, route.security) == ("usdm", call, "USER_DATA")

    async def body(server, client, ex, clock) -> None:
        query = signed_query({"timestamp": str(T0)})
        resp = await client.get(f"/fapi/v3/balance?{query}", headers={"X-MBX-APIKEY": TRADER})
        assert resp.status == 200
        assert (await resp.json())[0]["asset"] == "USDT"

    run(body, venues=("usdm",))


def test_server_ws_api_session_logon_ed25519_then_unsigned_status() -> None:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    ed_key = "E" * 64

    async def body(server, client, ex, clock) -> None:
        server.keys.add(ApiKey(ed_key, "ED25519", public, frozenset({"read", "trade"})))
        server.accounts[ed_key] = 5
        ws = await client.ws_connect("/ws-api/v3")
        params: dict[str, Any] = {"apiKey": ed_key, "timestamp": T0}
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params)).encode()
        params["signature"] = base64.b64encode(private.sign(payload)).decode()
        await ws.send_str(_req("logon", "session.logon", params))
        reply = await ws.receive_json(timeout=2)
        assert reply["status"] == 200 and reply["result"]["apiKey"] == ed_key
        status = {"symbol": "BTCUSDT", "orderId": 9, "timestamp": T0}
        await ws.send_str(_req(7, "order.status", status))
        reply = await ws.receive_json(timeout=2)
        assert reply["result"] == {"orderId": 9, "status": "NEW"}
        assert ex["spot"].calls[0][:2] == ("get_order", 5)
        hmac_logon = ws_sign({"apiKey": TRADER, "timestamp": T0})
        await ws.send_str(_req(8, "session.logon", hmac_logon))
        assert (await ws.receive_json(timeout=2))["error"]["code"] == -4056

    run(body, venues=("spot",))


def test_server_route_table_covers_contract_methods_once() -> None:
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))
    calls = {r.call for r in ROUTES}
    for name in ("new_order", "cancel_order", "get_order", "open_orders", "all_orders"):
        assert name in calls
    assert {"premium_index", "futures_balance", "futures_account", "position_risk"} <= calls


def _req(req_id: object, method: str, params: dict[str, Any]) -> str:
    import orjson

    return orjson.dumps({"id": req_id, "method": method, "params": params}).decode()


def test_sim_proc_bad_flags_exit_2_with_one_message(capsys: Any) -> None:
    from procs import sim

    assert sim.main(["--port", "70000"]) == 2
    assert capsys.readouterr().err == "veloz sim: --port 70000: must be 0..65535\n"
    assert sim.main(["--fault-gap", "BTCUSDT"]) == 2
    err = capsys.readouterr().err
    assert err == "veloz sim: --fault-gap 'BTCUSDT': expected SYMBOL:N@SECONDS\n"
    assert sim.main(["--symbols", "btc usdt"]) == 2
    assert sim.main(["--venue", "margin"]) == 2


def test_demo_accounts_are_deterministic_and_scoped() -> None:
    from veloz.sim.server import demo_accounts
    from veloz.sim.server import parse_accounts

    a, b = demo_accounts(7), demo_accounts(7)
    assert [x.api_key.key for x in a] == [x.api_key.key for x in b]
    assert a[0].api_key.key != demo_accounts(8)[0].api_key.key
    assert [sorted(x.api_key.scopes) for x in a] == [["read", "trade"], ["read"]]
    parsed = parse_accounts(
        [{"key": "K" * 64, "secret": "s", "kind": "HMAC", "scopes": ["read"], "balances": {}}]
    )
    assert parsed[0].account_id == 1
    import pytest

    with pytest.raises(ValueError, match=r"accounts\[0\]"):
        parse_accounts([{"key": "short", "secret": "s"}])


def test_server_tick_runs_tick_second_once_per_whole_second() -> None:
    async def body(server: Any, client: Any, exchanges: Any, clock: Any) -> None:
        for now_ms in (1_000, 1_010, 1_999, 2_000, 2_500, 4_000):
            server.tick(now_ms)
        for exchange in exchanges.values():
            assert exchange.seconds == [1_000, 2_000, 4_000]

    run(body)


def test_server_ws_api_is_not_held_to_the_stream_inbound_rate() -> None:
    # 5 msgs/s is Binance's rule for market streams; the WS API is limited by weight only.
    async def body(server, client, ex, clock) -> None:
        ws = await client.ws_connect("/ws-api/v3")
        for i in range(30):
            await ws.send_str(f'{{"id":{i},"method":"ping","params":{{}}}}')
        replies = [await ws.receive_json(timeout=2) for _ in range(30)]
        assert [r["status"] for r in replies] == [200] * 30
        assert server.connections.n_rate_disconnects == 0
        await ws.close()

    run(body)
