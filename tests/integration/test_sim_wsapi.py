"""`veloz sim` as a real process: the WebSocket API (spot `/ws-api/v3`, USD-M `/ws-fapi/v1`).

Speaks the wire protocol by hand (aiohttp + our own signing, nothing from `veloz`), so a
misreading shared by our client and the simulator cannot hide here. The accounts file is
written at run time: one HMAC trade account, one Ed25519 trade account (the private key is
generated per run and never leaves the process) and one HMAC account used only by the
order bursts, so their order counts start at zero whatever ran before.

Every wait is on a frame with a timeout; nothing sleeps to synchronise.
"""

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import ROUND_DOWN
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

from bench.sim_load import SimProc

pytestmark = pytest.mark.integration

WAIT_S = 5.0  # per awaited frame
SYMBOL = "BTCUSDT"
SPOT_API = "/ws-api/v3"
USDM_API = "/ws-fapi/v1"
BALANCES = {"USDT": "1000000", "BTC": "10"}
MSG_BAD_SIGNATURE = "Signature for this request is not valid."
MSG_STALE = "Timestamp for this request is outside of the recvWindow."
MSG_TOO_MANY_ORDERS = "Too many new orders; current limit is 100 orders per 10 SECOND."
SPOT_ORDER_LIMIT_10S = 100  # the sim's default spot ORDERS limit per 10 s window


@dataclass(frozen=True)
class Key:
    """An API key as a client holds it: HMAC secret text or an Ed25519 private key."""

    key: str
    hmac_secret: str = ""
    ed25519: Ed25519PrivateKey | None = None

    def signature(self, params: dict[str, Any]) -> str:
        # WS API: every param but `signature` (apiKey included), sorted, k=v joined by '&'.
        payload = "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items())).encode()
        if self.ed25519 is not None:
            return base64.b64encode(self.ed25519.sign(payload)).decode()
        return hmac.new(self.hmac_secret.encode(), payload, hashlib.sha256).hexdigest()

    def signed(self, params: dict[str, Any], timestamp: int | None = None) -> dict[str, Any]:
        full = {**params, "apiKey": self.key, "timestamp": timestamp or _now_ms()}
        return {**full, "signature": self.signature(full)}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _new_key_text() -> str:
    return secrets.token_hex(32)  # 64 letters and digits, the Binance key format


@dataclass(frozen=True)
class Sim:
    rest: str
    ws: str
    hmac_key: Key
    ed_key: Key
    burst_key: Key


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sim]:
    workdir = tmp_path_factory.mktemp("sim_wsapi")
    hmac_key = Key(_new_key_text(), hmac_secret=secrets.token_hex(32))
    burst_key = Key(_new_key_text(), hmac_secret=secrets.token_hex(32))
    private = Ed25519PrivateKey.generate()
    public_hex = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    ed_key = Key(_new_key_text(), ed25519=private)
    scopes = ["read", "trade"]
    accounts = [
        {"key": hmac_key.key, "secret": hmac_key.hmac_secret, "kind": "HMAC", "scopes": scopes},
        {"key": ed_key.key, "secret": public_hex, "kind": "ED25519", "scopes": scopes},
        {"key": burst_key.key, "secret": burst_key.hmac_secret, "kind": "HMAC", "scopes": scopes},
    ]
    for item in accounts:
        item["balances"] = dict(BALANCES)
    accounts_file = workdir / "accounts.json"
    accounts_file.write_text(json.dumps(accounts))
    with SimProc(
        None,
        seed=5,
        venue="both",
        symbols=SYMBOL,
        accounts_file=accounts_file,
        log_level=None,
        start_timeout_s=30,
    ) as proc:
        assert proc.rest.startswith("http://127.0.0.1:"), proc.urls
        yield Sim(proc.rest, proc.ws, hmac_key, ed_key, burst_key)


# ---- WS API client --------------------------------------------------------------------------


def _is_event(frame: dict[str, Any]) -> bool:
    return "event" in frame and "id" not in frame


