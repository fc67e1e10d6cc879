"""The Binance spot / USD-M market-data feed of one symbol: frames -> DepthSync -> publisher.

Owns the sync of the local book (diffs, REST depth snapshots, joining connections), its
validity, and publishing book, trade and ticker events; re-exports `FeedConfig` and
`FeedCounters`. Connections are kept by `feedlinks.LinkKeeper`. Must not block on the
publisher, log per frame, publish from an invalid book, or import the simulator.
"""

import asyncio
import contextlib
import logging
import time
from typing import Any

import aiohttp
import orjson

from veloz._core import fixed
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
from veloz.venues.binance.codes import retry_after_s
from veloz.venues.binance.codes import venue_error
from veloz.venues.binance.feedconfig import KLINE_INTERVAL_S
from veloz.venues.binance.feedconfig import FeedConfig
from veloz.venues.binance.feedconfig import FeedCounters
from veloz.venues.binance.feedlinks import Link
from veloz.venues.binance.feedlinks import LinkKeeper
from veloz.venues.binance.feedlinks import trace_error
from veloz.venues.binance.mapping import instrument_from_symbol_info
from veloz.venues.binance.ws import WsConnection

__all__ = ["BinanceFeed", "FeedConfig", "FeedCounters", "load_instrument"]

log = logging.getLogger(__name__)

# MdKind / SyncStatus as plain ints: the per-frame path compares ints, not IntEnum members.
_DEPTH = int(MdKind.DEPTH)
_TRADE = int(MdKind.TRADE)
_AGG_TRADE = int(MdKind.AGG_TRADE)
_BOOK_TICKER = int(MdKind.BOOK_TICKER)
_KLINE = int(MdKind.KLINE)
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

