"""The simulator's aiohttp server: REST, WS API, user data, market streams and admin, one port.

Owns the app built from the route table of `veloz.sim.routes` (which holds the endpoints and
their request weights), the order of checks (weight, then auth, then order count), Binance
error responses, listenKeys, WS-API sessions and the timer that drives hubs, faults and
listenKey expiry. It must not decide trading outcomes: every REST and WS-API call lands on a
`SimExchange` method (contract: /tmp/sim-contract.md) found by name, per venue.

Sim choices where Binance is not documented: an unknown listenKey on ``/private/ws``
fails the handshake with HTTP 400 ``-1125``; WS-API frames that are not a JSON object with
``id`` and ``method`` answer status 400 ``-1102``; an unknown WS-API method answers 400
``-1102``; ``userDataStream.unsubscribe`` with a ``subscriptionId`` the session does not hold
answers ``{}`` like a successful one. Spot order placement and cancels charge their listed
weight even on success.
"""

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import cast
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from veloz.sim.auth import ApiKey
from veloz.sim.auth import KeyStore
from veloz.sim.auth import check_timestamp
from veloz.sim.auth import verify_rest
from veloz.sim.auth import verify_ws_params
from veloz.sim.bookview import BookView
from veloz.sim.errors import MSG_MANDATORY_PARAM
from veloz.sim.errors import BinanceApiError
from veloz.sim.exchange import SimExchange
from veloz.sim.faults import Faults
from veloz.sim.limits import RateInterval
from veloz.sim.limits import RateLimitConfig
from veloz.sim.limits import RateLimiter
from veloz.sim.limits import WindowLimit
from veloz.sim.routes import ROUTES
from veloz.sim.routes import WS_METHODS
from veloz.sim.routes import Route
from veloz.sim.streams import SPOT_POLICY
from veloz.sim.streams import USDM_POLICY
from veloz.sim.streams import AccumulatorFactory
from veloz.sim.streams import Connections
from veloz.sim.streams import StreamHub
from veloz.sim.streams import StreamPolicy
from veloz.sim.streams import WsConn

__all__ = [
    "USDM_LIMITS",
    "SimAccount",
    "SimServer",
    "build_app",
    "demo_accounts",
    "parse_accounts",
    "serve",
]

log = logging.getLogger(__name__)

USDM_LIMITS = RateLimitConfig(
    request_weight=WindowLimit(2400, RateInterval(1, "MINUTE")),
    orders=(
        WindowLimit(300, RateInterval(10, "SECOND")),
        WindowLimit(1200, RateInterval(1, "MINUTE")),
    ),
)
LISTEN_KEY_TTL_MS = 3_600_000


@dataclass(slots=True)
class _ListenKey:
    key: str
    api_key: str
    account: int
    expires_ms: int


def _error_response(err: BinanceApiError, headers: Mapping[str, str]) -> web.Response:
    body = orjson.dumps({"code": err.code, "msg": err.msg})
    return web.Response(
        status=err.http_status,
        body=body,
        headers={**headers, **err.headers},
        content_type="application/json",
        charset="UTF-8",
    )


def _ws_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


