"""The picows client pieces of Binance's request/answer and private websockets.

Owns `FrameListener` (whole messages out of fragmented frames, with their CLOCK_MONOTONIC
receive ns; a CLOSE answered), `open_ws` (connect with picows auto-ping and a timeout,
failures as retryable `VenueError`) and `close_ws` (normal close, bounded wait). Shared by
`wsapi` (WS-API connections) and `userdata` (the USD-M ``/private`` stream). Must not parse
payloads, keep request state, reconnect, or log a URL (it may hold a listenKey).
"""

import asyncio
import time
from collections.abc import Callable

from picows import WSCloseCode
from picows import WSFrame
from picows import WSListener
from picows import WSMsgType
from picows import WSTransport
from picows import ws_connect

from veloz.errors import VenueError

__all__ = ["IDLE_PING_S", "PONG_TIMEOUT_S", "FrameListener", "close_ws", "open_ws"]

# Client pings when nothing arrived for this long; no pong within the reply timeout drops
# the connection (the venue pings every 20 s, so silence this long means a dead path).
IDLE_PING_S = 30.0
PONG_TIMEOUT_S = 10.0


class FrameListener(WSListener):
    """picows listener handing whole text messages to `on_message` and a close to `on_closed`.

    Reassembles fragmented messages, answers a CLOSE frame and disconnects. Pings are
    answered by picows (auto-pong). `on_message` gets the payload bytes and the
    CLOCK_MONOTONIC ns at which the (last) frame was read.
    """

    def __init__(
        self, on_message: Callable[[bytes, int], None], on_closed: Callable[[], None]
    ) -> None:
        super().__init__()
        self._on_message = on_message
        self._on_closed = on_closed
        self._parts: list[bytes] = []

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        recv_ns = time.monotonic_ns()
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            if frame.fin:
                self._on_message(frame.get_payload_as_bytes(), recv_ns)
            else:
                self._parts = [frame.get_payload_as_bytes()]
        elif kind is WSMsgType.CONTINUATION:
            self._parts.append(frame.get_payload_as_bytes())
            if frame.fin:
                data = b"".join(self._parts)
                self._parts = []
                self._on_message(data, recv_ns)
        elif kind is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._on_closed()


async def open_ws(url: str, listener: FrameListener, timeout_s: float, what: str) -> WSTransport:
    """Open a picows client connection to `url` driven by `listener`.

    Raises
    ------
    VenueError
        Retryable, code 0, when the TCP connect or the websocket handshake fails or takes
        longer than `timeout_s`; the message names `what` and the cause (never the URL,
        which may hold a listenKey).
    """
    try:
        async with asyncio.timeout(timeout_s):
            transport, _ = await ws_connect(
                lambda: listener,
                url,
                websocket_handshake_timeout=timeout_s,
                enable_auto_ping=True,
                auto_ping_idle_timeout=IDLE_PING_S,
                auto_ping_reply_timeout=PONG_TIMEOUT_S,
            )
    except asyncio.CancelledError:
        raise
    except TimeoutError:
        raise VenueError(
            0, f"{what}: connect timed out after {timeout_s}s", retryable=True
        ) from None
    except Exception as exc:  # OSError, handshake refusal: all mean "not connected"
        cause = type(exc).__name__
        raise VenueError(0, f"{what}: connect failed ({cause}: {exc})", retryable=True) from None
    return transport


async def close_ws(transport: WSTransport, closed: asyncio.Event, timeout_s: float) -> bool:
    """Send a normal close frame, drop the socket and wait up to `timeout_s` for `closed`.

    `closed` is the event the listener's ``on_closed`` sets. Returns False on a timeout.
    """
    transport.send_close(WSCloseCode.OK)
    transport.disconnect()
    try:
        async with asyncio.timeout(timeout_s):
            await closed.wait()
    except TimeoutError:
        return False
    return True
