"""Binance REST client (spot and USD-M): one keep-alive aiohttp session, signing, pacing.

Owns the HTTP session, the clock offset to the venue (``GET time``), request signing
(timestamp and recvWindow added here), the client-side rate limits (checked before every
send, corrected from every answer's headers, blocked after a 429/418), the one resync and
retry a -1021 answer allows, and the turn of error answers into `VenueError`. Must not log
keys, signatures or signed query strings, and must not interpret order answers (`orders`).
"""

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import aiohttp
import orjson
from yarl import URL

from veloz.errors import ConfigError
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.venues.binance.codes import retry_after_s
from veloz.venues.binance.codes import venue_error
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.ratelimit import RateLimits
from veloz.venues.binance.signing import Signer
from veloz.venues.binance.signing import encode_params
from veloz.venues.binance.signing import rest_signed_query

__all__ = ["RestClient", "RestCounters"]

log = logging.getLogger(__name__)

_NS_PER_MS = 1_000_000
_MAX_RECV_WINDOW_MS = 60_000
# exchangeInfo weight: spot 20, USD-M 1 (SD rest-api.md, FD "Exchange Information").
_EXCHANGE_INFO_WEIGHT = {False: 20, True: 1}
_QUERY_RE = re.compile(r"\?[^\s'\"]*")
_KEEPALIVE_S = 60.0  # idle keep-alive of the pooled connection (aiohttp's default is 15 s)


@dataclass(slots=True)
class RestCounters:
    """What a `RestClient` did; plain ints, read by metrics export.

    n_requests: requests sent. n_errors: non-2xx answers and transport failures.
    n_429 / n_418: rate-limit and ban answers. n_local_throttled: requests refused by our
    own limiter (never sent). n_time_syncs: ``GET time`` round trips. n_timestamp_retries:
    requests sent again after -1021. n_unknown_status: errors whose execution status is
    unknown (5xx, 408, timeouts after sending). n_on_sent_errors: exceptions raised by an
    ``on_sent`` hook (logged, not raised into the request).
    """

    n_requests: int = 0
    n_errors: int = 0
    n_429: int = 0
    n_418: int = 0
    n_local_throttled: int = 0
    n_time_syncs: int = 0
    n_timestamp_retries: int = 0
    n_unknown_status: int = 0
    n_on_sent_errors: int = 0


