"""Binance websocket market streams over aiohttp: connections, subscriptions, fan-out, timers.

Owns the stream protocol as the server applies it (raw ``/ws``, combined ``/stream``, the JSON
control methods with Binance's exact replies and errors), per-connection rules (inbound rate,
1024 streams, server pings and pong timeout, 24 h lifetime, bounded send queue) and the depth
accumulators' flush timers. It must not make market data: events arrive via `publish`.

Choices where Binance's behaviour is not documented (see exchange-protocols.md §1-§3):
- A stream on the wrong USD-M family (``btcusdt@aggTrade`` on ``/public``) or a malformed name
  is ``{"code":2,"msg":"Invalid request: invalid stream"}`` (the text Binance sends for bad
  names); in a URL it fails the handshake with HTTP 400 and that body.
- More than 1024 streams: ``{"code":2,"msg":"Invalid request: too many streams"}`` / HTTP 400.
- Error replies carry ``"id"`` only for code 0, as in Binance's error table.
- With only the USD-M venue, legacy ``/ws`` and ``/stream`` accept the handshake and the
  control methods but never push data (as reported after 2026-04-23); with spot enabled
  those paths are spot's.
- A stall fault holds frames and releases them in order when it ends (nothing is dropped).
- A gap fault adds N to ``U`` (and ``pu`` on USD-M) of the next diff sent on each depth
  stream of the symbol; ``u`` becomes at least ``U``.
- Close codes: 1000 lifetime and shutdown, 1008 inbound rate, pong timeout, slow consumer,
  and fault drops.
"""

import asyncio
import collections
import importlib
import json
import logging
import re
import time
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from typing import Protocol
from typing import cast

import orjson
from aiohttp import WSMsgType
from aiohttp import web

__all__ = [
    "SPOT_POLICY",
    "USDM_POLICY",
    "Connections",
    "DepthAccumulatorLike",
    "DepthDiffLike",
    "StreamEvent",
    "StreamHub",
    "StreamPolicy",
    "WsConn",
]

log = logging.getLogger(__name__)

# A listenKey is a bearer secret for a user's data stream: never in a log line or admin view.
_LISTEN_KEY_RE = re.compile(r"(/private/ws/|listenKey=)[^/&?]+")


def redact_path(path_qs: str) -> str:
    """Return a request path with every listenKey replaced by ``<redacted>``."""
    return _LISTEN_KEY_RE.sub(r"\1<redacted>", path_qs)


CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008
_MAX_ID = 2**63 - 1
_ID_STR_RE = re.compile(r"[A-Za-z0-9]{1,36}")
_STREAM_RE = re.compile(r"(?:[a-z0-9_]+|![A-Za-z0-9_]+)@[A-Za-z0-9_@:+.]+|![A-Za-z0-9_]+")
_METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_METHODS_TEXT = ", ".join(f"`{m}`" for m in _METHODS)
# Diff-depth stream suffixes and their flush period, ms, per venue.
DEPTH_SPEEDS: dict[str, dict[str, int]] = {
    "spot": {"@depth": 1000, "@depth@100ms": 100},
    "usdm": {"@depth": 250, "@depth@100ms": 100, "@depth@500ms": 500},
}


class StreamEvent(Protocol):
    """A market-data event from the exchange core (md.py): names the streams it feeds."""

    @property
    def symbol(self) -> str: ...

    def streams(self) -> tuple[str, ...]: ...

    def payload(self) -> dict[str, Any]: ...


class DepthDiffLike(Protocol):
    """md.DepthDiff as the hub consumes it: the payload depends on the venue."""

    @property
    def symbol(self) -> str: ...

    def streams(self) -> tuple[str, ...]: ...

    def payload(self, venue: str) -> dict[str, Any]: ...


