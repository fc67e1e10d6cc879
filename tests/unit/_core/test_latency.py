"""LatencyRecorder: storing, dropping when full, refusing negatives, draining, the clock, and a
differential run against a list-based twin."""

import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from veloz._core.latency import LatencyRecorder
from veloz._core.latency import now_ns

INT64_MAX = 2**63 - 1


class RecorderRef:
    """Pure-Python twin: a bounded list and the same three counters."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.buf: list[int] = []
        self.n_recorded = self.n_dropped = self.n_negative = 0

    def record(self, ns: int) -> None:
        if ns < 0:
            self.n_negative += 1
        elif len(self.buf) < self.capacity:
            self.buf.append(ns)
            self.n_recorded += 1
        else:
            self.n_dropped += 1

    def drain(self) -> list[int]:
        out, self.buf = self.buf, []
        return out


def counters(r: LatencyRecorder | RecorderRef) -> tuple[int, int, int]:
    return (r.n_recorded, r.n_dropped, r.n_negative)


def test_recorder_record_then_drain_returns_int64_samples_in_order() -> None:
    r = LatencyRecorder(8)
    for ns in (5, 0, 7, INT64_MAX):
        r.record(ns)
    out = r.drain()
    assert out.dtype == np.int64
    assert out.tolist() == [5, 0, 7, INT64_MAX]
    assert counters(r) == (4, 0, 0)


def test_recorder_drain_empties_buffer_and_keeps_lifetime_counters() -> None:
    r = LatencyRecorder(4)
    r.record(1)
    r.record(2)
    r.drain()
    assert r.n_pending == 0
    assert r.drain().tolist() == []
    r.record(3)
    assert r.drain().tolist() == [3]
    assert r.n_recorded == 3


def test_recorder_full_buffer_drops_and_counts_until_drained() -> None:
    r = LatencyRecorder(2)
    for ns in (10, 20, 30, 40):
        r.record(ns)
    assert counters(r) == (2, 2, 0)
    assert r.drain().tolist() == [10, 20]
    r.record(50)
    assert r.drain().tolist() == [50]
    assert counters(r) == (3, 2, 0)


def test_recorder_negative_duration_counted_not_stored() -> None:
    r = LatencyRecorder(4)
    r.record(-1)
    r.record(-(2**63))
    r.record(9)
    assert counters(r) == (1, 0, 2)
    assert r.drain().tolist() == [9]


def test_recorder_drained_array_is_a_copy_not_a_view_of_the_buffer() -> None:
    r = LatencyRecorder(4)
    r.record(1)
    first = r.drain()
    r.record(2)
    assert first.tolist() == [1]


@pytest.mark.parametrize("capacity", [0, -1])
def test_recorder_capacity_below_one_raises_value_error(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        LatencyRecorder(capacity)


def test_recorder_capacity_is_readonly_and_reported() -> None:
    r = LatencyRecorder(3)
    assert r.capacity == 3
    with pytest.raises(AttributeError):
        r.capacity = 5  # type: ignore[misc]


def test_now_ns_is_the_clock_of_time_monotonic_ns() -> None:
    # Interleaved reads of both clocks must be ordered: a different clock (REALTIME, or a
    # different epoch) would be off by seconds to decades.
    for _ in range(1000):
        a = time.monotonic_ns()
        b = now_ns()
        c = time.monotonic_ns()
        assert a <= b <= c


def test_record_since_records_elapsed_and_returns_now() -> None:
    r = LatencyRecorder(4)
    start = time.monotonic_ns()
    got = r.record_since(start)
    after = time.monotonic_ns()
    (elapsed,) = r.drain().tolist()
    assert start <= got <= after
    assert elapsed == got - start
    assert 0 <= elapsed < 1_000_000_000


def test_record_since_a_future_start_counts_negative() -> None:
    r = LatencyRecorder(4)
    r.record_since(now_ns() + 10_000_000_000)
    assert counters(r) == (0, 0, 1)
    assert r.drain().size == 0


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(1, 16),
    ops=st.lists(
        st.one_of(st.integers(-(2**63), INT64_MAX), st.just("drain")),
        max_size=80,
    ),
)
def test_recorder_matches_list_twin_after_every_step(capacity: int, ops: list[int | str]) -> None:
    r = LatencyRecorder(capacity)
    ref = RecorderRef(capacity)
    for op in ops:
        if op == "drain":
            assert r.drain().tolist() == ref.drain()
        else:
            assert isinstance(op, int)
            r.record(op)
            ref.record(op)
        assert counters(r) == counters(ref)
        assert r.n_pending == len(ref.buf)
    assert r.drain().tolist() == ref.drain()