class WsApi:
    """One WS-API connection: requests answered in order; user-data events set aside."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self._next_id = 0

    async def _frame(self, wait_s: float) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.ws.receive(), wait_s)
        assert msg.type == aiohttp.WSMsgType.TEXT, (
            f"WS API connection ended: {msg.type} data={msg.data!r} extra={msg.extra!r}"
        )
        frame: dict[str, Any] = json.loads(msg.data)
        return frame

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next_id += 1
        req_id = self._next_id
        request: dict[str, Any] = {"id": req_id, "method": method}
        if params is not None:
            request["params"] = params
        await self.ws.send_str(json.dumps(request))
        while True:
            frame = await self._frame(WAIT_S)
            if _is_event(frame):
                self.events.append(frame)
                continue
            assert frame.get("id") == req_id, f"answer out of order to {req_id}: {frame}"
            return frame

    async def event(
        self, match: Callable[[dict[str, Any]], bool], wait_s: float = WAIT_S
    ) -> dict[str, Any]:
        """Return (and remove) the first user-data event frame that `match` accepts."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while True:
            for i, frame in enumerate(self.events):
                if match(frame):
                    return self.events.pop(i)
            left = deadline - loop.time()
            try:
                if left <= 0:
                    raise TimeoutError
                frame = await self._frame(left)
            except TimeoutError:
                raise TimeoutError(f"no matching event in {wait_s}s; have {self.events}") from None
            assert _is_event(frame), f"unexpected answer while waiting for an event: {frame}"
            self.events.append(frame)


@asynccontextmanager
async def ws_api(url: str) -> AsyncIterator[WsApi]:
    async with aiohttp.ClientSession() as http, http.ws_connect(url, autoping=True) as ws:
        yield WsApi(ws)


async def _bid(sim: Sim, venue: str) -> Decimal:
    path = "/api/v3/ticker/bookTicker" if venue == "spot" else "/fapi/v1/ticker/bookTicker"
    async with aiohttp.ClientSession() as http, http.get(f"{sim.rest}{path}?symbol={SYMBOL}") as r:
        assert r.status == 200, await r.text()
        return Decimal((await r.json())["bidPrice"])


def _far_buy_price(bid: Decimal, tick: str) -> str:
    # 5 % under the bid: never touched in a test run, inside real Binance's price bands.
    return str((bid * Decimal("0.95")).quantize(Decimal(tick), rounding=ROUND_DOWN))


