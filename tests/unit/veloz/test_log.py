"""Rate-limited logging: the first few in full, then one summary line per interval."""

import logging

import pytest

from veloz.log import RateLimitedLog


def test_rate_limited_log_burst_then_summarises(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    log = RateLimitedLog(logging.getLogger("t"), burst=2, interval_s=10.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="t"):
        for i in range(6):
            log.warning("feed.frame_malformed n=%d", i)
        assert [r.getMessage() for r in caplog.records] == [
            "feed.frame_malformed n=0",
            "feed.frame_malformed n=1",
            "feed.frame_malformed n=2 suppressed=0",
        ]
        assert log.n_suppressed == 3
        now[0] = 10.0
        log.warning("feed.frame_malformed n=%d", 6)
    assert caplog.records[-1].getMessage() == "feed.frame_malformed n=6 suppressed=3"
    assert log.n_suppressed == 0