class RestClient:
    """REST requests to one Binance product through one pooled keep-alive session.

    Parameters
    ----------
    ep : Endpoints
        The product's URLs and paths (`SPOT`, `USDM`, or ``.at_base(sim_url)``).
    signer : Signer or None
        Signs TRADE / USER_DATA requests; None allows only public ones.
    recv_window_ms : int
        ``recvWindow`` sent with signed requests, 1..60000 ms.
    timeout_s : float
        Whole-request timeout, seconds.
    limits : RateLimits or None
        Shared limiter (e.g. with the WS-API client on the same key and IP); a new one
        when None. `start` loads the venue's limits into it.

    Raises
    ------
    ConfigError
        A recvWindow or timeout out of range.
    """

    def __init__(
        self,
        ep: Endpoints,
        signer: Signer | None = None,
        *,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        limits: RateLimits | None = None,
    ) -> None:
        if not 0 < recv_window_ms <= _MAX_RECV_WINDOW_MS:
            raise ConfigError(f"recv_window_ms={recv_window_ms}: must be 1..60000")
        if not timeout_s > 0:
            raise ConfigError(f"timeout_s={timeout_s}: must be > 0")
        self._ep = ep
        self._signer = signer
        self._recv_window = str(recv_window_ms)
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._timeout_s = timeout_s
        self._limits = limits if limits is not None else RateLimits()
        self._session: aiohttp.ClientSession | None = None
        self._offset_ms = 0
        self._sync_lock = asyncio.Lock()
        self._counters = RestCounters()
        self._error_log = RateLimitedLog(log)

    # ---- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the session, measure the clock offset and load the venue's rate limits.

        The first ``GET time`` opens the pooled connection, so the first order does not pay
        for TCP and TLS set-up.

        Raises
        ------
        VenueError
            The venue refused or did not answer.
        WireError
            exchangeInfo without a readable ``rateLimits``.
        """
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(keepalive_timeout=_KEEPALIVE_S, ttl_dns_cache=300)
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(self._on_headers_sent)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                json_serialize=_dumps,
                trace_configs=[trace],
            )
        await self.sync_time()
        info = await self.get_public(
            self._ep.exchange_info_path, weight=_EXCHANGE_INFO_WEIGHT[self._ep.is_usdm]
        )
        if not isinstance(info, dict) or "rateLimits" not in info:
            raise WireError("exchangeInfo: missing field 'rateLimits'")
        self._limits.load(info["rateLimits"])
        log.info(
            "rest_started venue=%s offset_ms=%d limits=%d",
            self._ep.venue,
            self._offset_ms,
            len(self._limits.windows()),
        )

    async def close(self) -> None:
        """Close the session (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- clock -----------------------------------------------------------------------------

    async def sync_time(self) -> int:
        """Measure ``offset = serverTime - local wall-clock midpoint`` of one ``GET time``.

        Returns
        -------
        int
            The new offset, ms; `now_ms` uses it from now on.

        Raises
        ------
        VenueError, WireError
            The venue refused, did not answer, or sent no ``serverTime``.
        """
        async with self._sync_lock:
            wall0 = time.time_ns()
            mono0 = time.monotonic_ns()
            doc = await self.get_public(self._ep.time_path)
            mid_ns = wall0 + (time.monotonic_ns() - mono0) // 2
            server_ms = doc.get("serverTime") if isinstance(doc, dict) else None
            if isinstance(server_ms, bool) or not isinstance(server_ms, int):
                raise WireError(f"time answer without an int serverTime: {doc!r:.200}")
            self._offset_ms = server_ms - mid_ns // _NS_PER_MS
            self._counters.n_time_syncs += 1
            return self._offset_ms

    @property
    def time_offset_ms(self) -> int:
        """Venue clock minus local wall clock, ms (0 before the first sync)."""
        return self._offset_ms

    def now_ms(self) -> int:
        """Local wall clock plus the offset, ms: the ``timestamp`` to sign."""
        return time.time_ns() // _NS_PER_MS + self._offset_ms

    def _venue_ns(self) -> int:
        return time.time_ns() + self._offset_ms * _NS_PER_MS

    # ---- requests --------------------------------------------------------------------------

    async def get_public(
        self, path: str, params: list[tuple[str, str]] | None = None, *, weight: int = 1
    ) -> Any:
        """``GET path?params`` without authentication; return the decoded JSON.

        Raises
        ------
        VenueError
            An error answer, a transport failure, or our limiter refusing (nothing sent).
        """
        query = encode_params(params) if params else ""
        return await self._send("GET", path, query, None, weight, False)

    async def send_signed(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        *,
        weight: int = 1,
        is_order: bool = False,
        on_sent: Callable[[int], None] | None = None,
    ) -> Any:
        """Send a TRADE / USER_DATA request, signed, with ``recvWindow`` and ``timestamp``.

        A -1021 answer (timestamp outside the window: the venue did not execute the
        request) resyncs the clock and sends the request once more with a new timestamp.

        Parameters
        ----------
        method : str
            "GET", "POST", "PUT" or "DELETE".
        path : str
            Absolute path, e.g. ``ep.order_path``.
        params : list of (str, str)
            Parameters in send order, without timestamp and signature.
        weight : int
            Request weight counted against REQUEST_WEIGHT.
        is_order : bool
            Counts against the ORDERS limits (new orders only).
        on_sent : callable, optional
            Called with the CLOCK_MONOTONIC ns at aiohttp's ``on_request_headers_sent``
            trace signal: the latest point aiohttp exposes. aiohttp 3.14 fires it with the
            request head complete and then, for these body-less requests, writes the head
            to the transport without yielding to the loop, so the stamp precedes the
            ``write`` by the serialisation only. Called again if a -1021 answer makes the
            request go out a second time; not called when nothing was sent. An exception
            from it is counted (``n_on_sent_errors``) and logged, not raised.

        Returns
        -------
        Any
            The decoded JSON answer.

        Raises
        ------
        ConfigError
            No signer.
        VenueError
            An error answer (``is_unknown`` on 5xx/408/timeouts: the order may exist), a
            transport failure, or our limiter refusing (-1003/-1015, nothing sent).
        """
        signer = self._signer
        if signer is None:
            raise ConfigError(f"{self._ep.venue}: signed request {path} needs an API key")
        headers = {"X-MBX-APIKEY": signer.api_key}
        for attempt in (0, 1):
            full = [*params, ("recvWindow", self._recv_window), ("timestamp", str(self.now_ms()))]
            query = rest_signed_query(signer, full)
            try:
                return await self._send(method, path, query, headers, weight, is_order, on_sent)
            except VenueError as exc:
                if exc.code != -1021 or attempt:
                    raise
                self._counters.n_timestamp_retries += 1
                log.warning("rest_timestamp_rejected path=%s offset_ms=%d", path, self._offset_ms)
                await self.sync_time()
        raise AssertionError("unreachable")  # the loop returns or raises

    async def send_keyed(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        *,
        weight: int = 1,
    ) -> Any:
        """Send a USER_STREAM request: ``X-MBX-APIKEY`` header, no timestamp or signature.

        Raises
        ------
        ConfigError
            No signer (the API key comes from it).
        VenueError
            As `get_public`.
        """
        if self._signer is None:
            raise ConfigError(f"{self._ep.venue}: keyed request {path} needs an API key")
        query = encode_params(params) if params else ""
        headers = {"X-MBX-APIKEY": self._signer.api_key}
        return await self._send(method, path, query, headers, weight, False)

    async def _send(
        self,
        method: str,
        path: str,
        query: str,
        headers: dict[str, str] | None,
        weight: int,
        is_order: bool,
        on_sent: Callable[[int], None] | None = None,
    ) -> Any:
        # One request: limiter, send, headers into the limiter, JSON or VenueError.
        session = self._session
        if session is None:
            raise ConfigError(f"{self._ep.venue}: RestClient used before start()")
        limits = self._limits
        wait_s = limits.acquire(weight, is_order, self._venue_ns())
        if wait_s > 0:
            self._counters.n_local_throttled += 1
            code = -1015 if limits.last_refusal_kind == "ORDERS" else -1003
            raise VenueError(
                code,
                f"local rate limit: {limits.last_refusal}; retry in {wait_s:.3f} s",
                retryable=True,
                retry_after_s=wait_s,
            )
        # encoded=True: the bytes sent are exactly the bytes signed (no re-quoting).
        url = URL(f"{self._ep.rest_url}{path}{'?' if query else ''}{query}", encoded=True)
        self._counters.n_requests += 1
        try:
            async with session.request(
                method, url, headers=headers, trace_request_ctx=on_sent
            ) as resp:
                body = await resp.read()
                status = resp.status
                limits.update_from_headers(resp.headers, self._venue_ns())
                retry_after = resp.headers.get("Retry-After", "")
        except TimeoutError:
            raise self._transport_error(
                method, path, f"no answer within {self._timeout_s} s", sent=True
            ) from None
        except aiohttp.ClientConnectorError as exc:
            why = f"connect failed: {_scrub(str(exc))}"
            raise self._transport_error(method, path, why, sent=False) from None
        except aiohttp.ClientError as exc:
            why = f"{type(exc).__name__}: {_scrub(str(exc))}"
            raise self._transport_error(method, path, why, sent=True) from None
        if 200 <= status < 300:
            try:
                return orjson.loads(body)
            except orjson.JSONDecodeError:
                # Accepted but unreadable: an order may exist.
                self._counters.n_errors += 1
                self._counters.n_unknown_status += method != "GET"
                raise VenueError(
                    0,
                    f"HTTP {status} with a non-JSON body: {body[:200]!r}",
                    retryable=False,
                    http_status=status,
                    is_unknown=method != "GET",
                ) from None
        raise self._error(method, path, status, body, retry_after)

    async def _on_headers_sent(
        self, session: aiohttp.ClientSession, ctx: SimpleNamespace, params: Any
    ) -> None:
        # aiohttp trace hook: the request's on_sent rides in as its trace_request_ctx.
        on_sent = ctx.trace_request_ctx
        if on_sent is None:
            return
        try:
            on_sent(time.monotonic_ns())
        except Exception:  # dispatch wrapper for the caller's hook
            self._counters.n_on_sent_errors += 1
            log.exception("rest_on_sent_error method=%s", params.method)

    def _error(
        self, method: str, path: str, status: int, body: bytes, retry_after: str
    ) -> VenueError:
        # Record an error answer, block the limiter on 429/418, return its VenueError.
        err = venue_error(status, body, retry_after_s(retry_after))
        self._counters.n_errors += 1
        now_ns = self._venue_ns()
        if status == 418:
            self._counters.n_418 += 1
            self._limits.block(err.retry_after_s, now_ns, is_ban=True)
        elif status == 429:
            self._counters.n_429 += 1
            orders_only = err.code == -1015
            self._limits.block(err.retry_after_s, now_ns, is_ban=False, orders_only=orders_only)
        if err.is_unknown:
            self._counters.n_unknown_status += 1
        self._error_log.warning(
            "rest_error method=%s path=%s status=%d code=%d msg=%s",
            method,
            path,
            status,
            err.code,
            err.msg[:200],
        )
        return err

    def _transport_error(self, method: str, path: str, why: str, *, sent: bool) -> VenueError:
        # A request that got no HTTP answer. Once sent, a non-GET may have been executed.
        is_unknown = sent and method != "GET"
        self._counters.n_errors += 1
        self._counters.n_unknown_status += is_unknown
        self._error_log.warning(
            "rest_transport_error method=%s path=%s is_unknown=%s why=%s",
            method,
            path,
            is_unknown,
            why[:200],
        )
        return VenueError(0, why, retryable=True, is_unknown=is_unknown)

    # ---- state -----------------------------------------------------------------------------

    @property
    def limits(self) -> RateLimits:
        """The client-side limiter this client charges."""
        return self._limits

    @property
    def counters(self) -> RestCounters:
        """Request, error, throttle and resync counts."""
        return self._counters

    @property
    def endpoints(self) -> Endpoints:
        """The product this client talks to."""
        return self._ep


def _scrub(text: str) -> str:
    # Some aiohttp errors quote the request URL: drop every query string (signed ones hold
    # the signature) before the text reaches a log line or an exception.
    return _QUERY_RE.sub("?<query>", text)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()