class DepthAccumulatorLike(Protocol):
    """md.DepthAccumulator: merges diffs, `flush` returns None when nothing changed."""

    def add(self, diff: Any) -> None: ...

    def flush(self, now_ms: int) -> DepthDiffLike | None: ...


AccumulatorFactory = Callable[[str, str], DepthAccumulatorLike]


@dataclass(frozen=True, slots=True)
class StreamPolicy:
    """Per-connection rules of one venue's websocket servers.

    Parameters
    ----------
    inbound_per_s : int
        Messages a client may send per second (text, ping, pong); more disconnects.
    max_streams : int
        Streams one connection may hold.
    ping_interval_s, pong_timeout_s : float
        Server ping period; disconnect when no answering pong for this long, seconds.
    lifetime_s : float
        The server closes every connection this long after it opened, seconds.
    send_queue_max : int
        Frames queued for one client; one more disconnects it as a slow consumer.
    close_timeout_s : float
        How long a close handshake may take before the transport is aborted, seconds.
    """

    inbound_per_s: int
    ping_interval_s: float
    pong_timeout_s: float
    max_streams: int = 1024
    lifetime_s: float = 86_400.0
    send_queue_max: int = 4096
    close_timeout_s: float = 2.0


SPOT_POLICY = StreamPolicy(inbound_per_s=5, ping_interval_s=20.0, pong_timeout_s=60.0)
USDM_POLICY = StreamPolicy(inbound_per_s=10, ping_interval_s=180.0, pong_timeout_s=600.0)


