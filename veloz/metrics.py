"""Latency figures: raw samples from `_core.latency`, folded into HDR histograms, and reports.

Owns the three figures of DESIGN §3, their histograms (1 ns .. 60 s, 3 significant digits),
the optional recent window of a figure (`LatencyWindow`: the last 10-20 s, for a live
trigger such as the risk engine's latency rule; the files and snapshots stay lifetime),
the per-process latency file `<run>/latency/<proc>.json`, the bus snapshots `lat.<proc>` and
the report table / JSON `veloz-bench` prints. It must not record on a hot path itself (the
recorder does; `fold` runs off the hot path) and must not open sockets: callers send.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import platform
import socket
import sys
import zlib
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from typing import Protocol

import numpy as np
import numpy.typing as npt
from hdrh.codec import HdrCookieException
from hdrh.codec import HdrHistogramSettingsException
from hdrh.codec import HdrLengthException
from hdrh.histogram import HdrHistogram

from veloz._core import build_info
from veloz._core.latency import LatencyRecorder
from veloz._core.latency import now_ns

log = logging.getLogger(__name__)

FIGURES = ("ingest_to_dispatch", "trigger_to_send", "receipt_to_strategy")
SEED_TARGET_P99_NS = {
    "ingest_to_dispatch": 5_000_000,
    "trigger_to_send": 2_000_000,
    "receipt_to_strategy": 5_000_000,
}
GOAL_P99_NS = {f: 100_000 for f in FIGURES}

LOWEST_NS = 1
HIGHEST_NS = 60_000_000_000  # samples above are clamped to this and counted (n_clamped)
SIGNIFICANT_FIGURES = 3
PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p999", 99.9))
# What hdrh's decode raises on a bad blob: base64 (binascii.Error is a ValueError), zlib,
# its own header checks, and RuntimeError/TypeError from the payload classes.
_HDR_DECODE_ERRORS = (
    ValueError,
    TypeError,
    RuntimeError,
    zlib.error,
    HdrCookieException,
    HdrLengthException,
    HdrHistogramSettingsException,
)
SUMMARY_KEYS = ("count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us")
# A recent window holding fewer samples than this reports 0 ("no figure"): the p99 of a
# handful of samples is only their maximum.
RECENT_MIN_COUNT = 20


class LatencyEncoder(Protocol):
    """What `LatencySet.messages` needs of `veloz._core.wire.Encoder`."""

    def latency(
        self,
        name: str,
        count: int,
        p50_ns: int,
        p90_ns: int,
        p99_ns: int,
        p999_ns: int,
        max_ns: int,
        hdr: bytes,
        mono_ns: int,
    ) -> bytes:
        """Encode one LATENCY message body."""
        ...


def new_histogram() -> HdrHistogram:
    """Return an empty histogram of the figures' shape: 1 ns .. 60 s, 3 significant digits."""
    return HdrHistogram(LOWEST_NS, HIGHEST_NS, SIGNIFICANT_FIGURES)


def _counts(hist: HdrHistogram) -> npt.NDArray[np.uint64]:
    # A numpy view on the histogram's own ctypes counts array (no copy): writes go into hist.
    view: npt.NDArray[np.uint64] = np.ctypeslib.as_array(hist.counts)
    return view


