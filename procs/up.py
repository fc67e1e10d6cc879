"""`veloz up`: run the whole pipeline (sim, feeds, gateway, strategy) from one TOML file.

Exit codes: 0 a clean run (stopped by SIGINT/SIGTERM or ``--duration``, every child stopped
with 0); 1 a child was given up (too many restarts, bad config, no ready file) or did not
stop cleanly; 2 bad flags or config. Prints the latency report, what each strategy did
(orders, fills, rejects, positions, PnL) and a per-child summary on stdout at the end;
logs to stderr; children log to ``<run>/log/<child>.log``. Audits to ``<run>/audit/up.jsonl``:
its own proc_start / config_change / proc_stop, and each child's start, exit, restart,
give-up and stop (records with a ``child`` field; every child also keeps its own file).
"""

import argparse
import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

import uvloop

from veloz import log as vlog
from veloz.audit import ProcAudit
from veloz.config.emit import dumps
from veloz.errors import ConfigError
from veloz.errors import VelozError
from veloz.up.config import DEFAULT_CONFIG
from veloz.up.config import UpConfig
from veloz.up.config import load_up_config
from veloz.up.plan import build_children
from veloz.up.plan import latency_report
from veloz.up.plan import prepare_run_dir
from veloz.up.plan import restart_policy
from veloz.up.plan import strategies_report
from veloz.up.plan import strategy_procs
from veloz.up.supervisor import Supervisor

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz up",
        description="Start the simulator, feeds, gateway and strategy process from one TOML "
        "config, restart crashed children, stop them all on SIGINT/SIGTERM or --duration, "
        "and print the latency report.",
    )
    p.add_argument("--config", type=Path, metavar="FILE", help=f"default {DEFAULT_CONFIG}")
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="sockets, logs, latency files")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument("--print-config", action="store_true", help="print the effective config")
    return p


def _load(args: argparse.Namespace) -> UpConfig:
    cfg = load_up_config(args.config or DEFAULT_CONFIG)
    if args.duration is not None:
        if not args.duration > 0:
            raise ConfigError(f"--duration {args.duration}: must be > 0")
        cfg = dataclasses.replace(cfg, duration_s=args.duration)
    if args.run_dir is not None:
        cfg = dataclasses.replace(cfg, bus=cfg.bus.with_run_dir(args.run_dir.absolute()))
    return cfg


def main(argv: list[str] | None = None) -> int:
    """Run ``veloz up``; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        cfg = _load(args)
    except ConfigError as exc:
        print(f"veloz up: {exc}", file=sys.stderr)
        return 2
    if args.print_config:
        print(f"# run_dir = {cfg.bus.run_dir}")
        print(dumps(cfg.as_dict()), end="")
        return 0
    vlog.setup(cfg.log_level)
    try:
        run_dir = prepare_run_dir(cfg)
        audit = ProcAudit.start(run_dir, "up", cfg, argv=argv)
    except (VelozError, OSError) as exc:
        print(f"veloz up: {exc}", file=sys.stderr)
        return 2
    with audit:
        try:
            children = build_children(cfg)
        except (ConfigError, OSError) as exc:
            print(f"veloz up: {exc}", file=sys.stderr)
            return audit.exit(2, "config_error")
        log.info(
            "up.start run_dir=%s children=%s duration_s=%g",
            run_dir,
            ",".join(c.name for c in children),
            cfg.duration_s,
        )
        sup = Supervisor(
            children,
            restart_policy(cfg),
            stop_timeout_s=cfg.stop_timeout_s,
            duration_s=cfg.duration_s,
            audit=audit.log,
        )
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            rc = runner.run(sup.run())
        _report(cfg, run_dir, sup)
        log.info("up.done rc=%d reason=%s", rc, sup.stop_reason)
        gave_up = [st.name for st in sup.states.values() if st.gave_up]
        return audit.exit(rc, sup.stop_reason, {"gave_up": gave_up})


def _report(cfg: UpConfig, run_dir: Path, sup: Supervisor) -> None:
    try:
        print(latency_report(run_dir))
    except (ImportError, OSError, ValueError) as exc:
        log.warning("up.no_latency_report error=%s", exc)
    if cfg.strategy is not None:
        print(strategies_report(run_dir, strategy_procs(cfg)), end="")
    print()
    print(sup.summary())


if __name__ == "__main__":
    raise SystemExit(main())