class SimServer:
    """Everything the simulator serves on one port.

    Parameters
    ----------
    exchanges : mapping of venue to SimExchange
        ``{"spot": ..., "usdm": ...}``; only venues present are served.
    keys : KeyStore
        API keys.
    accounts : mapping of str to int
        API key string -> account id the key trades for.
    clock_ms : callable, optional
        Server clock, ms since the epoch (default: wall clock).
    policies : mapping of venue to StreamPolicy, optional
        Stream connection rules (defaults: Binance's).
    limits : mapping of venue to RateLimitConfig, optional
        Rate limits (defaults: spot as in `limits`, USD-M `USDM_LIMITS`).
    accumulator_factory : callable, optional
        Passed to each `StreamHub` (tests); default md.DepthAccumulator.
    tick_s : float
        Period of the timer task that flushes depth, fires faults and expires listenKeys.
    """

    def __init__(
        self,
        exchanges: Mapping[str, object],
        keys: KeyStore,
        accounts: Mapping[str, int],
        *,
        clock_ms: Callable[[], int] | None = None,
        policies: Mapping[str, StreamPolicy] | None = None,
        limits: Mapping[str, RateLimitConfig] | None = None,
        accumulator_factory: AccumulatorFactory | None = None,
        tick_s: float = 0.01,
    ) -> None:
        self.exchanges = dict(exchanges)
        self.keys = keys
        self.accounts = dict(accounts)
        self.clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self.tick_s = tick_s
        policies = policies or {}
        limits = limits or {}
        default_limits = {"spot": RateLimitConfig(), "usdm": USDM_LIMITS}
        default_policy = {"spot": SPOT_POLICY, "usdm": USDM_POLICY}
        self.connections = Connections()
        self.limiters = {v: RateLimiter(limits.get(v, default_limits[v])) for v in self.exchanges}
        self.policies = {v: policies.get(v, default_policy[v]) for v in default_policy}
        self.hubs = {
            v: StreamHub(v, self.clock_ms, self.connections, self.policies[v], accumulator_factory)
            for v in self.exchanges
        }
        self.faults = Faults(self.connections, self.hubs, self.limiters, self.clock_ms)
        self.tickers: list[Callable[[int], None]] = []
        # Work that can pile up (market activity at high rates): each call runs a bounded
        # slice and returns True while more is due. The timer yields to the event loop
        # between slices, so order requests are served in the middle of a backlog.
        self.slices: list[Callable[[int], bool]] = []
        self._second = -1  # the last whole second tick_second ran for
        self.n_handler_crashes = 0
        self._listen_keys: dict[str, _ListenKey] = {}
        self._private: dict[str, set[WsConn]] = {}  # listenKey -> connections
        self._uds: dict[int, dict[WsConn, int]] = {}  # account -> {conn: subscriptionId}
        self._timer: asyncio.Task[None] | None = None
        for venue, exchange in self.exchanges.items():
            hub = self.hubs[venue]
            exchange.listen(hub.publish)  # type: ignore[attr-defined]
            exchange.listen_user(self._on_user_spot if venue == "spot" else self._on_user_usdm)  # type: ignore[attr-defined]

    # ---- app ----------------------------------------------------------------------------

    def app(self) -> web.Application:
        """Build the aiohttp application with every route."""
        app = web.Application()
        app.add_routes(self.faults.routes())
        exchanges = cast(Mapping[str, SimExchange], self.exchanges)
        app.add_routes(BookView(exchanges, self.hubs, self.clock_ms).routes())
        for route in ROUTES:
            if route.venue in self.exchanges:
                app.router.add_route(route.method, route.path, self._rest_handler(route))
        if "spot" in self.hubs:
            self.hubs["spot"].add_routes(app, "", "spot")
            app.router.add_get("/ws-api/v3", self._ws_api_handler("spot"))
        if "usdm" in self.hubs:
            hub = self.hubs["usdm"]
            hub.add_routes(app, "/public", "public")
            hub.add_routes(app, "/market", "market")
            if "spot" not in self.hubs:
                hub.add_routes(app, "", "legacy")
            app.router.add_get("/private/ws", self._private_handler)
            app.router.add_get("/private/ws/{listen_key}", self._private_handler)
            app.router.add_get("/ws-fapi/v1", self._ws_api_handler("usdm"))
        app.on_startup.append(self._start)
        app.on_shutdown.append(self._stop)
        return app

    async def _start(self, app: web.Application) -> None:
        self._timer = asyncio.get_running_loop().create_task(self._run_timer())

    async def _stop(self, app: web.Application) -> None:
        for hub in self.hubs.values():
            hub.shutdown_notice()
        for conn in self.connections.all():
            conn.close(1001, "shutdown")
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)

    async def _run_timer(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                now_ms = self.clock_ms()
                while self._run_slices(now_ms):  # noqa: ASYNC110 - yields between work, waits on nothing
                    await asyncio.sleep(0)
                self.tick(now_ms)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.n_handler_crashes += 1
                log.exception("timer_crash")

    def _run_slices(self, now_ms: int) -> bool:
        # One slice of every sliced duty; True while any has more due.
        busy = False
        for work in self.slices:
            busy = work(now_ms) or busy
        return busy

    def tick(self, now_ms: int) -> None:
        """Run every timed duty due at `now_ms`: market steps, depth flushes, faults, expiry.

        Sliced duties still due run to completion here (the timer has normally drained them
        already, yielding between slices).
        """
        while self._run_slices(now_ms):
            pass
        for ticker in self.tickers:
            ticker(now_ms)
        if now_ms // 1000 != self._second:  # klines and mark prices, once a second
            self._second = now_ms // 1000
            for exchange in self.exchanges.values():
                exchange.tick_second(now_ms)  # type: ignore[attr-defined]
        for hub in self.hubs.values():
            hub.tick(now_ms)
        self.faults.tick(now_ms)
        self._expire_listen_keys(now_ms)

    # ---- REST ---------------------------------------------------------------------------

    def _rest_handler(self, route: Route) -> Callable[[web.Request], Any]:
        async def handler(request: web.Request) -> web.Response:
            return await self._rest(request, route)

        return handler

    async def _rest(self, request: web.Request, route: Route) -> web.Response:
        headers: dict[str, str] = {}
        try:
            if self.faults.rest_delay_ms:
                await asyncio.sleep(self.faults.rest_delay_ms / 1000)
            now = self.clock_ms()
            query = request.raw_path.partition("?")[2].encode()
            body = await request.read() if request.can_read_body else b""
            params = _form(body) | _form(query)
            limiter = self.limiters[route.venue]
            headers.update(limiter.charge_request(request.remote or "", route.weight(params), now))
            api_key = self._authenticate(request, route, query, body, now)
            account = self.accounts.get(api_key.key, 0) if api_key is not None else 0
            if route.is_order:
                headers.update(limiter.charge_order(str(account), now))
            result = self._call(route, api_key, account, params, now)
            return web.Response(
                body=orjson.dumps(result),
                headers=headers,
                content_type="application/json",
                charset="UTF-8",
            )
        except BinanceApiError as err:
            return _error_response(err, headers)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.n_handler_crashes += 1
            log.exception("rest_handler_crash path=%s", route.path)
            return _error_response(BinanceApiError(-1000), headers)

    def _authenticate(
        self, request: web.Request, route: Route, query: bytes, body: bytes, now: int
    ) -> ApiKey | None:
        header = request.headers.get("X-MBX-APIKEY")
        if route.security == "NONE":
            return None
        if route.security == "USER_STREAM":
            if header is None or len(header) != 64 or not header.isalnum():
                raise BinanceApiError(-2014)
            api_key = self.keys.get(header)
            if api_key is None:
                raise BinanceApiError(-2015)
            return api_key
        scope = "trade" if route.security == "TRADE" else "read"
        return verify_rest(self.keys, header, query, body, now, scope)

    def _call(
        self,
        route: Route,
        api_key: ApiKey | None,
        account: int,
        params: Mapping[str, str],
        now: int,
    ) -> object:
        if route.call == "ping":
            return {}
        if route.call == "time":
            return {"serverTime": now}
        if route.call == "exchange_info":  # publish the limits this server enforces
            exchange = cast(SimExchange, self.exchanges[route.venue])
            return exchange.exchange_info(self.limiters[route.venue].config)
        if route.call == "listen_key":
            if api_key is None:  # USER_STREAM routes always authenticate
                raise BinanceApiError(-2014)
            return self._listen_key(route.method, api_key.key, account, now)
        method = getattr(self.exchanges[route.venue], route.call)
        if route.args == "none":
            return method()
        if route.args == "params":
            return method(params)
        if route.args == "account":
            return method(account)
        return method(account, params)

    # ---- listenKey and /private ---------------------------------------------------------

    def _listen_key(self, method: str, api_key: str, account: int, now: int) -> object:
        current = next((k for k in self._listen_keys.values() if k.api_key == api_key), None)
        if method == "POST":
            if current is None:
                current = _ListenKey(secrets.token_hex(32), api_key, account, 0)
                self._listen_keys[current.key] = current
                log.info("listen_key_created account=%d", account)
            current.expires_ms = now + LISTEN_KEY_TTL_MS
            return {"listenKey": current.key}
        if current is None:
            raise BinanceApiError(-1125)
        if method == "PUT":
            current.expires_ms = now + LISTEN_KEY_TTL_MS
            return {"listenKey": current.key}
        del self._listen_keys[current.key]
        for conn in self._private.pop(current.key, set()):
            conn.close(1000, "listen_key_deleted")
        return {}

    def _expire_listen_keys(self, now_ms: int) -> None:
        expired = [k for k in self._listen_keys.values() if now_ms >= k.expires_ms]
        for lk in expired:
            del self._listen_keys[lk.key]
            event = orjson.dumps({"e": "listenKeyExpired", "E": now_ms, "listenKey": lk.key})
            for conn in self._private.pop(lk.key, set()):
                conn.offer(event)
            log.info("listen_key_expired account=%d", lk.account)

    async def _private_handler(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("listen_key") or request.query.get("listenKey", "")
        if key not in self._listen_keys:
            return _error_response(BinanceApiError(-1125), {})

        def on_open(conn: WsConn) -> None:
            self._private.setdefault(key, set()).add(conn)

        def on_close(conn: WsConn) -> None:
            self._private.get(key, set()).discard(conn)

        def on_text(conn: WsConn, text: str) -> None:
            log.info("private_ws_text_ignored conn=%d", conn.id)

        policy = self.policies["usdm"]
        return await self.connections.serve(request, policy, "user", on_open, on_text, on_close)

    def _on_user_usdm(self, account: int, event: dict[str, Any]) -> None:
        data: bytes | None = None
        for key, lk in self._listen_keys.items():
            if lk.account == account:
                for conn in self._private.get(key, ()):
                    data = data or orjson.dumps(event)
                    conn.offer(data)

    def _on_user_spot(self, account: int, event: dict[str, Any]) -> None:
        for conn, sub_id in self._uds.get(account, {}).items():
            conn.offer(orjson.dumps({"subscriptionId": sub_id, "event": event}))

    # ---- WS API -------------------------------------------------------------------------

    def _ws_api_handler(self, venue: str) -> Callable[[web.Request], Any]:
        sessions: dict[WsConn, _WsSession] = {}

        def on_open(conn: WsConn) -> None:
            sessions[conn] = _WsSession(connected_ms=self.clock_ms())

        def on_close(conn: WsConn) -> None:
            session = sessions.pop(conn)
            for account in session.subscriptions:
                self._uds.get(account, {}).pop(conn, None)

        def on_text(conn: WsConn, text: str) -> None:
            conn.offer(self._ws_api(venue, conn, sessions[conn], text))

        async def handler(request: web.Request) -> web.StreamResponse:
            policy = self.policies[venue]
            return await self.connections.serve(request, policy, "api", on_open, on_text, on_close)

        return handler

    def _ws_api(self, venue: str, conn: WsConn, session: "_WsSession", text: str) -> bytes:
        req_id: object = None
        headers: dict[str, str] = {}
        try:
            try:
                req = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "id") from None
            if not isinstance(req, dict) or "id" not in req:
                raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "id")
            req_id = req["id"]
            method = req.get("method")
            params = req.get("params", {})
            if not isinstance(method, str) or method not in WS_METHODS:
                raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "method")
            if not isinstance(params, dict):
                raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "params")
            now = self.clock_ms()
            weight, security, call = WS_METHODS[method]
            limiter = self.limiters[venue]
            ip = _peer(conn)
            headers = limiter.charge_request(ip, weight, now)
            result = self._ws_call(venue, conn, session, method, security, call, params, now)
            if isinstance(result, tuple):
                result, order_headers = result
                headers.update(order_headers)
            reply = {"id": req_id, "status": 200, "result": result}
        except BinanceApiError as err:
            headers.update(err.headers)
            error = {"code": err.code, "msg": err.msg}
            reply = {"id": req_id, "status": err.http_status, "error": error}
        reply["rateLimits"] = self._rate_limits(venue, headers)
        return orjson.dumps(reply)

    def _ws_call(
        self,
        venue: str,
        conn: WsConn,
        session: "_WsSession",
        method: str,
        security: str,
        call: str | None,
        params: dict[str, Any],
        now: int,
    ) -> object:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": now}
        if method == "session.logon":
            api_key = verify_ws_params(self.keys, params, now, "read")
            if api_key.kind != "ED25519":
                raise BinanceApiError(-4056)
            session.api_key = api_key
            session.since_ms = now
            return {
                "apiKey": api_key.key,
                "authorizedSince": now,
                "connectedSince": session.connected_ms,
                "returnRateLimits": True,
                "serverTime": now,
                "userDataStream": bool(session.subscriptions),
            }
        if method == "userDataStream.unsubscribe":
            return self._ws_unsubscribe(conn, session, params)
        scope = "trade" if security == "TRADE" else "read"
        if method == "userDataStream.subscribe":
            if session.api_key is None:
                raise BinanceApiError(-1002)
            api_key = session.api_key
        else:
            api_key = self._ws_auth(session, params, now, scope)
        account = self.accounts.get(api_key.key, 0)
        if call is None:  # userDataStream.subscribe[.signature]
            if account in session.subscriptions:
                raise BinanceApiError(-2035)
            sub_id = session.next_sub_id
            session.next_sub_id += 1
            session.subscriptions[account] = sub_id
            self._uds.setdefault(account, {})[conn] = sub_id
            return {"subscriptionId": sub_id}
        text = {k: _ws_text(v) for k, v in params.items()}
        order_headers: dict[str, str] = {}
        if method == "order.place":
            order_headers = self.limiters[venue].charge_order(str(account), now)
        return getattr(self.exchanges[venue], call)(account, text), order_headers

    def _ws_unsubscribe(
        self, conn: WsConn, session: "_WsSession", params: dict[str, Any]
    ) -> dict[str, Any]:
        # Without subscriptionId every subscription of the session ends; with one, that one.
        # An id this session does not hold is a no-op (sim choice, see module docstring).
        raw = params.get("subscriptionId")
        if raw is not None and not (isinstance(raw, int) or str(raw).isdigit()):
            raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "subscriptionId")
        wanted = None if raw is None else int(raw)
        loop = asyncio.get_running_loop()
        for account, sub_id in list(session.subscriptions.items()):
            if wanted is None or sub_id == wanted:
                del session.subscriptions[account]
                self._uds.get(account, {}).pop(conn, None)
                # Binance ends each stopped subscription with eventStreamTerminated; queued on
                # the next loop turn so it follows the reply to this request.
                event = {"e": "eventStreamTerminated", "E": self.clock_ms()}
                frame = orjson.dumps({"subscriptionId": sub_id, "event": event})
                loop.call_soon(conn.offer, frame)
        return {}

    def _ws_auth(
        self, session: "_WsSession", params: dict[str, Any], now: int, scope: str
    ) -> ApiKey:
        if session.api_key is not None and "signature" not in params:
            if scope not in session.api_key.scopes:
                raise BinanceApiError(-2015)
            ts = params.get("timestamp")
            window = params.get("recvWindow")
            check_timestamp(
                None if ts is None else _ws_text(ts),
                None if window is None else _ws_text(window),
                now,
            )
            return session.api_key
        return verify_ws_params(self.keys, params, now, scope)

    def _rate_limits(self, venue: str, headers: Mapping[str, str]) -> list[dict[str, object]]:
        config = self.limiters[venue].config
        limits = [(("REQUEST_WEIGHT", config.request_weight), self.limiters[venue].weight_header)]
        limits += [(("ORDERS", o), f"X-MBX-ORDER-COUNT-{o.interval.suffix}") for o in config.orders]
        out: list[dict[str, object]] = []
        for (kind, limit), header in limits:
            if header in headers:
                out.append(
                    {
                        "rateLimitType": kind,
                        "interval": limit.interval.unit,
                        "intervalNum": limit.interval.num,
                        "limit": limit.limit,
                        "count": int(headers[header]),
                    }
                )
        return out