class WsConn:
    """One websocket client: identity, subscriptions and a bounded queue drained by a writer.

    `offer` never blocks: it appends to the queue or, when the queue is full, disconnects the
    client. All counters live on the owning `Connections`.
    """

    __slots__ = (
        "_close_code",
        "_inbound",
        "_lifetime",
        "_queue",
        "_tasks",
        "_wakeup",
        "close_reason",
        "combined",
        "conns",
        "family",
        "id",
        "kind",
        "last_pong_mono",
        "opened_mono",
        "path",
        "ping_payload",
        "policy",
        "streams",
        "transport",
        "ws",
    )

    def __init__(
        self,
        conns: "Connections",
        conn_id: int,
        kind: str,
        path: str,
        ws: web.WebSocketResponse,
        policy: StreamPolicy,
        transport: asyncio.BaseTransport | None,
    ) -> None:
        self.conns = conns
        self.id = conn_id
        self.kind = kind
        self.path = path
        self.ws = ws
        self.policy = policy
        self.transport = transport
        self.family = ""
        self.streams: dict[str, None] = {}  # insertion-ordered set
        self.combined = False
        self.opened_mono = time.monotonic()
        self.last_pong_mono = self.opened_mono
        self.ping_payload = b""
        self.close_reason: str | None = None
        self._close_code = CLOSE_NORMAL
        self._queue: collections.deque[bytes] = collections.deque()
        self._wakeup = asyncio.Event()
        self._inbound: collections.deque[float] = collections.deque()
        self._tasks: list[asyncio.Task[None]] = []
        self._lifetime: asyncio.TimerHandle | None = None

    def offer(self, data: bytes) -> bool:
        """Queue one text frame; on overflow disconnect as a slow consumer. O(1)."""
        if self.close_reason is not None:
            return False
        if len(self._queue) >= self.policy.send_queue_max:
            self.conns.n_slow_disconnects += 1
            self.close(CLOSE_POLICY, "slow_consumer", drain=False)
            return False
        self._queue.append(data)
        self._wakeup.set()
        return True

    def close(self, code: int, reason: str, *, drain: bool = True) -> None:
        """Close the connection after queued frames (or at once with ``drain=False``)."""
        if self.close_reason is not None:
            return
        self.close_reason = reason
        self._close_code = code
        self.conns.count_close(reason)
        log.info("ws_close conn=%d path=%s reason=%s", self.id, self.path, reason)
        if not drain:
            self._queue.clear()
            for task in self._tasks:
                task.cancel()
            self._tasks.append(asyncio.get_running_loop().create_task(self._shutdown()))
        self._wakeup.set()

    def note_inbound(self, now_mono: float) -> bool:
        """Count one inbound message; False (and close) past the per-second limit.

        The limit is Binance's rule for market-stream connections only: the WS API is
        limited by request weight and order counts instead, so ``"api"`` connections pass.
        """
        if self.kind == "api":
            return True
        window = self._inbound
        window.append(now_mono)
        while window and now_mono - window[0] >= 1.0:
            window.popleft()
        if len(window) > self.policy.inbound_per_s:
            self.conns.n_rate_disconnects += 1
            self.close(CLOSE_POLICY, "inbound_rate", drain=False)
            return False
        return True

    def note_pong(self, data: bytes) -> None:
        """Accept a pong; only one answering our last ping keeps the connection alive."""
        if self.ping_payload and data == self.ping_payload:
            self.last_pong_mono = time.monotonic()
            self.ping_payload = b""

    def describe(self) -> dict[str, object]:
        """Admin view: id, kind, path, streams, age in ms."""
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "streams": list(self.streams),
            "combined": self.combined,
            "age_ms": int((time.monotonic() - self.opened_mono) * 1000),
        }

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._writer()))
        self._tasks.append(loop.create_task(self._heartbeat()))
        self._lifetime = loop.call_later(
            self.policy.lifetime_s, self.close, CLOSE_NORMAL, "lifetime"
        )

    async def stop_tasks(self) -> None:
        if self._lifetime is not None:
            self._lifetime.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _writer(self) -> None:
        ws = self.ws
        while True:
            while self._queue:
                await ws.send_frame(self._queue.popleft(), WSMsgType.TEXT)
            if self.close_reason is not None:
                break
            self._wakeup.clear()
            await self._wakeup.wait()
        await self._shutdown()

    async def _shutdown(self) -> None:
        try:
            async with asyncio.timeout(self.policy.close_timeout_s):
                await self.ws.close(
                    code=self._close_code, message=(self.close_reason or "").encode()
                )
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()  # type: ignore[attr-defined]

    async def _heartbeat(self) -> None:
        n = 0
        while self.close_reason is None:
            await asyncio.sleep(self.policy.ping_interval_s)
            if time.monotonic() - self.last_pong_mono > self.policy.pong_timeout_s:
                self.conns.n_pong_timeouts += 1
                self.close(CLOSE_POLICY, "pong_timeout", drain=False)
                return
            n += 1
            if not self.ping_payload:
                self.ping_payload = str(n).encode()
            await self.ws.ping(self.ping_payload)


TextHandler = Callable[[WsConn, str], Awaitable[None] | None]


