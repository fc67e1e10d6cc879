"""`veloz-bench`'s pipeline runs: the whole system on the simulator, measured at DESIGN §3's points.

Owns the benchmark's run plan (which symbols, how fast the simulator's market moves to give
the asked message rate, which core each process gets), running it through `veloz.up`'s
supervisor, measuring the message rate that actually reached the strategy, and the sweep
and plot. Must not measure anything itself: the three figures come from the processes'
own histograms (`veloz.metrics`), exactly as in a live run.

A *message* is one market-data event the strategy is handed (book, BBO or trade); `rate` is
their total per second over all symbols. The simulator is driven by book updates per second,
and about `FRAMES_PER_UPDATE` of them become a BBO or trade frame (measured on the sim: 7 to
9 % change the top, 10 to 11 % trade), plus 10 depth frames a second per symbol. The rate
reported is the one that reached the strategy, not the one asked.
"""

import asyncio
import dataclasses
import datetime
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import uvloop

from veloz import metrics
from veloz._core import wire
from veloz.bus.endpoints import BusConfig
from veloz.bus.sockets import SubSocket
from veloz.up.config import UpConfig
from veloz.up.config import parse_up_config
from veloz.up.plan import build_children
from veloz.up.plan import prepare_run_dir
from veloz.up.plan import restart_policy
from veloz.up.supervisor import Supervisor

__all__ = [
    "SWEEP_RATES",
    "SWEEP_SYMBOLS",
    "SYMBOLS",
    "RunResult",
    "bench_config",
    "pin_layout",
    "plot",
    "run_pipeline",
]

SYMBOLS = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT")  # the simulator's spot symbols
SWEEP_RATES = (1000, 10000, 50000)
SWEEP_SYMBOLS = (1, 2, 4)
FRAMES_PER_UPDATE = 0.2
DEPTH_FRAMES_PER_S = 10
STRATEGY = "bench.strategy:BenchTrigger"
PROC = "bench"


def pin_layout(n_cpus: int) -> dict[str, int | None]:
    """Which core each process gets.

    Four or more cores: one each for the simulator, the feeds, the strategy and the gateway.
    Two or three: the simulator alone on core 0 and the pipeline on core 1. The simulator
    stands in for a remote exchange and is the busiest process at 10k msg/s; sharing its
    core made trigger-to-send p99 4.2 ms against 0.8 ms this way (2-core host, same day).
    One core: nothing pinned.
    """
    if n_cpus >= 4:
        return {"sim": 0, "feed": 1, "strategy": 2, "gateway": 3}
    if n_cpus >= 2:
        return {"sim": 0, "feed": 1, "strategy": 1, "gateway": 1}
    return {"sim": None, "feed": None, "strategy": None, "gateway": None}


def _drop_none(table: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in table.items() if v is not None}