@dataclass(slots=True)
class _WsSession:
    api_key: ApiKey | None = None
    since_ms: int = 0
    connected_ms: int = 0
    next_sub_id: int = 0
    subscriptions: dict[int, int] = field(default_factory=dict)  # account -> subscriptionId


def _peer(conn: WsConn) -> str:
    transport = conn.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if peer else ""


def _form(raw: bytes) -> dict[str, str]:
    if not raw:
        return {}
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise BinanceApiError(-1100) from None
    return dict(pairs)


def build_app(
    exchanges: Mapping[str, object], keys: KeyStore, accounts: Mapping[str, int], **kwargs: Any
) -> tuple[web.Application, SimServer]:
    """Return ``(app, server)`` serving `exchanges` on one port; kwargs go to `SimServer`."""
    server = SimServer(exchanges, keys, accounts, **kwargs)
    return server.app(), server


@dataclass(frozen=True, slots=True)
class SimAccount:
    """A test account: API key, its account id and starting balances."""

    api_key: ApiKey
    account_id: int
    balances: dict[str, str]


_DEMO_BALANCES = {"USDT": "100000", "BTC": "10", "ETH": "100"}


def demo_accounts(seed: int) -> list[SimAccount]:
    """Two HMAC accounts derived from `seed`: id 1 read+trade, id 2 read-only.

    Keys and secrets are 64 hex characters (letters and digits) from SHA-256 of the seed, so
    a run is reproducible without storing them.
    """
    out = []
    for account_id, scopes in ((1, {"read", "trade"}), (2, {"read"})):
        key = hashlib.sha256(f"veloz-sim:{seed}:key:{account_id}".encode()).hexdigest()
        secret = hashlib.sha256(f"veloz-sim:{seed}:secret:{account_id}".encode()).hexdigest()
        api_key = ApiKey(key, "HMAC", secret.encode(), frozenset(scopes))
        out.append(SimAccount(api_key, account_id, dict(_DEMO_BALANCES)))
    return out