class Connections:
    """Every websocket client of the server (streams, user data, WS API), by id.

    Attributes
    ----------
    n_opened, n_slow_disconnects, n_rate_disconnects, n_pong_timeouts : int
        Counters for the admin page and tests.
    closed_by_reason : dict of str to int
        Closes per reason (``lifetime``, ``slow_consumer``, ``fault_drop``, ...).
    """

    def __init__(self) -> None:
        self._conns: dict[int, WsConn] = {}
        self._next_id = 1
        self.n_opened = 0
        self.n_slow_disconnects = 0
        self.n_rate_disconnects = 0
        self.n_pong_timeouts = 0
        self.n_handler_crashes = 0
        self.closed_by_reason: dict[str, int] = {}

    def count_close(self, reason: str) -> None:
        self.closed_by_reason[reason] = self.closed_by_reason.get(reason, 0) + 1

    def get(self, conn_id: int) -> WsConn | None:
        """Return the open connection with `conn_id`, or None."""
        return self._conns.get(conn_id)

    def all(self) -> list[WsConn]:
        """Open connections in id order."""
        return list(self._conns.values())

    async def serve(
        self,
        request: web.Request,
        policy: StreamPolicy,
        kind: str,
        on_open: Callable[[WsConn], None],
        on_text: TextHandler,
        on_close: Callable[[WsConn], None],
    ) -> web.WebSocketResponse:
        """Upgrade `request` and run the connection until either side closes it."""
        ws = web.WebSocketResponse(autoping=False, compress=False, timeout=policy.close_timeout_s)
        await ws.prepare(request)
        conn = WsConn(
            self, self._next_id, kind, redact_path(request.path_qs), ws, policy, request.transport
        )
        self._next_id += 1
        self._conns[conn.id] = conn
        self.n_opened += 1
        log.info("ws_open conn=%d kind=%s path=%s", conn.id, kind, conn.path)
        try:
            on_open(conn)
            conn.start()
            await self._receive(conn, on_text)
        finally:
            conn.close(CLOSE_NORMAL, "client_closed", drain=False)
            self._conns.pop(conn.id, None)
            on_close(conn)
            await conn.stop_tasks()
            if not ws.closed:
                await conn._shutdown()
        return ws

    async def _receive(self, conn: WsConn, on_text: TextHandler) -> None:
        ws = conn.ws
        async for msg in ws:
            if conn.close_reason is not None or not conn.note_inbound(time.monotonic()):
                break
            if msg.type is WSMsgType.TEXT:
                try:
                    done = on_text(conn, cast(str, msg.data))
                    if done is not None:
                        await done
                except asyncio.CancelledError:
                    raise
                except Exception:
                    self.n_handler_crashes += 1
                    log.exception("ws_handler_crash conn=%d", conn.id)
            elif msg.type is WSMsgType.PING:
                await ws.pong(cast(bytes, msg.data))
            elif msg.type is WSMsgType.PONG:
                conn.note_pong(cast(bytes, msg.data))


def stream_family(stream: str) -> str:
    """Return the USD-M path family serving `stream`: ``public`` or ``market``."""
    kind = stream.partition("@")[2] if "@" in stream else stream.lstrip("!")
    if stream.startswith("!") and "@" in stream:
        kind = stream[1:]
    return "public" if kind.startswith(("bookTicker", "depth")) else "market"


def _reply(result: object, req_id: object) -> bytes:
    return orjson.dumps({"result": result, "id": req_id})


def _error(code: int, msg: str) -> bytes:
    return orjson.dumps({"code": code, "msg": msg})


def _end_position(text: str) -> tuple[int, int]:
    lines = text.rstrip().split("\n")
    return len(lines), len(lines[-1])


