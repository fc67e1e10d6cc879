"""WebhookSender: posts in order off the caller's thread, drops and counts when full."""

import json
import threading
from http.server import BaseHTTPRequestHandler
from http.server import HTTPServer

import pytest

from veloz.errors import ConfigError
from veloz.risk.engine import RiskEvent
from veloz.risk.engine import RiskState
from veloz.risk.webhook import WebhookSender

EV = RiskEvent(RiskState.ACTIVE, RiskState.HALTED, "kill", "drill", 123)


def test_webhook_full_queue_drops_and_counts_without_blocking() -> None:
    gate = threading.Event()
    bodies: list[bytes] = []

    def post(url: str, body: bytes, timeout_s: float) -> int:
        gate.wait(5.0)
        bodies.append(body)
        return 200

    w = WebhookSender("http://127.0.0.1:9/x", capacity=2, post=post)
    w.start()
    w(EV)  # taken by the thread, which waits on the gate
    for _ in range(10):  # fills the 2 slots (once the thread took the first), drops the rest
        w(EV)
    assert w.n_dropped >= 7
    gate.set()
    assert w.stop(5.0)
    assert w.n_sent + w.n_dropped == 11
    assert w.counters()["n_dropped"] == w.n_dropped
    assert json.loads(bodies[0])["new"] == "HALTED"


def test_webhook_failed_post_counted_and_thread_continues() -> None:
    calls: list[int] = []

    def post(url: str, body: bytes, timeout_s: float) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise OSError("connection refused")
        return 500 if len(calls) == 2 else 204

    w = WebhookSender("http://127.0.0.1:9/x", post=post)
    w.start()
    for _ in range(3):
        w(EV)
    assert w.stop(5.0)
    assert (w.n_failed, w.n_sent) == (2, 1)


def test_webhook_rejects_non_http_url() -> None:
    with pytest.raises(ConfigError, match="webhook_url"):
        WebhookSender("file:///etc/passwd")


def test_webhook_posts_json_to_local_http_server() -> None:
    got: list[bytes] = []
    done = threading.Event()

    class _H(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.end_headers()
            done.set()

        def log_message(self, *args: object) -> None:
            return

    srv = HTTPServer(("127.0.0.1", 0), _H)
    t = threading.Thread(target=srv.handle_request, daemon=True)
    t.start()
    try:
        w = WebhookSender(f"http://127.0.0.1:{srv.server_port}/risk", timeout_s=2.0)
        w.start()
        w(EV)
        assert done.wait(5.0)
        assert w.stop(5.0)
        assert w.n_sent == 1
        assert json.loads(got[0])["trigger"] == "kill"
    finally:
        srv.server_close()
