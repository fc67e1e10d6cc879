"""`veloz feed`: keep one Binance symbol's book in sync and publish its events on the bus
(``md.<venue>.<SYMBOL>`` in the run dir), or as JSON lines on stdout with ``--print``.

Exit codes: 0 stopped by SIGINT/SIGTERM or ``--duration``; 1 the venue could not be reached
for exchangeInfo; 2 bad flags or config (also: another live feed already publishes the
symbol, or a broken audit chain). Prints the counters as one JSON line on exit. On the bus it
writes ``<run>/audit/feed.<venue>.<SYMBOL>.jsonl`` (proc_start, config_change, proc_stop);
``--print`` publishes nothing and writes no audit file.
"""

import argparse
import asyncio
import dataclasses
import logging
import sys
from pathlib import Path

import uvloop

from veloz import config as vconfig
from veloz import log as vlog
from veloz.audit import ProcAudit
from veloz.bus.endpoints import claim
from veloz.bus.md import md_name
from veloz.errors import ConfigError
from veloz.errors import VelozError
from veloz.venues.binance.feed import load_instrument
from veloz.venues.binance.feedconfig import FeedProcessConfig
from veloz.venues.binance.feedrun import FeedRun

__all__ = ["FeedProcessConfig", "main"]

log = logging.getLogger(__name__)

_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz feed",
        description="Keep one Binance symbol's order book in sync (websocket diffs + REST "
        "snapshot) and publish its events on the bus (or stdout). Flags override --config.",
    )
    p.add_argument("--venue", choices=["binance-spot", "binance-usdm"])
    p.add_argument("--symbol", help="e.g. BTCUSDT (default BTCUSDT)")
    p.add_argument("--ws-url", help="websocket base, e.g. ws://127.0.0.1:PORT (default Binance)")
    p.add_argument("--rest-url", help="REST base, e.g. http://127.0.0.1:PORT (default Binance)")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML (see config/examples)")
    p.add_argument("--redundant", action="store_true", help="two depth connections")
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="bus run dir (default [bus])")
    p.add_argument("--inst", type=int, default=0, metavar="N", help="instrument id in headers")
    p.add_argument("--print", action="store_true", help="JSON lines on stdout, not the bus")
    p.add_argument("--depth-levels", type=int, metavar="N", help="levels per side in books")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument("--log-level", choices=_LEVELS)
    return p


def _load(args: argparse.Namespace) -> FeedProcessConfig:
    cfg = FeedProcessConfig()
    if args.config is not None:
        cfg = vconfig.load(FeedProcessConfig, args.config)  # errors name the file and key
    overrides = {
        "venue": args.venue,
        "symbol": args.symbol,
        "ws_url": args.ws_url,
        "rest_url": args.rest_url,
        "redundant": True if args.redundant else None,
    }
    feed = dataclasses.replace(cfg.feed, **{k: v for k, v in overrides.items() if v is not None})
    bus = cfg.bus if args.run_dir is None else cfg.bus.with_run_dir(args.run_dir)
    process = {"log_level": args.log_level, "depth_levels": args.depth_levels}
    changes = {k: v for k, v in process.items() if v is not None}
    return dataclasses.replace(cfg, feed=feed, bus=bus, **changes)


def main(argv: list[str] | None = None) -> int:
    """Run the feed until SIGINT/SIGTERM or ``--duration``; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.duration is not None and not args.duration > 0:
            raise ConfigError(f"--duration {args.duration}: must be > 0")
        if args.inst < 0:
            raise ConfigError(f"--inst {args.inst}: must be >= 0")
        cfg = _load(args)
        vlog.setup(cfg.log_level)
        audit = ProcAudit.disabled() if args.print else _open_audit(cfg, argv)
    except (VelozError, OSError) as exc:
        print(f"veloz feed: {exc}", file=sys.stderr)
        return 2
    with audit, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return audit.exit(runner.run(_run(cfg, args.inst, args.print, args.duration, audit)))


def _open_audit(cfg: FeedProcessConfig, argv: list[str] | None) -> ProcAudit:
    # The bus name is checked first: a second feed of the symbol is told who publishes it.
    claim(cfg.bus, md_name(cfg.feed.venue, cfg.feed.symbol))
    proc = f"feed.{cfg.feed.venue}.{cfg.feed.symbol.upper()}"  # the name `veloz up` gives it
    return ProcAudit.start(cfg.bus.run_dir, proc, cfg, argv=argv)


async def _run(
    cfg: FeedProcessConfig,
    inst: int,
    print_events: bool,
    duration_s: float | None,
    audit: ProcAudit,
) -> int:
    try:
        instrument = await load_instrument(cfg.feed)
    except ConfigError as exc:
        print(f"veloz feed: {exc}", file=sys.stderr)
        audit.reason = "config_error"
        return 2
    except VelozError as exc:
        print(f"veloz feed: cannot load the instrument: {exc}", file=sys.stderr)
        audit.reason = "venue_error"
        return 1
    try:
        run = FeedRun(cfg, instrument, inst=inst, print_events=print_events)
    except ConfigError as exc:
        print(f"veloz feed: {exc}", file=sys.stderr)
        audit.reason = "config_error"
        return 2
    await run.run(duration_s, audit)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
