"""Binance user-data stream drivers: subscribe or hold a listenKey, reconnect, feed the sink.

Owns `SpotUserData` (WS-API ``userDataStream.subscribe``), `UsdmUserData` (listenKey,
keepalive, ``/private`` websocket via `wstransport.open_ws`) and the per-event dispatch that counts
and drops bad input; event contents are read by `user_events`. Must not keep order or position
state (the OMS does), place orders, or drop a stream restart silently: the sink hears each one.
"""

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import Protocol

import orjson
from picows import WSTransport

from veloz.errors import ConfigError
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.model.events import ExecEvent
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import Signer
from veloz.venues.binance.signing import ws_signed_params
from veloz.venues.binance.user_events import RESTART_EVENTS
from veloz.venues.binance.user_events import SPOT
from veloz.venues.binance.user_events import SPOT_EVENTS
from veloz.venues.binance.user_events import USDM
from veloz.venues.binance.user_events import USDM_EVENTS
from veloz.venues.binance.user_events import event_type
from veloz.venues.binance.user_events import parse_spot_event
from veloz.venues.binance.user_events import parse_usdm_event
from veloz.venues.binance.user_events import positions_left_out
from veloz.venues.binance.user_events import restart_reason
from veloz.venues.binance.wsapi import WsApiClient
from veloz.venues.binance.wstransport import FrameListener
from veloz.venues.binance.wstransport import close_ws
from veloz.venues.binance.wstransport import open_ws

# The parser names are re-exported: callers and tests import them from here too.
__all__ = [
    "RESTART_EVENTS",
    "SPOT_EVENTS",
    "USDM_EVENTS",
    "SpotUserData",
    "UsdmUserData",
    "UserDataCounters",
    "UserDataSink",
    "event_type",
    "parse_spot_event",
    "parse_usdm_event",
    "restart_reason",
]

log = logging.getLogger(__name__)


class UserDataSink(Protocol):
    """Where a user-data driver sends normalized events and stream restarts."""

    def on_event(self, ev: ExecEvent) -> None:
        """Take one normalized event, in venue order."""
        ...

    def on_restart(self, reason: str) -> None:
        """Learn that the stream was restarted: events may have been missed, reconcile."""
        ...


@dataclass(slots=True)
class UserDataCounters:
    """What one user-data driver saw since it was built (all counts, never reset)."""

    n_frames: int = 0  # user-data events received
    n_events_out: int = 0  # normalized events handed to the sink
    n_unknown_types: int = 0
    n_malformed: int = 0
    n_positions_ignored: int = 0  # USD-M hedge legs and positions of untracked symbols
    n_sink_errors: int = 0
    n_restarts: int = 0
    n_subscribes: int = 0
    n_subscribe_errors: int = 0
    n_listen_keys: int = 0  # listenKey POSTs that succeeded
    n_keepalives: int = 0
    n_keepalive_errors: int = 0
    n_connects: int = 0
    n_connect_failures: int = 0
    n_disconnects: int = 0
    n_supervisor_errors: int = 0  # unexpected errors in a reconnect or keepalive task
    n_dispatch_errors: int = 0  # unexpected errors while handling one received frame


class _Dispatch:
    # Parse one event with `parse`, hand the results to the sink; bad input counted, logged
    # (rate-limited) and dropped, never raised into the transport.

    __slots__ = ("_bad", "_instruments", "_known", "_parse", "_sink", "counters", "venue")

    def __init__(
        self,
        venue: str,
        instruments: Mapping[str, Instrument],
        sink: UserDataSink,
        counters: UserDataCounters,
    ) -> None:
        self.venue = venue
        self._instruments = instruments
        self._sink = sink
        self._parse = parse_spot_event if venue == SPOT else parse_usdm_event
        self._known = SPOT_EVENTS if venue == SPOT else USDM_EVENTS
        self.counters = counters
        self._bad = RateLimitedLog(log)

    def __call__(self, event: Any, recv_ns: int) -> None:
        c = self.counters
        c.n_frames += 1
        try:
            kind = event_type(event)
            if kind not in self._known:
                c.n_unknown_types += 1
                self._bad.warning("userdata_unknown_event venue=%s type=%.40r", self.venue, kind)
                return
            events = self._parse(event, self._instruments, recv_ns)
        except WireError as exc:
            c.n_malformed += 1
            self._bad.warning(
                "userdata_event_malformed venue=%s error=%s event=%.200r", self.venue, exc, event
            )
            return
        if kind == "ACCOUNT_UPDATE":
            c.n_positions_ignored += positions_left_out(event, self._instruments)
        sink = self._sink
        for ev in events:
            try:
                sink.on_event(ev)
            except Exception:  # dispatch wrapper: a sink bug must not stop the stream
                c.n_sink_errors += 1
                log.exception(
                    "userdata_sink_error venue=%s event=%s", self.venue, type(ev).__name__
                )
            else:
                c.n_events_out += 1

    def restart(self, reason: str) -> None:
        self.counters.n_restarts += 1
        log.warning("userdata_restart venue=%s reason=%s", self.venue, reason)
        try:
            self._sink.on_restart(reason)
        except Exception:  # dispatch wrapper, as above
            self.counters.n_sink_errors += 1
            log.exception("userdata_sink_error venue=%s on_restart", self.venue)


