"""Request-weight and order-count limits, IP bans and forced faults (deterministic clock)."""

import pytest

from veloz.sim.errors import BinanceApiError
from veloz.sim.limits import RateInterval
from veloz.sim.limits import RateLimitConfig
from veloz.sim.limits import RateLimiter
from veloz.sim.limits import WindowLimit

IP = "127.0.0.1"
MINUTE = 60_000
T0 = 1_700_000_040_000  # a whole minute (and 10 s) boundary
SMALL = RateLimitConfig(
    request_weight=WindowLimit(10, RateInterval(1, "MINUTE")),
    orders=(WindowLimit(2, RateInterval(10, "SECOND")), WindowLimit(3, RateInterval(1, "DAY"))),
    ban_after_violations=2,
)


def _raises(fn: object, *args: object) -> BinanceApiError:
    assert callable(fn)
    with pytest.raises(BinanceApiError) as excinfo:
        fn(*args)
    return excinfo.value


def test_limits_default_config_is_binance_spot_values() -> None:
    cfg = RateLimitConfig()
    assert (cfg.request_weight.limit, cfg.request_weight.interval.text) == (6000, "1 MINUTE")
    assert [(o.limit, o.interval.suffix) for o in cfg.orders] == [(100, "10S"), (200_000, "1D")]
    assert (cfg.ban_first_ms, cfg.ban_max_ms) == (2 * MINUTE, 3 * 24 * 60 * MINUTE)


def test_charge_request_under_limit_returns_running_used_weight_header() -> None:
    limiter = RateLimiter()
    assert limiter.charge_request(IP, 5, T0) == {"X-MBX-USED-WEIGHT-1M": "5"}
    assert limiter.charge_request(IP, 20, T0 + 1) == {"X-MBX-USED-WEIGHT-1M": "25"}


def test_charge_request_exactly_at_limit_accepts() -> None:
    limiter = RateLimiter(SMALL)
    assert limiter.charge_request(IP, 10, T0) == {"X-MBX-USED-WEIGHT-1M": "10"}


def test_charge_request_over_limit_raises_429_with_retry_after_to_window_end() -> None:
    limiter = RateLimiter(SMALL)
    limiter.charge_request(IP, 10, T0)
    err = _raises(limiter.charge_request, IP, 1, T0 + 15_500)
    assert (err.code, err.http_status) == (-1003, 429)
    assert err.msg == (
        "Too much request weight used; current limit is 10 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API."
    )
    # 44.5 s to the next whole minute, rounded up.
    assert err.headers == {"X-MBX-USED-WEIGHT-1M": "11", "Retry-After": "45"}


def test_charge_request_window_resets_on_the_clock_minute() -> None:
    limiter = RateLimiter(SMALL)
    limiter.charge_request(IP, 10, T0 + MINUTE - 1)
    assert limiter.charge_request(IP, 10, T0 + MINUTE) == {"X-MBX-USED-WEIGHT-1M": "10"}


def test_charge_request_ips_are_counted_separately() -> None:
    limiter = RateLimiter(SMALL)
    limiter.charge_request(IP, 10, T0)
    assert limiter.charge_request("127.0.0.2", 10, T0) == {"X-MBX-USED-WEIGHT-1M": "10"}


def test_charge_request_repeated_429s_escalate_to_418_ban() -> None:
    limiter = RateLimiter(SMALL)
    limiter.charge_request(IP, 10, T0)
    assert _raises(limiter.charge_request, IP, 1, T0 + 1).http_status == 429
    assert _raises(limiter.charge_request, IP, 1, T0 + 2).http_status == 429
    err = _raises(limiter.charge_request, IP, 1, T0 + 3)
    until = T0 + 3 + 2 * MINUTE
    assert (err.code, err.http_status, err.headers) == (-1003, 418, {"Retry-After": "120"})
    assert err.msg == (
        f"Way too much request weight used; IP banned until {until}. "
        "Please use WebSocket Streams for live updates to avoid bans."
    )
    assert limiter.banned_until_ms(IP) == until


def test_charge_request_during_ban_answers_418_with_remaining_seconds() -> None:
    limiter = RateLimiter(SMALL)
    for t in range(4):
        try:
            limiter.charge_request(IP, 10, T0 + t)
        except BinanceApiError:
            continue
    err = _raises(limiter.charge_request, IP, 0, T0 + 3 + 30_000)
    assert (err.http_status, err.headers["Retry-After"]) == (418, "90")


def test_charge_request_after_ban_ends_accepts_again() -> None:
    limiter = RateLimiter(SMALL)
    for t in range(4):
        try:
            limiter.charge_request(IP, 10, T0 + t)
        except BinanceApiError:
            continue
    end = limiter.banned_until_ms(IP)
    assert limiter.charge_request(IP, 1, end) == {"X-MBX-USED-WEIGHT-1M": "1"}


def _ban_once(limiter: RateLimiter, now_ms: int) -> int:
    for t in range(4):
        try:
            limiter.charge_request(IP, 10, now_ms + t)
        except BinanceApiError as err:
            if err.http_status == 418:
                return int(err.headers["Retry-After"])
    raise AssertionError("no ban")