def counts_index(hist: HdrHistogram, values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Return hdrhistogram's counts-array index of each value, vectorised.

    The same arithmetic as ``HdrHistogram._counts_index_for`` per value: bucket from the bit
    length of ``value | sub_bucket_mask``, sub-bucket from a shift. Values must be in
    ``0 .. HIGHEST_NS`` (below 2**53, so the float64 exponent gives an exact bit length).

    Parameters
    ----------
    hist : HdrHistogram
        Gives the shape (unit magnitude, sub-bucket counts).
    values : numpy.ndarray
        int64 ns, non-negative. O(n).
    """
    masked = values | np.int64(hist.sub_bucket_mask)
    _, bit_len = np.frexp(masked.astype(np.float64))  # bit length of each positive int
    bucket = (
        bit_len.astype(np.int64) - hist.unit_magnitude - (hist.sub_bucket_half_count_magnitude + 1)
    )
    sub_bucket = values >> (bucket + hist.unit_magnitude)
    base = (bucket + 1) << hist.sub_bucket_half_count_magnitude
    out: npt.NDArray[np.int64] = base + sub_bucket - hist.sub_bucket_half_count
    return out


def fold_into(hist: HdrHistogram, samples: npt.NDArray[np.int64]) -> int:
    """Add samples to hist with the result ``record_value`` per sample would give.

    Each sample's bucket index is computed in numpy, equal indices are counted once
    (``bincount``) and added to the counts array in place; total, min and max move as
    ``record_value`` moves them. Samples must be in ``0 .. HIGHEST_NS`` (see `Latency.fold`).

    Parameters
    ----------
    hist : HdrHistogram
        Updated in place.
    samples : numpy.ndarray
        int64 durations in ns.

    Returns
    -------
    int
        Samples added. O(n + counts_len).

    Raises
    ------
    ValueError
        A sample outside ``0 .. HIGHEST_NS``; hist is unchanged.
    """
    n = int(samples.size)
    if n == 0:
        return 0
    lo = int(samples.min())
    hi = int(samples.max())
    if lo < 0 or hi > HIGHEST_NS:
        raise ValueError(f"samples must be in 0..{HIGHEST_NS} ns, got {lo}..{hi}")
    idx = counts_index(hist, samples)
    counts = _counts(hist)
    counts += np.bincount(idx, minlength=counts.size).astype(counts.dtype)
    hist.total_count += n
    hist.min_value = min(hist.min_value, lo)
    hist.max_value = max(hist.max_value, hi)
    return n


def percentiles_ns(hist: HdrHistogram) -> dict[str, int]:
    """Return ``{"count", "p50", "p90", "p99", "p999", "max"}`` of hist in ns (ints).

    Each percentile is what ``hist.get_value_at_percentile`` gives (highest equivalent value
    of the bucket where the cumulative count reaches the target), found with one cumsum
    instead of a Python loop over every bucket. ``max`` is ``hist.get_max_value()``. An empty
    histogram gives zeros. O(counts_len).
    """
    total = int(hist.get_total_count())
    out = {"count": total}
    if total == 0:
        out.update(dict.fromkeys(("p50", "p90", "p99", "p999", "max"), 0))
        return out
    cum = np.cumsum(_counts(hist))
    for key, pct in PERCENTILES:
        target = hist.get_target_count_at_percentile(pct)
        index = int(np.searchsorted(cum, target, side="left"))
        out[key] = int(hist.get_highest_equivalent_value(hist.get_value_from_index(index)))
    out["max"] = int(hist.get_max_value())
    return out


def _clear(hist: HdrHistogram) -> None:
    # hdrh's reset() in numpy: one memset instead of a Python loop over every bucket.
    _counts(hist)[:] = 0
    hist.total_count = 0
    hist.min_value = sys.maxsize
    hist.max_value = 0


class LatencyWindow:
    """The recent samples of one figure: two HDR histograms taking turns, `span_s` each.

    Samples go into the current histogram; once it is `span_s` old the other one is cleared
    and becomes current, so the figure covers the last `span_s` .. 2 x `span_s` seconds.
    A spike weighs on it for at most 2 x `span_s`, and a new spike is not diluted by hours
    of calm samples, which a lifetime histogram does to its p99.

    Parameters
    ----------
    span_s : float
        Seconds each histogram is current (> 0).
    min_count : int
        Fewer samples than this in the window report zeros ("no figure").
    """

    __slots__ = ("_cur", "_prev", "_scratch", "_span_ns", "_start_ns", "min_count")

    def __init__(self, span_s: float = 10.0, min_count: int = RECENT_MIN_COUNT) -> None:
        if not span_s > 0:
            raise ValueError(f"span_s={span_s!r}: must be > 0")
        self._span_ns = int(span_s * 1e9)
        self.min_count = min_count
        self._cur = new_histogram()
        self._prev = new_histogram()
        self._scratch = new_histogram()  # the two merged, for percentiles
        self._start_ns: int | None = None  # mono ns the current histogram started

    def _turn(self, mono_ns: int) -> None:
        # Rotate on the span grid: a histogram older than 2 spans holds nothing recent.
        start = self._start_ns
        if start is None:
            self._start_ns = mono_ns
            return
        age = mono_ns - start
        if age < self._span_ns:
            return
        if age >= 2 * self._span_ns:
            _clear(self._cur)
            _clear(self._prev)
            self._start_ns = mono_ns
            return
        self._cur, self._prev = self._prev, self._cur
        _clear(self._cur)
        self._start_ns = start + self._span_ns

    def add(self, samples: npt.NDArray[np.int64], mono_ns: int) -> int:
        """Add samples (int64 ns, ``0 .. HIGHEST_NS``) taken up to `mono_ns`; return n. O(n)."""
        self._turn(mono_ns)
        return fold_into(self._cur, samples)

    def percentiles_ns(self, mono_ns: int) -> dict[str, int]:
        """Return count and p50/p90/p99/p999/max in ns of the window as of `mono_ns`.

        Fewer than ``min_count`` samples give the count and zeros. O(counts_len) (numpy).
        """
        self._turn(mono_ns)
        cur, prev = self._cur, self._prev
        count = int(cur.total_count) + int(prev.total_count)
        if count < self.min_count:
            out = dict.fromkeys(("p50", "p90", "p99", "p999", "max"), 0)
            out["count"] = count
            return out
        both = self._scratch
        np.add(_counts(cur), _counts(prev), out=_counts(both))
        both.total_count = count
        both.min_value = min(cur.min_value, prev.min_value)
        both.max_value = max(cur.max_value, prev.max_value)
        return percentiles_ns(both)

    def p99_ns(self, mono_ns: int) -> int:
        """Return the window's p99 in ns as of `mono_ns`; 0 = too few samples."""
        return self.percentiles_ns(mono_ns)["p99"]


def summarize(hist: HdrHistogram) -> dict[str, float]:
    """Return ``{"count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}`` (µs floats)."""
    ns = percentiles_ns(hist)
    out: dict[str, float] = {"count": ns["count"]}
    for key in ("p50", "p90", "p99", "p999", "max"):
        out[f"{key}_us"] = ns[key] / 1000.0
    return out


class Latency:
    """One named latency figure in one process: a hot-path recorder and its histogram.

    Parameters
    ----------
    name : str
        The figure, e.g. ``"ingest_to_dispatch"``.
    capacity : int
        Samples the recorder holds between two folds; more are dropped and counted.
    window_s : float
        When > 0, ``fold`` also feeds a `LatencyWindow` of this span (``window``), read
        with `recent_p99_ns`. 0 (default): lifetime only.

    Notes
    -----
    ``record`` / ``record_since`` go straight to the Cython recorder (tens of ns). ``fold``
    moves its samples into ``hist`` off the hot path. A sample above 60 s (``HIGHEST_NS``) is
    recorded as exactly 60 s and counted in ``n_clamped``, so it still weighs on the tail.
    A sample enters the window at the time it is folded, not when it was recorded: fold at
    least as often as the window's span (the processes fold every latency interval).
    """

    __slots__ = ("hist", "n_clamped", "name", "record", "record_since", "recorder", "window")

    def __init__(self, name: str, capacity: int = 65536, window_s: float = 0.0) -> None:
        self.name = name
        self.recorder = LatencyRecorder(capacity)
        self.hist = new_histogram()
        self.n_clamped = 0
        self.window = LatencyWindow(window_s) if window_s > 0 else None
        # Bound methods of the recorder: one attribute load, no Python frame of ours per call.
        self.record = self.recorder.record
        self.record_since = self.recorder.record_since

    def fold(self, mono_ns: int | None = None) -> int:
        """Drain the recorder into the histogram (and the window, as of `mono_ns`, now when
        None); return the number of samples folded. O(n)."""
        samples = self.recorder.drain()
        if samples.size == 0:
            return 0
        over = samples > HIGHEST_NS
        n_over = int(np.count_nonzero(over))
        if n_over:
            self.n_clamped += n_over
            samples[over] = HIGHEST_NS
            log.warning(
                "latency_clamped figure=%s n=%d total=%d", self.name, n_over, self.n_clamped
            )
        n = fold_into(self.hist, samples)
        if self.window is not None:
            self.window.add(samples, now_ns() if mono_ns is None else mono_ns)
        return n

    def percentiles_ns(self) -> dict[str, int]:
        """Return count and p50/p90/p99/p999/max in ns of what has been folded."""
        return percentiles_ns(self.hist)

    def recent_p99_ns(self, mono_ns: int | None = None) -> int:
        """Return the p99 in ns of the recent window as of `mono_ns` (now when None), of
        what has been folded; 0 = no figure (no window, or too few samples in it)."""
        if self.window is None:
            return 0
        return self.window.p99_ns(now_ns() if mono_ns is None else mono_ns)

    def summary(self) -> dict[str, float]:
        """Return count and p50/p90/p99/p99.9/max in µs of what has been folded (no fold)."""
        return summarize(self.hist)

    def encode(self) -> bytes:
        """Return the histogram in hdrhistogram's compressed base64 form (``encode()``)."""
        blob: bytes = self.hist.encode()
        return blob


class LatencySet:
    """The latency figures of one process, written on exit and published as snapshots.

    Parameters
    ----------
    proc : str
        The process name in files and topics: ``gateway``, ``strategy.<proc>``,
        ``feed.<SYMBOL>``.
    names : Iterable[str]
        Its figures.
    capacity : int
        Recorder capacity of each figure.
    window_s : float
        Span of each figure's recent window (`Latency`); 0 (default): none.
    """

    def __init__(
        self, proc: str, names: Iterable[str], capacity: int = 65536, window_s: float = 0.0
    ) -> None:
        self.proc = proc
        self.figures: dict[str, Latency] = {n: Latency(n, capacity, window_s) for n in names}
        self.topic = f"lat.{proc}".encode()

    def __getitem__(self, name: str) -> Latency:
        return self.figures[name]

    def __iter__(self) -> Iterator[Latency]:
        return iter(self.figures.values())

    def __len__(self) -> int:
        return len(self.figures)

    def fold_all(self) -> int:
        """Fold every figure; return the samples folded in all."""
        return sum(lat.fold() for lat in self.figures.values())

    def to_dict(self) -> dict[str, Any]:
        """Return the latency file's content (folds first)."""
        self.fold_all()
        figures: dict[str, Any] = {}
        for name, lat in self.figures.items():
            entry: dict[str, Any] = dict(lat.summary())
            entry["hdr"] = lat.encode().decode("ascii")
            entry["n_dropped"] = lat.recorder.n_dropped
            entry["n_negative"] = lat.recorder.n_negative
            entry["n_clamped"] = lat.n_clamped
            figures[name] = entry
        return {"proc": self.proc, "figures": figures}

    def write(self, run_dir: str | os.PathLike[str]) -> Path:
        """Fold, then write ``<run>/latency/<proc>.json`` atomically; return its path.

        Raises
        ------
        OSError
            When the directory or file cannot be written.
        """
        out_dir = Path(run_dir) / "latency"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{self.proc}.json"
        tmp = out_dir / f".{self.proc}.json.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(self.to_dict()))
        os.replace(tmp, path)
        return path

    def messages(self, encoder: LatencyEncoder) -> list[tuple[bytes, bytes]]:
        """Fold, then return ``[(b"lat.<proc>", body), ...]``: one LATENCY body per figure.

        Each snapshot is cumulative since the process started: a consumer keeps the latest
        per (proc, figure). The caller sends them (NOBLOCK; a drop loses one snapshot only).
        """
        self.fold_all()
        mono_ns = now_ns()
        out = []
        for name, lat in self.figures.items():
            p = lat.percentiles_ns()
            body = encoder.latency(
                name,
                p["count"],
                p["p50"],
                p["p90"],
                p["p99"],
                p["p999"],
                p["max"],
                lat.encode(),
                mono_ns,
            )
            out.append((self.topic, body))
        return out


def decode_hdr(text: str | bytes) -> HdrHistogram:
    """Return the histogram of an ``encode()`` blob; ValueError when it is not one."""
    try:
        hist = HdrHistogram.decode(text)
    except _HDR_DECODE_ERRORS as exc:
        raise ValueError(f"not an hdrhistogram blob: {exc}") from exc
    return hist


def read_latency_dir(run_dir: str | os.PathLike[str]) -> dict[str, HdrHistogram]:
    """Merge every ``<run>/latency/*.json`` by figure name.

    A file that is not a latency file (bad JSON, missing keys, bad blob) is skipped with one
    log line; the others still count. A missing directory gives ``{}``.

    Returns
    -------
    dict[str, HdrHistogram]
        Figure name to the merged histogram of every process that had it.
    """
    merged: dict[str, HdrHistogram] = {}
    lat_dir = Path(run_dir) / "latency"
    if not lat_dir.is_dir():
        return merged
    for path in sorted(lat_dir.glob("*.json")):
        try:
            doc = json.loads(path.read_text())
            figures = doc["figures"]
            hists = {str(name): decode_hdr(fig["hdr"]) for name, fig in figures.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("latency_file_bad path=%s error=%s", path, str(exc)[:200])
            continue
        for name, hist in hists.items():
            if name not in merged:
                merged[name] = new_histogram()
            try:
                merged[name].add(hist)
            except IndexError as exc:  # a foreign histogram reaching past 60 s
                log.warning("latency_figure_bad path=%s figure=%s error=%s", path, name, exc)
    return merged


# ---- reports ------------------------------------------------------------------------------


def _fmt_us(us: float) -> str:
    if us < 1000.0:
        return f"{us:.1f}µs"
    if us < 1_000_000.0:
        return f"{us / 1000.0:.2f}ms"
    return f"{us / 1_000_000.0:.2f}s"


def _fmt_target(ns: int) -> str:
    if ns >= 1_000_000 and ns % 1_000_000 == 0:
        return f"{ns // 1_000_000} ms"
    return f"{ns / 1000.0:g} µs"


def _ordered(hists: Mapping[str, HdrHistogram]) -> list[str]:
    return list(FIGURES) + sorted(n for n in hists if n not in FIGURES)


def _passes(name: str, p99_ns: int, count: int) -> tuple[bool | None, bool | None]:
    # Seed target is strict (< 5 ms), the goal inclusive (<= 100 µs), as DESIGN §3 words them.
    if count == 0:
        return None, None
    seed = SEED_TARGET_P99_NS.get(name)
    goal = GOAL_P99_NS.get(name)
    return (
        None if seed is None else p99_ns < seed,
        None if goal is None else p99_ns <= goal,
    )


def _heading(rate: float | None, symbols: int | None) -> str:
    parts = []
    if rate is not None:
        parts.append(f"rate {rate:,.0f} msg/s")
    if symbols is not None:
        parts.append(f"{symbols} symbol{'s' if symbols != 1 else ''}")
    return "latency report" + (f"  ({', '.join(parts)})" if parts else "")


def report(
    hists: Mapping[str, HdrHistogram], *, rate: float | None = None, symbols: int | None = None
) -> str:
    """Return the latency report table a trader reads at a glance.

    One row per figure (the three of DESIGN §3 always, then any other, by name): count,
    p50/p90/p99/p99.9/max and PASS/FAIL of P99 against the seed target and the goal. A figure
    without samples says ``no samples`` and is neither PASS nor FAIL.
    """
    head = (
        f"{'figure':<22}{'count':>10}{'p50':>10}{'p90':>10}{'p99':>10}{'p99.9':>10}{'max':>10}"
        f"  {'seed P99':<16}{'goal P99'}"
    )
    lines = [_heading(rate, symbols), head]
    for name in _ordered(hists):
        hist = hists.get(name)
        p = percentiles_ns(hist) if hist is not None else {"count": 0}
        if p["count"] == 0:
            lines.append(f"{name:<22}{0:>10}  no samples")
            continue
        cells = "".join(f"{_fmt_us(p[k] / 1000.0):>10}" for k in ("p50", "p90", "p99", "p999"))
        cells += f"{_fmt_us(p['max'] / 1000.0):>10}"
        seed_ok, goal_ok = _passes(name, p["p99"], p["count"])
        seed_txt = _verdict_text(seed_ok, "<", SEED_TARGET_P99_NS.get(name))
        goal_txt = _verdict_text(goal_ok, "<=", GOAL_P99_NS.get(name))
        lines.append(f"{name:<22}{p['count']:>10,}{cells}  {seed_txt:<16}{goal_txt}")
    return "\n".join(lines) + "\n"


def _verdict_text(ok: bool | None, op: str, target_ns: int | None) -> str:
    if ok is None or target_ns is None:
        return "-"
    return f"{'PASS' if ok else 'FAIL'} {op}{_fmt_target(target_ns)}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError as exc:  # not Linux, or /proc hidden: the platform's word is next best
        log.debug("cpuinfo_unreadable error=%s", exc)
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Return hostname, cpu model, n cpus, python version and which build is loaded."""
    return {
        "hostname": socket.gethostname(),
        "cpu": _cpu_model(),
        "n_cpus": os.cpu_count() or 0,
        "python": sys.version.split()[0],
        "build": "checked" if build_info()["checked"] else "release",
    }


def report_json(
    hists: Mapping[str, HdrHistogram], *, rate: float | None, symbols: int | None
) -> dict[str, Any]:
    """Return the ``veloz-bench --json`` document (issue 5 §6).

    Keys: each figure (the three always) with count, p50_us .. max_us, seed_target_p99_us,
    goal_p99_us, pass_seed, pass_goal (a figure without samples has zeros and both flags
    False: not met); then ``rate``, ``symbols``, ``machine``, ``date`` (ISO 8601 UTC).
    """
    doc: dict[str, Any] = {}
    for name in _ordered(hists):
        hist = hists.get(name)
        h = hist if hist is not None else new_histogram()
        p = percentiles_ns(h)
        entry: dict[str, Any] = {"count": p["count"]}
        for key in ("p50", "p90", "p99", "p999", "max"):
            entry[f"{key}_us"] = p[key] / 1000.0
        seed = SEED_TARGET_P99_NS.get(name)
        goal = GOAL_P99_NS.get(name)
        seed_ok, goal_ok = _passes(name, p["p99"], p["count"])
        entry["seed_target_p99_us"] = None if seed is None else seed / 1000.0
        entry["goal_p99_us"] = None if goal is None else goal / 1000.0
        entry["pass_seed"] = bool(seed_ok)
        entry["pass_goal"] = bool(goal_ok)
        doc[name] = entry
    doc["rate"] = rate
    doc["symbols"] = symbols
    doc["machine"] = machine_info()
    doc["date"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return doc
