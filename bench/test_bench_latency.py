"""Latency recording: LatencyRecorder against hdrhistogram's record_value, same run.

Issue 5 §4 allows measuring to add at most 1 µs per sample; PERF-NOTES has record_value at
1.1-2.2 µs. Subjects: ``record`` and ``record_since`` (one Python call each, the way a
strategy or gateway calls them) and the vectorised ``Latency.fold`` of a batch; baselines:
``record_value`` per sample (plus a ``time.monotonic_ns`` read for record_since). Inputs are
seeded lognormal durations around 40 µs.
"""

import time
from collections.abc import Callable

import numpy as np
import pytest

from bench.conftest import scale
from veloz._core.latency import LatencyRecorder
from veloz.metrics import Latency
from veloz.metrics import new_histogram

N_CALLS = 10_000
N_FOLD = 10_000
ROUNDS = 50


def _samples(n: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    out: list[int] = rng.lognormal(10.6, 0.8, n).astype(np.int64).tolist()
    return out


def _per_unit(benchmark, key: str, n_units: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.rounds:
        benchmark.extra_info[key] = stats.stats.median * 1e9 / n_units


def _pedantic(benchmark, run: Callable[[], None], setup: Callable[[], object]) -> None:
    # pedantic wants setup() to return None (or args); a drain returns the array.
    def reset() -> None:
        setup()

    reset()
    run()
    rounds = 2 if scale(ROUNDS) < ROUNDS else ROUNDS
    benchmark.pedantic(run, setup=reset, rounds=rounds, iterations=1)


# ---- (1) one record call from Python ----------------------------------------------------------


@pytest.fixture(scope="module")
def durations() -> list[int]:
    return _samples(scale(N_CALLS), seed=31)


def _record_group(n: int) -> str:
    return f"latency record one sample from Python, calls={n}"


def test_bench_latency_record_recorder(benchmark, durations: list[int]) -> None:
    benchmark.group = _record_group(len(durations))
    benchmark.extra_info["role"] = "subject"
    rec = LatencyRecorder(len(durations))
    record = rec.record

    def run() -> None:
        for ns in durations:
            record(ns)

    _pedantic(benchmark, run, rec.drain)
    _per_unit(benchmark, "ns_per_call", len(durations))
    assert rec.n_dropped == 0


def test_bench_latency_record_hdr_record_value(benchmark, durations: list[int]) -> None:
    benchmark.group = _record_group(len(durations))
    benchmark.extra_info["role"] = "baseline"
    hist = new_histogram()
    record_value = hist.record_value

    def run() -> None:
        for ns in durations:
            record_value(ns)

    _pedantic(benchmark, run, hist.reset)
    _per_unit(benchmark, "ns_per_call", len(durations))


# ---- (2) record_since: clock read + record ---------------------------------------------------


def _since_group(n: int) -> str:
    return f"latency record_since (clock read + record), calls={n}"


def test_bench_latency_record_since_recorder(benchmark) -> None:
    n = scale(N_CALLS)
    benchmark.group = _since_group(n)
    benchmark.extra_info["role"] = "subject"
    rec = LatencyRecorder(n)
    record_since = rec.record_since
    start = time.monotonic_ns()

    def run() -> None:
        for _ in range(n):
            record_since(start)

    _pedantic(benchmark, run, rec.drain)
    _per_unit(benchmark, "ns_per_call", n)
    assert rec.n_dropped == 0
    assert rec.n_negative == 0


def test_bench_latency_record_since_hdr_record_value(benchmark) -> None:
    n = scale(N_CALLS)
    benchmark.group = _since_group(n)
    benchmark.extra_info["role"] = "baseline"
    hist = new_histogram()
    record_value = hist.record_value
    mono = time.monotonic_ns
    start = mono()

    def run() -> None:
        for _ in range(n):
            record_value(mono() - start)

    _pedantic(benchmark, run, hist.reset)
    _per_unit(benchmark, "ns_per_call", n)


# ---- (3) folding a batch into the histogram ---------------------------------------------------


@pytest.fixture(scope="module")
def batch() -> list[int]:
    return _samples(scale(N_FOLD), seed=32)


def _fold_group(n: int) -> str:
    return f"latency fold a batch into the HDR histogram, samples={n}"


def test_bench_latency_fold_vectorised(benchmark, batch: list[int]) -> None:
    benchmark.group = _fold_group(len(batch))
    benchmark.extra_info["role"] = "subject"
    lat = Latency("bench", capacity=len(batch))
    record = lat.record

    def refill() -> None:
        for ns in batch:
            record(ns)

    def run() -> None:
        lat.fold()

    _pedantic(benchmark, run, refill)
    _per_unit(benchmark, "ns_per_sample", len(batch))
    assert lat.hist.get_total_count() > 0


def test_bench_latency_fold_record_value_loop(benchmark, batch: list[int]) -> None:
    benchmark.group = _fold_group(len(batch))
    benchmark.extra_info["role"] = "baseline"
    hist = new_histogram()
    record_value = hist.record_value
    arr = np.array(batch, dtype=np.int64)

    def run() -> None:
        for ns in arr.tolist():
            record_value(ns)

    _pedantic(benchmark, run, lambda: None)
    _per_unit(benchmark, "ns_per_sample", len(batch))
