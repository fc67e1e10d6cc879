"""`veloz feed`: keep one Binance symbol's book in sync and publish its events.

Exit codes: 0 stopped by SIGINT/SIGTERM or ``--duration``; 1 the venue could not be reached
for exchangeInfo; 2 bad flags or config. Prints the counters as one JSON line on exit.
"""

import argparse
import asyncio
import dataclasses
import logging
import os
import signal
import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import orjson
import uvloop

from veloz import config as vconfig
from veloz import log as vlog
from veloz._core import fixed
from veloz._core.book import Book
from veloz.bus.publisher import Publisher
from veloz.bus.stdout import StdoutPublisher
from veloz.errors import ConfigError
from veloz.errors import VelozError
from veloz.venues.binance.feed import BinanceFeed
from veloz.venues.binance.feed import FeedConfig
from veloz.venues.binance.feed import load_instrument

log = logging.getLogger(__name__)

_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR"]


@dataclass(frozen=True, slots=True)
class FeedProcessConfig:
    """The ``veloz feed`` config file: process keys at the top, the feed in ``[feed]``.

    Defaults: ``log_level="INFO"``, ``status_interval_s=5.0``, ``depth_levels=5`` (levels
    per side on ``--print`` book lines), ``feed`` = `FeedConfig` defaults.
    """

    feed: FeedConfig = field(default_factory=FeedConfig)
    log_level: str = "INFO"
    status_interval_s: float = 5.0
    depth_levels: int = 5

    def __post_init__(self) -> None:
        if self.log_level not in _LEVELS:
            raise ConfigError(f"log_level={self.log_level!r}: must be one of {', '.join(_LEVELS)}")
        if self.status_interval_s <= 0:
            raise ConfigError(f"status_interval_s={self.status_interval_s!r}: must be > 0")
        if self.depth_levels < 1:
            raise ConfigError(f"depth_levels={self.depth_levels!r}: must be >= 1")


class _NoPublisher:
    # Until the bus publisher exists (issue #5) events without --print go nowhere.
    def book(self, inst: int, book: Book, update_id: int, exch_ns: int, ingest_ns: int) -> None:
        return None

    def bbo(
        self,
        inst: int,
        update_id: int,
        bid_px: int,
        bid_qty: int,
        ask_px: int,
        ask_qty: int,
        exch_ns: int,
        ingest_ns: int,
    ) -> None:
        return None

    def trade(
        self,
        inst: int,
        trade_id: int,
        px: int,
        qty: int,
        is_buyer_maker: bool,
        exch_ns: int,
        ingest_ns: int,
    ) -> None:
        return None

    def status(self, inst: int, is_live: bool, reason: str, mono_ns: int) -> None:
        return None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz feed",
        description="Keep one Binance symbol's order book in sync (websocket diffs + REST "
        "snapshot) and publish book, trade and status events. Flags override --config.",
    )
    p.add_argument("--venue", choices=["binance-spot", "binance-usdm"])
    p.add_argument("--symbol", help="e.g. BTCUSDT (default BTCUSDT)")
    p.add_argument("--ws-url", help="websocket base, e.g. ws://127.0.0.1:PORT (default Binance)")
    p.add_argument("--rest-url", help="REST base, e.g. http://127.0.0.1:PORT (default Binance)")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML (see config/examples)")
    p.add_argument("--redundant", action="store_true", help="two depth connections")
    p.add_argument("--print", action="store_true", help="print events as JSON lines on stdout")
    p.add_argument("--depth-levels", type=int, metavar="N", help="levels per side with --print")
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
    process = {"log_level": args.log_level, "depth_levels": args.depth_levels}
    changes = {k: v for k, v in process.items() if v is not None}
    return dataclasses.replace(cfg, feed=feed, **changes)


def main(argv: list[str] | None = None) -> int:
    """Run the feed until SIGINT/SIGTERM or ``--duration``; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        if args.duration is not None and not args.duration > 0:
            raise ConfigError(f"--duration {args.duration}: must be > 0")
        cfg = _load(args)
    except ConfigError as exc:
        print(f"veloz feed: {exc}", file=sys.stderr)
        return 2
    vlog.setup(cfg.log_level)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_run(cfg, args.print, args.duration))


async def _run(cfg: FeedProcessConfig, print_events: bool, duration_s: float | None) -> int:
    try:
        instrument = await load_instrument(cfg.feed)
    except ConfigError as exc:
        print(f"veloz feed: {exc}", file=sys.stderr)
        return 2
    except VelozError as exc:
        print(f"veloz feed: cannot load the instrument: {exc}", file=sys.stderr)
        return 1
    publisher: Publisher = _NoPublisher()
    printer: StdoutPublisher | None = None
    if print_events:

        def reader_gone() -> None:  # `| head` closed the pipe: stop, print nothing more
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            feed.stop()

        printer = StdoutPublisher(
            instruments={0: instrument}, depth_levels=cfg.depth_levels, on_closed=reader_gone
        )
        publisher = printer
    feed = BinanceFeed(cfg.feed, instrument, publisher)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, feed.stop)
    if duration_s is not None:
        loop.call_later(duration_s, feed.stop)
    status = asyncio.create_task(_status_lines(feed, cfg.status_interval_s))
    try:
        await feed.run()
    finally:
        status.cancel()
    if printer is not None and printer.is_closed:
        return 0
    line = {"type": "counters", "is_live": feed.is_live, "update_id": feed.update_id}
    sys.stdout.write(orjson.dumps(line | feed.counters.as_dict()).decode() + "\n")
    sys.stdout.flush()
    return 0


async def _status_lines(feed: BinanceFeed, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        c = feed.counters
        book = feed.book
        bid = book.best_bid() if feed.is_live else None
        ask = book.best_ask() if feed.is_live else None
        log.info(
            "feed.status symbol=%s live=%d update_id=%d bid=%s ask=%s frames=%d published=%d "
            "gaps=%d resyncs=%d reconnects=%d rollovers=%d malformed=%d",
            feed.config.symbol,
            feed.is_live,
            feed.update_id,
            fixed.to_text(bid[0], book.price_dp) if bid else "-",
            fixed.to_text(ask[0], book.price_dp) if ask else "-",
            c.n_frames,
            c.n_published,
            c.n_gaps,
            c.n_resyncs,
            c.n_reconnects,
            c.n_rollovers,
            c.n_malformed,
        )


if __name__ == "__main__":
    raise SystemExit(main())