class SpotUserData:
    """Spot user data over the WS API: subscribe, renew after reconnects, feed the sink.

    Subscribes with ``userDataStream.subscribe`` when the WS-API session is logged on
    (Ed25519 signer on the client), else with ``userDataStream.subscribe.signature`` signed
    by `signer` (any key type). After the client reconnects or switches connection, and
    after ``eventStreamTerminated``, it subscribes again and calls ``sink.on_restart``.

    Parameters
    ----------
    ws : WsApiClient
        The spot WS-API client; connected by `start` if it is not yet.
    signer : Signer
        The account's key; signs ``userDataStream.subscribe.signature``.
    instruments : mapping of str to Instrument
        Instruments by symbol (events of other symbols are counted as malformed).
    sink : UserDataSink
        Receives events and restarts.
    """

    def __init__(
        self,
        ws: WsApiClient,
        signer: Signer,
        instruments: Mapping[str, Instrument],
        sink: UserDataSink,
    ) -> None:
        self._ws = ws
        self._signer = signer
        self.counters = UserDataCounters()
        self._dispatch = _Dispatch(SPOT, instruments, sink, self.counters)
        self._is_running = False
        self._sub_id: int | None = None
        self._renew: asyncio.Task[None] | None = None
        ws.on_user_event(self._on_event)
        ws.on_reconnect(self._on_reconnect)

    @property
    def subscription_id(self) -> int | None:
        """The venue's id of the active subscription, None when not subscribed."""
        return self._sub_id

    async def start(self) -> None:
        """Connect the client if needed and subscribe.

        Raises
        ------
        VenueError
            The connection or the subscription failed.
        """
        self._is_running = True
        try:
            if not self._ws.is_connected:
                await self._ws.connect()
            await self._subscribe()
        except BaseException:
            self._is_running = False
            raise

    async def stop(self) -> None:
        """Stop renewing and unsubscribe (best effort; the client stays open)."""
        self._is_running = False
        task, self._renew = self._renew, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._sub_id is None or not self._ws.is_connected:
            return
        params = {"subscriptionId": str(self._sub_id)}
        self._sub_id = None
        try:
            await self._ws.request("userDataStream.unsubscribe", params, weight=2)
        except VenueError as exc:
            log.warning("userdata_unsubscribe_failed code=%d msg=%.200s", exc.code, exc.msg)

    async def _subscribe(self) -> None:
        ws = self._ws
        try:
            if ws.is_logged_on and self._signer.kind == "ED25519":
                result = await ws.request("userDataStream.subscribe", None, weight=2)
            else:
                params = ws_signed_params(self._signer, {"timestamp": str(ws.now_ms())})
                result = await ws.request("userDataStream.subscribe.signature", params, weight=2)
        except VenueError as exc:
            if exc.code != -2035:  # already subscribed on this session: nothing to do
                self.counters.n_subscribe_errors += 1
                raise
            log.warning("userdata_already_subscribed venue=%s", SPOT)
            return
        sub_id = result.get("subscriptionId") if isinstance(result, dict) else None
        if isinstance(sub_id, bool) or not isinstance(sub_id, int):
            self.counters.n_subscribe_errors += 1
            raise VenueError(
                0, f"subscribe answer without subscriptionId: {result!r:.200}", retryable=True
            )
        self._sub_id = sub_id
        self.counters.n_subscribes += 1
        log.info("userdata_subscribed venue=%s subscription=%d", SPOT, sub_id)

    def _on_event(self, event: dict[str, Any], recv_ns: int) -> None:
        if not self._is_running:
            return
        self._dispatch(event, recv_ns)
        reason = restart_reason(event)
        if reason:
            self._sub_id = None
            self._start_renew(reason)

    async def _on_reconnect(self) -> None:
        # The client's new connection holds no subscription: renew it in the background (the
        # client's supervisor awaits this hook, and a renewal may have to wait for it).
        if self._is_running:
            self._sub_id = None
            self._start_renew("reconnect")

    def _start_renew(self, reason: str) -> None:
        if self._renew is not None:
            self._renew.cancel()
        self._renew = asyncio.get_running_loop().create_task(self._renew_loop(reason))

    async def _renew_loop(self, reason: str) -> None:
        # Subscribe again while the connection is up; a later reconnect starts a new loop.
        delay_s = 0.1
        while self._is_running and self._ws.is_connected:
            try:
                await self._subscribe()
            except VenueError as exc:
                log.warning(
                    "userdata_resubscribe_failed code=%d msg=%.200s retry_in_s=%s",
                    exc.code,
                    exc.msg,
                    delay_s,
                )
                await asyncio.sleep(delay_s)
                delay_s = min(5.0, delay_s * 2)
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # supervisor: keep trying while the connection is up
                self.counters.n_supervisor_errors += 1
                log.exception("userdata_resubscribe_error venue=%s", SPOT)
                await asyncio.sleep(5.0)
                continue
            self._dispatch.restart(reason)
            return


