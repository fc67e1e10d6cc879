"""`HostileCounters`: everything the hostile server counts, in the one record tests read.

Owns only the counter fields. The market, stream, REST and order sides share one instance and
each bumps its own; no logic lives here.
"""

from collections import Counter
from dataclasses import dataclass
from dataclasses import field

__all__ = ["HostileCounters"]


@dataclass
class HostileCounters:
    """What the server generated, sent and answered. Plain ints; tests read them."""

    n_steps: int = 0  # depth events generated (the truth moved)
    n_depth_sent: int = 0  # depth frames written (summed over connections)
    n_depth_skipped: int = 0  # events withheld by gap()
    n_trades: int = 0
    n_frames_sent: int = 0
    n_ws_connections: int = 0  # websocket handshakes accepted
    n_ws_closed_by_server: int = 0
    n_ws_aborted: int = 0
    n_pings: int = 0
    n_pongs: int = 0  # pongs received from clients
    n_client_pings: int = 0
    n_client_msgs: int = 0  # text frames received (SUBSCRIBE & co)
    n_inbound_limit_closes: int = 0
    n_pong_timeouts: int = 0
    n_malformed_sent: int = 0
    n_wrong_symbol_sent: int = 0
    n_shutdown_sent: int = 0
    n_stalled_frames: int = 0  # frames not written because the connection was stalled
    n_snapshots: int = 0
    n_old_snapshots: int = 0
    n_429: int = 0
    n_418: int = 0
    n_rest_violations: int = 0  # requests inside a Retry-After window (Binance would ban)
    n_time: int = 0
    n_orders: int = 0  # POST order requests that passed auth
    n_order_errors: int = 0  # cued order_error answers
    n_cancels: int = 0
    n_order_queries: int = 0
    n_auth_failures: int = 0  # bad key, bad signature, or -1021 from the real clock check
    rest_calls: Counter[str] = field(default_factory=Counter)  # path -> requests
