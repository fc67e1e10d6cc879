"""The Binance spot / USD-M market-data feed of one symbol: websockets -> DepthSync -> publisher.

Owns the stream connections (depth, optional redundant depth, USD-M trades on ``/market``),
their reconnects with backoff, the planned make-before-break rollover before Binance's 24 h
cut, the REST depth snapshots and the local book's validity. Publishes book events only
while the book is valid. Must not block on the publisher, log per frame, or import the
simulator.
"""

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Coroutine
from dataclasses import asdict
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from veloz._core.binance_md import BinanceMdDecoder
from veloz._core.binance_md import MdKind
from veloz._core.book import Book
from veloz._core.depth import DepthMsg
from veloz._core.depth_sync import DepthSync
from veloz._core.depth_sync import SyncRule
from veloz._core.depth_sync import SyncStatus
from veloz.bus.publisher import Publisher
from veloz.errors import ConfigError
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.endpoints import endpoints
from veloz.venues.binance.mapping import instrument_from_symbol_info
from veloz.venues.binance.ws import WsConnection

__all__ = ["BinanceFeed", "FeedConfig", "FeedCounters", "load_instrument"]

log = logging.getLogger(__name__)

# MdKind / SyncStatus as plain ints: the per-frame path compares ints, not IntEnum members.
_DEPTH = int(MdKind.DEPTH)
_TRADE = int(MdKind.TRADE)
_AGG_TRADE = int(MdKind.AGG_TRADE)
_BOOK_TICKER = int(MdKind.BOOK_TICKER)
_MALFORMED = int(MdKind.MALFORMED)
_WRONG_SYMBOL = int(MdKind.WRONG_SYMBOL)
_SERVER_SHUTDOWN = int(MdKind.SERVER_SHUTDOWN)
_VENUE_ERROR = int(MdKind.VENUE_ERROR)
_SNAPSHOT = int(MdKind.SNAPSHOT)
_APPLIED = int(SyncStatus.APPLIED)
_BUFFERED = int(SyncStatus.BUFFERED)
_STALE = int(SyncStatus.STALE)
_GAP = int(SyncStatus.GAP)
_SYNCED = int(SyncStatus.SYNCED)
_SNAPSHOT_TOO_OLD = int(SyncStatus.SNAPSHOT_TOO_OLD)
_SNAPSHOT_WAIT = int(SyncStatus.SNAPSHOT_WAIT)
_CROSSED = int(SyncStatus.CROSSED)
_KIND_NAMES = {int(k): k.name.lower() for k in MdKind}