def _limits(reply: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    assert isinstance(reply.get("rateLimits"), list) and reply["rateLimits"], reply
    return {(r["rateLimitType"], r["interval"], r["intervalNum"]): r for r in reply["rateLimits"]}


def _ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["status"] == 200, reply
    assert "error" not in reply, reply
    assert ("REQUEST_WEIGHT", "MINUTE", 1) in _limits(reply), reply
    result: dict[str, Any] = reply["result"]
    return result


def _spot_limit(price: str, cid: str | None = None, qty: str = "0.00100") -> dict[str, Any]:
    params = {
        "symbol": SYMBOL,
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": price,
        "quantity": qty,
    }
    if cid is not None:
        params["newClientOrderId"] = cid
    return params


SPOT_MARKET_BUY = {"symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": "0.00100"}


# ---- 1. spot order lifecycle with HMAC ------------------------------------------------------


def test_spot_wsapi_hmac_order_lifecycle_and_auth_errors(sim: Sim) -> None:
    asyncio.run(_spot_lifecycle(sim))


async def _spot_lifecycle(sim: Sim) -> None:
    key = sim.hmac_key
    price = _far_buy_price(await _bid(sim, "spot"), "0.01")
    async with ws_api(sim.ws + SPOT_API) as api:
        placed = await api.call("order.place", key.signed(_spot_limit(price, "wsapi-lim-1")))
        order = _ok(placed)
        assert order["status"] == "NEW"
        assert order["clientOrderId"] == "wsapi-lim-1"
        assert order["symbol"] == SYMBOL
        assert isinstance(order["orderId"], int)
        assert Decimal(order["price"]) == Decimal(price)
        assert order["fills"] == []  # FULL is the LIMIT default
        limits = _limits(placed)
        assert limits[("ORDERS", "SECOND", 10)]["limit"] == SPOT_ORDER_LIMIT_10S
        assert limits[("ORDERS", "SECOND", 10)]["count"] >= 1
        assert ("ORDERS", "DAY", 1) in limits
        oid = order["orderId"]

        ref = {"symbol": SYMBOL, "orderId": oid}
        status = _ok(await api.call("order.status", key.signed(ref)))
        assert (status["orderId"], status["status"]) == (oid, "NEW")
        assert status["clientOrderId"] == "wsapi-lim-1"

        canceled = _ok(await api.call("order.cancel", key.signed(ref)))
        assert (canceled["orderId"], canceled["status"]) == (oid, "CANCELED")
        assert canceled["origClientOrderId"] == "wsapi-lim-1"

        after = _ok(await api.call("order.status", key.signed(ref)))
        assert (after["orderId"], after["status"]) == (oid, "CANCELED")

        filled = _ok(await api.call("order.place", key.signed(SPOT_MARKET_BUY)))
        assert filled["status"] == "FILLED"
        assert Decimal(filled["executedQty"]) == Decimal("0.001")
        assert filled["fills"], filled
        assert sum(Decimal(f["qty"]) for f in filled["fills"]) == Decimal("0.001")
        for fill in filled["fills"]:
            assert {"price", "qty", "commission", "commissionAsset", "tradeId"} <= set(fill)
            assert Decimal(fill["price"]) > 0

        # A signature that does not match the params: -1022, HTTP-like status 400.
        bad = key.signed(_spot_limit(price))
        bad["signature"] = ("0" if bad["signature"][0] != "0" else "1") + bad["signature"][1:]
        reply = await api.call("order.place", bad)
        assert reply["status"] == 400, reply
        assert reply["error"] == {"code": -1022, "msg": MSG_BAD_SIGNATURE}
        assert "result" not in reply
        _limits(reply)

        # Correctly signed but 10 s old with the default recvWindow (5000): -1021.
        stale = key.signed(_spot_limit(price), timestamp=_now_ms() - 10_000)
        reply = await api.call("order.place", stale)
        assert reply["status"] == 400, reply
        assert reply["error"] == {"code": -1021, "msg": MSG_STALE}
        _limits(reply)

        assert api.events == []  # no user-data subscription on this connection


# ---- 2. spot user data over the WS API ------------------------------------------------------


def _report(oid: int, x: str, status: str) -> Callable[[dict[str, Any]], bool]:
    def match(frame: dict[str, Any]) -> bool:
        ev = frame["event"]
        return (
            ev.get("e") == "executionReport"
            and ev.get("i") == oid
            and ev.get("x") == x
            and ev.get("X") == status
        )

    return match


def test_spot_wsapi_user_data_subscription_delivers_fills_and_unsubscribes(sim: Sim) -> None:
    asyncio.run(_spot_user_data(sim))


async def _spot_user_data(sim: Sim) -> None:
    key = sim.hmac_key
    price = _far_buy_price(await _bid(sim, "spot"), "0.01")
    async with ws_api(sim.ws + SPOT_API) as listener, ws_api(sim.ws + SPOT_API) as trader:
        sub = _ok(await listener.call("userDataStream.subscribe.signature", key.signed({})))
        sub_id = sub["subscriptionId"]
        assert isinstance(sub_id, int)

        # A fill placed on a second connection arrives on the subscribed one.
        filled = _ok(await trader.call("order.place", key.signed(SPOT_MARKET_BUY)))
        assert filled["status"] == "FILLED"
        oid = filled["orderId"]
        frame = await listener.event(_report(oid, "TRADE", "FILLED"))
        assert frame["subscriptionId"] == sub_id
        ev = frame["event"]
        assert (ev["s"], ev["S"], ev["o"]) == (SYMBOL, "BUY", "MARKET")
        assert Decimal(ev["z"]) == Decimal(ev["q"]) == Decimal("0.001")
        assert ev["t"] >= 0 and Decimal(ev["L"]) > 0
        position = await listener.event(lambda f: f["event"].get("e") == "outboundAccountPosition")
        assert position["subscriptionId"] == sub_id
        assets = {row["a"] for row in position["event"]["B"]}
        assert {"BTC", "USDT"} <= assets, position
        assert trader.events == []  # the placing connection has no subscription

        # An order placed on the subscribed connection itself: NEW then CANCELED reports.
        order = _ok(await listener.call("order.place", key.signed(_spot_limit(price, "uds-1"))))
        new = await listener.event(_report(order["orderId"], "NEW", "NEW"))
        assert (new["subscriptionId"], new["event"]["c"]) == (sub_id, "uds-1")
        cancel = {"symbol": SYMBOL, "orderId": order["orderId"], "newClientOrderId": "uds-1-x"}
        _ok(await listener.call("order.cancel", key.signed(cancel)))
        gone = await listener.event(_report(order["orderId"], "CANCELED", "CANCELED"))
        assert (gone["event"]["c"], gone["event"]["C"]) == ("uds-1-x", "uds-1")

        assert _ok(await listener.call("userDataStream.unsubscribe", {})) == {}
        listener.events.clear()
        # After unsubscribe a new fill reaches nobody: the listener's answer to a later ping
        # comes after anything the sim queued for it while serving the trader's order.
        _ok(await trader.call("order.place", key.signed(SPOT_MARKET_BUY)))
        _ok(await listener.call("ping", {}))
        leaked = [f for f in listener.events if f["event"].get("e") != "eventStreamTerminated"]
        assert leaked == []


def test_spot_wsapi_unsubscribe_sends_event_stream_terminated(sim: Sim) -> None:
    asyncio.run(_spot_terminated(sim))


async def _spot_terminated(sim: Sim) -> None:
    async with ws_api(sim.ws + SPOT_API) as api:
        sub = _ok(await api.call("userDataStream.subscribe.signature", sim.hmac_key.signed({})))
        sub_id = sub["subscriptionId"]
        assert _ok(await api.call("userDataStream.unsubscribe", {"subscriptionId": sub_id})) == {}
        frame = await api.event(lambda f: f["event"].get("e") == "eventStreamTerminated", 1.0)
        assert frame["subscriptionId"] == sub_id
        assert isinstance(frame["event"]["E"], int)


# ---- 3. spot Ed25519 session logon ----------------------------------------------------------


def test_spot_wsapi_ed25519_logon_then_unsigned_orders(sim: Sim) -> None:
    asyncio.run(_spot_ed25519(sim))


async def _spot_ed25519(sim: Sim) -> None:
    key = sim.ed_key
    async with ws_api(sim.ws + SPOT_API) as api:
        session = _ok(await api.call("session.logon", key.signed({})))
        assert session["apiKey"] == key.key
        assert isinstance(session["authorizedSince"], int)
        assert isinstance(session["connectedSince"], int)
        assert session["connectedSince"] <= session["authorizedSince"]
        assert session["userDataStream"] is False

        # Authenticated session: no apiKey, no signature, only the timestamp.
        unsigned = {**SPOT_MARKET_BUY, "timestamp": _now_ms()}
        filled = _ok(await api.call("order.place", unsigned))
        assert filled["status"] == "FILLED"
        status = {"symbol": SYMBOL, "orderId": filled["orderId"], "timestamp": _now_ms()}
        assert _ok(await api.call("order.status", status))["status"] == "FILLED"

    async with ws_api(sim.ws + SPOT_API) as api:
        # Same key id, signed by a different Ed25519 key: the logon must fail.
        forged = Key(key.key, ed25519=Ed25519PrivateKey.generate())
        reply = await api.call("session.logon", forged.signed({}))
        assert reply["status"] == 400, reply
        assert reply["error"] == {"code": -1022, "msg": MSG_BAD_SIGNATURE}
        # ... and the session stays unauthenticated: an unsigned order is refused.
        reply = await api.call("order.place", {**SPOT_MARKET_BUY, "timestamp": _now_ms()})
        assert reply["status"] == 400, reply
        assert reply["error"]["code"] == -1102, reply


# ---- 4. USD-M WS API and the listenKey user stream ------------------------------------------

USDM_SHAPE = {
    "orderId",
    "symbol",
    "status",
    "clientOrderId",
    "price",
    "avgPrice",
    "origQty",
    "executedQty",
    "cumQty",
    "cumQuote",
    "timeInForce",
    "type",
    "origType",
    "reduceOnly",
    "closePosition",
    "side",
    "positionSide",
    "stopPrice",
    "workingType",
    "priceProtect",
    "priceMatch",
    "selfTradePreventionMode",
    "goodTillDate",
    "updateTime",
}


def test_usdm_wsapi_order_lifecycle_and_private_stream(sim: Sim) -> None:
    asyncio.run(_usdm(sim))


async def _usdm(sim: Sim) -> None:
    key = sim.hmac_key
    price = _far_buy_price(await _bid(sim, "usdm"), "0.1")
    limit = {
        "symbol": SYMBOL,
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": price,
        "quantity": "0.005",
        "newClientOrderId": "fapi-lim-1",
    }
    async with ws_api(sim.ws + USDM_API) as api:
        placed = await api.call("order.place", key.signed(limit))
        order = _ok(placed)
        assert set(order) >= USDM_SHAPE, USDM_SHAPE - set(order)
        assert (order["status"], order["clientOrderId"]) == ("NEW", "fapi-lim-1")
        assert (order["reduceOnly"], order["positionSide"]) == (False, "BOTH")
        assert Decimal(order["avgPrice"]) == 0 and Decimal(order["cumQuote"]) == 0
        assert Decimal(order["price"]) == Decimal(price)
        limits = _limits(placed)
        assert limits[("ORDERS", "SECOND", 10)]["limit"] == 300
        assert limits[("ORDERS", "MINUTE", 1)]["limit"] == 1200
        assert limits[("REQUEST_WEIGHT", "MINUTE", 1)]["limit"] == 2400
        oid = order["orderId"]

        ref = {"symbol": SYMBOL, "orderId": oid}
        status = _ok(await api.call("order.status", key.signed(ref)))
        assert (status["orderId"], status["status"]) == (oid, "NEW")
        assert isinstance(status["time"], int)
        canceled = _ok(await api.call("order.cancel", key.signed(ref)))
        assert (canceled["orderId"], canceled["status"]) == (oid, "CANCELED")
        assert canceled["clientOrderId"] == "fapi-lim-1"
        after = _ok(await api.call("order.status", key.signed(ref)))
        assert after["status"] == "CANCELED"

        async with aiohttp.ClientSession() as http:
            headers = {"X-MBX-APIKEY": key.key}
            async with http.post(f"{sim.rest}/fapi/v1/listenKey", headers=headers) as r:
                assert r.status == 200, await r.text()
                listen_key = (await r.json())["listenKey"]
            async with http.ws_connect(f"{sim.ws}/private/ws/{listen_key}") as private:
                market = {"symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": "0.005"}
                market["newOrderRespType"] = "RESULT"
                filled = _ok(await api.call("order.place", key.signed(market)))
                assert filled["status"] == "FILLED"
                assert Decimal(filled["executedQty"]) == Decimal("0.005")
                assert Decimal(filled["avgPrice"]) > 0 and Decimal(filled["cumQuote"]) > 0

                seen: dict[str, dict[str, Any]] = {}
                while not {"fill", "ACCOUNT_UPDATE"} <= set(seen):
                    msg = await asyncio.wait_for(private.receive(), WAIT_S)
                    assert msg.type == aiohttp.WSMsgType.TEXT, msg
                    ev = json.loads(msg.data)
                    if ev["e"] == "ORDER_TRADE_UPDATE" and ev["o"]["i"] == filled["orderId"]:
                        if ev["o"]["X"] == "FILLED":
                            seen["fill"] = ev
                    elif ev["e"] == "ACCOUNT_UPDATE" and "fill" in seen:
                        seen["ACCOUNT_UPDATE"] = ev
                o = seen["fill"]["o"]
                assert (o["x"], o["s"], o["S"], o["o"], o["ps"]) == (
                    "TRADE",
                    SYMBOL,
                    "BUY",
                    "MARKET",
                    "BOTH",
                )
                assert Decimal(o["z"]) == Decimal("0.005") and Decimal(o["ap"]) > 0
                account = seen["ACCOUNT_UPDATE"]["a"]
                assert account["m"] == "ORDER"
                assert [b["a"] for b in account["B"]] == ["USDT"]
                pos = {p["s"]: p for p in account["P"]}[SYMBOL]
                assert Decimal(pos["pa"]) == Decimal("0.005")  # first fill of this account
                assert pos["ps"] == "BOTH"


# ---- 5. many requests on one connection, and the order-count limit --------------------------


@dataclass
class Burst:
    n_placed: int
    n_rejected: int
    first_reject: dict[str, Any] | None
    before_reject: dict[str, Any] | None
    elapsed_s: float
    alive_after: dict[str, Any]


async def _burst(sim: Sim, path: str, n: int, params: dict[str, Any]) -> Burst:
    """`n` order.place requests back to back on one connection, each success canceled."""
    key = sim.burst_key
    placed = rejected = 0
    first_reject: dict[str, Any] | None = None
    last_ok: dict[str, Any] | None = None
    before_reject: dict[str, Any] | None = None
    async with ws_api(sim.ws + path) as api:
        start = time.monotonic()
        for _ in range(n):
            reply = await api.call("order.place", key.signed(params))
            if reply["status"] == 200:
                placed += 1
                last_ok = reply
                ref = {"symbol": SYMBOL, "orderId": reply["result"]["orderId"]}
                canceled = _ok(await api.call("order.cancel", key.signed(ref)))
                assert canceled["status"] == "CANCELED", canceled
                continue
            assert reply["status"] == 429, reply
            assert reply["error"] == {"code": -1015, "msg": MSG_TOO_MANY_ORDERS}, reply
            rejected += 1
            if first_reject is None:
                first_reject, before_reject = reply, last_ok
        elapsed = time.monotonic() - start
        alive = await api.call("time", {})  # still connected and answering
        assert api.events == []
    return Burst(placed, rejected, first_reject, before_reject, elapsed, alive)


def test_usdm_wsapi_200_place_cancel_pairs_on_one_connection(sim: Sim) -> None:
    price = _far_buy_price(asyncio.run(_bid(sim, "usdm")), "0.1")
    params = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    params |= {"price": price, "quantity": "0.005"}
    # 200 orders stay under USD-M's 300 per 10 s and 1200 per minute: all must succeed,
    # and 400 requests in a few seconds must not trip the 10 msgs/s market-stream rule.
    burst = asyncio.run(_burst(sim, USDM_API, 200, params))
    assert (burst.n_placed, burst.n_rejected) == (200, 0)
    assert _ok(burst.alive_after)["serverTime"] > 0


@pytest.fixture(scope="module")
def spot_burst(sim: Sim) -> Burst:
    price = _far_buy_price(asyncio.run(_bid(sim, "spot")), "0.01")
    # 201 orders from an account with no earlier orders, inside 10 s: they touch at most two
    # epoch-aligned 10 s windows of at most 100 orders each, so at least one is refused,
    # and the first 100 always pass (no window can be full before them).
    return asyncio.run(_burst(sim, SPOT_API, 2 * SPOT_ORDER_LIMIT_10S + 1, _spot_limit(price)))


def test_spot_wsapi_order_burst_gets_1015_not_a_disconnect(spot_burst: Burst) -> None:
    burst = spot_burst
    assert burst.elapsed_s < 10.0, f"premise broken: burst took {burst.elapsed_s:.1f}s"
    assert burst.n_placed + burst.n_rejected == 201
    assert SPOT_ORDER_LIMIT_10S <= burst.n_placed <= 2 * SPOT_ORDER_LIMIT_10S
    assert burst.n_rejected >= 1
    assert _ok(burst.alive_after)["serverTime"] > 0  # the 429s did not cut the connection
    assert burst.first_reject is not None and burst.before_reject is not None
    # The order accepted just before the first refusal filled the window exactly.
    orders = _limits(burst.before_reject)[("ORDERS", "SECOND", 10)]
    assert (orders["count"], orders["limit"]) == (SPOT_ORDER_LIMIT_10S, SPOT_ORDER_LIMIT_10S)
    # The refusal still reports the request weight it was charged.
    assert ("REQUEST_WEIGHT", "MINUTE", 1) in _limits(burst.first_reject)


def test_spot_wsapi_1015_rate_limits_show_the_full_order_window(spot_burst: Burst) -> None:
    assert spot_burst.first_reject is not None
    limits = _limits(spot_burst.first_reject)
    orders = limits.get(("ORDERS", "SECOND", 10))
    assert orders is not None, spot_burst.first_reject["rateLimits"]
    assert (orders["count"], orders["limit"]) == (SPOT_ORDER_LIMIT_10S, SPOT_ORDER_LIMIT_10S)
    assert ("ORDERS", "DAY", 1) in limits
