"""`veloz strategy`: run the configured strategies on the bus, pinned to a core.

Exit codes: 0 stopped by SIGINT/SIGTERM (or ``--duration``) after on_stop, cancels and the
latency file; 2 bad flags, config, strategy path or core (or a broken audit chain). Logs
``key=value`` lines to stderr. Writes ``<run>/audit/strategy.<proc>.jsonl``: proc_start,
config_change, one proc_stop with a ``strategy`` field per strategy a callback exception
stopped (FAILED), and the process's proc_stop.
"""

import argparse
import dataclasses
import logging
import signal
import sys
from pathlib import Path
from types import FrameType

from veloz import config as vconfig
from veloz import log as vlog
from veloz.audit import Kind
from veloz.audit import ProcAudit
from veloz.bus.endpoints import claim
from veloz.errors import ConfigError
from veloz.errors import VelozError
from veloz.strategy.base import Strategy
from veloz.strategy.base import StrategyState
from veloz.strategy.config import StrategyProcessConfig
from veloz.strategy.loader import load_class
from veloz.strategy.loop import BusLoop
from veloz.strategy.loop import pin_cpu
from veloz.strategy.runtime import Runtime
from veloz.strategy.runtime import Slot

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz strategy",
        description="Run the strategies of --config in one process: market data from the "
        "feeds' bus sockets, orders to the gateway, order events back from it.",
    )
    p.add_argument("--config", type=Path, metavar="FILE", required=True, help="TOML config")
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="bus run dir (overrides [bus])")
    p.add_argument("--cpu", type=int, metavar="N", help="pin the loop to core N (overrides cpu)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    return p


def _load(args: argparse.Namespace) -> StrategyProcessConfig:
    cfg = vconfig.load(StrategyProcessConfig, args.config)  # errors name the file and key
    if args.run_dir is not None:
        cfg = dataclasses.replace(cfg, bus=cfg.bus.with_run_dir(args.run_dir))
    if args.cpu is not None:
        if args.cpu < 0:
            raise ConfigError(f"--cpu {args.cpu}: must be >= 0")
        cfg = dataclasses.replace(cfg, cpu=args.cpu)
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"--duration {args.duration}: must be > 0")
    return cfg


def _strategies(cfg: StrategyProcessConfig, config_dir: Path) -> list[Strategy]:
    # Relative file paths resolve against the current directory, then the config's.
    out = []
    for spec in cfg.strategies:
        cls = load_class(spec.path, base_dir=None, fallback_dir=config_dir)
        try:
            out.append(cls(spec.name, spec.params))
        except Exception as exc:  # the user's constructor: report it as a config error
            log.exception("strategy.construct_failed strategy=%s path=%s", spec.name, spec.path)
            raise ConfigError(
                f"strategies {spec.name}: {cls.__name__}(...) failed: {type(exc).__name__}: {exc}"
            ) from None
    return out


def _build(cfg: StrategyProcessConfig, config_dir: Path, audit: ProcAudit) -> BusLoop:
    strategies = _strategies(cfg, config_dir)
    if cfg.cpu is not None:
        pin_cpu(cfg.cpu)
    pairs = list(zip(cfg.strategies, strategies, strict=True))
    return BusLoop(
        cfg,
        lambda send: Runtime(
            cfg.proc,
            pairs,
            send,
            cfg.start_timeout_s,
            cfg.resync_after_s,
            on_failed=lambda slot: _audit_failed(audit, slot),
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the strategy process until SIGINT/SIGTERM or ``--duration``; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        cfg = _load(args)
        vlog.setup(cfg.log_level)
        proc = f"strategy.{cfg.proc}"
        claim(cfg.bus, proc)  # a second process of this name is told who runs it
        audit = ProcAudit.start(cfg.bus.run_dir, proc, cfg, argv=argv)
    except (VelozError, OSError) as exc:
        print(f"veloz strategy: {exc}", file=sys.stderr)
        return 2
    with audit:
        try:
            loop = _build(cfg, args.config.resolve().parent, audit)
        except ConfigError as exc:
            print(f"veloz strategy: {exc}", file=sys.stderr)
            return audit.exit(2, "config_error")

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("strategy.signal signal=%s", signal.Signals(signum).name)
            audit.reason = audit.reason or signal.Signals(signum).name
            loop.request_stop()

        signal.set_wakeup_fd(loop.wakeup_fd)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        try:
            loop.run(args.duration)
        finally:
            signal.set_wakeup_fd(-1)
            _audit_strategies(audit, loop.runtime)
        return audit.exit(0, audit.reason or "duration")


def _audit_failed(audit: ProcAudit, slot: Slot) -> None:
    # A strategy stopped by its own exception: a critical action, recorded when it happens.
    ctx = slot.ctx
    data = {"strategy": ctx.name, "state": "FAILED", "n_errors": ctx.n_errors}
    audit.append(Kind.PROC_STOP, data | {"error": slot.tally.error[:200]})


def _audit_strategies(audit: ProcAudit, runtime: Runtime) -> None:
    # Every strategy's final state goes into the process's own proc_stop.
    audit.stop_data["strategies"] = {
        slot.ctx.name: StrategyState.NAMES[slot.ctx.state] for slot in runtime.slots
    }
