"""One ``veloz feed`` process's run once its instrument is known: publisher, feed, stop.

Owns `FeedRun`: choosing the publisher (`BusPublisher` on ``md.<venue>.<SYMBOL>``, or
`StdoutPublisher` JSON lines for ``--print``, going quiet when the reader closes the pipe),
the `BinanceFeed` on it, the SIGINT/SIGTERM handlers and ``--duration`` timer, the periodic
status lines and INSTRUMENT messages, and the counters JSON line on stdout at the end; the
stop reason and final state go to a `StopNotes` (the process's audit). Must not parse flags,
load config or the instrument, print errors (it raises), or import the audit package.
"""

import asyncio
import os
import signal
import sys
from typing import Any
from typing import Protocol

import orjson

from veloz.bus.md import BusPublisher
from veloz.bus.publisher import Publisher
from veloz.bus.stdout import StdoutPublisher
from veloz.model.instrument import Instrument
from veloz.venues.binance.feed import BinanceFeed
from veloz.venues.binance.feedconfig import FeedProcessConfig

__all__ = ["FeedRun", "StopNotes"]


class StopNotes(Protocol):
    """Where a run notes why it stopped and its final state (`veloz.audit.ProcAudit` fits:
    kept a protocol so a venue does not import the audit package)."""

    reason: str  # the first reason wins: "SIGINT", "SIGTERM", "duration"
    stop_data: dict[str, Any]  # merged into the process's proc_stop record


class FeedRun:
    """A feed and its publisher, built inside the running event loop.

    Parameters
    ----------
    cfg : FeedProcessConfig
        The process config: feed, bus, depth levels, status interval.
    instrument : Instrument
        The symbol's instrument (from `veloz.venues.binance.feed.load_instrument`).
    inst : int
        The instrument id in bus headers.
    print_events : bool
        JSON lines on stdout instead of the bus.

    Raises
    ------
    ConfigError
        The bus publisher could not bind, or `instrument` is not `cfg`'s symbol.
    """

    __slots__ = ("bus", "feed", "printer", "status_interval_s")

    def __init__(
        self, cfg: FeedProcessConfig, instrument: Instrument, *, inst: int, print_events: bool
    ) -> None:
        self.status_interval_s = cfg.status_interval_s
        self.printer: StdoutPublisher | None = None
        self.bus: BusPublisher | None = None
        publisher: Publisher
        if print_events:
            self.printer = publisher = StdoutPublisher(
                instruments={inst: instrument},
                depth_levels=cfg.depth_levels,
                on_closed=self._reader_gone,
            )
        else:
            self.bus = publisher = BusPublisher(
                cfg.bus, instrument, cfg.feed.venue, inst, depth_levels=cfg.depth_levels
            )
        self.feed = BinanceFeed(cfg.feed, instrument, publisher, inst=inst)

    def _reader_gone(self) -> None:  # `| head` closed the pipe: stop, print nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        self.feed.stop()

    async def run(self, duration_s: float | None, notes: StopNotes) -> None:
        """Run the feed until SIGINT/SIGTERM, `duration_s` or a closed stdout reader; then
        print the counters as one JSON line (not when the reader is gone)."""
        feed, bus = self.feed, self.bus
        loop = asyncio.get_running_loop()

        def stop(why: str) -> None:
            notes.reason = notes.reason or why
            feed.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop, sig.name)
        if duration_s is not None:
            loop.call_later(duration_s, stop, "duration")
        tasks = [asyncio.create_task(self._status_lines())]
        if bus is not None:
            tasks.append(asyncio.create_task(bus.run_instrument_loop(1.0)))
        try:
            await feed.run()
        finally:
            for task in tasks:
                task.cancel()
            if bus is not None:
                bus.close()
        if self.printer is not None and self.printer.is_closed:
            return
        line = {"type": "counters", "is_live": feed.is_live, "update_id": feed.update_id}
        if bus is not None:
            line |= {"bus_sent": bus.n_sent, "bus_dropped": bus.n_dropped}
        notes.stop_data |= {"is_live": feed.is_live, "update_id": feed.update_id}
        sys.stdout.write(orjson.dumps(line | feed.counters.as_dict()).decode() + "\n")
        sys.stdout.flush()

    async def _status_lines(self) -> None:
        bus = self.bus
        while True:
            await asyncio.sleep(self.status_interval_s)
            self.feed.log_status(
                f"bus_sent={bus.n_sent} bus_dropped={bus.n_dropped}" if bus else ""
            )
