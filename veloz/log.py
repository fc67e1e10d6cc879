"""Logging setup for processes, and a rate-limited warning for repeated bad input.

One line per event: ``event_name key=value ...``. Only `procs/` calls `setup()`; library
code takes ``logging.getLogger(__name__)`` and never configures handlers.
"""

import logging
import sys
import time
from collections.abc import Callable

_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def setup(level: str | int = "INFO") -> None:
    """Send log lines to stderr (the journal keeps them under systemd)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class RateLimitedLog:
    """Log the first ``burst`` occurrences, then one line per ``interval_s`` with a count.

    Parameters
    ----------
    logger : logging.Logger
        Where the lines go.
    burst : int
        Lines logged in full before limiting starts.
    interval_s : float
        Seconds between summary lines once limited.
    clock : callable
        Monotonic seconds; injectable for tests.
    """

    __slots__ = ("_burst", "_clock", "_interval_s", "_last_s", "_logger", "_seen", "n_suppressed")

    def __init__(
        self,
        logger: logging.Logger,
        burst: int = 5,
        interval_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._burst = burst
        self._interval_s = interval_s
        self._clock = clock
        self._seen = 0
        self._last_s = float("-inf")
        self.n_suppressed = 0

    def warning(self, msg: str, *args: object) -> None:
        """Log ``msg % args`` unless limited; a limited call is counted and summarised."""
        self._seen += 1
        if self._seen <= self._burst:
            self._logger.warning(msg, *args)
            return
        now = self._clock()
        if now - self._last_s >= self._interval_s:
            self._last_s = now
            self._logger.warning("%s suppressed=%d", msg % args, self.n_suppressed)
            self.n_suppressed = 0
        else:
            self.n_suppressed += 1