_SPEEDS = {"binance-spot": (100, 1000), "binance-usdm": (100, 250, 500)}
_DEFAULT_SPEED_MS = {"binance-spot": 1000, "binance-usdm": 250}  # the bare "@depth" stream
_USDM_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
_HEALTHY_S = 5.0  # a connection that lived this long resets the reconnect backoff
_STABLE_S = 5.0  # a book live this long resets the snapshot backoff
_MAX_HELD = 1000  # diffs a joining connection holds while it waits to chain on
_ROLLOVER_JITTER = 0.05  # up to 5 % of rollover_after_s (capped at 5 min) spreads rollovers
_CLOSE_WAIT_S = 2.0
_TRACEBACKS = 5  # unexpected errors logged with a traceback before rate limiting


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """What one feed subscribes to and how it keeps the connections and the book alive.

    Defaults: ``venue="binance-spot"``, ``symbol="BTCUSDT"``, ``ws_url=None`` and
    ``rest_url=None`` (real Binance), ``depth_speed_ms=100``, ``snapshot_limit=1000``,
    ``trades=True``, ``book_ticker=False``, ``redundant=False``, ``silence_timeout_s=10.0``,
    ``rollover_after_s=82800.0`` (23 h), ``reconnect_min_s=0.2``, ``reconnect_max_s=30.0``,
    ``snapshot_timeout_s=10.0``, ``max_buffered=10000``.

    Parameters
    ----------
    venue : str
        ``"binance-spot"`` or ``"binance-usdm"``.
    symbol : str
        Venue symbol, e.g. ``"BTCUSDT"`` (any case; streams use lower case).
    ws_url, rest_url : str or None
        Bases (``ws://127.0.0.1:PORT``, ``http://127.0.0.1:PORT``); None means real Binance.
    depth_speed_ms : int
        Diff-depth period: spot 100 or 1000 (``@depth``); USD-M 100, 250 (``@depth``) or 500.
    snapshot_limit : int
        REST snapshot depth: spot 1..5000; USD-M 5, 10, 20, 50, 100, 500 or 1000.
    trades : bool
        Subscribe to trades (spot ``@trade`` on the depth connection; USD-M ``@aggTrade`` on
        a second connection to ``/market`` that never affects the book's validity).
    book_ticker : bool
        Subscribe to ``@bookTicker`` (published through ``Publisher.bbo``).
    redundant : bool
        Open two identical depth connections into one sync machine.
    silence_timeout_s : float
        A connection with no frame of any kind for this long is dead; also the connect and
        rollover-join timeout.
    rollover_after_s : float
        Age at which a connection is replaced (make-before-break), plus a little jitter.
    reconnect_min_s, reconnect_max_s : float
        Reconnect backoff bounds (exponential, full jitter between them).
    snapshot_timeout_s : float
        Timeout of one REST snapshot request.
    max_buffered : int
        Diffs buffered while waiting for a snapshot.

    Raises
    ------
    ConfigError
        A value outside its rule; the message starts with the field name.
    """

    venue: str = "binance-spot"
    symbol: str = "BTCUSDT"
    ws_url: str | None = None
    rest_url: str | None = None
    depth_speed_ms: int = 100
    snapshot_limit: int = 1000
    trades: bool = True
    book_ticker: bool = False
    redundant: bool = False
    silence_timeout_s: float = 10.0
    rollover_after_s: float = 23 * 3600.0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 30.0
    snapshot_timeout_s: float = 10.0
    max_buffered: int = 10000

    def __post_init__(self) -> None:
        ep = endpoints(self.venue)  # ConfigError naming venue
        _need(
            bool(self.symbol) and self.symbol.isascii() and self.symbol.isalnum(),
            "symbol",
            self.symbol,
            "letters and digits, e.g. BTCUSDT",
        )
        ep.with_urls(rest_url=self.rest_url, ws_url=self.ws_url)  # ConfigError naming the URL
        speeds = _SPEEDS[self.venue]
        _need(
            self.depth_speed_ms in speeds,
            "depth_speed_ms",
            self.depth_speed_ms,
            f"one of {', '.join(map(str, speeds))} on {self.venue}",
        )
        if ep.is_usdm:
            _need(
                self.snapshot_limit in _USDM_LIMITS,
                "snapshot_limit",
                self.snapshot_limit,
                f"one of {', '.join(map(str, _USDM_LIMITS))} on binance-usdm",
            )
        else:
            _need(
                1 <= self.snapshot_limit <= ep.snapshot_limit_max,
                "snapshot_limit",
                self.snapshot_limit,
                f"1..{ep.snapshot_limit_max} on binance-spot",
            )
        for name in ("silence_timeout_s", "rollover_after_s", "reconnect_min_s"):
            _need(getattr(self, name) > 0, name, getattr(self, name), "> 0")
        _need(self.snapshot_timeout_s > 0, "snapshot_timeout_s", self.snapshot_timeout_s, "> 0")
        _need(
            self.reconnect_max_s >= self.reconnect_min_s,
            "reconnect_max_s",
            self.reconnect_max_s,
            f">= reconnect_min_s ({self.reconnect_min_s})",
        )
        _need(self.max_buffered >= 1, "max_buffered", self.max_buffered, ">= 1")

    def endpoints(self) -> Endpoints:
        """The venue's endpoints with `ws_url` / `rest_url` applied."""
        return endpoints(self.venue).with_urls(rest_url=self.rest_url, ws_url=self.ws_url)

    def depth_stream(self) -> str:
        """The diff-depth stream name, e.g. ``btcusdt@depth@100ms``."""
        sym = self.symbol.lower()
        if self.depth_speed_ms == _DEFAULT_SPEED_MS[self.venue]:
            return f"{sym}@depth"
        return f"{sym}@depth@{self.depth_speed_ms}ms"

    def depth_streams(self) -> list[str]:
        """Streams of one depth connection (spot trades ride along; USD-M trades do not)."""
        sym = self.symbol.lower()
        streams = [self.depth_stream()]
        if self.trades and self.venue == "binance-spot":
            streams.append(f"{sym}@trade")
        if self.book_ticker:
            streams.append(f"{sym}@bookTicker")
        return streams

    def trade_streams(self) -> list[str]:
        """Streams of the separate USD-M trades connection (empty on spot or without trades)."""
        if self.trades and self.venue == "binance-usdm":
            return [f"{self.symbol.lower()}@aggTrade"]
        return []