def _valid_id(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -_MAX_ID - 1 <= value <= _MAX_ID
    return isinstance(value, str) and _ID_STR_RE.fullmatch(value) is not None


class StreamHub:
    """Fan market-data events of one venue out to subscribed stream connections.

    `publish` and `tick` never await and never block on a client: each frame is serialised
    once per shape (raw, combined) and offered to each subscriber's bounded queue.

    Parameters
    ----------
    venue : {"spot", "usdm"}
        Venue whose events this hub carries.
    clock_ms : callable
        Server clock, ms since the epoch; drives flush timers, stalls and event times.
    connections : Connections
        Registry the hub's connections join.
    policy : StreamPolicy
        Connection rules (SPOT_POLICY / USDM_POLICY by default).
    accumulator_factory : callable, optional
        ``(symbol, venue) -> DepthAccumulator``; defaults to ``veloz.sim.md.DepthAccumulator``.
    """

    def __init__(
        self,
        venue: str,
        clock_ms: Callable[[], int],
        connections: Connections,
        policy: StreamPolicy | None = None,
        accumulator_factory: AccumulatorFactory | None = None,
    ) -> None:
        if venue not in DEPTH_SPEEDS:
            raise ValueError(f"venue must be spot or usdm, got {venue!r}")
        self.venue = venue
        self.clock_ms = clock_ms
        self.connections = connections
        self.policy = policy or (SPOT_POLICY if venue == "spot" else USDM_POLICY)
        self._factory = accumulator_factory
        self._speeds = DEPTH_SPEEDS[venue]
        self._subs: dict[str, set[WsConn]] = {}
        self._conns: set[WsConn] = set()
        # stream name -> (period ms, accumulator); created on a symbol's first diff.
        self._accs: dict[str, tuple[int, DepthAccumulatorLike]] = {}
        self._next_due: dict[int, int] = {}
        self._gaps: dict[str, int] = {}
        self._stalls: dict[str, int] = {}
        self._held: list[tuple[str, bytes]] = []
        self.n_events = 0
        self.n_frames = 0
        self.n_gaps_applied = 0
        self.n_held = 0

    # ---- event path ---------------------------------------------------------------------

    def publish(self, event: object) -> None:
        """Route one md event: depth diffs into accumulators, the rest straight out."""
        self.n_events += 1
        names = cast(StreamEvent, event).streams()
        if names and names[0].endswith(("@depth", "@depth@100ms")):
            self._accumulate(cast(DepthDiffLike, event))
            return
        data: bytes | None = None
        for name in names:
            if name in self._subs:
                if data is None:
                    data = orjson.dumps(cast(StreamEvent, event).payload())
                self.fanout(name, data)

    def _accumulate(self, diff: DepthDiffLike) -> None:
        sym = diff.symbol.lower()
        stream = sym + "@depth"
        if stream not in self._accs:
            factory = self._factory or _md_accumulator
            for suffix, period in self._speeds.items():
                self._accs[sym + suffix] = (period, factory(diff.symbol, self.venue))
        for _, acc in (self._accs[sym + suffix] for suffix in self._speeds):
            acc.add(diff)

    def tick(self, now_ms: int) -> None:
        """Release ended stalls and flush every accumulator whose period is due at `now_ms`."""
        if self._stalls:
            self._release(now_ms)
        due: set[int] = set()
        for period in set(self._speeds.values()):
            next_ms = self._next_due.get(period)
            if next_ms is None or now_ms >= next_ms:
                due.add(period)
                self._next_due[period] = now_ms - now_ms % period + period
        if not due:
            return
        for stream, (period, acc) in self._accs.items():
            if period in due:
                self._flush(stream, acc, now_ms)

    def flush_symbol(self, symbol: str, now_ms: int) -> None:
        """Send every pending diff of `symbol` now, on each depth stream, ahead of its period.

        Afterwards each depth stream's last sent ``u`` is the symbol's current update id, so
        a client's book can be compared with the engine's (the admin book view uses this).
        """
        sym = symbol.lower()
        for suffix in self._speeds:
            entry = self._accs.get(sym + suffix)
            if entry is not None:
                self._flush(sym + suffix, entry[1], now_ms)

    def _flush(self, stream: str, acc: DepthAccumulatorLike, now_ms: int) -> None:
        diff = acc.flush(now_ms)
        if diff is None:
            return
        payload = diff.payload(self.venue)
        if self._gaps and stream in self._gaps:
            self._apply_gap(stream, payload)
        if stream in self._subs:
            self.fanout(stream, orjson.dumps(payload))

    def next_due_ms(self) -> int:
        """Earliest time a flush is due, ms (for the timer task)."""
        return min(self._next_due.values(), default=0)

    def fanout(self, stream: str, data: bytes) -> None:
        """Offer `data` (a raw payload) to every subscriber of `stream`, held if stalled."""
        conns = self._subs.get(stream)
        if not conns:
            return
        if self._stalls and self._is_stalled(stream):
            self._held.append((stream, data))
            self.n_held += 1
            return
        combined: bytes | None = None
        for conn in tuple(conns):
            self.n_frames += 1
            if conn.combined:
                if combined is None:
                    combined = b'{"stream":"' + stream.encode() + b'","data":' + data + b"}"
                conn.offer(combined)
            else:
                conn.offer(data)

    # ---- faults -------------------------------------------------------------------------

    def inject_gap(self, symbol: str, n: int) -> None:
        """Make the next diff on each depth stream of `symbol` jump ``U`` by `n`."""
        sym = symbol.lower()
        for suffix in self._speeds:
            self._gaps[sym + suffix] = self._gaps.get(sym + suffix, 0) + n

    def stall(self, key: str, until_ms: int) -> None:
        """Hold frames of stream `key` (or of every stream of symbol `key`) until `until_ms`."""
        self._stalls[key.lower() if "@" not in key else key] = until_ms

    def active_stalls(self) -> dict[str, int]:
        """Stalls in force: key -> end, ms."""
        return dict(self._stalls)

    def _apply_gap(self, stream: str, payload: dict[str, Any]) -> None:
        n = self._gaps.pop(stream)
        payload["U"] = int(payload["U"]) + n
        payload["u"] = max(int(payload["u"]), payload["U"])
        if "pu" in payload:
            payload["pu"] = int(payload["pu"]) + n
        self.n_gaps_applied += 1
        log.info("fault_gap_applied stream=%s n=%d", stream, n)

    def _is_stalled(self, stream: str) -> bool:
        return stream in self._stalls or stream.partition("@")[0] in self._stalls

    def _release(self, now_ms: int) -> None:
        ended = [k for k, until in self._stalls.items() if now_ms >= until]
        if not ended:
            return
        for key in ended:
            del self._stalls[key]
            log.info("fault_stall_released key=%s", key)
        held, self._held = self._held, []
        for stream, data in held:
            self.fanout(stream, data)

    # ---- connections --------------------------------------------------------------------

    def subscribe(self, conn: WsConn, streams: list[str]) -> None:
        for name in streams:
            conn.streams[name] = None
            if conn.family != "legacy":
                self._subs.setdefault(name, set()).add(conn)

    def unsubscribe(self, conn: WsConn, streams: list[str]) -> None:
        for name in streams:
            conn.streams.pop(name, None)
            subs = self._subs.get(name)
            if subs is not None:
                subs.discard(conn)
                if not subs:
                    del self._subs[name]

    def check_streams(self, family: str, current: int, streams: list[str]) -> str | None:
        """Return the Binance error text for `streams` on `family`, or None if acceptable."""
        for name in streams:
            if _STREAM_RE.fullmatch(name) is None:
                return "Invalid request: invalid stream"
            if family in ("public", "market") and stream_family(name) != family:
                return "Invalid request: invalid stream"
        if current + len(streams) > self.policy.max_streams:
            return "Invalid request: too many streams"
        return None

    def add_routes(self, app: web.Application, prefix: str, family: str) -> None:
        """Serve ``<prefix>/ws``, ``<prefix>/ws/<s1>/<s2>`` and ``<prefix>/stream`` on `app`."""

        async def raw(request: web.Request) -> web.StreamResponse:
            tail = request.match_info.get("streams", "")
            return await self.handle(request, family, False, [s for s in tail.split("/") if s])

        async def combined(request: web.Request) -> web.StreamResponse:
            query = request.query.get("streams", "")
            return await self.handle(request, family, True, [s for s in query.split("/") if s])

        app.router.add_get(prefix + "/ws", raw)
        app.router.add_get(prefix + "/ws/{streams:.+}", raw)
        app.router.add_get(prefix + "/stream", combined)

    async def handle(
        self, request: web.Request, family: str, is_combined: bool, streams: list[str]
    ) -> web.StreamResponse:
        """Serve one stream connection on `family` (spot, public, market or legacy)."""
        unique = list(dict.fromkeys(streams))
        problem = self.check_streams(family, 0, unique)
        if problem is not None:
            return web.Response(
                status=400, body=_error(2, problem), content_type="application/json"
            )

        def on_open(conn: WsConn) -> None:
            conn.family = family
            conn.combined = is_combined
            self._conns.add(conn)
            self.subscribe(conn, unique)

        def on_close(conn: WsConn) -> None:
            self._conns.discard(conn)
            self.unsubscribe(conn, list(conn.streams))

        return await self.connections.serve(
            request, self.policy, "stream", on_open, self._on_text, on_close
        )

    def _on_text(self, conn: WsConn, text: str) -> None:
        reply = self.control(conn, text)
        if reply is not None:
            conn.offer(reply)

    def control(self, conn: WsConn, text: str) -> bytes:
        """Apply one JSON control message and return Binance's reply bytes."""
        try:
            req = json.loads(text)
        except json.JSONDecodeError as exc:
            return _error(
                3, f"Invalid JSON: expected value at line {exc.lineno} column {exc.colno}"
            )
        if not isinstance(req, dict) or "method" not in req:
            line, col = _end_position(text)
            return _error(2, f"Invalid request: missing field `method` at line {line} column {col}")
        method = req["method"]
        if method not in _METHODS:
            col = text.find(json.dumps(method)) + len(json.dumps(method))
            return _error(
                2,
                f"Invalid request: unknown variant `{method}`, expected one of {_METHODS_TEXT} "
                f"at line 1 column {col}",
            )
        if set(req) - {"method", "params", "id"}:
            return _error(2, "Invalid request: too many parameters")
        if "id" not in req or not _valid_id(req["id"]):
            return _error(2, "Invalid request: request ID must be an unsigned integer")
        req_id = req["id"]
        params = req.get("params", [])
        if not isinstance(params, list):
            return _error(2, "Invalid request: params must be a list")
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return self._subscription(conn, method, params, req_id)
        if method == "LIST_SUBSCRIPTIONS":
            if params:
                return _error(2, "Invalid request: too many parameters")
            return _reply(list(conn.streams), req_id)
        want = 2 if method == "SET_PROPERTY" else 1
        if len(params) > want:
            return _error(2, "Invalid request: too many parameters")
        if not params or not isinstance(params[0], str):
            return _error(2, "Invalid request: property name must be a string")
        if params[0] != "combined":
            return orjson.dumps({"code": 0, "msg": "Unknown property", "id": req_id})
        if method == "GET_PROPERTY":
            return _reply(conn.combined, req_id)
        if len(params) < 2 or not isinstance(params[1], bool):
            return _error(1, "Invalid value type: expected Boolean")
        conn.combined = params[1]
        return _reply(None, req_id)

    def _subscription(self, conn: WsConn, method: str, params: list[Any], req_id: Any) -> bytes:
        if not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: invalid stream")
        names = list(dict.fromkeys(cast(list[str], params)))
        if method == "UNSUBSCRIBE":
            self.unsubscribe(conn, names)
            return _reply(None, req_id)
        new = [n for n in names if n not in conn.streams]
        problem = self.check_streams(conn.family, len(conn.streams), new)
        if problem is not None:
            return _error(2, problem)
        self.subscribe(conn, new)
        return _reply(None, req_id)

    def shutdown_notice(self) -> None:
        """Send ``serverShutdown`` to every stream connection of this hub and close it."""
        event = orjson.dumps({"e": "serverShutdown", "E": self.clock_ms()})
        wrapped = b'{"stream":"!serverShutdown","data":' + event + b"}"
        for conn in tuple(self._conns):
            conn.offer(wrapped if conn.combined else event)
            conn.close(CLOSE_NORMAL, "shutdown")


def _md_accumulator(symbol: str, venue: str) -> DepthAccumulatorLike:
    # Imported late: md.py belongs to the exchange core and may be built after this module.
    md = importlib.import_module("veloz.sim.md")
    return cast(DepthAccumulatorLike, md.DepthAccumulator(symbol, venue))
