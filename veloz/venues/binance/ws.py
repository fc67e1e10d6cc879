"""One picows websocket connection for Binance market streams: frames in, liveness, age.

Owns the socket of one stream URL: the receive timestamp of every frame (CLOCK_MONOTONIC,
taken before anything else), pong replies carrying the ping's payload, silence detection
(no frame of any kind for ``silence_timeout_s`` -> disconnect), close reporting and the
connection's age. Must not parse payloads, touch books or log per frame.
"""

import asyncio
import logging
import time
from collections.abc import Callable

import picows
from picows import WSCloseCode
from picows import WSFrame
from picows import WSListener
from picows import WSMsgType
from picows import WSTransport

from veloz.errors import VenueError
from veloz.log import RateLimitedLog
from veloz.venues.binance.codes import retry_after_s

__all__ = ["FrameCallback", "WsConnection"]

log = logging.getLogger(__name__)

FrameCallback = Callable[[bytes, int], None]
"""``(payload, ingest_ns)``: one complete text message and its CLOCK_MONOTONIC receive ns."""

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_PING = WSMsgType.PING
_CLOSE = WSMsgType.CLOSE
_MAX_MESSAGE = 16 * 1024 * 1024  # reassembled fragments beyond this are dropped
_TRACEBACKS = 5  # callback errors logged with a traceback before rate limiting


class _Listener(WSListener):
    # picows calls these on the event loop thread; every method hands straight to the owner.
    def __init__(self, owner: "WsConnection") -> None:
        super().__init__()
        self.owner = owner

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.owner._transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        ingest_ns = time.monotonic_ns()  # first thing: the ingest point of DESIGN §3
        owner = self.owner
        owner.last_frame_ns = ingest_ns
        owner.n_frames += 1
        if frame.msg_type is _TEXT and frame.fin:
            payload = frame.get_payload_as_bytes()
            try:
                owner._on_frame(payload, ingest_ns)
            except Exception:  # the per-message dispatch wrapper: count, trace, keep the socket
                owner._callback_error(payload)
            return
        owner._control_frame(transport, frame, ingest_ns)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.owner._disconnected()


