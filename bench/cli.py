"""`veloz-bench`: the latency report.

By default it starts the pipeline on the simulator (sim, feeds, gateway, a strategy that
triggers orders; processes pinned to cores), drives a message rate over some symbols, and
prints ingest-to-dispatch, trigger-to-send and receipt-to-strategy with PASS/FAIL against the
seed targets and our goals. ``--sweep`` repeats that over rates and symbol counts;
``--core`` reports the single-process hot path instead.
"""

import argparse
import datetime
import sys
from pathlib import Path
from typing import Any

import orjson

from bench import core
from bench import pipeline
from veloz._core import build_info


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="veloz-bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--core", action="store_true", help="core hot path in one process only")
    ap.add_argument("--frames", type=int, default=20000, help="--core: depth frames (>= 100)")
    ap.add_argument("--rate", type=float, default=10000, help="md messages/s in all (10000)")
    ap.add_argument("--symbols", type=int, default=1, help="symbols, 1..4 (1)")
    ap.add_argument("--duration", type=float, help="seconds per run (20; 10 per sweep point)")
    ap.add_argument("--orders-per-s", type=float, default=100, help="order cycles/s (100)")
    ap.add_argument("--sweep", action="store_true", help="rates 1k, 10k, 50k x 1, 2, 4 symbols")
    ap.add_argument("--run-dir", type=Path, metavar="DIR", help="keep the run's files here")
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--plot", type=Path, metavar="FILE.png", help="draw the distributions")
    return ap


def _check(args: argparse.Namespace) -> str | None:
    if args.frames < 100:
        return f"--frames must be >= 100, got {args.frames}"
    if not args.rate > 0:
        return f"--rate must be > 0, got {args.rate:g}"
    if not 1 <= args.symbols <= len(pipeline.SYMBOLS):
        return f"--symbols must be 1..{len(pipeline.SYMBOLS)}, got {args.symbols}"
    if args.duration is not None and not args.duration >= 2:
        return f"--duration must be >= 2 seconds, got {args.duration:g}"
    if not args.orders_per_s > 0:
        return f"--orders-per-s must be > 0, got {args.orders_per_s:g}"
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        return f"--plot must name a .png file, got {args.plot}"
    if args.core and (args.sweep or args.plot):
        return "--core takes neither --sweep nor --plot"
    if build_info()["checked"]:
        return (
            "this is a checked build (bounds checks on), so figures would mislead;"
            " run `make build` for a release build first"
        )
    return None


def _run_dir(base: Path | None, label: str) -> Path | None:
    return None if base is None else base / label


def _pipeline(args: argparse.Namespace) -> dict[str, Any]:
    if not args.sweep:
        duration = args.duration or 20.0
        run = pipeline.run_pipeline(
            args.rate, args.symbols, duration, args.run_dir, orders_per_s=args.orders_per_s
        )
        print(run.report())
        print()
        print(run.summary)
        if args.plot:
            pipeline.plot([run], args.plot)
        return {**run.to_json(), "exit_code": run.rc}
    duration = args.duration or 10.0
    runs = []
    for n_sym in pipeline.SWEEP_SYMBOLS:
        for rate in pipeline.SWEEP_RATES:
            label = f"r{rate}-s{n_sym}"
            print(f"sweep: {rate:,} msg/s on {n_sym} symbol(s) for {duration:g} s ...", flush=True)
            runs.append(
                pipeline.run_pipeline(
                    rate,
                    n_sym,
                    duration,
                    _run_dir(args.run_dir, label),
                    orders_per_s=args.orders_per_s,
                )
            )
    print()
    print(pipeline.sweep_table(runs))
    where = pipeline.breaks_at(runs)
    print(f"\ngoal (P99 <= 100 µs) breaks at: {where['goal']}")
    print(f"seed targets (P99 5/2/5 ms) break at: {where['seed']}")
    if args.plot:
        pipeline.plot(runs, args.plot)
    headline = next(r for r in runs if r.rate == 10000 and r.symbols == 1)
    return {
        **headline.to_json(),
        "sweep": [r.to_json() for r in runs],
        "breaks_at": where,
        "exit_code": max(r.rc for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    """Run ``veloz-bench``; exit 0, 1 when a pipeline process failed, 2 on bad arguments."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    problem = _check(args)
    if problem is not None:
        print(f"veloz-bench: {problem}", file=sys.stderr)
        return 2
    if args.core:
        report = core.run_core(args.frames)
        core.print_report(report)
        rc = 0
    else:
        print(
            f"veloz-bench   {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}   "
            f"{core.machine()}   build: release",
            flush=True,
        )
        report = _pipeline(args)
        rc = 1 if report["exit_code"] else 0
    if args.json:
        args.json.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
