"""The one exception tree. Callers import errors from here only.

Roots come from `veloz._core.errors` (plain Python, so Cython can raise them); this module
adds the errors of the pure-Python layers.
"""

from veloz._core.errors import InvariantError
from veloz._core.errors import NumberError
from veloz._core.errors import SequenceGap
from veloz._core.errors import VelozError
from veloz._core.errors import WireError

__all__ = [
    "ConfigError",
    "InvariantError",
    "NumberError",
    "OrderRejected",
    "SequenceGap",
    "VelozError",
    "VenueError",
    "WireError",
]


class ConfigError(VelozError):
    """A bad flag or config value: names the key path, the value and the rule."""


class VenueError(VelozError):
    """A venue answered with an error, or did not answer in time.

    Parameters
    ----------
    code : int
        The venue's error code (Binance: negative, e.g. -1021); 0 when the venue sent none
        (a transport failure, a 5xx without a body).
    msg : str
        The venue's own message, kept verbatim.
    retryable : bool
        True when sending the same request again later may succeed (throttling, clock skew,
        overload); False when it never will as sent (bad parameter, rejected order).
    http_status : int
        HTTP status of a REST answer, the WS-API ``status`` field, or 0.
    is_unknown : bool
        True when the request may have been executed (5xx, timeout, -1007): the caller
        must reconcile (query the order) before acting on it.
    retry_after_s : float
        Seconds the venue asked us to wait (``Retry-After``), 0 when it did not say.
    """

    def __init__(
        self,
        code: int,
        msg: str,
        *,
        retryable: bool,
        http_status: int = 0,
        is_unknown: bool = False,
        retry_after_s: float = 0.0,
    ) -> None:
        super().__init__(f"venue error {code} (http {http_status}): {msg}")
        self.code = code
        self.msg = msg
        self.retryable = retryable
        self.http_status = http_status
        self.is_unknown = is_unknown
        self.retry_after_s = retry_after_s


class OrderRejected(VelozError):
    """An order refused before or by the venue; ``by`` says who ("local", "risk", "venue").

    ``reason`` is the text a strategy sees; ``code`` is the venue's code when ``by`` is
    "venue", else 0.
    """

    def __init__(self, reason: str, by: str, code: int = 0) -> None:
        super().__init__(f"order rejected by {by}: {reason}")
        self.reason = reason
        self.by = by
        self.code = code
