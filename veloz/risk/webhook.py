"""Webhook sender: POST each risk event as JSON from a background thread, never blocking.

Owns one daemon thread, a bounded queue of pending posts, the per-post timeout and the
counters (sent, failed, dropped). Must not block or raise into the caller: a full queue
drops the post and counts it; a failed POST is logged and counted, never retried.
"""

import json
import logging
import queue
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

from veloz.errors import ConfigError
from veloz.risk.engine import RiskEvent

__all__ = ["WebhookSender"]

log = logging.getLogger(__name__)

_STOP = object()


def _urllib_post(url: str, body: bytes, timeout_s: float) -> int:
    # One POST; returns the HTTP status. The URL is checked to be http(s) at construction.
    req = urllib.request.Request(  # noqa: S310
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310
        status: int = resp.status
        return status


class WebhookSender:
    """POST `RiskEvent`s to `url` in order, from one background thread.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL.
    timeout_s : float
        Timeout of one POST (connect and read).
    capacity : int
        Posts waiting at most; one more is dropped and counted in ``n_dropped``.
    post : callable
        ``post(url, body, timeout_s) -> http_status``; urllib by default (tests inject).

    Raises
    ------
    ConfigError
        A URL that is not http(s), a timeout or capacity that is not positive.
    """

    def __init__(
        self,
        url: str,
        timeout_s: float = 2.0,
        capacity: int = 64,
        post: Callable[[str, bytes, float], int] = _urllib_post,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook_url={url!r}: must start with http(s)://")
        if not timeout_s > 0 or capacity < 1:
            raise ConfigError(f"webhook timeout_s={timeout_s} capacity={capacity}: must be > 0")
        self.url = url
        self.timeout_s = timeout_s
        self._post = post
        self._queue: queue.Queue[object] = queue.Queue(maxsize=capacity)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.n_sent = 0
        self.n_failed = 0
        self.n_dropped = 0

    def start(self) -> None:
        """Start the sender thread (idempotent)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="risk-webhook", daemon=True)
                self._thread.start()

    def __call__(self, event: RiskEvent) -> None:
        """Queue `event` for posting; O(1), never blocks (a full queue drops and counts)."""
        body = json.dumps(event.as_dict(), separators=(",", ":")).encode()
        try:
            self._queue.put_nowait(body)
        except queue.Full:
            self.n_dropped += 1
            log.warning("risk_webhook_dropped n_dropped=%d", self.n_dropped)

    def stop(self, timeout_s: float = 5.0) -> bool:
        """Send what is queued, then stop the thread; True when it ended within `timeout_s`."""
        thread = self._thread
        if thread is None:
            return True
        try:
            self._queue.put(_STOP, timeout=timeout_s)  # waits only while the queue is full
        except queue.Full:
            return False
        thread.join(timeout_s)
        return not thread.is_alive()

    def counters(self) -> dict[str, int]:
        """Return ``n_sent``, ``n_failed``, ``n_dropped``."""
        return {"n_sent": self.n_sent, "n_failed": self.n_failed, "n_dropped": self.n_dropped}

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            assert isinstance(item, bytes)  # noqa: S101 - only bytes and _STOP are queued
            try:
                status = self._post(self.url, item, self.timeout_s)
            except (OSError, urllib.error.URLError, ValueError) as exc:
                self.n_failed += 1
                log.warning("risk_webhook_failed error=%s n_failed=%d", exc, self.n_failed)
                continue
            if 200 <= status < 300:
                self.n_sent += 1
            else:
                self.n_failed += 1
                log.warning("risk_webhook_failed status=%d n_failed=%d", status, self.n_failed)
