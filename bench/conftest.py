"""Benchmark plumbing: smoke mode, and a median-ratio table for subject vs baseline.

Every benchmark marks itself with ``benchmark.extra_info["role"] = "subject" | "baseline"``
and shares a ``benchmark.group`` with its twin; the summary prints median and ratio per group.
Smoke mode (VELOZ_BENCH_SMOKE=1, ``--benchmark-disable``, or a checked build) shrinks inputs
via ``scale()`` and reports no figures.
"""

import os

import pytest

from veloz._core import build_info


def is_smoke(config: pytest.Config | None = None) -> bool:
    """True when benchmarks must only smoke-run (tiny inputs, no figures)."""
    if os.environ.get("VELOZ_BENCH_SMOKE") == "1" or build_info()["checked"]:
        return True
    return bool(config is not None and config.getoption("benchmark_disable", False))


def scale(n: int) -> int:
    """Input size for a benchmark: n normally, at most 20 in smoke mode."""
    return min(n, 20) if is_smoke() else n


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    bs = getattr(config, "_benchmarksession", None)
    if bs is None or is_smoke(config) or not bs.benchmarks:
        return
    groups: dict[str, dict[str, float]] = {}
    for b in bs.benchmarks:
        if not b.stats or b.stats.rounds == 0:
            continue
        role = b.extra_info.get("role", "subject")
        groups.setdefault(b.group or b.name, {})[role] = b.stats.median
    tr = terminalreporter
    tr.section("veloz: median and ratio against the baseline of the same run")
    for group, roles in sorted(groups.items()):
        subj = roles.get("subject")
        base = roles.get("baseline")
        line = f"{group:60s} subject {subj * 1e9:12.1f} ns" if subj else f"{group:60s}"
        if subj and base:
            line += f"  baseline {base * 1e9:12.1f} ns  ratio {base / subj:8.1f}x"
        tr.write_line(line)
