"""The websocket connections of one Binance feed: slots kept connected, reconnects, rollovers.

Owns each connection position (`Slot`), the connections open for it (`Link`), reconnects with
backoff, the planned make-before-break rollover before Binance's 24 h cut, and the feed's
stop state. Must not parse frames, touch the book or DepthSync, or decide the book's
validity: frames and closes go to the feed's callbacks, which do.
"""

import asyncio
import contextlib
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any

from veloz._core.depth import DepthMsg
from veloz.errors import VenueError
from veloz.log import RateLimitedLog
from veloz.venues.binance.feedconfig import FeedConfig
from veloz.venues.binance.feedconfig import FeedCounters
from veloz.venues.binance.ws import WsConnection

__all__ = ["Link", "LinkKeeper", "Slot", "trace_error"]

log = logging.getLogger(__name__)

_HEALTHY_S = 5.0  # a connection that lived this long resets the reconnect backoff
_ROLLOVER_JITTER = 0.05  # up to 5 % of rollover_after_s (capped at 5 min) spreads rollovers
_CLOSE_WAIT_S = 2.0
_TRACEBACKS = 5  # unexpected errors logged with a traceback before rate limiting


class Slot:
    """One connection position (``depth-1``, ``depth-2``, ``trades``): a URL kept connected.

    ``link`` is the connection currently serving it (None while reconnecting); setting
    ``roll_now`` and ``wake`` asks for a rollover now (a ``serverShutdown`` event).
    """

    __slots__ = ("is_depth", "link", "n_opened", "name", "roll_now", "streams", "url", "wake")

    def __init__(self, name: str, url: str, streams: list[str], is_depth: bool) -> None:
        self.name = name
        self.url = url
        self.streams = streams
        self.is_depth = is_depth
        self.link: Link | None = None
        self.wake = asyncio.Event()
        self.roll_now = False
        self.n_opened = 0


class Link:
    """One connection of a slot and its standing in the feed.

    A depth link is "joined" once its events are known to chain on the book; until then
    (while another joined link keeps the book live) the feed holds its diffs in ``held``, so
    a late joiner can never cause a false gap. Non-depth links are joined from the start.
    """

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

    def __init__(self, slot: Slot, carries_trades: bool, carries_bbo: bool) -> None:
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
        """True while the connection is open."""
        return self.conn is not None and self.conn.is_open

    @property
    def name(self) -> str:
        """The connection's name (``depth-1#3``), the slot's before it has one."""
        return self.conn.name if self.conn is not None else self.slot.name

    async def wait_closed(self) -> None:
        """Wait until the connection has closed (at once without one)."""
        if self.conn is not None:
            await self.conn.wait_closed()


