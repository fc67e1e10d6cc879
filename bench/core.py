"""`veloz-bench --core`: the core hot path in one process.

Owns the single-process figures (frame bytes -> decoded -> synced -> applied, level apply,
number parse), each against its pure-Python baseline measured in the same run, and their
printout. Must not start processes: the pipeline figures are `bench.pipeline`'s.
"""

import datetime
import os
import platform
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from bench.frames import DecimalBaseline
from bench.frames import depth_stream
from veloz._core import binance_md
from veloz._core import depth_sync
from veloz._core import fixed
from veloz._core.book import Book
from veloz._core.book import Side

TARGETS_NS = {"frame_to_applied": 5000, "level_apply_py": 100, "level_apply_c": 10}


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _pcts(samples: np.ndarray) -> dict[str, float]:
    return {
        "count": int(samples.size),
        "p50_ns": float(np.percentile(samples, 50)),
        "p90_ns": float(np.percentile(samples, 90)),
        "p99_ns": float(np.percentile(samples, 99)),
        "p999_ns": float(np.percentile(samples, 99.9)),
        "max_ns": float(samples.max()),
    }


def bench_frame_to_applied(n_frames: int) -> dict[str, Any]:
    """Per-frame ns for decode -> sync -> apply of 20-level spot diffs on a 1000-level book."""
    stream = depth_stream(n_frames + 1000, seed=11)
    warm, frames = stream.frames[:1000], stream.frames[1000:]
    dec = binance_md.BinanceMdDecoder(stream.symbol, stream.price_dp, stream.qty_dp, False)
    book = Book(stream.price_dp, stream.qty_dp)
    sync = depth_sync.DepthSync(book, depth_sync.SyncRule.SPOT)
    dec.decode(warm[0])
    sync.on_diff(dec.depth)  # buffered, as a live feed does before its snapshot arrives
    dec.decode_snapshot(stream.snapshot)
    sync.on_snapshot(dec.depth)
    for f in warm[1:]:
        dec.decode(f)
        sync.on_diff(dec.depth)
    if not sync.is_live:
        raise RuntimeError("benchmark stream did not sync: a bug in the generator or the sync")
    depth = dec.depth
    clock = time.perf_counter_ns
    samples = np.empty(len(frames), dtype=np.int64)
    t_all = clock()
    for i, f in enumerate(frames):
        t0 = clock()
        dec.decode(f)
        sync.on_diff(depth)
        samples[i] = clock() - t0
    mean_ns = (clock() - t_all) / len(frames)
    if sync.n_gaps or not sync.is_live:
        raise RuntimeError("benchmark stream gapped")
    timer = np.array([-(clock() - clock()) for _ in range(10000)])
    base = DecimalBaseline(stream.snapshot)
    for f in warm:
        base.on_frame(f)
    n_base = min(len(frames), 5000)
    t0 = clock()
    for f in frames[:n_base]:
        base.on_frame(f)
    base_ns = (clock() - t0) / n_base
    return {
        **_pcts(samples),
        "mean_ns": mean_ns,
        "timer_overhead_ns": float(np.median(timer)),
        "baseline_mean_ns": base_ns,
        "ratio": base_ns / mean_ns,
        "frame_bytes": int(np.mean([len(f) for f in frames])),
    }


def bench_level_apply(n: int) -> dict[str, Any]:
    """Level apply on a 1000-level book: one call from Python, and per level in a C loop."""
    rng = np.random.default_rng(5)
    book = Book(2, 5)
    mid = 6_500_000
    book.load_snapshot(
        np.arange(mid - 1, mid - 1001, -1, dtype=np.int64),
        np.full(1000, 7, dtype=np.int64),
        np.arange(mid + 1, mid + 1001, dtype=np.int64),
        np.full(1000, 7, dtype=np.int64),
    )
    depths = np.minimum(rng.geometric(1 / 6, n), 1000).astype(np.int64)
    px = (mid - depths).astype(np.int64)
    qty = rng.integers(0, 4, n).astype(np.int64)  # a quarter delete, the rest set
    apply_level = book.apply_level
    t0 = time.perf_counter_ns()
    for p, q in zip(px.tolist(), qty.tolist(), strict=True):
        apply_level(0, p, q)
    py_ns = (time.perf_counter_ns() - t0) / n
    best = []
    for _ in range(5):
        t0 = time.perf_counter_ns()
        book.apply_batch(Side.BID, px, qty)
        best.append((time.perf_counter_ns() - t0) / n)
    return {"py_call_ns": py_ns, "c_loop_ns": float(np.median(best)), "levels": n}


def bench_parse(n: int) -> dict[str, Any]:
    """Decimal text -> int64 from Python: fixed.parse against Decimal, same strings."""
    rng = np.random.default_rng(3)
    texts = [f"{v / 100:.8f}" for v in rng.integers(1, 10_000_000, n).tolist()]
    t0 = time.perf_counter_ns()
    for t in texts:
        fixed.parse(t, 2)
    ours = (time.perf_counter_ns() - t0) / n
    t0 = time.perf_counter_ns()
    for t in texts:
        int(Decimal(t).scaleb(2))
    base = (time.perf_counter_ns() - t0) / n
    return {"fixed_ns": ours, "decimal_ns": base, "ratio": base / ours}


def _verdict(value: float, target: float) -> str:
    return "PASS" if value <= target else "FAIL"


def print_report(report: dict[str, Any]) -> None:
    f, lv, p = report["frame_to_applied"], report["level_apply"], report["parse"]
    print(f"veloz-bench --core   {report['date']}   {report['machine']}")
    print(
        f"build: {report['build']}   one process, no pinning; medians drift +-40% on shared hosts"
    )
    print()
    print(
        f"frame -> decoded -> synced -> applied  (20-level spot diff, ~{f['frame_bytes']} B, "
        f"1000-level book, {f['count']} frames)"
    )
    print(
        f"  p50 {f['p50_ns']:8.0f} ns   p90 {f['p90_ns']:8.0f}   p99 {f['p99_ns']:8.0f}   "
        f"p99.9 {f['p999_ns']:8.0f}   max {f['max_ns']:9.0f}   "
        f"(timer ~{f['timer_overhead_ns']:.0f} ns)"
    )
    print(
        f"  mean {f['mean_ns']:7.0f} ns   baseline orjson+Decimal+SortedDict "
        f"{f['baseline_mean_ns']:7.0f} ns   ratio {f['ratio']:5.1f}x   "
        f"target p50 <= {TARGETS_NS['frame_to_applied']} ns: "
        f"{_verdict(f['p50_ns'], TARGETS_NS['frame_to_applied'])}"
    )
    print(
        "level apply, 1000-level book, fresh near-touch updates, 1/4 deletes:\n"
        f"  from Python {lv['py_call_ns']:6.1f} ns/call "
        f"(target <= 100: {_verdict(lv['py_call_ns'], 100)})   in a C loop "
        f"{lv['c_loop_ns']:5.1f} ns/level (target <= 10: {_verdict(lv['c_loop_ns'], 10)})"
    )
    print(
        f"number parse from Python: fixed {p['fixed_ns']:6.1f} ns   Decimal {p['decimal_ns']:6.1f}"
        f" ns   ratio {p['ratio']:4.1f}x"
    )


def run_core(n_frames: int) -> dict[str, Any]:
    """Measure every core figure; the dict `print_report` prints and ``--json`` writes."""
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "build": "release",
        "frame_to_applied": bench_frame_to_applied(n_frames),
        "level_apply": bench_level_apply(100_000),
        "parse": bench_parse(100_000),
    }