def test_charge_request_repeat_bans_double_up_to_three_days() -> None:
    limiter = RateLimiter(SMALL)
    now, seen = T0, []
    for _ in range(13):
        seen.append(_ban_once(limiter, now))
        now = limiter.banned_until_ms(IP) + 10 * MINUTE
        now -= now % MINUTE
    assert seen[:4] == [120, 240, 480, 960]
    assert seen[-1] == 3 * 24 * 3600
    assert max(seen) == 3 * 24 * 3600


def test_charge_request_ban_after_zero_violations_bans_first_over_limit() -> None:
    cfg = RateLimitConfig(request_weight=SMALL.request_weight, ban_after_violations=0)
    limiter = RateLimiter(cfg)
    limiter.charge_request(IP, 10, T0)
    assert _raises(limiter.charge_request, IP, 1, T0).http_status == 418


def test_charge_order_counts_both_windows_in_headers() -> None:
    limiter = RateLimiter()
    assert limiter.charge_order("acct", T0) == {
        "X-MBX-ORDER-COUNT-10S": "1",
        "X-MBX-ORDER-COUNT-1D": "1",
    }
    assert limiter.charge_order("acct", T0 + 1)["X-MBX-ORDER-COUNT-10S"] == "2"


def test_charge_order_over_10s_limit_raises_429_1015_with_counts_no_retry_after() -> None:
    limiter = RateLimiter(SMALL)
    limiter.charge_order("acct", T0)
    limiter.charge_order("acct", T0 + 1)
    err = _raises(limiter.charge_order, "acct", T0 + 2)
    # the refusal is not counted; it reports the full windows (the WS API lists them)
    assert (err.code, err.http_status) == (-1015, 429)
    assert err.headers == {"X-MBX-ORDER-COUNT-10S": "2", "X-MBX-ORDER-COUNT-1D": "2"}
    assert err.msg == "Too many new orders; current limit is 2 orders per 10 SECOND."


def test_charge_order_10s_window_reset_keeps_day_count() -> None:
    limiter = RateLimiter(SMALL)
    limiter.charge_order("acct", T0)
    limiter.charge_order("acct", T0 + 1)
    assert limiter.charge_order("acct", T0 + 10_000) == {
        "X-MBX-ORDER-COUNT-10S": "1",
        "X-MBX-ORDER-COUNT-1D": "3",
    }


def test_charge_order_over_day_limit_names_day_and_does_not_count() -> None:
    limiter = RateLimiter(SMALL)
    for i in range(3):
        limiter.charge_order("acct", T0 + i * 10_000)
    err = _raises(limiter.charge_order, "acct", T0 + 30_000)
    assert err.msg == "Too many new orders; current limit is 3 orders per 1 DAY."
    next_day = T0 - T0 % 86_400_000 + 86_400_000
    assert limiter.charge_order("acct", next_day)["X-MBX-ORDER-COUNT-1D"] == "1"


def test_charge_order_accounts_are_counted_separately() -> None:
    limiter = RateLimiter(SMALL)
    limiter.charge_order("a", T0)
    limiter.charge_order("a", T0)
    assert limiter.charge_order("b", T0)["X-MBX-ORDER-COUNT-10S"] == "1"


def test_force_429_rejects_until_duration_ends() -> None:
    limiter = RateLimiter()
    limiter.force(IP, 429, 5_000, T0)
    err = _raises(limiter.charge_request, IP, 1, T0 + 1_000)
    assert (err.http_status, err.headers["Retry-After"]) == (429, "4")
    assert limiter.charge_request(IP, 1, T0 + 5_000) == {"X-MBX-USED-WEIGHT-1M": "2"}


def test_force_418_rejects_with_ban_message_and_leaves_no_real_ban() -> None:
    limiter = RateLimiter()
    limiter.force(IP, 418, 2 * MINUTE, T0)
    err = _raises(limiter.charge_request, IP, 1, T0)
    assert (err.http_status, err.headers["Retry-After"]) == (418, "120")
    assert f"banned until {T0 + 2 * MINUTE}." in err.msg
    assert limiter.banned_until_ms(IP) == 0


def test_force_zero_duration_clears_fault() -> None:
    limiter = RateLimiter()
    limiter.force(IP, 418, MINUTE, T0)
    limiter.force(IP, 418, 0, T0 + 1)
    assert limiter.charge_request(IP, 1, T0 + 2) == {"X-MBX-USED-WEIGHT-1M": "1"}


def test_force_bad_status_raises_valueerror() -> None:
    with pytest.raises(ValueError, match="429 or 418"):
        RateLimiter().force(IP, 500, 1, T0)


def test_rate_interval_suffix_uses_binance_interval_letter() -> None:
    minute = RateInterval(1, "MINUTE")
    ten_s = RateInterval(10, "SECOND")
    day = RateInterval(1, "DAY")
    assert [minute.suffix, ten_s.suffix, day.suffix] == ["1M", "10S", "1D"]
    assert (minute.ms, ten_s.ms, day.ms) == (60_000, 10_000, 86_400_000)