class LinkKeeper:
    """Keep every connection position of one feed connected until `stop`.

    The slots: ``depth-1`` (the depth streams, spot trades and book tickers riding along),
    ``depth-2`` with ``redundant``, and ``trades`` for USD-M ``@aggTrade`` on ``/market``.
    `run_slot` reconnects a lost connection after an exponential backoff with full jitter
    (reset by a connection that lived 5 s, never shorter than the venue's ``Retry-After``)
    and, past ``rollover_after_s`` plus up to 5 % jitter or on ``Slot.roll_now``, opens the
    replacement first and closes the old connection once the new one has joined (a depth
    link: chained on the book within ``silence_timeout_s``; else it keeps the old one).

    Parameters
    ----------
    config : FeedConfig
        URLs, streams, timeouts, backoff bounds.
    counters : FeedCounters
        The feed's counters; this bumps ``n_connect_errors``, ``n_reconnects``,
        ``n_rollovers``, ``n_silence_timeouts`` and ``n_internal_errors``.
    on_frame : callable
        ``(link, payload, ingest_ns)`` for every text message of every connection.
    on_close : callable
        ``(link, conn)`` once per connection after it closed, whoever closed it; it must
        hand both to `closed`, which tells whether the loss was unplanned.
    on_new_link : callable
        ``(link)`` for each new link, before it connects or joins `links`.

    Attributes
    ----------
    slots : list of Slot
        Depth slots first.
    links : set of Link
        Every link with a connection opening or open.
    stop_event : asyncio.Event
        Set by `stop`.
    is_stopping : bool
        True once stopping: loops return and every close counts as planned.
    """

    __slots__ = (
        "_config",
        "_counters",
        "_internal_log",
        "_is_spot",
        "_on_close",
        "_on_frame",
        "_on_new_link",
        "is_stopping",
        "links",
        "slots",
        "stop_event",
    )

    def __init__(
        self,
        config: FeedConfig,
        counters: FeedCounters,
        on_frame: Callable[[Link, bytes, int], None],
        on_close: Callable[[Link, WsConnection], None],
        on_new_link: Callable[[Link], None],
    ) -> None:
        self._config = config
        self._counters = counters
        self._on_frame = on_frame
        self._on_close = on_close
        self._on_new_link = on_new_link
        ep = config.endpoints()
        self._is_spot = not ep.is_usdm
        url = ep.stream_url(config.depth_streams())
        self.slots = [Slot("depth-1", url, config.depth_streams(), True)]
        if config.redundant:
            self.slots.append(Slot("depth-2", url, config.depth_streams(), True))
        trade_streams = config.trade_streams()
        if trade_streams:
            self.slots.append(Slot("trades", ep.stream_url(trade_streams), trade_streams, False))
        self.links: set[Link] = set()
        self.stop_event = asyncio.Event()
        self.is_stopping = False
        self._internal_log = RateLimitedLog(log)

    def stop(self) -> None:
        """Make every loop return and wake every waiter; idempotent."""
        self.is_stopping = True
        self.stop_event.set()
        for slot in self.slots:
            slot.wake.set()

    async def sleep(self, seconds: float) -> bool:
        """Sleep unless stopped first; return True when stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop_event.wait(), seconds)
        return self.is_stopping

    def backoff_s(self, failures: int) -> float:
        """Return the wait after `failures` (>= 1) failures in a row, seconds.

        Exponential with full jitter: uniform between ``reconnect_min_s`` and
        ``min(reconnect_max_s, reconnect_min_s * 2 ** (failures - 1))``.
        """
        cfg = self._config
        cap = min(cfg.reconnect_max_s, cfg.reconnect_min_s * 2.0 ** min(failures - 1, 30))
        return random.uniform(cfg.reconnect_min_s, max(cap, cfg.reconnect_min_s))  # noqa: S311

    def closed(self, link: Link, conn: WsConnection) -> bool:
        """Record that `link`'s connection closed; return True when that was not planned.

        Planned: a rollover or abandoned replacement closed it, or the feed is stopping.
        """
        self.links.discard(link)
        reason = conn.close_reason
        if reason == "silence":
            self._counters.n_silence_timeouts += 1
        slot = link.slot
        if slot.link is link:
            slot.wake.set()
        if link.is_planned_close or self.is_stopping:
            log.info("feed.closed conn=%s reason=%s planned=1", link.name, reason)
            return False
        log.warning("feed.disconnected conn=%s reason=%s", link.name, reason)
        return True

    async def run_slot(self, slot: Slot) -> None:
        """Keep `slot` connected, reconnecting and rolling over, until `stop`."""
        failures = 0
        was_lost = False
        while not self.is_stopping:
            try:
                if slot.link is None or not slot.link.is_open:
                    try:
                        link = await self._connect(slot)
                    except VenueError as exc:
                        self._counters.n_connect_errors += 1
                        failures += 1
                        delay = max(self.backoff_s(failures), exc.retry_after_s)
                        log.warning(
                            "feed.connect_error conn=%s error=%s retry_in_s=%.2f",
                            slot.name,
                            exc,
                            delay,
                        )
                        if await self.sleep(delay):
                            return
                        continue
                    if was_lost:
                        self._counters.n_reconnects += 1
                        log.info("feed.reconnected conn=%s", link.name)
                    slot.link = link
                await self._keep(slot)  # after an internal error: back to the open link
                if self.is_stopping:
                    return
                lived = slot.link.conn.age_s if slot.link and slot.link.conn else 0.0
                failures = 1 if lived >= _HEALTHY_S else failures + 1
                was_lost = True
                slot.link = None
                if await self.sleep(self.backoff_s(failures)):
                    return
            except asyncio.CancelledError:
                raise
            except Exception:  # the task supervisor: count, trace, carry on
                self._counters.n_internal_errors += 1
                trace_error(
                    log,
                    self._internal_log,
                    self._counters.n_internal_errors,
                    "feed.slot_task_error slot=%s",
                    slot.name,
                )
                failures += 1
                if await self.sleep(self.backoff_s(failures)):
                    return

    async def close_all(self) -> None:
        """Close every connection as planned; wait up to 2 s for them to finish closing."""
        links = [x for x in self.links if x.conn is not None]
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

    async def _connect(self, slot: Slot) -> Link:
        # Open one more connection for `slot` (it does not replace slot.link).
        cfg = self._config
        link = Link(
            slot,
            carries_trades=bool(cfg.trades) and (not slot.is_depth or self._is_spot),
            carries_bbo=slot.is_depth and cfg.book_ticker,
        )
        slot.n_opened += 1
        conn = WsConnection(
            slot.url,
            functools.partial(self._on_frame, link),
            silence_timeout_s=cfg.silence_timeout_s,
            name=f"{slot.name}#{slot.n_opened}",
            on_close=functools.partial(self._on_close, link),
        )
        link.conn = conn
        self._on_new_link(link)
        self.links.add(link)
        try:
            await conn.connect(cfg.silence_timeout_s)
        except BaseException:
            self.links.discard(link)
            raise
        jitter = min(cfg.rollover_after_s * _ROLLOVER_JITTER, 300.0)
        after_s = cfg.rollover_after_s + random.uniform(0.0, jitter)  # noqa: S311
        link.rollover_at_ns = conn.opened_ns + int(after_s * 1e9)
        log.info("feed.connected conn=%s url=%s", conn.name, slot.url)
        return link

    async def _keep(self, slot: Slot) -> None:
        # Hold slot.link until it closes unplanned (return) or stop; roll it over when due.
        while not self.is_stopping:
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

    async def _rollover(self, slot: Slot, old: Link, why: str) -> None:
        cfg = self._config
        age_s = old.conn.age_s if old.conn is not None else 0.0
        log.info("feed.rollover_start conn=%s why=%s age_s=%.1f", old.name, why, age_s)
        try:
            new = await self._connect(slot)
        except VenueError as exc:
            self._counters.n_connect_errors += 1
            retry_s = max(self.backoff_s(1), exc.retry_after_s)
            old.rollover_at_ns = time.monotonic_ns() + int(retry_s * 1e9)
            log.warning("feed.rollover_connect_error conn=%s error=%s", old.name, exc)
            return
        if slot.is_depth and old.is_open:
            await _first_of(new.joined.wait(), new.wait_closed(), timeout_s=cfg.silence_timeout_s)
        if self.is_stopping:
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
        old.rollover_at_ns = time.monotonic_ns() + int(self.backoff_s(2) * 1e9)
        log.warning("feed.rollover_abandoned conn=%s new=%s", old.name, new.name)


async def _first_of(*waits: Coroutine[Any, Any, Any], timeout_s: float) -> None:
    # Return when the first of `waits` finishes or after `timeout_s`; cancel the rest.
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def trace_error(
    logger: logging.Logger, limited: RateLimitedLog, n_errors: int, msg: str, *args: object
) -> None:
    """Log the unexpected error being handled: with its traceback while `n_errors` (the count
    so far, this one included) is at most 5, then as one line through `limited`."""
    if n_errors <= _TRACEBACKS:
        logger.exception(msg, *args)
    else:
        limited.warning(msg, *args)
