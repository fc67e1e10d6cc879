"""`StreamHub`: the websocket side -- accepted connections, their streams, pings and stream cues.

Owns the path groups (spot; USD-M public, market and the silent legacy paths), SUBSCRIBE & co,
the fan-out of each market step, server pings and pong deadlines, the inbound message limit,
and the cues that bend the streams (gap, malformed, wrong symbol, disconnect, stall, shutdown).
"""

import asyncio
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSMsgType
from aiohttp import web

from tests.integration.hostile.counters import HostileCounters
from tests.integration.hostile.market import OTHER_SYMBOL
from tests.integration.hostile.market import Market

log = logging.getLogger(__name__)

__all__ = ["StreamHub", "WsConn"]


@dataclass(eq=False)
class WsConn:
    """One accepted websocket: its path group, streams and state (read-only for tests)."""

    cid: int
    ws: web.WebSocketResponse
    request: web.Request
    group: str  # "spot", "public", "market" or "legacy" (USD-M /ws, /stream: no data)
    combined: bool
    streams: set[str]
    opened_s: float
    first_depth_u: int | None = None  # u of the first depth event written to it
    n_frames: int = 0
    stalled_until_s: float = 0.0
    close_at_s: float | None = None  # after a serverShutdown notice
    next_ping_s: float = 0.0
    ping_outstanding_since_s: float | None = None
    inbound_window_s: float = 0.0
    inbound_in_window: int = 0
    closed: bool = False


