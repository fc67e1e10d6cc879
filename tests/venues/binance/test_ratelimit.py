"""Client-side rate limits: budgets at safety x limit, venue counts win, 429/418 blocks."""

from pathlib import Path
from typing import Any

import orjson
import pytest

from veloz.errors import WireError
from veloz.venues.binance.ratelimit import DEFAULT_BAN_S
from veloz.venues.binance.ratelimit import RateLimits

MS = 1_000_000  # ns per ms
T0 = 1_700_000_040_000 * MS  # on a whole minute (and 10 s) boundary
SPOT_LIMITS: list[dict[str, Any]] = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 100},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 10},
    {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 1000},
]


def _limits(safety: float = 0.9) -> RateLimits:
    return RateLimits.from_exchange_info(SPOT_LIMITS, safety=safety)


def _used(limits: RateLimits, kind: str, interval_ms: int) -> int:
    (w,) = [w for w in limits.windows() if (w.kind, w.interval_ms) == (kind, interval_ms)]
    return w.used


def test_from_exchange_info_budgets_are_safety_times_limit() -> None:
    budgets = {(w.kind, w.interval_ms): w.budget for w in _limits().windows()}
    assert budgets == {
        ("REQUEST_WEIGHT", 60_000): 90,
        ("ORDERS", 10_000): 9,
        ("ORDERS", 86_400_000): 900,
    }


def test_from_exchange_info_reads_spot_capture(fixtures_dir: Path) -> None:
    path = fixtures_dir / "binance/spot/exchangeInfo_rest_v3_2021-10-11_TRIMMED_6_symbols.json"
    doc = orjson.loads(path.read_bytes())
    limits = RateLimits.from_exchange_info(doc["rateLimits"])
    assert {w.kind for w in limits.windows()} <= {"REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"}
    assert len(limits.windows()) == len(doc["rateLimits"])


@pytest.mark.parametrize(
    "entry",
    [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1},
        {"rateLimitType": "WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 5},
        {"rateLimitType": "ORDERS", "interval": "WEEK", "intervalNum": 1, "limit": 5},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 0},
        {"rateLimitType": "ORDERS", "interval": ["SECOND"], "intervalNum": 10, "limit": 5},
        "REQUEST_WEIGHT",
    ],
)
def test_from_exchange_info_bad_entry_raises_wire_error(entry: Any) -> None:
    with pytest.raises(WireError):
        RateLimits.from_exchange_info([entry])


def test_safety_out_of_range_raises() -> None:
    with pytest.raises(ValueError, match="safety"):
        RateLimits(safety=1.5)


def test_acquire_counts_weight_and_orders() -> None:
    limits = _limits()
    assert limits.acquire(5, True, T0) == 0.0
    assert limits.acquire(3, False, T0) == 0.0
    assert _used(limits, "REQUEST_WEIGHT", 60_000) == 8
    assert _used(limits, "ORDERS", 10_000) == 1
    assert _used(limits, "ORDERS", 86_400_000) == 1


def test_acquire_over_weight_budget_refuses_until_window_end_and_counts_nothing() -> None:
    limits = _limits()
    assert limits.acquire(90, False, T0) == 0.0  # exactly the budget (90 % of 100)
    wait = limits.acquire(1, True, T0 + 15_000 * MS)
    assert wait == pytest.approx(45.0)
    assert limits.last_refusal_kind == "REQUEST_WEIGHT"
    assert _used(limits, "REQUEST_WEIGHT", 60_000) == 90
    assert _used(limits, "ORDERS", 10_000) == 0  # nothing counted on refusal
    assert limits.n_refused == 1


def test_acquire_next_window_allows_again() -> None:
    limits = _limits()
    assert limits.acquire(90, False, T0) == 0.0
    assert limits.acquire(1, False, T0 + 59_999 * MS) > 0
    assert limits.acquire(1, False, T0 + 60_000 * MS) == 0.0
    assert _used(limits, "REQUEST_WEIGHT", 60_000) == 1


def test_acquire_orders_budget_refuses_orders_but_not_cancels() -> None:
    limits = _limits()
    for _ in range(9):
        assert limits.acquire(1, True, T0) == 0.0
    assert limits.acquire(1, True, T0 + 2_000 * MS) == pytest.approx(8.0)
    assert limits.last_refusal_kind == "ORDERS"
    assert limits.acquire(1, False, T0 + 2_000 * MS) == 0.0  # a cancel is not an order


def test_acquire_single_request_above_budget_goes_into_empty_window() -> None:
    limits = _limits(safety=0.5)  # weight budget 50
    assert limits.acquire(80, False, T0) == 0.0
    assert limits.acquire(1, False, T0) > 0