_STABLE_S = 5.0  # a book live this long resets the snapshot backoff
_MAX_HELD = 1000  # diffs a joining connection holds while it waits to chain on


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
        self._keeper = LinkKeeper(
            config, self._counters, self._on_frame, self._on_conn_closed, self._on_new_link
        )
        # The keeper's, shared: the join logic reads the links, run waits on the stop event.
        self._slots = self._keeper.slots
        self._links = self._keeper.links
        self._stop_event = self._keeper.stop_event
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

    def log_status(self, extra: str = "") -> None:
        """Log one ``feed.status`` line: liveness, best prices, counters, then `extra`
        (``key=value`` text the caller adds, e.g. its publisher's drops)."""
        c = self._counters
        bid = self._book.best_bid() if self.is_live else None
        ask = self._book.best_ask() if self.is_live else None
        dp = self._book.price_dp
        log.info(
            "feed.status symbol=%s live=%d update_id=%d bid=%s ask=%s frames=%d published=%d "
            "gaps=%d resyncs=%d reconnects=%d rollovers=%d malformed=%d%s",
            self._config.symbol,
            self.is_live,
            self.update_id,
            fixed.to_text(bid[0], dp) if bid else "-",
            fixed.to_text(ask[0], dp) if ask else "-",
            c.n_frames,
            c.n_published,
            c.n_gaps,
            c.n_resyncs,
            c.n_reconnects,
            c.n_rollovers,
            c.n_malformed,
            " " + extra if extra else "",
        )

    def stop(self) -> None:
        """Ask `run` to close every connection and return; idempotent, callable any time."""
        self._keeper.stop()
        self._want_snapshot.set()

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
                tasks = [asyncio.create_task(self._keeper.run_slot(slot)) for slot in self._slots]
                tasks.append(asyncio.create_task(self._snapshot_loop(http)))
                await self._stop_event.wait()
        finally:
            self._keeper.is_stopping = True  # no wake-ups: the tasks are cancelled next
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self._keeper.close_all()
            self._is_running = False
            log.info("feed.stopped symbol=%s counters=%s", self._symbol, self._counters_text())

    # -- frame path (hot) ------------------------------------------------------------------

    def _on_frame(self, link: Link, payload: bytes, ingest_ns: int) -> None:
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

    def _on_other(self, link: Link, kind: int, payload: bytes, ingest_ns: int) -> None:
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
        elif kind == _KLINE:
            interval_s = KLINE_INTERVAL_S.get(d.kline_interval)
            if interval_s is None:  # an interval we did not subscribe to
                c.n_unknown += 1
                return
            self._publisher.kline(
                self._inst,
                d.kline_open_ns,
                d.kline_close_ns,
                interval_s,
                d.kline_open,
                d.kline_high,
                d.kline_low,
                d.kline_close,
                d.kline_volume,
                d.kline_n_trades,
                d.kline_is_closed,
                d.exch_ns,
                ingest_ns,
            )
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

    def _on_joining_diff(self, link: Link, ingest_ns: int) -> None:
        held = link.held
        held.append((self._depth.copy(), ingest_ns))
        if len(held) > _MAX_HELD:
            held.popleft()
        self._settle(link)

    def _has_other_joined(self, link: Link) -> bool:
        return any(
            other is not link and other.slot.is_depth and other.is_joined and other.is_open
            for other in self._links
        )

    def _settle(self, link: Link) -> None:
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

    def _join(self, link: Link) -> None:
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
                if delay_s > 0 and await self._keeper.sleep(delay_s):
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
                trace_error(
                    log,
                    self._internal_log,
                    self._counters.n_internal_errors,
                    "feed.snapshot_task_error",
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
                retry_after = retry_after_s(resp.headers.get("Retry-After"))
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

    # -- connections (kept by LinkKeeper; what they mean for the book is decided here) -----

    def _on_new_link(self, link: Link) -> None:
        # Trade / ticker ids only need deduplicating against a connection still delivering
        # them; a fresh start (the venue may have restarted) forgets the last ids.
        if link.carries_trades and not any(x.carries_trades and x.is_open for x in self._links):
            self._last_trade_id = -1
        if link.carries_bbo and not any(x.carries_bbo and x.is_open for x in self._links):
            self._last_bbo = (-1, 0, 0, 0, 0)

    def _on_conn_closed(self, link: Link, conn: WsConnection) -> None:
        # WsConnection's on_close: runs once per connection, on the loop.
        if self._keeper.closed(link, conn) and link.slot.is_depth:
            self._depth_link_lost(link)

    def _depth_link_lost(self, link: Link) -> None:
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

    def _backoff_s(self, failures: int) -> float:
        return self._keeper.backoff_s(failures)

    @property
    def _stopping(self) -> bool:
        return self._keeper.is_stopping

    def _counters_text(self) -> str:
        return orjson.dumps(self._counters.as_dict()).decode()


async def load_instrument(config: FeedConfig) -> Instrument:
    """Fetch exchangeInfo from the config's REST base and build the symbol's Instrument.

    Raises
    ------
    VenueError
        The request failed or timed out (code 0, retryable), or the venue answered with an
        HTTP error (classified by `codes.venue_error`).
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
            retry_after = retry_after_s(resp.headers.get("Retry-After"))
    except TimeoutError:
        raise VenueError(
            0, f"exchangeInfo: no answer within {config.snapshot_timeout_s}s", retryable=True
        ) from None
    except aiohttp.ClientError as exc:
        raise VenueError(0, f"exchangeInfo: {exc}", retryable=True) from None
    if status != 200:
        raise venue_error(status, body, retry_after)
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict) or not isinstance(doc.get("symbols"), list):
        raise WireError(f"exchangeInfo from {url}: not an object with a 'symbols' list")
    for info in doc["symbols"]:
        if isinstance(info, dict) and info.get("symbol") == symbol:
            return instrument_from_symbol_info(info, config.venue)
    raise ConfigError(f"symbol={symbol!r}: not listed by {config.venue} exchangeInfo at {url}")