class StreamHub:
    """Every websocket the server accepted, and what each market step writes to them.

    The cue fields (`gap_left`, `malformed_next`, `wrong_symbol_next`, `disconnect_next`,
    `shutdown_next`) are set by `HostileServer` and consumed by the next `tick`.
    """

    def __init__(
        self,
        *,
        market: Market,
        counters: HostileCounters,
        now_s: Callable[[], float],
        server_ms: Callable[[], int],
        ping_interval_s: float,
        pong_timeout_s: float,
        max_inbound_per_s: int,
    ) -> None:
        self._market = market
        self._counters = counters
        self._now_s = now_s
        self._server_ms = server_ms
        self.ping_interval_s = ping_interval_s
        self.pong_timeout_s = pong_timeout_s
        self.max_inbound_per_s = max_inbound_per_s
        self.conns: list[WsConn] = []  # every connection ever accepted, in order
        self.gap_left = 0
        self.malformed_next = 0
        self.wrong_symbol_next = 0
        self.disconnect_next: bool | None = None  # None, or abrupt?
        self.shutdown_next: float | None = None  # close_after_s of a pending notice
        self._cid = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def add_routes(self, app: web.Application) -> None:
        """Route the stream paths of the market's API (spot, or USD-M and its legacy paths)."""
        groups = ("public", "market") if self._market.is_usdm else ("spot",)
        for group in groups:
            prefix = "" if group == "spot" else f"/{group}"
            app.router.add_get(f"{prefix}/stream", self._ws_handler(group, combined=True))
            app.router.add_get(f"{prefix}/ws", self._ws_handler(group, combined=False))
            app.router.add_get(f"{prefix}/ws/{{tail:.+}}", self._ws_handler(group, False))
        if self._market.is_usdm:  # the pre-2026-03 paths: the handshake succeeds, nothing arrives
            app.router.add_get("/stream", self._ws_handler("legacy", combined=True))
            app.router.add_get("/ws/{tail:.+}", self._ws_handler("legacy", combined=False))

    async def close(self) -> None:
        """Drop every websocket without ceremony and end the pending close handshakes."""
        for conn in self.conns:
            if not conn.closed and conn.request.transport is not None:
                conn.request.transport.abort()
            conn.closed = True
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def open_conns(self) -> list[WsConn]:
        """The connections not closed yet, oldest first."""
        return [c for c in self.conns if not c.closed]

    def newest_first_depth_u(self) -> int | None:
        """The u of the first depth event written to the newest connection that had one."""
        for conn in reversed(self.conns):
            if conn.first_depth_u is not None:
                return conn.first_depth_u
        return None

    # -- producer -------------------------------------------------------------------------

    async def tick(self) -> None:
        """Apply the connection cues, move the market one step and write it to subscribers."""
        now = self._now_s()
        await self._connection_cues(now)
        step = self._market.step()
        ms = self._server_ms()
        depth = self._market.depth_event(step, ms)
        depth_payload = orjson.dumps(depth).decode()
        withheld = self.gap_left > 0
        if withheld:
            self.gap_left -= 1
            self._counters.n_depth_skipped += 1
        # Extra frames written before this event: a truncated copy, a foreign-symbol frame.
        extra: list[str] = []
        if self.malformed_next and not withheld:
            self.malformed_next -= 1
            extra.append("malformed")
        wrong_payload = ""
        if self.wrong_symbol_next and not withheld:
            self.wrong_symbol_next -= 1
            extra.append("wrong_symbol")
            wrong_payload = self._market.wrong_symbol_payload(depth, step.prev_u)
        bbo = self._market.book_ticker(step.last, ms)
        trade = self._market.maybe_trade(ms)
        symbol = self._market.symbol
        for conn in self.open_conns():
            for stream in sorted(conn.streams):
                kind = self._stream_kind(conn, stream)
                if kind == "depth" and not withheld:
                    for extra_kind in extra:
                        if extra_kind == "malformed":
                            text = self._wrap(conn, stream, depth_payload)
                            if await self._send(conn, text[: len(text) // 2]):
                                self._counters.n_malformed_sent += 1
                        else:
                            other_stream = OTHER_SYMBOL.lower() + stream[len(symbol) :]
                            if await self._send(
                                conn, self._wrap(conn, other_stream, wrong_payload)
                            ):
                                self._counters.n_wrong_symbol_sent += 1
                    if await self._send(conn, self._wrap(conn, stream, depth_payload)):
                        self._counters.n_depth_sent += 1
                        if conn.first_depth_u is None:
                            conn.first_depth_u = step.last
                elif kind == "bookTicker":
                    await self._send(conn, self._wrap(conn, stream, bbo))
                elif kind == "trade" and trade is not None:
                    await self._send(conn, self._wrap(conn, stream, trade))
            await self._maybe_ping(conn, now)

    async def _connection_cues(self, now: float) -> None:
        if self.disconnect_next is not None:
            abrupt, self.disconnect_next = self.disconnect_next, None
            for conn in self.open_conns():
                self._close_conn(conn, 1001, "going away", abrupt=abrupt)
        if self.shutdown_next is not None:
            close_after, self.shutdown_next = self.shutdown_next, None
            payload = orjson.dumps({"e": "serverShutdown", "E": self._server_ms()}).decode()
            for conn in self.open_conns():
                text = self._wrap(conn, "!serverShutdown", payload)
                if await self._send(conn, text):
                    self._counters.n_shutdown_sent += 1
                    conn.close_at_s = now + close_after
        for conn in self.open_conns():
            if conn.close_at_s is not None and now >= conn.close_at_s:
                self._close_conn(conn, 1001, "server shutdown", abrupt=False)

    def _stream_kind(self, conn: WsConn, stream: str) -> str:
        # "depth", "bookTicker", "trade" or "" for a stream this connection gets data of.
        sym, _, rest = stream.partition("@")
        if sym != self._market.symbol.lower() or conn.group == "legacy":
            return ""
        kind = rest.split("@", 1)[0]
        if kind == "depth" and rest in ("depth", "depth@100ms", "depth@250ms", "depth@500ms"):
            return "depth" if conn.group in ("spot", "public") else ""
        if kind == "bookTicker" and rest == "bookTicker":
            return "bookTicker" if conn.group in ("spot", "public") else ""
        trade_kind = "aggTrade" if self._market.is_usdm else "trade"
        if rest == trade_kind:
            return "trade" if conn.group in ("spot", "market") else ""
        return ""

    @staticmethod
    def _wrap(conn: WsConn, stream: str, payload: str) -> str:
        if not conn.combined:
            return payload
        return f'{{"stream":"{stream}","data":{payload}}}'

    async def _send(self, conn: WsConn, text: str) -> bool:
        # Write one text frame unless the connection is closed or stalled; False if not sent.
        if conn.closed:
            return False
        if self._now_s() < conn.stalled_until_s:
            self._counters.n_stalled_frames += 1
            return False
        try:
            await conn.ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("hostile_send_failed cid=%d error=%s", conn.cid, exc)
            conn.closed = True
            return False
        conn.n_frames += 1
        self._counters.n_frames_sent += 1
        return True

    async def _maybe_ping(self, conn: WsConn, now: float) -> None:
        if conn.closed or now < conn.stalled_until_s:
            return
        if (
            conn.ping_outstanding_since_s is not None
            and now - conn.ping_outstanding_since_s > self.pong_timeout_s
        ):
            self._counters.n_pong_timeouts += 1
            self._close_conn(conn, 1008, "pong timeout", abrupt=False)
            return
        if now >= conn.next_ping_s:
            conn.next_ping_s = now + self.ping_interval_s
            try:
                await conn.ws.ping(b"hostile")
            except (ConnectionError, RuntimeError):
                conn.closed = True
                return
            if conn.ping_outstanding_since_s is None:
                conn.ping_outstanding_since_s = now
            self._counters.n_pings += 1

    def _close_conn(self, conn: WsConn, code: int, reason: str, *, abrupt: bool) -> None:
        if conn.closed:
            return
        conn.closed = True
        if abrupt:
            self._counters.n_ws_aborted += 1
            if conn.request.transport is not None:
                conn.request.transport.abort()
            return
        self._counters.n_ws_closed_by_server += 1
        task = asyncio.create_task(conn.ws.close(code=code, message=reason.encode()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- websocket ------------------------------------------------------------------------

    def _ws_handler(
        self, group: str, combined: bool
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self._serve_ws(request, group, combined)

        return handler

    async def _serve_ws(
        self, request: web.Request, group: str, combined: bool
    ) -> web.StreamResponse:
        names = request.query.get("streams", "") if combined else request.match_info.get("tail", "")
        streams = {s for s in names.split("/") if s}
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 16)
        await ws.prepare(request)
        self._cid += 1
        now = self._now_s()
        conn = WsConn(
            cid=self._cid,
            ws=ws,
            request=request,
            group=group,
            combined=combined,
            streams=streams,
            opened_s=now,
            next_ping_s=now + self.ping_interval_s,
        )
        self.conns.append(conn)
        self._counters.n_ws_connections += 1
        log.debug("hostile_ws_open cid=%d path=%s streams=%s", conn.cid, request.path, streams)
        try:
            async for msg in ws:
                # After a server-side close the loop runs on until the close handshake ends.
                if conn.closed:
                    continue
                if self._over_inbound_limit(conn):
                    self._counters.n_inbound_limit_closes += 1
                    conn.closed = True
                    self._counters.n_ws_closed_by_server += 1
                    await ws.close(code=1008, message=b"too many messages")
                    break
                if msg.type == WSMsgType.PING:
                    self._counters.n_client_pings += 1
                    if self._now_s() >= conn.stalled_until_s:
                        await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    self._counters.n_pongs += 1
                    conn.ping_outstanding_since_s = None
                elif msg.type == WSMsgType.TEXT:
                    self._counters.n_client_msgs += 1
                    await self._control(conn, msg.data)
        except (ConnectionError, RuntimeError) as exc:
            log.debug("hostile_ws_error cid=%d error=%s", conn.cid, exc)
        finally:
            conn.closed = True
        return ws

    def _over_inbound_limit(self, conn: WsConn) -> bool:
        now = self._now_s()
        if now - conn.inbound_window_s >= 1.0:
            conn.inbound_window_s = now
            conn.inbound_in_window = 0
        conn.inbound_in_window += 1
        return conn.inbound_in_window > self.max_inbound_per_s

    async def _control(self, conn: WsConn, text: str) -> None:
        # SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY combined, as Binance.
        try:
            req = orjson.loads(text)
            method = req["method"]
            req_id = req.get("id")
            params = req.get("params", [])
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            await self._send(
                conn, '{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"}'
            )
            return
        result: Any = None
        if method == "SUBSCRIBE":
            conn.streams.update(str(p) for p in params)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(str(p) for p in params)
        elif method == "LIST_SUBSCRIPTIONS":
            result = sorted(conn.streams)
        elif method == "SET_PROPERTY" and params and params[0] == "combined":
            conn.combined = bool(params[1])
        elif method == "GET_PROPERTY" and params and params[0] == "combined":
            result = conn.combined
        else:
            await self._send(
                conn,
                orjson.dumps(
                    {"code": 2, "msg": f"Invalid request: unknown method {method}", "id": req_id}
                ).decode(),
            )
            return
        await self._send(conn, orjson.dumps({"result": result, "id": req_id}).decode())
