"""`HostileServer`: the facade that ties the true book, the streams and the REST side together.

Owns the configuration, the server clock, the HTTP app on 127.0.0.1, the producer that steps
the market at ``rate_hz``, and the public cue / truth / wait API tests call. The work itself
lives in `market`, `streams`, `rest` and `orders`.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from tests.integration.hostile.counters import HostileCounters
from tests.integration.hostile.market import Market
from tests.integration.hostile.orders import DEMO_KEY
from tests.integration.hostile.orders import DEMO_SECRET
from tests.integration.hostile.orders import OrderApi
from tests.integration.hostile.rest import RestApi
from tests.integration.hostile.rest import RestCall
from tests.integration.hostile.streams import StreamHub
from tests.integration.hostile.streams import WsConn

log = logging.getLogger(__name__)

__all__ = ["HostileServer"]


class HostileServer:
    """A Binance-shaped server on 127.0.0.1 (port 0) with a seeded true book and scripted faults.

    Each *step* (``rate_hz`` per second) changes 1-4 levels of the true book (updates, new
    levels, deletions, an occasional move of the touch that deletes crossing levels, a
    deletion of an absent price), advances the update id, records the book, and writes one
    ``depthUpdate`` to every connection subscribed to this symbol's diff depth stream (plus a
    ``bookTicker``, and a trade with probability ``trade_prob``). Levels are kept within
    ``levels`` .. ``2 * levels`` per side, so a 1000-level snapshot is the whole book.

    Cues (plain methods, effective for the next step or request):

    * ``gap(n)`` -- the next `n` depth events are generated but not written anywhere.
    * ``old_snapshot(old_by)`` -- the next depth snapshot is the truth `old_by` events before
      the first event written to the newest depth connection (older than what it buffered).
    * ``disconnect(abrupt)`` -- close every open websocket (close frame 1001, or abort the
      TCP connection without one when `abrupt`).
    * ``stall(seconds)`` -- the websockets open now get nothing at all (no data, no pings,
      no pongs) for `seconds`, while staying open; connections opened later are not stalled.
      The truth moves on meanwhile, so a stalled socket resumes with a gap.
    * ``malformed()`` -- one extra frame, a truncated copy of the next depth frame, before it.
    * ``wrong_symbol()`` -- one extra depth frame for ``ETHUSDT`` (ids continuing this
      stream, prices far from the book) before the next depth event.
    * ``rest_status(status, retry_after_s, count)`` -- the next `count` REST calls answer
      `status` with ``Retry-After`` and body code -1003.
    * ``order_error(code, msg, count, http_status)`` -- the next `count` signed POST order
      requests that pass auth answer that Binance error.
    * ``server_shutdown(close_after_s)`` -- a ``serverShutdown`` event on every open
      websocket, which the server then closes after `close_after_s`.

    Binance's own rules are enforced too: a REST call inside a 429's Retry-After window is
    answered 418 (a ban of ``ban_s``) and counted in ``n_rest_violations``; a connection
    sending more than ``max_inbound_per_s`` frames in a second is closed; one not answering a
    ping within ``pong_timeout_s`` is closed. Signed endpoints check ``X-MBX-APIKEY``, the
    HMAC-SHA256 signature over query + body, and ``timestamp`` against the server clock
    (``time.time()`` plus ``clock_offset_ms``) and ``recvWindow``.

    Parameters
    ----------
    venue : {"binance-spot", "binance-usdm"}
        Which API to speak: spot paths and 8-decimal text, or USD-M paths (``/fapi/v1``,
        ``/public`` and ``/market`` streams, ``pu`` chaining, ``E``/``T`` on snapshots).
    symbol : str
        The one listed symbol.
    seed : int
        Seeds the book generator (same seed, same sequence of events).
    rate_hz : float
        Steps per second (50-200 is typical).
    levels : int
        Minimum levels per side (the maximum is twice that).
    trade_prob : float
        Probability of a trade per step.
    history : int
        How many recent steps `truth_at` remembers.
    ping_interval_s, pong_timeout_s : float or None
        Server ping period and pong deadline (Binance: 20 s / 60 s spot, 180 s / 600 s USD-M).
    max_inbound_per_s : int or None
        Frames a client may send per second (Binance: 5 spot, 10 USD-M).
    ban_s : float
        Retry-After of the 418 sent to a client that ignored a 429's Retry-After.
    warmup_steps : int
        Steps generated before serving (so an old snapshot exists from the start).
    api_key, secret : str
        The one HMAC account the signed endpoints accept.
    """

    def __init__(
        self,
        *,
        venue: str = "binance-spot",
        symbol: str = "BTCUSDT",
        seed: int = 1,
        rate_hz: float = 100.0,
        levels: int = 20,
        trade_prob: float = 0.3,
        history: int = 4000,
        ping_interval_s: float | None = None,
        pong_timeout_s: float | None = None,
        max_inbound_per_s: int | None = None,
        ban_s: float = 120.0,
        warmup_steps: int = 30,
        api_key: str = DEMO_KEY,
        secret: str = DEMO_SECRET,
    ) -> None:
        if venue not in ("binance-spot", "binance-usdm"):
            raise ValueError(f"venue must be binance-spot or binance-usdm, got {venue!r}")
        if not 1.0 <= rate_hz <= 2000.0:
            raise ValueError(f"rate_hz must be 1..2000, got {rate_hz}")
        self.venue = venue
        self.is_usdm = venue == "binance-usdm"
        self.symbol = symbol.upper()
        self.rate_hz = rate_hz
        self.clock_offset_ms = 0  # server clock = wall clock + this
        self.counters = HostileCounters()
        self._market = Market(
            is_usdm=self.is_usdm,
            symbol=self.symbol,
            seed=seed,
            levels=levels,
            trade_prob=trade_prob,
            history=history,
            counters=self.counters,
        )
        self._streams = StreamHub(
            market=self._market,
            counters=self.counters,
            now_s=self.now_s,
            server_ms=self.server_ms,
            ping_interval_s=ping_interval_s or (180.0 if self.is_usdm else 20.0),
            pong_timeout_s=pong_timeout_s or (600.0 if self.is_usdm else 60.0),
            max_inbound_per_s=max_inbound_per_s or (10 if self.is_usdm else 5),
        )
        self._rest = RestApi(
            market=self._market,
            counters=self.counters,
            now_s=self.now_s,
            server_ms=self.server_ms,
            ban_s=ban_s,
            depth_anchor=self._streams.newest_first_depth_u,
            on_request=self._wake,
        )
        self._orders = OrderApi(
            market=self._market,
            counters=self.counters,
            now_s=self.now_s,
            server_ms=self.server_ms,
            api_key=api_key,
            secret=secret,
        )
        self.rest_log: list[RestCall] = self._rest.rest_log
        self.orders_received: list[dict[str, str]] = self._orders.orders_received
        self.conns: list[WsConn] = self._streams.conns  # every connection ever accepted
        self._tick_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._producer: asyncio.Task[None] | None = None
        self.port = 0
        for _ in range(warmup_steps):
            self._market.step()

    # -- configuration (read from the side that owns it) ----------------------------------

    @property
    def levels(self) -> int:
        """Minimum levels per side of the true book."""
        return self._market.levels

    @property
    def trade_prob(self) -> float:
        """Probability of a trade per step."""
        return self._market.trade_prob

    @property
    def tick_e8(self) -> int:
        """The tick size as an int at 1e-8."""
        return self._market.tick_e8

    @property
    def step_e8(self) -> int:
        """The step size as an int at 1e-8."""
        return self._market.step_e8

    @property
    def px_decimals(self) -> int:
        """Decimal places of price text."""
        return self._market.px_decimals

    @property
    def qty_decimals(self) -> int:
        """Decimal places of quantity text."""
        return self._market.qty_decimals

    @property
    def ping_interval_s(self) -> float:
        """Server ping period, seconds."""
        return self._streams.ping_interval_s

    @property
    def pong_timeout_s(self) -> float:
        """Seconds a client has to answer a ping before it is closed."""
        return self._streams.pong_timeout_s

    @property
    def max_inbound_per_s(self) -> int:
        """Frames a client may send per second before it is closed."""
        return self._streams.max_inbound_per_s

    @property
    def ban_s(self) -> float:
        """Retry-After of the 418 sent to a client that ignored a 429's Retry-After."""
        return self._rest.ban_s

    @property
    def api_key(self) -> str:
        """The API key the signed endpoints accept."""
        return self._orders.api_key

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def rest_url(self) -> str:
        """``http://127.0.0.1:<port>`` (valid after `start`)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        """``ws://127.0.0.1:<port>`` (valid after `start`)."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def update_id(self) -> int:
        """The u of the newest generated depth event (the truth's current id)."""
        return self._market.update_id

    async def start(self) -> "HostileServer":
        """Bind 127.0.0.1 on a free port and start stepping the book."""
        app = web.Application(middlewares=[self._rest.middleware])
        api = "/fapi/v1" if self.is_usdm else "/api/v3"
        self._rest.add_routes(app, api)
        self._orders.add_routes(app, api)
        self._streams.add_routes(app)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        self._producer = asyncio.create_task(self._produce(), name="hostile-producer")
        log.info(
            "hostile_start venue=%s url=%s rate_hz=%s", self.venue, self.rest_url, self.rate_hz
        )
        return self

    async def close(self) -> None:
        """Stop stepping, drop every websocket without ceremony, and unbind."""
        if self._producer is not None:
            self._producer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._producer
            self._producer = None
        await self._streams.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> "HostileServer":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- cues -----------------------------------------------------------------------------

    def gap(self, n: int = 1) -> None:
        """Withhold the next `n` depth events from every connection (the truth moves on)."""
        if n < 1:
            raise ValueError("gap(n): n must be >= 1")
        self._streams.gap_left += n

    def old_snapshot(self, old_by: int = 5) -> None:
        """Serve the next depth snapshot `old_by` events before what was already streamed."""
        if old_by < 2:
            raise ValueError("old_snapshot(old_by): old_by must be >= 2 to be too old")
        self._rest.old_snapshot_by = old_by

    def disconnect(self, abrupt: bool = False) -> None:
        """Close every open websocket at the next step (abort TCP when `abrupt`)."""
        self._streams.disconnect_next = abrupt

    def stall(self, seconds: float) -> None:
        """Send nothing at all (no data, pings or pongs) on the open websockets for `seconds`."""
        until = self.now_s() + seconds
        for conn in self._streams.open_conns():
            conn.stalled_until_s = until

    def malformed(self) -> None:
        """Write one truncated JSON frame on every depth connection before the next event."""
        self._streams.malformed_next += 1

    def wrong_symbol(self) -> None:
        """Write one depth frame for another symbol on every depth connection."""
        self._streams.wrong_symbol_next += 1

    def rest_status(self, status: int, retry_after_s: float, count: int = 1) -> None:
        """Answer the next `count` REST calls with `status` (429 or 418) and Retry-After."""
        if status not in (429, 418):
            raise ValueError("rest_status: status must be 429 or 418")
        self._rest.rest_cue = (status, retry_after_s, count)

    def order_error(self, code: int, msg: str, count: int = 1, http_status: int = 400) -> None:
        """Answer the next `count` authenticated POST orders with ``{"code","msg"}``."""
        self._orders.order_cue = (code, msg, count, http_status)

    def server_shutdown(self, close_after_s: float = 5.0) -> None:
        """Send ``serverShutdown`` on every open websocket, then close them after a while."""
        self._streams.shutdown_next = close_after_s

    # -- truth ----------------------------------------------------------------------------

    def truth_at(self, update_id: int) -> tuple[dict[str, str], dict[str, str]]:
        """Return copies of (bids, asks), price text -> qty text, as the book stood at `update_id`.

        Only ids that ended a generated event (a ``u``, or a snapshot's ``lastUpdateId``) are
        known; KeyError for any other id or one older than the kept history.
        """
        return self._market.truth_at(update_id)

    def truth_levels(
        self, update_id: int, price_dp: int, qty_dp: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Return the truth at `update_id` as (px_raw, qty_raw) lists, best level first."""
        return self._market.truth_levels(update_id, price_dp, qty_dp)

    def known_ids(self) -> list[int]:
        """Every update id `truth_at` can answer, ascending."""
        return self._market.known_ids()

    def exchange_info(self) -> dict[str, Any]:
        """The exchangeInfo body: one symbol whose filters `mapping.py` can read."""
        return self._rest.exchange_info()

    async def wait_until(
        self, predicate: Callable[[], bool], timeout_s: float, what: str = "condition"
    ) -> None:
        """Return once `predicate()` holds; it is re-checked after every step (and every 50 ms).

        Raises
        ------
        TimeoutError
            When it did not hold within `timeout_s`; the message names `what`.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout_s}s waiting for {what}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tick_event.wait(), min(remaining, 0.05))

    # -- clock and producer ---------------------------------------------------------------

    def now_s(self) -> float:
        """The server's clock for `RestCall.t_s` and stalls: the event loop's time, seconds."""
        return asyncio.get_running_loop().time()

    def server_ms(self) -> int:
        """The server clock in ms: wall clock plus ``clock_offset_ms``."""
        return int(time.time() * 1000) + self.clock_offset_ms

    def _wake(self) -> None:
        # Re-check `wait_until` predicates now (a REST call was served).
        self._tick_event.set()

    async def _produce(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate_hz
        next_t = loop.time()
        while True:
            next_t += period
            delay = next_t - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                next_t = loop.time()  # fell behind: no burst to catch up
            try:
                await self._streams.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("hostile_tick_failed")
                raise
            event, self._tick_event = self._tick_event, asyncio.Event()
            event.set()