class UsdmUserData:
    """USD-M user data over a listenKey stream: key, keepalive, reconnects, feed the sink.

    `start` POSTs ``ep.listen_key_path`` (the venue returns the account's active key or a new
    one) and connects to ``ep.private_url(key)``. Every `keepalive_s` it PUTs the key; a
    ``-1125`` answer or a ``listenKeyExpired`` event gets a new key and a new connection. A
    dropped or silent connection (no pong to our idle ping) reconnects with backoff. Every
    restart is told to ``sink.on_restart``. The key is not deleted on `stop`: the venue
    gives the same key to every client of the account, and it expires by itself.

    Parameters
    ----------
    rest : RestClient
        Sends the USER_STREAM requests (API key header, no signature).
    ep : Endpoints
        USD-M endpoints.
    instruments : mapping of str to Instrument
        Instruments by symbol.
    sink : UserDataSink
        Receives events and restarts.
    keepalive_s : float
        Seconds between keepalive PUTs (the key lives 60 min).

    Raises
    ------
    ConfigError
        `ep` has no listenKey path (spot), or `keepalive_s` is not positive.
    """

    def __init__(
        self,
        rest: RestClient,
        ep: Endpoints,
        instruments: Mapping[str, Instrument],
        sink: UserDataSink,
        keepalive_s: float = 1800.0,
    ) -> None:
        if not ep.listen_key_path:
            raise ConfigError(f"{ep.venue}: no listenKey path (spot user data uses the WS API)")
        if keepalive_s <= 0:
            raise ConfigError(f"keepalive_s={keepalive_s}: must be > 0")
        self._rest = rest
        self._ep = ep
        self._keepalive_s = keepalive_s
        self.counters = UserDataCounters()
        self._dispatch = _Dispatch(USDM, instruments, sink, self.counters)
        self._bad = RateLimitedLog(log)
        self._is_running = False
        self._key = ""
        self._transport: WSTransport | None = None
        self._closed = asyncio.Event()
        self._gen = 0  # connection number; stale close callbacks are ignored
        self._opened_mono = 0.0
        self._trouble = asyncio.Event()
        self._trouble_reason = ""
        self._tasks: list[asyncio.Task[None]] = []
        self.timeout_s = 10.0
        self.backoff_min_s = 0.1
        self.backoff_max_s = 5.0

    @property
    def is_connected(self) -> bool:
        """True while the private stream connection is open."""
        return self._transport is not None and not self._closed.is_set()

    async def start(self) -> None:
        """Get a listenKey, connect, and start the keepalive and reconnect tasks.

        Raises
        ------
        VenueError
            The listenKey request or the connection failed.
        """
        if self._tasks:
            return
        self._is_running = True
        try:
            await self._connect()
        except BaseException:
            self._is_running = False
            raise
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._supervise()), loop.create_task(self._keepalive())]

    async def stop(self) -> None:
        """Stop the tasks and close the connection."""
        self._is_running = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._disconnect()

    # ---- connection ----------------------------------------------------------------------

    async def _new_key(self) -> str:
        result = await self._rest.send_keyed("POST", self._ep.listen_key_path, weight=1)
        key = result.get("listenKey") if isinstance(result, dict) else None
        if not isinstance(key, str) or not key:
            raise VenueError(0, "listenKey answer without a listenKey", retryable=True)
        self.counters.n_listen_keys += 1
        return key

    async def _connect(self) -> None:
        key = await self._new_key()
        self._gen += 1
        gen = self._gen
        closed = asyncio.Event()
        listener = FrameListener(self._on_message, lambda: self._on_closed(gen, closed))
        try:
            transport = await open_ws(
                self._ep.private_url(key), listener, self.timeout_s, "usdm user stream"
            )
        except VenueError:
            self.counters.n_connect_failures += 1
            raise
        self._key = key
        self._transport = transport
        self._closed = closed
        self._opened_mono = time.monotonic()
        self.counters.n_connects += 1
        log.info("userdata_connected venue=%s conn=%d", USDM, gen)

    async def _disconnect(self) -> None:
        transport, self._transport = self._transport, None
        closed = self._closed
        if transport is None or closed.is_set():
            return
        self._gen += 1  # the close that follows is ours, not a drop
        if not await close_ws(transport, closed, self.timeout_s):
            log.warning("userdata_close_timeout venue=%s", USDM)

    def _on_closed(self, gen: int, closed: asyncio.Event) -> None:
        closed.set()
        if gen == self._gen and self._is_running:
            self.counters.n_disconnects += 1
            log.warning("userdata_disconnected venue=%s conn=%d", USDM, gen)
            self._signal("disconnect")

    def _signal(self, reason: str) -> None:
        self._trouble_reason = reason
        self._trouble.set()

    def _on_message(self, data: bytes, recv_ns: int) -> None:
        # Per-message dispatch wrapper: a bug here must not drop the connection (picows
        # disconnects when a listener raises).
        try:
            self._route(data, recv_ns)
        except Exception:
            self.counters.n_dispatch_errors += 1
            log.exception("userdata_dispatch_error venue=%s frame=%.200r", USDM, self._redact(data))

    def _route(self, data: bytes, recv_ns: int) -> None:
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            self.counters.n_frames += 1
            self.counters.n_malformed += 1
            self._bad.warning(
                "userdata_frame_malformed venue=%s frame=%.200r", USDM, self._redact(data)
            )
            return
        self._dispatch(event, recv_ns)
        # An old key's late listenKeyExpired must not restart a fresh connection.
        if restart_reason(event) == "listenKeyExpired" and event.get("listenKey") in (
            None,
            self._key,
        ):
            self._signal("listenKeyExpired")

    def _redact(self, data: bytes) -> bytes:
        # The listenKey opens the account's stream to anyone: never in a log line.
        return data.replace(self._key.encode(), b"<listenKey>") if self._key else data

    async def _supervise(self) -> None:
        # Task: reconnect (new key first) whenever the stream ended, until stop().
        streak = 0
        while self._is_running:
            await self._trouble.wait()
            self._trouble.clear()  # a drop of the next connection sets it again
            reason = self._trouble_reason
            lived_s = time.monotonic() - self._opened_mono
            streak = 0 if lived_s >= 10.0 else streak + 1
            try:
                await self._disconnect()
                await self._reconnect(
                    0.0 if streak == 0 else self.backoff_min_s * 2.0 ** (streak - 1)
                )
            except asyncio.CancelledError:
                raise
            except Exception:  # supervisor: never stop reconnecting
                self.counters.n_supervisor_errors += 1
                log.exception("userdata_supervisor_error venue=%s", USDM)
                await asyncio.sleep(self.backoff_max_s)
                self._signal(reason)
                continue
            if self._is_running:
                self._dispatch.restart(reason)

    async def _reconnect(self, delay_s: float) -> None:
        # New key and connection, retried with doubling delays until it works or stop().
        while self._is_running:
            if delay_s > 0:
                await asyncio.sleep(min(delay_s, self.backoff_max_s))
            try:
                await self._connect()
                return
            except VenueError as exc:
                log.warning(
                    "userdata_reconnect_failed venue=%s code=%d msg=%.200s",
                    USDM,
                    exc.code,
                    exc.msg,
                )
                delay_s = min(self.backoff_max_s, max(self.backoff_min_s, delay_s * 2))

    async def _keepalive(self) -> None:
        # Task: PUT the key every keepalive_s; -1125 means it is gone -> new key, reconnect.
        while self._is_running:
            await asyncio.sleep(self._keepalive_s)
            try:
                await self._rest.send_keyed("PUT", self._ep.listen_key_path, weight=1)
            except VenueError as exc:
                self.counters.n_keepalive_errors += 1
                log.warning(
                    "userdata_keepalive_failed venue=%s code=%d msg=%.200s",
                    USDM,
                    exc.code,
                    exc.msg,
                )
                if exc.code == -1125:
                    self._signal("listenKey -1125")
                continue
            except asyncio.CancelledError:
                raise
            except Exception:  # supervisor: the next period tries again
                self.counters.n_keepalive_errors += 1
                log.exception("userdata_keepalive_error venue=%s", USDM)
                continue
            self.counters.n_keepalives += 1