def test_acquire_without_limits_loaded_allows_everything() -> None:
    limits = RateLimits()
    assert all(limits.acquire(10_000, True, T0) == 0.0 for _ in range(100))


def test_update_from_headers_venue_count_replaces_ours() -> None:
    limits = _limits()
    limits.acquire(5, True, T0)
    headers = {"x-mbx-used-weight-1m": "88", "X-MBX-ORDER-COUNT-10S": "7", "Other": "1"}
    limits.update_from_headers(headers, T0 + MS)
    assert _used(limits, "REQUEST_WEIGHT", 60_000) == 88
    assert _used(limits, "ORDERS", 10_000) == 7
    assert limits.acquire(3, False, T0 + 2 * MS) > 0  # 88 + 3 > 90


def test_update_from_headers_lower_venue_count_frees_budget() -> None:
    limits = _limits()
    limits.acquire(90, False, T0)
    limits.update_from_headers({"X-MBX-USED-WEIGHT-1M": "10"}, T0 + MS)
    assert limits.acquire(50, False, T0 + 2 * MS) == 0.0


def test_update_from_headers_unknown_limiter_counted_not_enforced() -> None:
    limits = _limits()
    limits.update_from_headers({"X-MBX-ORDER-COUNT-1M": "5"}, T0)
    assert limits.n_unknown_limits == 1
    assert len(limits.windows()) == 3


@pytest.mark.parametrize(
    "headers", [{"X-MBX-USED-WEIGHT-1M": "lots"}, {"X-MBX-USED-WEIGHT-1X": "5"}]
)
def test_update_from_headers_bad_value_counted_and_skipped(headers: dict[str, str]) -> None:
    limits = _limits()
    limits.update_from_headers(headers, T0)
    assert limits.n_bad_headers == 1
    assert _used(limits, "REQUEST_WEIGHT", 60_000) == 0


def test_update_from_ws_sets_counts_and_adds_new_limiters(fixtures_dir: Path) -> None:
    path = fixtures_dir / "binance/spot/docs_examples/wsapi_order_place_response_success.json"
    rate_limits = orjson.loads(path.read_bytes())["rateLimits"]
    limits = RateLimits()
    limits.update_from_ws(rate_limits, T0)
    got = {(w.kind, w.interval_ms): (w.limit, w.used) for w in limits.windows()}
    assert got == {
        ("ORDERS", 10_000): (50, 12),
        ("ORDERS", 86_400_000): (160_000, 4043),
        ("REQUEST_WEIGHT", 60_000): (6000, 321),
    }


def test_update_from_ws_bad_entry_counted_others_applied() -> None:
    limits = _limits()
    good = {**SPOT_LIMITS[0], "count": 42}
    limits.update_from_ws([{"rateLimitType": "ORDERS"}, good, {**good, "count": "x"}], T0)
    assert limits.n_bad_headers == 2
    assert _used(limits, "REQUEST_WEIGHT", 60_000) == 42


def test_block_429_refuses_everything_until_retry_after() -> None:
    limits = _limits()
    limits.block(3.0, T0, is_ban=False)
    assert limits.blocked_for(T0 + 1_000 * MS) == pytest.approx(2.0)
    assert limits.acquire(1, False, T0 + 1_000 * MS) == pytest.approx(2.0)
    assert limits.last_refusal_kind == "BLOCKED"
    assert limits.acquire(1, False, T0 + 3_000 * MS) == 0.0
    assert limits.blocked_for(T0 + 3_000 * MS) == 0.0


def test_block_418_without_retry_after_uses_two_minutes() -> None:
    limits = _limits()
    limits.block(0.0, T0, is_ban=True)
    assert limits.blocked_for(T0) == DEFAULT_BAN_S
    assert limits.n_bans == 1


def test_block_orders_only_lets_cancels_through() -> None:
    limits = _limits()
    limits.block(5.0, T0, is_ban=False, orders_only=True)
    assert limits.acquire(1, True, T0 + MS) > 0
    assert limits.acquire(1, False, T0 + MS) == 0.0
    assert limits.blocked_for(T0 + MS) == 0.0
    assert limits.orders_blocked_for(T0 + MS) == pytest.approx(5.0 - 0.001)


def test_block_shorter_second_block_keeps_longer_one() -> None:
    limits = _limits()
    limits.block(10.0, T0, is_ban=False)
    limits.block(1.0, T0, is_ban=False)
    assert limits.blocked_for(T0) == 10.0


def test_load_updates_limits_in_place_and_keeps_counts() -> None:
    limits = _limits()
    limits.acquire(40, False, T0)
    limits.load([{**SPOT_LIMITS[0], "limit": 50}])
    (w,) = [w for w in limits.windows() if w.kind == "REQUEST_WEIGHT"]
    assert (w.limit, w.budget, w.used) == (50, 45, 40)