def _need(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{name}={value!r}: must be {rule}")


@dataclass(slots=True)
class FeedCounters:
    """What a feed saw since it started; every field an int, read any time.

    ``n_stale`` counts depth diffs older than the book on a single depth stream;
    ``n_dup_dropped`` counts events already handled that arrived again because more than
    one connection carries the stream (redundant depth, or trades/tickers during a
    rollover's overlap). ``ingest_to_publish_*`` are CLOCK_MONOTONIC ns from frame receipt
    to the publisher call's return (book, bbo and trade events; not the first book after a
    sync, whose last diff waited for the REST snapshot).
    """

    n_frames: int = 0
    n_malformed: int = 0
    n_wrong_symbol: int = 0
    n_unknown: int = 0
    n_gaps: int = 0
    n_resyncs: int = 0
    n_reconnects: int = 0
    n_stale: int = 0
    n_snapshots: int = 0
    n_snapshot_errors: int = 0
    n_snapshots_too_old: int = 0
    n_rollovers: int = 0
    n_silence_timeouts: int = 0
    n_server_shutdowns: int = 0
    n_published: int = 0
    n_dup_dropped: int = 0
    n_connect_errors: int = 0
    n_venue_errors: int = 0
    n_internal_errors: int = 0
    ingest_to_publish_ns_sum: int = 0
    ingest_to_publish_ns_max: int = 0
    ingest_to_publish_n: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict (JSON-ready)."""
        return asdict(self)


class _Slot:
    # One connection position: a URL kept connected, replaced on rollover.
    __slots__ = ("is_depth", "link", "n_opened", "name", "roll_now", "streams", "url", "wake")

    def __init__(self, name: str, url: str, streams: list[str], is_depth: bool) -> None:
        self.name = name
        self.url = url
        self.streams = streams
        self.is_depth = is_depth
        self.link: _Link | None = None
        self.wake = asyncio.Event()
        self.roll_now = False
        self.n_opened = 0


class _Link:
    # One connection and its standing in the feed. A depth link is "joined" once its events
    # are known to chain on the book; until then (while another joined link keeps the book
    # live) its diffs are held, so a late joiner can never cause a false gap.
    __slots__ = (
        "carries_bbo",
        "carries_trades",
        "conn",
        "held",
        "is_joined",
        "is_planned_close",
        "joined",
        "rollover_at_ns",
        "slot",
    )

    def __init__(self, slot: _Slot, carries_trades: bool, carries_bbo: bool) -> None:
        self.slot = slot
        self.conn: WsConnection | None = None
        self.is_joined = not slot.is_depth
        self.joined = asyncio.Event()
        self.held: deque[tuple[DepthMsg, int]] = deque()
        self.is_planned_close = False
        self.rollover_at_ns = 0
        self.carries_trades = carries_trades
        self.carries_bbo = carries_bbo

    @property
    def is_open(self) -> bool:
        return self.conn is not None and self.conn.is_open

    @property
    def name(self) -> str:
        return self.conn.name if self.conn is not None else self.slot.name

    async def wait_closed(self) -> None:
        if self.conn is not None:
            await self.conn.wait_closed()


class BinanceFeed:
    """Keep one symbol's local order book in sync with Binance and publish its events.

    `run` connects (one depth connection, two with ``redundant``, plus the USD-M trades
    connection), buffers diffs, fetches a REST snapshot, syncs with `DepthSync`, and from
    then on publishes every applied depth event through ``publisher.book``; trades and book
    tickers are published whether or not the book is valid. On a gap, a crossed book or the
    loss of every depth connection the book goes invalid: ``publisher.status(inst, False,
    reason, mono_ns)`` ("gap", "crossed", "disconnected"), a resync follows, and
    ``status(inst, True, "synced", mono_ns)`` when it is valid again. No book event is ever
    published from an invalid book. A planned rollover (age past ``rollover_after_s``, or a
    ``serverShutdown`` event) opens the new connection first and closes the old one once the
    new one's events chain on the book: the book stays valid throughout.

    Parameters
    ----------
    config : FeedConfig
        Venue, symbol, URLs, timeouts.
    instrument : Instrument
        The symbol's scales (the book and decoder use its ``price_dp`` / ``qty_dp``).
    publisher : Publisher
        Receives events; called on the event loop, must not block.
    inst : int
        The instrument id passed to every publisher call.

    Raises
    ------
    ConfigError
        The instrument's venue or symbol does not match `config`.
    """

    def __init__(
        self, config: FeedConfig, instrument: Instrument, publisher: Publisher, inst: int = 0
    ) -> None:
        if instrument.venue != config.venue or instrument.symbol != config.symbol.upper():
            raise ConfigError(
                f"instrument {instrument.venue} {instrument.symbol} does not match the feed's "
                f"{config.venue} {config.symbol.upper()}"
            )
        self._config = config
        self._instrument = instrument
        self._publisher = publisher
        self._pub_book = publisher.book
        self._inst = inst
        self._ep = config.endpoints()
        self._symbol = config.symbol.upper()
        is_usdm = self._ep.is_usdm
        self._is_spot_rule = not is_usdm
        self._decoder = BinanceMdDecoder(
            self._symbol, instrument.price_dp, instrument.qty_dp, is_usdm
        )
        self._snap_decoder = BinanceMdDecoder(
            self._symbol, instrument.price_dp, instrument.qty_dp, is_usdm
        )
        self._depth = self._decoder.depth
        self._book = Book(instrument.price_dp, instrument.qty_dp)
        self._sync = DepthSync(
            self._book, SyncRule.USDM if is_usdm else SyncRule.SPOT, config.max_buffered
        )
        self._counters = FeedCounters()
        self._dup_is_stale = not config.redundant
        self._slots = self._make_slots()
        self._links: set[_Link] = set()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._is_running = False
        self._want_snapshot = asyncio.Event()
        self._live_event = asyncio.Event()
        self._is_published_live = False
        self._live_since_ns = 0
        self._last_update_id = 0
        self._last_ingest_ns = 0
        self._snap_failures = 0
        self._snap_not_before_ns = 0
        self._last_trade_id = -1
        self._last_bbo: tuple[int, int, int, int, int] = (-1, 0, 0, 0, 0)
        self._malformed_log = RateLimitedLog(log)
        self._wrong_symbol_log = RateLimitedLog(log)
        self._unknown_log = RateLimitedLog(log)
        self._venue_error_log = RateLimitedLog(log)
        self._internal_log = RateLimitedLog(log)

    def _make_slots(self) -> list[_Slot]:
        cfg, ep = self._config, self._ep
        url = ep.stream_url(cfg.depth_streams())
        slots = [_Slot("depth-1", url, cfg.depth_streams(), True)]
        if cfg.redundant:
            slots.append(_Slot("depth-2", url, cfg.depth_streams(), True))
        trade_streams = cfg.trade_streams()
        if trade_streams:
            slots.append(_Slot("trades", ep.stream_url(trade_streams), trade_streams, False))
        return slots

    # -- public API ----------------------------------------------------------------------

    @property
    def counters(self) -> FeedCounters:
        """The live counters object (updated in place)."""
        return self._counters

    @property
    def is_live(self) -> bool:
        """True while the book is valid (synced and no gap since)."""
        return bool(self._sync.is_live)

    @property
    def book(self) -> Book:
        """The local book; valid only while `is_live`."""
        return self._book

    @property
    def update_id(self) -> int:
        """The update id of the last applied event (the last valid one while not live; 0
        before the first sync)."""
        if self._sync.is_live:
            return self._sync.update_id
        return self._last_update_id

    @property
    def config(self) -> FeedConfig:
        """The configuration this feed runs with."""
        return self._config

    @property
    def stream_urls(self) -> list[str]:
        """The websocket URL of each connection position (depth first)."""
        return [slot.url for slot in self._slots]

    async def wait_live(self, timeout_s: float) -> bool:
        """Wait up to `timeout_s` for the book to be valid; return whether it is."""
        if self._sync.is_live:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._live_event.wait(), timeout_s)
        return bool(self._sync.is_live)

    def stop(self) -> None:
        """Ask `run` to close every connection and return; idempotent, callable any time."""
        self._stopping = True
        self._stop_event.set()
        self._want_snapshot.set()
        for slot in self._slots:
            slot.wake.set()

    async def run(self) -> None:
        """Connect, sync and keep the feed running until `stop` (or cancellation).

        Never raises for venue trouble (connect failures, bad frames, snapshot errors are
        counted, logged and retried); returns after `stop` once every socket is closed.
        """
        if self._is_running:
            raise RuntimeError("BinanceFeed.run is already running")
        self._is_running = True
        log.info(
            "feed.start venue=%s symbol=%s urls=%s redundant=%s",
            self._config.venue,
            self._symbol,
            ",".join(self.stream_urls),
            self._config.redundant,
        )
        timeout = aiohttp.ClientTimeout(total=self._config.snapshot_timeout_s)
        tasks: list[asyncio.Task[None]] = []
        try:
            async with aiohttp.ClientSession(timeout=timeout) as http:
                tasks = [asyncio.create_task(self._slot_loop(slot)) for slot in self._slots]
                tasks.append(asyncio.create_task(self._snapshot_loop(http)))
                await self._stop_event.wait()
        finally:
            self._stopping = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._close_all()
            self._is_running = False
            log.info("feed.stopped symbol=%s counters=%s", self._symbol, self._counters_text())

    # -- frame path (hot) ------------------------------------------------------------------

    def _on_frame(self, link: _Link, payload: bytes, ingest_ns: int) -> None:
        # Called by WsConnection for every text message; ingest_ns taken before parsing.
        c = self._counters
        c.n_frames += 1
        kind = self._decoder.decode(payload)
        if kind == _DEPTH:
            if link.is_joined:
                status = self._sync.on_diff(self._depth)
                if status == _APPLIED:
                    update_id = self._sync.update_id
                    self._last_update_id = update_id
                    self._pub_book(
                        self._inst, self._book, update_id, self._depth.exch_ns, ingest_ns
                    )
                    dt = time.monotonic_ns() - ingest_ns
                    c.n_published += 1
                    c.ingest_to_publish_n += 1
                    c.ingest_to_publish_ns_sum += dt
                    if dt > c.ingest_to_publish_ns_max:
                        c.ingest_to_publish_ns_max = dt
                    return
                self._on_status(status, self._depth.exch_ns, ingest_ns)
            else:
                self._on_joining_diff(link, ingest_ns)
            return
        self._on_other(link, kind, payload, ingest_ns)

    def _published(self, ingest_ns: int) -> None:
        c = self._counters
        dt = time.monotonic_ns() - ingest_ns
        c.n_published += 1
        c.ingest_to_publish_n += 1
        c.ingest_to_publish_ns_sum += dt
        if dt > c.ingest_to_publish_ns_max:
            c.ingest_to_publish_ns_max = dt

    def _on_status(self, status: int, exch_ns: int, ingest_ns: int) -> None:
        # Every DepthSync status but the steady-state APPLIED of a joined link.
        c = self._counters
        if status == _APPLIED:
            update_id = self._sync.update_id
            self._last_update_id = update_id
            self._pub_book(self._inst, self._book, update_id, exch_ns, ingest_ns)
            self._published(ingest_ns)
        elif status == _STALE:
            if self._dup_is_stale:
                c.n_stale += 1
            else:
                c.n_dup_dropped += 1
        elif status == _BUFFERED:
            self._last_ingest_ns = ingest_ns
            self._want_snapshot.set()
        elif status == _SYNCED:
            self._went_live(exch_ns, ingest_ns)
        elif status == _GAP:
            c.n_gaps += 1
            c.n_resyncs += 1
            log.warning(
                "feed.gap symbol=%s update_id=%d buffered=%d",
                self._symbol,
                self.update_id,
                self._sync.n_buffered,
            )
            self._invalidate("gap")
            self._last_ingest_ns = ingest_ns
            self._want_snapshot.set()
        elif status == _CROSSED:
            self._on_crossed()

    def _on_crossed(self) -> None:
        c = self._counters
        c.n_resyncs += 1
        log.warning(
            "feed.crossed symbol=%s update_id=%d bid=%s ask=%s",
            self._symbol,
            int(self._sync.update_id),
            self._book.best_bid(),
            self._book.best_ask(),
        )
        self._invalidate("crossed")
        self._sync.reset()
        self._want_snapshot.set()

    def _on_other(self, link: _Link, kind: int, payload: bytes, ingest_ns: int) -> None:
        c = self._counters
        d = self._decoder
        if kind in (_TRADE, _AGG_TRADE):
            trade_id = d.trade_id
            if trade_id <= self._last_trade_id:
                c.n_dup_dropped += 1
                return
            self._last_trade_id = trade_id
            self._publisher.trade(
                self._inst,
                trade_id,
                d.trade_px,
                d.trade_qty,
                d.is_buyer_maker,
                d.exch_ns,
                ingest_ns,
            )
            self._published(ingest_ns)
        elif kind == _BOOK_TICKER:
            bbo = (d.bbo_id, d.bid_px, d.bid_qty, d.ask_px, d.ask_qty)
            last = self._last_bbo
            if bbo[0] < last[0] or bbo == last:
                c.n_dup_dropped += 1
                return
            self._last_bbo = bbo
            self._publisher.bbo(self._inst, *bbo, d.exch_ns, ingest_ns)
            self._published(ingest_ns)
        elif kind == _MALFORMED:
            c.n_malformed += 1
            self._malformed_log.warning(
                "feed.frame_malformed symbol=%s conn=%s reason=%s frame=%r",
                self._symbol,
                link.name,
                d.last_error,
                payload[:200],
            )
        elif kind == _WRONG_SYMBOL:
            c.n_wrong_symbol += 1
            self._wrong_symbol_log.warning(
                "feed.frame_wrong_symbol symbol=%s conn=%s frame=%r",
                self._symbol,
                link.name,
                payload[:200],
            )
        elif kind == _SERVER_SHUTDOWN:
            c.n_server_shutdowns += 1
            log.warning("feed.server_shutdown symbol=%s conn=%s", self._symbol, link.name)
            if link.slot.link is link:
                link.slot.roll_now = True
                link.slot.wake.set()
        elif kind == _VENUE_ERROR:
            c.n_venue_errors += 1
            self._venue_error_log.warning(
                "feed.venue_error symbol=%s conn=%s reason=%s",
                self._symbol,
                link.name,
                d.last_error,
            )
        else:  # control replies, klines, partial depth...: well formed, never asked for
            c.n_unknown += 1
            self._unknown_log.warning(
                "feed.frame_unknown symbol=%s conn=%s kind=%s frame=%r",
                self._symbol,
                link.name,
                _KIND_NAMES.get(kind, str(kind)),
                payload[:200],
            )

    # -- joining links ---------------------------------------------------------------------

    def _on_joining_diff(self, link: _Link, ingest_ns: int) -> None:
        held = link.held
        held.append((self._depth.copy(), ingest_ns))
        if len(held) > _MAX_HELD:
            held.popleft()
        self._settle(link)

    def _has_other_joined(self, link: _Link) -> bool:
        return any(
            other is not link and other.slot.is_depth and other.is_joined and other.is_open
            for other in self._links
        )

    def _settle(self, link: _Link) -> None:
        # Decide whether a not-yet-joined depth link's held diffs chain on the book; feed them
        # once they do, keep holding while they are ahead of a book another link keeps live.
        sync = self._sync
        held = link.held
        while not link.is_joined and held:
            if not (sync.is_live and self._has_other_joined(link)):
                self._join(link)
                break
            msg = held[0][0]
            update_id = int(sync.update_id)
            if msg.last_id <= update_id:
                held.popleft()
                self._counters.n_dup_dropped += 1
                self._join(link)
            elif self._continues(msg, update_id):
                self._join(link)
            else:
                return  # ahead of the book: the joined link has not delivered the gap yet
        while held:
            msg, ingest_ns = held.popleft()
            self._on_status(sync.on_diff(msg), msg.exch_ns, ingest_ns)

    def _continues(self, msg: DepthMsg, update_id: int) -> bool:
        if self._is_spot_rule:
            return msg.first_id <= update_id + 1
        return msg.prev_id == update_id

    def _join(self, link: _Link) -> None:
        link.is_joined = True
        link.joined.set()
        log.info(
            "feed.joined conn=%s live=%s update_id=%d",
            link.name,
            bool(self._sync.is_live),
            self.update_id,
        )

    # -- validity --------------------------------------------------------------------------

    def _went_live(self, exch_ns: int, ingest_ns: int) -> None:
        self._live_since_ns = time.monotonic_ns()
        if not self._is_published_live:
            self._is_published_live = True
            self._publisher.status(self._inst, True, "synced", self._live_since_ns)
            self._live_event.set()
            log.info(
                "feed.live symbol=%s update_id=%d bids=%d asks=%d",
                self._symbol,
                int(self._sync.update_id),
                self._book.n_levels(0),
                self._book.n_levels(1),
            )
        update_id = self._sync.update_id
        self._last_update_id = update_id
        self._pub_book(self._inst, self._book, update_id, exch_ns, ingest_ns)
        # Counted, but kept out of the latency figures: its diff waited for the snapshot.
        self._counters.n_published += 1

    def _invalidate(self, reason: str) -> None:
        # The book just stopped being valid (DepthSync already cleared it or will be reset).
        now = time.monotonic_ns()
        if self._live_since_ns:  # a book that stayed valid a while resets the snapshot backoff
            if now - self._live_since_ns < _STABLE_S * 1e9:
                self._snap_failures += 1
            else:
                self._snap_failures = 0
        self._live_since_ns = 0
        if self._is_published_live:
            self._is_published_live = False
            self._live_event.clear()
            self._publisher.status(self._inst, False, reason, now)
            log.warning("feed.book_invalid symbol=%s reason=%s", self._symbol, reason)

    # -- snapshots -------------------------------------------------------------------------

    async def _snapshot_loop(self, http: aiohttp.ClientSession) -> None:
        sync = self._sync
        while not self._stopping:
            await self._want_snapshot.wait()
            self._want_snapshot.clear()
            if self._stopping:
                return
            if not (sync.needs_snapshot and sync.n_buffered):
                continue
            try:
                delay_s = self._snapshot_delay_s()
                if delay_s > 0 and await self._sleep(delay_s):
                    return
                if not (sync.needs_snapshot and sync.n_buffered):
                    continue
                body = await self._fetch_snapshot(http)
                if body is None:
                    self._snap_failures += 1
                    self._want_snapshot.set()
                    continue
                self._apply_snapshot(body)
            except asyncio.CancelledError:
                raise
            except Exception:  # the task supervisor: count, trace, retry
                self._counters.n_internal_errors += 1
                _trace(
                    self._internal_log, self._counters.n_internal_errors, "feed.snapshot_task_error"
                )
                self._snap_failures += 1
                self._want_snapshot.set()

    def _snapshot_delay_s(self) -> float:
        delay = 0.0
        if self._snap_failures:
            delay = self._backoff_s(self._snap_failures)
        wait_ns = self._snap_not_before_ns - time.monotonic_ns()
        return max(delay, wait_ns / 1e9)

    async def _fetch_snapshot(self, http: aiohttp.ClientSession) -> bytes | None:
        # One GET of the depth snapshot; None (counted and logged) on any failure.
        ep, cfg = self._ep, self._config
        url = f"{ep.rest_url}{ep.depth_path}?symbol={self._symbol}&limit={cfg.snapshot_limit}"
        c = self._counters
        try:
            async with asyncio.timeout(cfg.snapshot_timeout_s), http.get(url) as resp:
                body = await resp.read()
                status = resp.status
                retry_after = _retry_after_s(resp.headers.get("Retry-After"))
        except TimeoutError:
            c.n_snapshot_errors += 1
            log.warning(
                "feed.snapshot_error symbol=%s reason=timeout timeout_s=%.1f",
                self._symbol,
                cfg.snapshot_timeout_s,
            )
            return None
        except aiohttp.ClientError as exc:
            c.n_snapshot_errors += 1
            log.warning("feed.snapshot_error symbol=%s reason=%s", self._symbol, exc)
            return None
        if status != 200:
            c.n_snapshot_errors += 1
            if retry_after > 0:
                self._snap_not_before_ns = time.monotonic_ns() + int(retry_after * 1e9)
            log.warning(
                "feed.snapshot_error symbol=%s http_status=%d retry_after_s=%.1f body=%r",
                self._symbol,
                status,
                retry_after,
                body[:200],
            )
            return None
        return body

    def _apply_snapshot(self, body: bytes) -> int:
        # Hand one snapshot body to DepthSync; returns the SyncStatus (or MALFORMED).
        c = self._counters
        d = self._snap_decoder
        if d.decode_snapshot(body) != _SNAPSHOT:
            c.n_snapshot_errors += 1
            self._snap_failures += 1
            log.warning(
                "feed.snapshot_malformed symbol=%s reason=%s body=%r",
                self._symbol,
                d.last_error,
                body[:200],
            )
            self._want_snapshot.set()
            return _MALFORMED
        c.n_snapshots += 1
        status = int(self._sync.on_snapshot(d.depth))
        log.info(
            "feed.snapshot symbol=%s last_update_id=%d status=%s",
            self._symbol,
            d.depth.last_id,
            SyncStatus(status).name.lower(),
        )
        if status == _SYNCED:
            self._went_live(self._depth.exch_ns, self._last_ingest_ns or time.monotonic_ns())
        elif status == _SNAPSHOT_TOO_OLD:
            c.n_snapshots_too_old += 1
            self._snap_failures += 1
            self._want_snapshot.set()
        elif status == _GAP:
            c.n_gaps += 1
            c.n_resyncs += 1
            self._snap_failures += 1
            self._want_snapshot.set()
        elif status == _CROSSED:
            self._on_crossed()
        return status

    # -- connections -----------------------------------------------------------------------

    def _backoff_s(self, failures: int) -> float:
        # Exponential with full jitter between reconnect_min_s and the doubling cap.
        cfg = self._config
        cap = min(cfg.reconnect_max_s, cfg.reconnect_min_s * 2.0 ** min(failures - 1, 30))
        return random.uniform(cfg.reconnect_min_s, max(cap, cfg.reconnect_min_s))  # noqa: S311

    async def _sleep(self, seconds: float) -> bool:
        # Sleep unless stopped first; True when the feed is stopping.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)
        return self._stopping

    async def _connect(self, slot: _Slot) -> _Link:
        # Open one more connection for `slot` (it does not replace slot.link).
        cfg = self._config
        link = _Link(
            slot,
            carries_trades=bool(cfg.trades) and (not slot.is_depth or self._is_spot_rule),
            carries_bbo=slot.is_depth and cfg.book_ticker,
        )
        slot.n_opened += 1
        conn = WsConnection(
            slot.url,
            functools.partial(self._on_frame, link),
            silence_timeout_s=cfg.silence_timeout_s,
            name=f"{slot.name}#{slot.n_opened}",
            on_close=functools.partial(self._on_conn_closed, link),
        )
        link.conn = conn
        # Trade / ticker ids only need deduplicating against a connection still delivering
        # them; a fresh start (the venue may have restarted) forgets the last ids.
        if link.carries_trades and not any(x.carries_trades and x.is_open for x in self._links):
            self._last_trade_id = -1
        if link.carries_bbo and not any(x.carries_bbo and x.is_open for x in self._links):
            self._last_bbo = (-1, 0, 0, 0, 0)
        self._links.add(link)
        try:
            await conn.connect(cfg.silence_timeout_s)
        except BaseException:
            self._links.discard(link)
            raise
        jitter = min(cfg.rollover_after_s * _ROLLOVER_JITTER, 300.0)
        after_s = cfg.rollover_after_s + random.uniform(0.0, jitter)  # noqa: S311
        link.rollover_at_ns = conn.opened_ns + int(after_s * 1e9)
        log.info("feed.connected conn=%s url=%s", conn.name, slot.url)
        return link

    def _on_conn_closed(self, link: _Link, conn: WsConnection) -> None:
        # WsConnection's on_close: runs once per connection, on the loop.
        self._links.discard(link)
        reason = conn.close_reason
        if reason == "silence":
            self._counters.n_silence_timeouts += 1
        slot = link.slot
        if slot.link is link:
            slot.wake.set()
        if link.is_planned_close or self._stopping:
            log.info("feed.closed conn=%s reason=%s planned=1", link.name, reason)
            return
        log.warning("feed.disconnected conn=%s reason=%s", link.name, reason)
        if slot.is_depth:
            self._depth_link_lost(link)

    def _depth_link_lost(self, link: _Link) -> None:
        link.held.clear()
        if not link.is_joined:
            return
        others = [x for x in self._links if x.slot.is_depth and x.is_open]
        if any(x.is_joined for x in others):
            return  # another joined connection keeps the book going
        if others:
            for other in others:  # joining connections are now the source: settle them
                self._settle(other)
            return
        if self._sync.is_live:
            self._counters.n_resyncs += 1
        self._invalidate("disconnected")
        self._sync.reset()  # after a reconnect the book is rebuilt from a new snapshot

    async def _slot_loop(self, slot: _Slot) -> None:
        failures = 0
        was_lost = False
        while not self._stopping:
            try:
                if slot.link is None or not slot.link.is_open:
                    try:
                        link = await self._connect(slot)
                    except VenueError as exc:
                        self._counters.n_connect_errors += 1
                        failures += 1
                        delay = max(self._backoff_s(failures), exc.retry_after_s)
                        log.warning(
                            "feed.connect_error conn=%s error=%s retry_in_s=%.2f",
                            slot.name,
                            exc,
                            delay,
                        )
                        if await self._sleep(delay):
                            return
                        continue
                    if was_lost:
                        self._counters.n_reconnects += 1
                        log.info("feed.reconnected conn=%s", link.name)
                    slot.link = link
                await self._keep(slot)  # after an internal error: back to the open link
                if self._stopping:
                    return
                lived = slot.link.conn.age_s if slot.link and slot.link.conn else 0.0
                failures = 1 if lived >= _HEALTHY_S else failures + 1
                was_lost = True
                slot.link = None
                if await self._sleep(self._backoff_s(failures)):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:  # the task supervisor: count, trace, carry on
                self._counters.n_internal_errors += 1
                _trace(
                    self._internal_log,
                    self._counters.n_internal_errors,
                    "feed.slot_task_error slot=%s",
                    slot.name,
                )
                failures += 1
                if await self._sleep(self._backoff_s(failures)):
                    return

    async def _keep(self, slot: _Slot) -> None:
        # Hold slot.link until it closes unplanned (return) or stop; roll it over when due.
        while not self._stopping:
            link = slot.link
            if link is None or not link.is_open:
                return
            wait_s = (link.rollover_at_ns - time.monotonic_ns()) / 1e9
            if not slot.roll_now and wait_s > 0:
                slot.wake.clear()
                if link.is_open and not slot.roll_now:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(slot.wake.wait(), wait_s)
                continue
            why = "server_shutdown" if slot.roll_now else "age"
            slot.roll_now = False
            await self._rollover(slot, link, why)

    async def _rollover(self, slot: _Slot, old: _Link, why: str) -> None:
        cfg = self._config
        age_s = old.conn.age_s if old.conn is not None else 0.0
        log.info("feed.rollover_start conn=%s why=%s age_s=%.1f", old.name, why, age_s)
        try:
            new = await self._connect(slot)
        except VenueError as exc:
            self._counters.n_connect_errors += 1
            retry_s = max(self._backoff_s(1), exc.retry_after_s)
            old.rollover_at_ns = time.monotonic_ns() + int(retry_s * 1e9)
            log.warning("feed.rollover_connect_error conn=%s error=%s", old.name, exc)
            return
        if slot.is_depth and old.is_open:
            await _first_of(new.joined.wait(), new.wait_closed(), timeout_s=cfg.silence_timeout_s)
        if self._stopping:
            new.is_planned_close = True
            if new.conn is not None:
                new.conn.close("stopping")
            return
        if not old.is_open:  # the old one went first: the new one simply carries on
            slot.link = new
            log.warning("feed.rollover_old_lost old=%s new=%s why=%s", old.name, new.name, why)
            return
        if new.is_joined:
            slot.link = new
            old.is_planned_close = True
            if old.conn is not None:
                old.conn.close("rollover")
            self._counters.n_rollovers += 1
            log.info("feed.rollover_done old=%s new=%s why=%s", old.name, new.name, why)
            return
        # The new connection never chained on within the timeout: keep the old, retry later.
        new.is_planned_close = True
        if new.conn is not None:
            new.conn.close("rollover_abandoned")
        old.rollover_at_ns = time.monotonic_ns() + int(self._backoff_s(2) * 1e9)
        log.warning("feed.rollover_abandoned conn=%s new=%s", old.name, new.name)

    async def _close_all(self) -> None:
        links = [x for x in self._links if x.conn is not None]
        for link in links:
            link.is_planned_close = True
            if link.conn is not None:
                link.conn.close("stopping")
        if links:
            waits = [x.conn.wait_closed() for x in links if x.conn is not None]
            try:
                await asyncio.wait_for(asyncio.gather(*waits), _CLOSE_WAIT_S)
            except TimeoutError:
                log.warning("feed.close_timeout open=%d", sum(x.is_open for x in links))

    def _counters_text(self) -> str:
        return orjson.dumps(self._counters.as_dict()).decode()


async def _first_of(*waits: Coroutine[Any, Any, Any], timeout_s: float) -> None:
    # Return when the first of `waits` finishes or after `timeout_s`; cancel the rest.
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _trace(limited: RateLimitedLog, n_errors: int, msg: str, *args: object) -> None:
    # The first few unexpected errors get a traceback; after that one rate-limited line.
    if n_errors <= _TRACEBACKS:
        log.exception(msg, *args)
    else:
        limited.warning(msg, *args)


def _retry_after_s(value: str | None) -> float:
    if value is None:
        return 0.0
    try:
        return max(float(value), 0.0)
    except ValueError:
        return 0.0


async def load_instrument(config: FeedConfig) -> Instrument:
    """Fetch exchangeInfo from the config's REST base and build the symbol's Instrument.

    Raises
    ------
    VenueError
        The request failed, timed out or answered with an HTTP error.
    WireError
        The body is not JSON, or the symbol's entry is malformed.
    ConfigError
        The venue does not list the symbol.
    """
    ep = config.endpoints()
    symbol = config.symbol.upper()
    query = f"?symbol={symbol}" if not ep.is_usdm else ""  # USD-M takes no symbol parameter
    url = f"{ep.rest_url}{ep.exchange_info_path}{query}"
    timeout = aiohttp.ClientTimeout(total=config.snapshot_timeout_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(url) as resp:
            body = await resp.read()
            status = resp.status
            retry_after = _retry_after_s(resp.headers.get("Retry-After"))
    except TimeoutError:
        raise VenueError(
            0, f"exchangeInfo: no answer within {config.snapshot_timeout_s}s", retryable=True
        ) from None
    except aiohttp.ClientError as exc:
        raise VenueError(0, f"exchangeInfo: {exc}", retryable=True) from None
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if status != 200:
        code = doc.get("code", 0) if isinstance(doc, dict) else 0
        msg = doc.get("msg", "") if isinstance(doc, dict) else body[:200].decode(errors="replace")
        raise VenueError(
            code if isinstance(code, int) else 0,
            f"exchangeInfo: {msg}",
            retryable=status >= 500 or status in (418, 429),
            http_status=status,
            retry_after_s=retry_after,
        )
    if not isinstance(doc, dict) or not isinstance(doc.get("symbols"), list):
        raise WireError(f"exchangeInfo from {url}: not an object with a 'symbols' list")
    for info in doc["symbols"]:
        if isinstance(info, dict) and info.get("symbol") == symbol:
            return instrument_from_symbol_info(info, config.venue)
    raise ConfigError(f"symbol={symbol!r}: not listed by {config.venue} exchangeInfo at {url}")
