"""The gateway's ZMQ plumbing on asyncio: the `Inbox` it drains and the drain itself.

Owns reading a bound PULL or connected SUB to the end of its queue when its edge-triggered
ZMQ_FD wakes the loop, and the per-message dispatch wrapper (a handler bug is counted and
logged with its traceback, never fatal). Must not decode messages, decide anything, or block.
"""

import logging
from collections.abc import Callable
from typing import Protocol
from typing import cast

import zmq

from veloz.oms.counters import GatewayCounters

__all__ = ["Inbox", "drain"]

log = logging.getLogger(__name__)


class Inbox(Protocol):
    """A bound PULL or connected SUB (`veloz.bus.sockets`) the gateway drains."""

    def poll_recv(self) -> tuple[bytes, bytes] | None:
        """The next ``(topic, body)`` without waiting, or None."""
        ...

    def fileno(self) -> int:
        """The ZMQ_FD to watch."""
        ...

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """The zmq socket (for ZMQ_EVENTS)."""
        ...


def drain(inbox: Inbox, handler: Callable[[bytes, bytes], None], counters: GatewayCounters) -> None:
    """Handle every queued message of `inbox`.

    ZMQ FDs are edge-triggered: read while ZMQ_EVENTS has POLLIN, else the next message
    would never wake the loop. Asking EVENTS first (not reading until ``zmq.Again``) keeps
    the exception off the path of the last command before its request task runs.

    Parameters
    ----------
    inbox : Inbox
        The socket to read.
    handler : callable
        Takes ``(topic, body)`` of each message.
    counters : GatewayCounters
        ``n_dispatch_errors`` counts handler bugs.
    """
    sock = inbox.socket
    while cast(int, sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
        msg = inbox.poll_recv()
        if msg is None:
            continue  # a malformed multipart message, counted by the socket
        try:
            handler(msg[0], msg[1])
        except Exception:  # per-message dispatch wrapper
            counters.n_dispatch_errors += 1
            log.exception("gateway.dispatch_error topic=%.80r", msg[0])