def bench_config(
    rate: float,
    n_symbols: int,
    duration_s: float,
    run_dir: Path,
    *,
    orders_per_s: float = 100.0,
    spin_us: int | None = None,
    pins: Mapping[str, int | None] | None = None,
) -> UpConfig:
    """The `veloz up` config of one benchmark run.

    `spin_us` (the strategy's busy-poll after each message) defaults to 200 when the
    strategy has a core of its own and 0 when it shares one with the feed: spinning there
    takes the core from the feed it waits on (10k msg/s, 2 cores, same session:
    ingest-to-dispatch p50 78-84 µs without spinning against 181-191 µs with 200 µs).

    Raises
    ------
    ValueError
        `n_symbols` outside 1..4, or `rate`, `duration_s` or `orders_per_s` not > 0.
    """
    if not 1 <= n_symbols <= len(SYMBOLS):
        raise ValueError(f"symbols must be 1..{len(SYMBOLS)}, got {n_symbols}")
    for what, value in (("rate", rate), ("duration", duration_s), ("orders_per_s", orders_per_s)):
        if not value > 0:
            raise ValueError(f"{what} must be > 0, got {value}")
    pins = pins if pins is not None else pin_layout(os.cpu_count() or 1)
    if spin_us is None:
        alone = pins["strategy"] is not None and list(pins.values()).count(pins["strategy"]) == 1
        spin_us = 200 if alone else 0
    symbols = list(SYMBOLS[:n_symbols])
    per_symbol = rate / n_symbols
    sim_rate = max(50.0, (per_symbol - DEPTH_FRAMES_PER_S) / FRAMES_PER_UPDATE)
    order_every = max(1, round(rate / orders_per_s))
    data: dict[str, Any] = {
        "log_level": "WARNING",
        "duration_s": duration_s,
        "max_restarts": 0,  # a crash invalidates the run: stop, do not paper over it
        "bus": {"run_dir": str(run_dir)},
        "sim": _drop_none(
            {
                "enabled": True,
                "venue": "spot",
                "symbols": symbols,
                "rate": sim_rate,
                "seed": 7,
                "no_rate_limits": True,
                "cpu": pins["sim"],
            }
        ),
        "feed": [
            _drop_none(
                {
                    "venue": "binance-spot",
                    "symbol": s,
                    "depth_speed_ms": 100,
                    "book_ticker": True,
                    "cpu": pins["feed"],
                }
            )
            for s in symbols
        ],
        "gateway": _drop_none(
            {
                "venue": "binance-spot",
                "transport": "wsapi",
                "symbols": symbols,
                "cpu": pins["gateway"],
                "risk": {
                    "max_notional": "1000000",
                    "price_band_bps": 2000,
                    "max_orders_per_s": 10 * orders_per_s,
                    "max_cancels_per_s": 10 * orders_per_s,
                },
            }
        ),
        "strategy": _drop_none(
            {
                "proc": PROC,
                "spin_us": spin_us,
                "cpu": pins["strategy"],
                "strategies": [
                    {
                        "name": "bench",
                        "path": STRATEGY,
                        "venue": "binance-spot",
                        "symbols": symbols,
                        "params": {"order_every": order_every},
                    }
                ],
            }
        ),
    }
    return parse_up_config(data)


@dataclasses.dataclass
class RunResult:
    """One pipeline run: what was asked, what arrived, the three histograms, how it ended."""

    rate: float
    symbols: int
    duration_s: float
    achieved_rate: float
    hists: dict[str, Any]
    rc: int
    summary: str

    def to_json(self) -> dict[str, Any]:
        """The issue §6 JSON shape of this run (`metrics.report_json`) plus what arrived."""
        doc = metrics.report_json(self.hists, rate=self.rate, symbols=self.symbols)
        doc["achieved_rate"] = round(self.achieved_rate, 1)
        doc["duration_s"] = self.duration_s
        doc["exit_code"] = self.rc
        return doc

    def report(self) -> str:
        """The latency table, headed by the asked and the achieved rate."""
        head = (
            f"pipeline on the simulator: {self.symbols} symbol(s), asked "
            f"{self.rate:,.0f} msg/s, delivered {self.achieved_rate:,.0f} msg/s "
            f"over {self.duration_s:g} s"
        )
        body = metrics.report(self.hists, rate=self.achieved_rate, symbols=self.symbols)
        return f"{head}\n{body}"


class _RateProbe:
    """Follows the strategy's cumulative ``ingest_to_dispatch`` count on its latency socket."""

    def __init__(self, bus: BusConfig) -> None:
        self.sub = SubSocket(bus, [f"strategy.{PROC}"], prefixes=[f"lat.strategy.{PROC}"])
        self.points: list[tuple[float, int]] = []

    async def run(self) -> None:
        while True:
            self.sub.rediscover()
            while (msg := self.sub.poll_recv()) is not None:
                try:
                    lat = wire.decode(msg[1])
                except ValueError:
                    continue
                if isinstance(lat, wire.LatencyMsg) and lat.name == "ingest_to_dispatch":
                    self.points.append((time.monotonic(), lat.count))
            await asyncio.sleep(0.1)

    def rate(self) -> float:
        """Messages per second between the first snapshot with samples and the last."""
        live = [(t, n) for t, n in self.points if n > 0]
        if len(live) < 2 or live[-1][0] <= live[0][0]:
            return 0.0
        return (live[-1][1] - live[0][1]) / (live[-1][0] - live[0][0])