class WsConnection:
    """A client websocket to one URL that hands each text message to a callback.

    Server pings are answered with a pong carrying the same payload (done here rather than by
    picows' auto-pong, which consumes pings before the listener sees them: a ping is a frame
    and must count as a sign of life). Fragmented messages are reassembled; binary messages
    are handed over like text (the decoder rejects what is not JSON). A close frame from the
    server is echoed and the socket closed. No frame of any kind for `silence_timeout_s`
    closes the connection with reason ``"silence"``.

    Parameters
    ----------
    url : str
        ``ws://`` or ``wss://`` URL, streams included.
    on_frame : FrameCallback
        Called with ``(payload, ingest_ns)`` for every complete message, on the loop thread;
        must not keep `payload` beyond its own use if it wants to stay lean (it is a copy).
        An exception it raises is counted (`n_callback_errors`) and logged, never fatal.
    silence_timeout_s : float
        Seconds without any frame after which the connection is considered dead.
    name : str
        Label for log lines (``depth-1``, ``trades``).
    on_close : callable, optional
        Called once with this connection after it is fully disconnected, whoever closed it.

    Attributes
    ----------
    opened_ns, last_frame_ns : int
        CLOCK_MONOTONIC ns of the completed handshake and of the last frame received.
    close_reason : str
        Empty while open; then ``"closed"`` (by `close`), ``"silence"``, ``"server_close
        code=N"`` or ``"eof"`` (the TCP connection ended without a close frame).
    n_frames, n_pings, n_callback_errors : int
        Frames of any kind received, pings answered, callback exceptions.
    """

    __slots__ = (
        "__weakref__",
        "_closed",
        "_crash_log",
        "_fragments",
        "_on_close",
        "_on_frame",
        "_silence_handle",
        "_silence_ns",
        "_transport",
        "close_reason",
        "last_frame_ns",
        "n_callback_errors",
        "n_frames",
        "n_pings",
        "name",
        "opened_ns",
        "url",
    )

    def __init__(
        self,
        url: str,
        on_frame: FrameCallback,
        *,
        silence_timeout_s: float,
        name: str = "ws",
        on_close: Callable[["WsConnection"], None] | None = None,
    ) -> None:
        if silence_timeout_s <= 0:
            raise ValueError(f"silence_timeout_s must be > 0, got {silence_timeout_s}")
        self.url = url
        self.name = name
        self._on_frame = on_frame
        self._on_close = on_close
        self._silence_ns = int(silence_timeout_s * 1e9)
        self._transport: WSTransport | None = None
        self._closed = asyncio.Event()
        self._silence_handle: asyncio.TimerHandle | None = None
        self._fragments: list[bytes] | None = None
        self._crash_log = RateLimitedLog(log)
        self.close_reason = ""
        self.opened_ns = 0
        self.last_frame_ns = 0
        self.n_frames = 0
        self.n_pings = 0
        self.n_callback_errors = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def connect(self, timeout_s: float) -> None:
        """Open the socket and complete the websocket handshake within `timeout_s`.

        Raises
        ------
        VenueError
            The TCP connect, TLS or upgrade failed or timed out (``retryable=True``;
            ``http_status`` and ``retry_after_s`` set when the server answered the upgrade
            with an HTTP error, e.g. 429 with ``Retry-After``).
        """
        try:
            async with asyncio.timeout(timeout_s):
                transport, _ = await picows.ws_connect(
                    lambda: _Listener(self),
                    self.url,
                    enable_auto_pong=False,
                    enable_auto_ping=False,
                    websocket_handshake_timeout=timeout_s,
                )
        except TimeoutError:
            raise VenueError(
                0, f"{self.name}: no websocket handshake within {timeout_s}s", retryable=True
            ) from None
        except picows.WSHandshakeError as exc:
            resp = exc.response
            status = int(resp.status) if resp is not None else 0
            retry_after = retry_after_s(resp.headers.get("Retry-After")) if resp else 0.0
            body = (exc.raw_body or b"")[:200].decode("utf-8", "replace")
            raise VenueError(
                0,
                f"{self.name}: websocket upgrade refused: {exc} {body}".strip(),
                retryable=True,
                http_status=status,
                retry_after_s=retry_after,
            ) from None
        except (OSError, picows.WSError) as exc:
            raise VenueError(0, f"{self.name}: connect failed: {exc}", retryable=True) from None
        self._transport = transport
        now = time.monotonic_ns()
        self.opened_ns = now
        self.last_frame_ns = now
        if transport.is_disconnected:  # closed between handshake and now: report it once
            self._disconnected()
            return
        self._arm_silence(now + self._silence_ns)

    def close(self, reason: str = "closed") -> None:
        """Send a normal close frame and drop the socket; idempotent. `on_close` follows."""
        if self.close_reason:
            return
        self.close_reason = reason
        transport = self._transport
        if transport is None or transport.is_disconnected:
            self._disconnected()
            return
        transport.send_close(WSCloseCode.OK)
        transport.disconnect()

    async def wait_closed(self) -> None:
        """Return once the connection is fully disconnected (at once if it never opened)."""
        await self._closed.wait()

    @property
    def is_open(self) -> bool:
        """True between a successful `connect` and the disconnect."""
        return self._transport is not None and not self._closed.is_set()

    @property
    def age_s(self) -> float:
        """Seconds since the handshake completed (0 before)."""
        if not self.opened_ns:
            return 0.0
        return (time.monotonic_ns() - self.opened_ns) / 1e9

    def send_text(self, text: str) -> None:
        """Send one text frame (control messages such as SUBSCRIBE); ignored when closed."""
        if self._transport is not None and not self._closed.is_set():
            self._transport.send(_TEXT, text.encode())

    # -- frames other than complete text (cold path) ---------------------------------------

    def _control_frame(self, transport: WSTransport, frame: WSFrame, ingest_ns: int) -> None:
        kind = frame.msg_type
        if kind is _PING:
            self.n_pings += 1
            transport.send_pong(frame.get_payload_as_bytes())
        elif kind is _CLOSE:
            if not self.close_reason:
                self.close_reason = f"server_close code={frame.get_close_code().value}"
            transport.send_close(WSCloseCode.OK)
            transport.disconnect()
        elif kind is _TEXT or kind is _BINARY or kind is _CONTINUATION:
            self._fragment(frame, ingest_ns)
        # PONG: a sign of life only (already noted in last_frame_ns)

    def _fragment(self, frame: WSFrame, ingest_ns: int) -> None:
        # A message in several frames (or a binary one): collect, then deliver when fin.
        if frame.msg_type is not _CONTINUATION:
            self._fragments = []
        elif self._fragments is None:
            return  # continuation without a start: nothing to attach it to
        parts = self._fragments
        parts.append(frame.get_payload_as_bytes())
        if sum(len(p) for p in parts) > _MAX_MESSAGE:
            self._fragments = None
            self._crash_log.warning("ws.message_too_big conn=%s", self.name)
            return
        if not frame.fin:
            return
        self._fragments = None
        payload = b"".join(parts)
        try:
            self._on_frame(payload, ingest_ns)
        except Exception:  # the dispatch wrapper, as for single-frame messages
            self._callback_error(payload)

    def _callback_error(self, payload: bytes) -> None:
        # Called inside an except block: the first few get a traceback, then rate-limited.
        self.n_callback_errors += 1
        if self.n_callback_errors <= _TRACEBACKS:
            log.exception("ws.callback_error conn=%s frame=%r", self.name, payload[:200])
        else:
            self._crash_log.warning("ws.callback_error conn=%s frame=%r", self.name, payload[:200])

    # -- silence -----------------------------------------------------------------------------

    def _arm_silence(self, due_ns: int) -> None:
        loop = asyncio.get_running_loop()
        delay_s = max(due_ns - time.monotonic_ns(), 0) / 1e9
        self._silence_handle = loop.call_later(delay_s, self._check_silence)

    def _check_silence(self) -> None:
        # One timer per silence period, not per frame: re-arm from the last frame's time.
        self._silence_handle = None
        if self._closed.is_set():
            return
        due_ns = self.last_frame_ns + self._silence_ns
        if time.monotonic_ns() < due_ns:
            self._arm_silence(due_ns)
            return
        log.warning("ws.silence conn=%s silent_s=%.1f", self.name, self._silence_ns / 1e9)
        self.close("silence")

    def _disconnected(self) -> None:
        if self._closed.is_set():
            return
        if not self.close_reason:
            self.close_reason = "eof"
        if self._silence_handle is not None:
            self._silence_handle.cancel()
            self._silence_handle = None
        self._fragments = None
        self._closed.set()
        if self._on_close is not None:
            try:
                self._on_close(self)
            except Exception:  # a dispatch point like on_frame: count and trace, never raise
                self.n_callback_errors += 1
                log.exception("ws.on_close_error conn=%s", self.name)

    def __repr__(self) -> str:
        state = "open" if self.is_open else (self.close_reason or "new")
        return f"WsConnection({self.name} {state} age_s={self.age_s:.1f} frames={self.n_frames})"