def parse_accounts(items: object) -> list[SimAccount]:
    """Read ``[{key, secret, kind, scopes, balances}, ...]`` (accounts numbered from 1).

    ``secret`` is the HMAC secret text, or for ED25519 the 32-byte public key in hex.

    Raises
    ------
    ValueError
        Naming the item index and field that is wrong.
    """
    if not isinstance(items, list) or not items:
        raise ValueError("accounts: must be a non-empty JSON list")
    out = []
    for i, item in enumerate(items):
        where = f"accounts[{i}]"
        if not isinstance(item, dict) or set(item) - {
            "key",
            "secret",
            "kind",
            "scopes",
            "balances",
        }:
            raise ValueError(f"{where}: must be an object with key, secret, kind, scopes, balances")
        kind = item.get("kind", "HMAC")
        secret = str(item.get("secret", ""))
        try:
            raw = bytes.fromhex(secret) if kind == "ED25519" else secret.encode()
            api_key = ApiKey(str(item.get("key")), kind, raw, frozenset(item.get("scopes", [])))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: {exc}") from None
        balances = item.get("balances", {})
        if not isinstance(balances, dict) or not all(isinstance(v, str) for v in balances.values()):
            raise ValueError(f"{where}.balances: must map asset to decimal text")
        out.append(SimAccount(api_key, i + 1, dict(balances)))
    return out


async def serve(
    server: SimServer, host: str, port: int, on_ready: Callable[[str], None], stop: asyncio.Event
) -> None:
    """Serve `server` on host:port (0 picks a free port) until `stop` is set.

    `on_ready` gets the base URL once the socket accepts connections.
    """
    # No access log: its lines carry signed query strings, and STYLE §7 forbids logging
    # signatures; the server logs its own events and counts requests instead.
    runner = web.AppRunner(server.app(), handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        sockets = runner.addresses
        bound_port = sockets[0][1] if sockets else port
        on_ready(f"http://{host}:{bound_port}")
        await stop.wait()
        log.info("sim_stopping")
    finally:
        await runner.cleanup()