async def _supervise(cfg: UpConfig) -> tuple[int, float, str]:
    sup = Supervisor(
        build_children(cfg),
        restart_policy(cfg),
        stop_timeout_s=cfg.stop_timeout_s,
        duration_s=cfg.duration_s,
    )
    probe = _RateProbe(cfg.bus)
    task = asyncio.ensure_future(probe.run())
    try:
        rc = await sup.run()
    finally:
        task.cancel()
        probe.sub.close()
    return rc, probe.rate(), sup.summary()


def run_pipeline(
    rate: float,
    n_symbols: int,
    duration_s: float,
    run_dir: Path | None = None,
    **options: Any,
) -> RunResult:
    """Run the pipeline once for `duration_s` and collect its histograms.

    `options` go to `bench_config` (``orders_per_s``, ``spin_us``, ``pins``). A fresh
    private run dir is made when `run_dir` is None.
    """
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="vzb"))
    cfg = bench_config(rate, n_symbols, duration_s, run_dir, **options)
    prepare_run_dir(cfg)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        rc, achieved, summary = runner.run(_supervise(cfg))
    hists = metrics.read_latency_dir(run_dir)
    return RunResult(rate, n_symbols, duration_s, achieved, hists, rc, summary)


def sweep_table(results: list[RunResult]) -> str:
    """One line per run: asked and delivered rate, the three p99s, and the verdicts."""
    short = {
        "ingest_to_dispatch": "ingest",
        "trigger_to_send": "trigger",
        "receipt_to_strategy": "receipt",
    }
    lines = [
        f"{'asked':>8} {'sym':>3} {'delivered':>10}  "
        + "  ".join(f"{short[f] + ' p99':>12}" for f in metrics.FIGURES)
        + "  seed   goal"
    ]
    for r in results:
        doc = r.to_json()
        cells = []
        for f in metrics.FIGURES:
            fig = doc[f]
            cells.append(f"{fig['p99_us']:>10.0f}µs" if fig["count"] else f"{'-':>12}")
        seed = all(doc[f]["pass_seed"] for f in metrics.FIGURES)
        goal = all(doc[f]["pass_goal"] for f in metrics.FIGURES)
        lines.append(
            f"{r.rate:>8,.0f} {r.symbols:>3} {r.achieved_rate:>10,.0f}  "
            + "  ".join(cells)
            + f"  {'PASS' if seed else 'FAIL':4}   {'PASS' if goal else 'FAIL'}"
        )
    return "\n".join(lines)


def breaks_at(results: list[RunResult]) -> dict[str, str]:
    """The first run (in sweep order) where the goal, then the seed target, stop holding."""
    out = {}
    for key, what in (("pass_goal", "goal"), ("pass_seed", "seed")):
        out[what] = "held at every point"
        for r in results:
            doc = r.to_json()
            if not all(doc[f][key] for f in metrics.FIGURES):
                out[what] = f"{r.rate:,.0f} msg/s asked on {r.symbols} symbol(s)"
                break
    return out


def plot(runs: list[RunResult], path: Path) -> None:
    """Draw each figure's latency by percentile (HDR style: log axis of 1/(1-p)), per run."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 5), sharey=True)
    pcts = [50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 100.0]
    xs = [1.0 / max(1e-5, 1.0 - p / 100.0) for p in pcts]
    for ax, name in zip(axes, metrics.FIGURES, strict=True):
        for r in runs:
            hist = r.hists.get(name)
            if hist is None or hist.get_total_count() == 0:
                continue
            ys = [hist.get_value_at_percentile(p) / 1000.0 for p in pcts]
            ax.plot(xs, ys, marker="o", label=f"{r.achieved_rate:,.0f} msg/s, {r.symbols} sym")
        ax.axhline(metrics.GOAL_P99_NS[name] / 1000.0, color="green", ls="--", lw=1, label="goal")
        ax.axhline(
            metrics.SEED_TARGET_P99_NS[name] / 1000.0, color="red", ls=":", lw=1, label="seed"
        )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(xs[::2], [f"p{p:g}" for p in pcts[::2]])
        ax.set_title(name)
        ax.set_xlabel("percentile")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("latency, µs")
    axes[0].legend(fontsize=7)
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    fig.suptitle(f"veloz-bench pipeline latency, {date}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
