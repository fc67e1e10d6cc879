"""`RestApi`: the REST gate and public endpoints -- exchangeInfo, time and depth snapshots.

Owns the request log (`RestCall`), Binance's rate-limit escalation (429 with Retry-After, a
418 ban for a client that ignores it), the cued 429/418 statuses and old snapshot, and the
used-weight header. Signed order endpoints live in `orders`; JSON answers are built here.
"""

import logging
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from aiohttp import web

from tests.integration.hostile.counters import HostileCounters
from tests.integration.hostile.market import E8
from tests.integration.hostile.market import Market
from tests.integration.hostile.market import text_e8

log = logging.getLogger(__name__)

__all__ = ["RestApi", "RestCall", "error_response", "invalid_symbol", "json_response"]

MSG_1003_429 = (
    "Too many requests; current limit of IP(127.0.0.1) request weight per minute is 6000. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
MSG_1003_418 = (
    "Way too much request weight used; IP banned until {until}. "
    "Please use WebSocket Streams for live updates to avoid bans."
)


@dataclass(slots=True)
class RestCall:
    """One REST request as served: when (loop time, s), what, and the HTTP status sent."""

    t_s: float
    method: str
    path: str
    status: int


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """`body` as an ``application/json`` answer."""
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def error_response(code: int, msg: str, status: int = 400) -> web.Response:
    """A Binance error answer, ``{"code": code, "msg": msg}``."""
    return json_response({"code": code, "msg": msg}, status=status)


def invalid_symbol() -> web.Response:
    """Binance's answer to a symbol it does not list."""
    return error_response(-1121, "Invalid symbol.")


class RestApi:
    """The REST gate every request passes (middleware) and the public market endpoints.

    The cue fields (`rest_cue`, `old_snapshot_by`) are set by `HostileServer` and consumed by
    the next REST call / depth snapshot.
    """

    def __init__(
        self,
        *,
        market: Market,
        counters: HostileCounters,
        now_s: Callable[[], float],
        server_ms: Callable[[], int],
        ban_s: float,
        depth_anchor: Callable[[], int | None],
        on_request: Callable[[], None],
    ) -> None:
        self._market = market
        self._counters = counters
        self._now_s = now_s
        self._server_ms = server_ms
        self.ban_s = ban_s
        self._depth_anchor = depth_anchor  # u an old snapshot must predate, or None
        self._on_request = on_request  # called once per REST call served
        self.rest_log: list[RestCall] = []
        self.rest_cue: tuple[int, float, int] | None = None  # status, retry_after_s, left
        self.old_snapshot_by = 0
        self._retry_until_s = 0.0  # end of the last 429's Retry-After window
        self._banned_until_s = 0.0
        self._weights: deque[tuple[float, int]] = deque()  # (t_s, weight) within 60 s
        self._default_depth_limit = "500" if market.is_usdm else "100"

    def add_routes(self, app: web.Application, api: str) -> None:
        """Route exchangeInfo, time and depth under `api` (``/api/v3`` or ``/fapi/v1``)."""
        app.router.add_get(f"{api}/exchangeInfo", self._exchange_info)
        app.router.add_get(f"{api}/time", self._time)
        app.router.add_get(f"{api}/depth", self._depth)

    # -- gate -----------------------------------------------------------------------------

    @web.middleware
    async def middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Log, throttle and weigh every REST call (websocket handshakes pass untouched)."""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return await handler(request)
        now = self._now_s()
        path = request.path
        self._counters.rest_calls[path] += 1
        throttled = self._throttled(now)
        resp: web.StreamResponse
        if throttled is not None:
            resp = throttled
        else:
            try:
                resp = await handler(request)
            except web.HTTPException as exc:
                resp = exc
        self._add_weight_header(resp, now, path, request)
        self.rest_log.append(RestCall(now, request.method, path, resp.status))
        self._on_request()
        return resp

    def _throttled(self, now: float) -> web.Response | None:
        # Binance's escalation, then the cued statuses; None lets the request through.
        if now < self._banned_until_s:
            return self._too_many(418, self._banned_until_s - now)
        if now < self._retry_until_s:
            self._counters.n_rest_violations += 1
            log.warning(
                "hostile_rest_violation inside_retry_after_s=%.3f", self._retry_until_s - now
            )
            self._banned_until_s = now + self.ban_s
            return self._too_many(418, self.ban_s)
        if self.rest_cue is not None:
            status, retry_after_s, left = self.rest_cue
            self.rest_cue = (status, retry_after_s, left - 1) if left > 1 else None
            if status == 429:
                self._retry_until_s = now + retry_after_s
            else:
                self._banned_until_s = now + retry_after_s
            return self._too_many(status, retry_after_s)
        return None

    def _too_many(self, status: int, retry_after_s: float) -> web.Response:
        if status == 429:
            self._counters.n_429 += 1
            msg = MSG_1003_429
        else:
            self._counters.n_418 += 1
            msg = MSG_1003_418.format(until=self._server_ms() + int(retry_after_s * 1000))
        headers = {"Retry-After": f"{retry_after_s:g}"}
        return json_response({"code": -1003, "msg": msg}, status=status, headers=headers)

    def _add_weight_header(
        self, resp: web.StreamResponse, now: float, path: str, request: web.Request
    ) -> None:
        weight = self._weight_of(path, request)
        self._weights.append((now, weight))
        while self._weights and now - self._weights[0][0] > 60.0:
            self._weights.popleft()
        resp.headers["X-MBX-USED-WEIGHT-1M"] = str(sum(w for _, w in self._weights))

    def _weight_of(self, path: str, request: web.Request) -> int:
        is_usdm = self._market.is_usdm
        if path.endswith("/exchangeInfo"):
            return 1 if is_usdm else 20
        if path.endswith("/depth"):
            text = str(request.query.get("limit", self._default_depth_limit) or 0)
            limit = int(text) if text.isdigit() else 0  # a bad limit was answered -1100
            if is_usdm:
                return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
            return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250
        if path.endswith("/order") and request.method == "GET":
            return 4
        return 1

    # -- public endpoints -----------------------------------------------------------------

    async def _time(self, request: web.Request) -> web.Response:
        self._counters.n_time += 1
        return json_response({"serverTime": self._server_ms()})

    async def _exchange_info(self, request: web.Request) -> web.Response:
        wanted = request.query.get("symbol")
        if wanted is not None and wanted.upper() != self._market.symbol:
            return invalid_symbol()
        return json_response(self.exchange_info())

    def exchange_info(self) -> dict[str, Any]:
        """The exchangeInfo body: one symbol whose filters `mapping.py` can read."""
        m = self._market
        tick = text_e8(m.tick_e8, m.px_decimals)
        step = text_e8(m.step_e8, m.qty_decimals)
        limits = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 6000,
            },
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            # the second order window, matching the X-MBX-ORDER-COUNT-1M / -1D header sent
            {
                "rateLimitType": "ORDERS",
                "interval": "MINUTE" if m.is_usdm else "DAY",
                "intervalNum": 1,
                "limit": 1200 if m.is_usdm else 200_000,
            },
        ]
        info: dict[str, Any] = {
            "symbol": m.symbol,
            "status": "TRADING",
            "baseAsset": m.symbol[:-4],
            "quoteAsset": m.symbol[-4:],
            "baseAssetPrecision": 8,
            "quotePrecision": 8,
        }
        price_filter = {
            "filterType": "PRICE_FILTER",
            "minPrice": tick,
            "maxPrice": text_e8(1_000_000 * E8, m.px_decimals),
            "tickSize": tick,
        }
        lot = {
            "filterType": "LOT_SIZE",
            "minQty": step,
            "maxQty": text_e8(9000 * E8, m.qty_decimals),
            "stepSize": step,
        }
        body: dict[str, Any] = {"timezone": "UTC", "serverTime": self._server_ms()}
        if m.is_usdm:
            body["futuresType"] = "U_MARGINED"
            info.update({"pair": m.symbol, "contractType": "PERPETUAL", "marginAsset": "USDT"})
            info.update({"pricePrecision": 2, "quantityPrecision": 3})
            info["filters"] = [price_filter, lot, {"filterType": "MIN_NOTIONAL", "notional": "100"}]
        else:
            info["quoteAssetPrecision"] = 8
            info["orderTypes"] = ["LIMIT", "LIMIT_MAKER", "MARKET"]
            info["filters"] = [
                price_filter,
                lot,
                {
                    "filterType": "NOTIONAL",
                    "minNotional": "5.00000000",
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
            ]
        body.update({"rateLimits": limits, "exchangeFilters": [], "symbols": [info]})
        return body

    async def _depth(self, request: web.Request) -> web.Response:
        m = self._market
        if request.query.get("symbol", "").upper() != m.symbol:
            return invalid_symbol()
        try:
            limit = int(request.query.get("limit", self._default_depth_limit))
        except ValueError:
            return error_response(
                -1100,
                "Illegal characters found in parameter 'limit'; legal range is '^[0-9]{1,20}$'.",
            )
        limit = max(1, min(limit, 1000 if m.is_usdm else 5000))
        update_id = m.update_id
        if self.old_snapshot_by:
            update_id = m.old_id(self.old_snapshot_by, self._depth_anchor())
            self.old_snapshot_by = 0
            self._counters.n_old_snapshots += 1
        self._counters.n_snapshots += 1
        bids, asks = m.truth_at(update_id)
        body: dict[str, Any] = {"lastUpdateId": update_id}
        if m.is_usdm:
            ms = self._server_ms()
            body["E"] = ms
            body["T"] = ms - 1
        body["bids"] = sorted(bids.items(), key=lambda kv: Decimal(kv[0]), reverse=True)[:limit]
        body["asks"] = sorted(asks.items(), key=lambda kv: Decimal(kv[0]))[:limit]
        return json_response(body)
