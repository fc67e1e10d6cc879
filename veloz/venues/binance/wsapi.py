"""Binance WebSocket API client (spot ``/ws-api/v3``, USD-M ``/ws-fapi/v1``) on picows.

Owns one live connection: request ids and their futures, signing of SIGNED requests (or
Ed25519 ``session.logon`` once per connection), the client-side rate budget before a frame
leaves, the venue's ``rateLimits`` after it answers, user-data event frames, and the
connection's life: reconnect with backoff after a drop, switch to a fresh connection on
``serverShutdown`` and before the venue's 24 h cut. Must not parse order or event contents
(that is `orders` and `user_events`), retry a request by itself, or log signed parameters.
The picows listener, connect and close live in `wstransport`.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from picows import WSMsgType
from picows import WSTransport

from veloz.errors import ConfigError
from veloz.errors import VenueError
from veloz.log import RateLimitedLog
from veloz.venues.binance.codes import venue_error
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.ratelimit import RateLimits
from veloz.venues.binance.signing import Signer
from veloz.venues.binance.signing import ws_signed_params
from veloz.venues.binance.wstransport import FrameListener
from veloz.venues.binance.wstransport import close_ws
from veloz.venues.binance.wstransport import open_ws

__all__ = ["WsApiClient", "WsApiCounters"]

log = logging.getLogger(__name__)

# The venue cuts a WS-API connection after 24 h; switch to a fresh one before that.
MAX_AGE_S = 23.5 * 3600.0
# Reconnect delays after a drop: doubled per consecutive short-lived connection.
BACKOFF_MIN_S = 0.1
BACKOFF_MAX_S = 5.0
# A connection that lived at least this long resets the backoff.
STABLE_AFTER_S = 10.0
# Parameters Binance documents as JSON integers: sent as numbers when given as plain
# decimal text (the signed text is the same either way).
_INT_PARAMS = frozenset(
    {
        "timestamp",
        "recvWindow",
        "orderId",
        "cancelOrderId",
        "orderListId",
        "subscriptionId",
        "startTime",
        "endTime",
        "fromId",
        "limit",
        "strategyId",
        "strategyType",
        "trailingDelta",
        "goodTillDate",
    }
)


@dataclass(slots=True)
class WsApiCounters:
    """What one `WsApiClient` did since it was built (all counts, never reset)."""

    n_requests: int = 0  # frames sent
    n_answers_ok: int = 0
    n_answers_error: int = 0  # venue error answers (status != 200)
    n_timeouts: int = 0
    n_local_throttled: int = 0  # refused by the client-side budget, nothing sent
    n_not_connected: int = 0  # refused while no connection was up, nothing sent
    n_failed_by_disconnect: int = 0  # pending requests failed by a lost connection
    n_disconnects: int = 0  # connections lost without us asking
    n_connects: int = 0
    n_connect_failures: int = 0
    n_switches: int = 0  # planned moves to a new connection (serverShutdown, 24 h)
    n_logons: int = 0
    n_user_events: int = 0
    n_server_shutdowns: int = 0
    n_frames_malformed: int = 0
    n_answers_unmatched: int = 0  # answers whose id matches no pending request
    n_callback_errors: int = 0  # exceptions from user-event, on_sent or reconnect hooks
    n_supervisor_errors: int = 0  # unexpected errors while repairing the connection
    n_dispatch_errors: int = 0  # unexpected errors while handling one received frame


@dataclass(slots=True)
class _Pending:
    fut: asyncio.Future[Any]
    method: str
    is_order: bool
    timer: asyncio.TimerHandle | None = None


class _Conn:
    # One picows connection of a WsApiClient and the requests waiting on it.

    __slots__ = (
        "age_timer",
        "closed",
        "is_logged_on",
        "is_open",
        "listener",
        "no",
        "opened_mono",
        "pending",
        "transport",
    )

    def __init__(self, no: int) -> None:
        self.no = no
        self.listener: FrameListener | None = None
        self.transport: WSTransport | None = None
        self.pending: dict[int, _Pending] = {}
        self.closed = asyncio.Event()
        self.is_open = False
        self.is_logged_on = False
        self.opened_mono = time.monotonic()
        self.age_timer: asyncio.TimerHandle | None = None


class WsApiClient:
    """Requests over one Binance WebSocket-API connection, answers matched by id.

    Parameters
    ----------
    ep : Endpoints
        Spot or USD-M endpoints; the connection goes to ``ep.ws_api_url``.
    signer : Signer or None
        Signs SIGNED requests; an Ed25519 signer also logs the session on (``session.logon``)
        after every connect, after which SIGNED requests carry only ``timestamp`` and
        ``recvWindow``. None allows only unsigned requests.
    limits : RateLimits, optional
        Client-side budget: charged before every frame, refreshed from every answer's
        ``rateLimits``, blocked by a 429/418.
    recv_window_ms : int
        ``recvWindow`` of SIGNED requests, ms.
    timeout_s : float
        Seconds to wait for an answer (and for a connect) before giving up.
    clock_ms : callable, optional
        Returns the ``timestamp`` to sign, ms since the epoch (default: local wall clock;
        pass ``RestClient.now_ms`` to use the venue-synchronised clock).

    Notes
    -----
    Events (``{"subscriptionId": n, "event": {...}}``) go to every `on_user_event` callback.
    After every new connection (reconnect or planned switch) the `on_reconnect` hooks run,
    so a user-data subscription can be renewed. ``max_age_s`` and the ``backoff_*_s``
    attributes may be changed before `connect`.
    """

    def __init__(
        self,
        ep: Endpoints,
        signer: Signer | None,
        *,
        limits: RateLimits | None = None,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        if not 0 < recv_window_ms <= 60_000:
            raise ConfigError(f"recv_window_ms={recv_window_ms}: must be 1..60000")
        if timeout_s <= 0:
            raise ConfigError(f"timeout_s={timeout_s}: must be > 0")
        self._ep = ep
        self._signer = signer
        self._limits = limits
        self._recv_window = str(recv_window_ms)
        self._timeout_s = timeout_s
        self._clock_ms = clock_ms or _wall_ms
        self._counters = WsApiCounters()
        self._callbacks: list[Callable[[dict[str, Any], int], None]] = []
        self._hooks: list[Callable[[], Awaitable[None]]] = []
        self._conn: _Conn | None = None
        self._retired: set[_Conn] = set()
        self._n_conns = 0
        self._next_id = 0
        self._supervisor: asyncio.Task[None] | None = None
        self._trouble = asyncio.Event()
        self._trouble_conn: _Conn | None = None
        self._trouble_reason = ""
        self._is_closing = False
        self._streak = 0  # consecutive short-lived connections
        self._bad_frames = RateLimitedLog(log)
        self.max_age_s = MAX_AGE_S
        self.backoff_min_s = BACKOFF_MIN_S
        self.backoff_max_s = BACKOFF_MAX_S

    # ---- public API ----------------------------------------------------------------------

    @property
    def counters(self) -> WsApiCounters:
        """Counters of requests, answers, connections and bad frames."""
        return self._counters

    @property
    def is_connected(self) -> bool:
        """True while a connection is open (and logged on, for an Ed25519 signer)."""
        conn = self._conn
        return conn is not None and conn.is_open

    @property
    def is_logged_on(self) -> bool:
        """True when the current connection is authenticated by ``session.logon``."""
        conn = self._conn
        return conn is not None and conn.is_open and conn.is_logged_on

    def now_ms(self) -> int:
        """Return the clock SIGNED requests are stamped with, ms since the epoch."""
        return self._clock_ms()

    def _venue_ns(self) -> int:
        # The rate windows are aligned to the venue's clock: `clock_ms` in ns.
        return self._clock_ms() * 1_000_000

    def on_user_event(self, callback: Callable[[dict[str, Any], int], None]) -> None:
        """Call ``callback(event, recv_mono_ns)`` for every user-data event frame.

        A callback that raises is counted (``n_callback_errors``) and logged; the others
        still run and the connection stays up.
        """
        self._callbacks.append(callback)

    def on_reconnect(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Await ``hook()`` after every new connection replaced a lost or retired one.

        The new connection is already current (and logged on) when the hooks run, so a
        hook may send requests.
        """
        self._hooks.append(hook)

    async def connect(self) -> None:
        """Open the connection and warm it (``ping``; ``session.logon`` with Ed25519).

        Returns once a request has made the round trip. Later drops are repaired in the
        background until `close`.

        Raises
        ------
        VenueError
            The connection or the logon failed (nothing keeps retrying in that case).
        """
        if self._supervisor is not None:
            return
        self._is_closing = False
        conn = await self._open()
        self._install(conn)
        self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    async def close(self) -> None:
        """Stop reconnecting, fail pending requests and close every connection."""
        self._is_closing = True
        self._trouble.set()
        task, self._supervisor = self._supervisor, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        conns = [c for c in (self._conn, *self._retired) if c is not None]
        self._conn = None
        self._retired.clear()
        for conn in conns:
            await self._shut(conn)

    async def request(
        self,
        method: str,
        params: dict[str, str] | None = None,
        *,
        signed: bool = False,
        weight: int = 1,
        is_order: bool = False,
        on_sent: Callable[[int], None] | None = None,
    ) -> Any:
        """Send one request and return its ``result``.

        Parameters
        ----------
        method : str
            WS-API method, e.g. ``"order.place"``.
        params : dict of str to str, optional
            Request parameters as decimal text (prices and quantities formatted by the
            caller); not modified.
        signed : bool
            Add ``timestamp`` and ``recvWindow`` and sign (or rely on the session logon).
        weight : int
            Request weight charged to the client-side budget.
        is_order : bool
            Counts towards the ORDERS budget; a timeout or drop then sets ``is_unknown``.
        on_sent : callable, optional
            Called once with the CLOCK_MONOTONIC ns taken right after picows
            ``transport.send`` handed the request frame to the socket (not called when the
            request is refused before sending). Must be cheap; an exception from it is
            counted (``n_callback_errors``) and logged, never raised into the request.

        Raises
        ------
        VenueError
            The venue's error answer (its ``code`` and ``msg`` kept); a local refusal
            (not connected, over budget: retryable, nothing sent); a timeout or a lost
            connection (``is_unknown=True`` for orders: reconcile before acting).
        ConfigError
            `signed` without a signer.
        """
        conn = self._conn
        if conn is None or not conn.is_open:
            self._counters.n_not_connected += 1
            raise VenueError(0, "ws-api: not connected", retryable=True)
        body = self._params(conn, params, signed)
        return await self._send(conn, method, body, weight, is_order, on_sent)

    # ---- sending -------------------------------------------------------------------------

    def _params(
        self, conn: _Conn, params: dict[str, str] | None, signed: bool
    ) -> dict[str, Any] | None:
        # Request params as sent: signed ones stamped and signed (apiKey and signature left
        # out on a logged-on session); integer params as JSON ints (see _INT_PARAMS).
        out: dict[str, Any]
        if signed:
            if self._signer is None:
                raise ConfigError("ws-api: a signed request needs an API key (signer is None)")
            out = dict(params) if params else {}
            out["timestamp"] = str(self._clock_ms())
            out["recvWindow"] = self._recv_window
            if not conn.is_logged_on:
                out.update(ws_signed_params(self._signer, out))
        elif params:
            out = dict(params)
        else:
            return None
        for key in _INT_PARAMS.intersection(out):
            value = out[key]
            if isinstance(value, str) and value.isdigit() and str(int(value)) == value:
                out[key] = int(value)
        return out

    async def _send(
        self,
        conn: _Conn,
        method: str,
        params: dict[str, Any] | None,
        weight: int,
        is_order: bool,
        on_sent: Callable[[int], None] | None = None,
    ) -> Any:
        limits = self._limits
        if limits is not None:
            wait_s = limits.acquire(weight, is_order, self._venue_ns())
            if wait_s > 0:
                self._counters.n_local_throttled += 1
                code = -1015 if limits.last_refusal_kind == "ORDERS" else -1003
                raise VenueError(
                    code,
                    f"local rate limit: {limits.last_refusal}; {method} not sent, "
                    f"retry in {wait_s:.3f} s",
                    retryable=True,
                    retry_after_s=wait_s,
                )
        transport = conn.transport
        if transport is None or not conn.is_open:
            self._counters.n_not_connected += 1
            raise VenueError(0, "ws-api: not connected", retryable=True)
        self._next_id += 1
        req_id = self._next_id
        frame: dict[str, Any] = {"id": req_id, "method": method}
        if params is not None:
            frame["params"] = params
        loop = asyncio.get_running_loop()
        pending = _Pending(loop.create_future(), method, is_order)
        pending.timer = loop.call_later(self._timeout_s, self._on_timeout, conn, req_id)
        conn.pending[req_id] = pending
        transport.send(WSMsgType.TEXT, orjson.dumps(frame))
        if on_sent is not None:
            self._call_on_sent(on_sent, method)
        self._counters.n_requests += 1
        try:
            return await pending.fut
        finally:
            # Cancelled by the caller: forget the request (a late answer is then unmatched).
            if conn.pending.get(req_id) is pending:
                del conn.pending[req_id]
                if pending.timer is not None:
                    pending.timer.cancel()

    def _call_on_sent(self, on_sent: Callable[[int], None], method: str) -> None:
        # The frame is on the socket: a failing hook must not turn the request into an error.
        try:
            on_sent(time.monotonic_ns())
        except Exception:  # dispatch wrapper for the caller's hook
            self._counters.n_callback_errors += 1
            log.exception("wsapi_on_sent_error method=%s", method)

    def _on_timeout(self, conn: _Conn, req_id: int) -> None:
        pending = conn.pending.pop(req_id, None)
        if pending is None or pending.fut.done():
            return
        self._counters.n_timeouts += 1
        log.warning(
            "wsapi_timeout method=%s id=%d is_order=%s timeout_s=%s",
            pending.method,
            req_id,
            pending.is_order,
            self._timeout_s,
        )
        pending.fut.set_exception(
            VenueError(
                0,
                f"ws-api: no answer to {pending.method} within {self._timeout_s}s",
                retryable=not pending.is_order,
                is_unknown=pending.is_order,
            )
        )

    # ---- receiving -----------------------------------------------------------------------

    def _on_message(self, conn: _Conn, data: bytes, recv_ns: int) -> None:
        # Per-message dispatch wrapper: a bug here must not drop the connection (picows
        # disconnects when a listener raises).
        try:
            self._route(conn, data, recv_ns)
        except Exception:
            self._counters.n_dispatch_errors += 1
            log.exception("wsapi_dispatch_error conn=%d frame=%.200r", conn.no, data)

    def _route(self, conn: _Conn, data: bytes, recv_ns: int) -> None:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError:
            self._bad_frame(conn, "not JSON", data)
            return
        if not isinstance(doc, dict):
            self._bad_frame(conn, "not an object", data)
        elif "status" in doc and "id" in doc:
            self._on_answer(conn, doc, data)
        elif "event" in doc:
            self._on_event(conn, doc, recv_ns, data)
        else:
            self._bad_frame(conn, "neither answer nor event", data)

    def _on_answer(self, conn: _Conn, doc: dict[str, Any], data: bytes) -> None:
        now_ns = self._venue_ns()
        limits = self._limits
        rate_limits = doc.get("rateLimits")
        if limits is not None and isinstance(rate_limits, list):
            limits.update_from_ws(rate_limits, now_ns)
        req_id = doc["id"]
        pending = conn.pending.pop(req_id, None) if isinstance(req_id, int) else None
        status = doc["status"]
        error = doc.get("error")
        if pending is None:
            self._counters.n_answers_unmatched += 1
            code, msg = _code_msg(error)
            log.warning(
                "wsapi_answer_unmatched conn=%d id=%.40r status=%r code=%s msg=%.200s",
                conn.no,
                req_id,
                status,
                code,
                msg,
            )
            return
        if pending.timer is not None:
            pending.timer.cancel()
        if pending.fut.done():
            return
        if status == 200:
            self._counters.n_answers_ok += 1
            pending.fut.set_result(doc.get("result"))
            return
        if isinstance(status, bool) or not isinstance(status, int):
            self._counters.n_answers_error += 1
            self._bad_frame(conn, "answer status is not an int", data)
            pending.fut.set_exception(
                VenueError(
                    0,
                    f"ws-api: malformed answer to {pending.method}",
                    retryable=False,
                    is_unknown=pending.is_order,
                )
            )
            return
        self._counters.n_answers_error += 1
        retry_after_s = _retry_after_s(error)
        body = orjson.dumps(error) if error is not None else None
        exc = venue_error(status, body, retry_after_s)
        if status in (418, 429) and limits is not None:
            # Nothing more goes out until the venue's pause ends (a 429 storm must not
            # become a 418 ban by us continuing); an order-count 429 stops only orders.
            orders_only = status == 429 and exc.code == -1015
            limits.block(retry_after_s, now_ns, status == 418, orders_only=orders_only)
        log.info(
            "wsapi_error method=%s status=%d code=%d msg=%.200s",
            pending.method,
            status,
            exc.code,
            exc.msg,
        )
        pending.fut.set_exception(exc)

    def _on_event(self, conn: _Conn, doc: dict[str, Any], recv_ns: int, data: bytes) -> None:
        event = doc["event"]
        if not isinstance(event, dict):
            self._bad_frame(conn, "event is not an object", data)
            return
        if event.get("e") == "serverShutdown":
            self._counters.n_server_shutdowns += 1
            log.warning("wsapi_server_shutdown conn=%d", conn.no)
            self._signal(conn, "serverShutdown")
            return
        self._counters.n_user_events += 1
        for callback in self._callbacks:
            try:
                callback(event, recv_ns)
            except Exception:  # dispatch wrapper: one bad consumer must not stop the rest
                self._counters.n_callback_errors += 1
                log.exception("wsapi_callback_error event=%.40r", event.get("e"))

    def _bad_frame(self, conn: _Conn, why: str, data: bytes) -> None:
        self._counters.n_frames_malformed += 1
        self._bad_frames.warning(
            "wsapi_frame_malformed conn=%d why=%s frame=%.200r", conn.no, why, data
        )

    def _on_closed(self, conn: _Conn) -> None:
        conn.is_open = False
        conn.closed.set()
        if conn.age_timer is not None:
            conn.age_timer.cancel()
        pending, conn.pending = conn.pending, {}
        for req_id, p in pending.items():
            if p.timer is not None:
                p.timer.cancel()
            if p.fut.done():
                continue
            self._counters.n_failed_by_disconnect += 1
            log.warning(
                "wsapi_request_lost method=%s id=%d is_order=%s", p.method, req_id, p.is_order
            )
            p.fut.set_exception(
                VenueError(
                    0,
                    f"ws-api: connection lost before the answer to {p.method}",
                    retryable=not p.is_order,
                    is_unknown=p.is_order,
                )
            )
        self._retired.discard(conn)
        if conn is self._conn and not self._is_closing:
            self._counters.n_disconnects += 1
            log.warning("wsapi_disconnected conn=%d", conn.no)
            self._signal(conn, "disconnect")

    # ---- connection life -----------------------------------------------------------------

    async def _open(self) -> _Conn:
        # A new connection, warmed by one round trip and logged on with an Ed25519 key.
        self._n_conns += 1
        conn = _Conn(self._n_conns)
        listener = FrameListener(
            lambda data, recv_ns: self._on_message(conn, data, recv_ns),
            lambda: self._on_closed(conn),
        )
        conn.listener = listener
        try:
            conn.transport = await open_ws(self._ep.ws_api_url, listener, self._timeout_s, "ws-api")
        except VenueError:
            self._counters.n_connect_failures += 1
            raise
        conn.is_open = True
        conn.opened_mono = time.monotonic()
        try:
            await self._send(conn, "ping", None, 1, False)
            signer = self._signer
            if signer is not None and signer.kind == "ED25519":
                params = self._params(conn, None, True)
                result = await self._send(conn, "session.logon", params, 2, False)
                conn.is_logged_on = True
                self._counters.n_logons += 1
                log.info("wsapi_logon conn=%d since=%s", conn.no, _field(result, "authorizedSince"))
        except BaseException:
            self._counters.n_connect_failures += 1
            await self._shut(conn)
            raise
        self._counters.n_connects += 1
        log.info("wsapi_connected conn=%d venue=%s", conn.no, self._ep.venue)
        return conn

    def _install(self, conn: _Conn) -> None:
        # Make `conn` the connection requests go to; plan its replacement before 24 h.
        self._conn = conn
        loop = asyncio.get_running_loop()
        conn.age_timer = loop.call_later(self.max_age_s, self._signal, conn, "lifetime")

    def _signal(self, conn: _Conn, reason: str) -> None:
        # Wake the supervisor about the current connection; stale signals are ignored there.
        if conn is not self._conn or self._is_closing:
            return
        self._trouble_conn = conn
        self._trouble_reason = reason
        self._trouble.set()

    async def _supervise(self) -> None:
        # Task: repair or replace the connection whenever `_signal` fires, until close().
        while not self._is_closing:
            try:
                await self._repair()
            except asyncio.CancelledError:
                raise
            except Exception:  # supervisor: never stop repairing the connection
                self._counters.n_supervisor_errors += 1
                log.exception("wsapi_supervisor_error")
                await asyncio.sleep(self.backoff_max_s)

    async def _repair(self) -> None:
        # One repair: wait for trouble on the current connection (or none left after an
        # earlier repair failed), reconnect or switch, then run the hooks.
        old = self._conn
        reason = "disconnect"
        if old is not None:
            await self._trouble.wait()
            self._trouble.clear()
            if self._is_closing or self._trouble_conn is not old or old is not self._conn:
                return  # a stale signal of a replaced connection
            reason = self._trouble_reason
            lived_s = time.monotonic() - old.opened_mono
            self._streak = 0 if lived_s >= STABLE_AFTER_S else self._streak + 1
        if old is None or reason == "disconnect" or not old.is_open:
            self._conn = None
            new = await self._reconnect(self._delay_s())
            log.info("wsapi_reconnected conn=%d after=%s", new.no, reason)
        else:
            new = await self._reconnect(0.0)
            self._counters.n_switches += 1
            self._retired.add(old)
            asyncio.get_running_loop().create_task(self._retire(old))
            log.info("wsapi_switched old=%d new=%d reason=%s", old.no, new.no, reason)
        self._install(new)
        await self._run_hooks()

    def _delay_s(self) -> float:
        if self._streak == 0:
            return 0.0
        return min(self.backoff_max_s, self.backoff_min_s * 2.0 ** (self._streak - 1))

    async def _reconnect(self, first_delay_s: float) -> _Conn:
        delay_s = first_delay_s
        while True:
            if delay_s > 0:
                await asyncio.sleep(delay_s)
            try:
                return await self._open()
            except VenueError as exc:
                log.warning("wsapi_connect_failed error=%.200s retry_in_s=%s", exc.msg, delay_s)
                delay_s = min(self.backoff_max_s, max(self.backoff_min_s, delay_s * 2))

    async def _retire(self, conn: _Conn) -> None:
        # Let answers still due on a replaced connection arrive (each pending request ends
        # by answer, timeout or drop), then close it.
        futures = [p.fut for p in conn.pending.values()]
        if futures:
            await asyncio.wait(futures, timeout=self._timeout_s)
        await self._shut(conn)
        self._retired.discard(conn)

    async def _run_hooks(self) -> None:
        for hook in self._hooks:
            try:
                await hook()
            except asyncio.CancelledError:
                raise
            except Exception:  # supervisor: a failing hook must not stop reconnecting
                self._counters.n_callback_errors += 1
                log.exception("wsapi_reconnect_hook_error")

    async def _shut(self, conn: _Conn) -> None:
        transport = conn.transport
        if transport is None or conn.closed.is_set():
            conn.is_open = False
            return
        if not await close_ws(transport, conn.closed, self._timeout_s):
            log.warning("wsapi_close_timeout conn=%d", conn.no)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _field(result: Any, key: str) -> Any:
    return result.get(key) if isinstance(result, dict) else None


def _code_msg(error: Any) -> tuple[Any, Any]:
    if isinstance(error, dict):
        return error.get("code"), error.get("msg")
    return None, None


def _retry_after_s(error: Any) -> float:
    # A 429/418 answer's error.data.retryAfter is the epoch ms when sending may resume;
    # measured against error.data.serverTime when given, else our wall clock.
    if not isinstance(error, dict):
        return 0.0
    data = error.get("data")
    if not isinstance(data, dict):
        return 0.0
    until = data.get("retryAfter")
    if isinstance(until, bool) or not isinstance(until, int):
        return 0.0
    now = data.get("serverTime")
    if isinstance(now, bool) or not isinstance(now, int):
        now = _wall_ms()
    return max(0.0, (until - now) / 1000.0)
