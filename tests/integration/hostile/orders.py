"""`OrderApi`: the signed order endpoints (new, cancel, query) of the one demo HMAC account.

Owns the account (`DEMO_KEY` / `DEMO_SECRET`), the key, signature and timestamp checks, the
orders accepted and their order-count headers, and the cued order errors. Orders never touch
the true book: a MARKET order fills at the touch, a LIMIT order rests until cancelled.
"""

import contextlib
import hashlib
import hmac
from collections import deque
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.integration.hostile.counters import HostileCounters
from tests.integration.hostile.market import Market
from tests.integration.hostile.rest import error_response
from tests.integration.hostile.rest import invalid_symbol
from tests.integration.hostile.rest import json_response

__all__ = ["DEMO_KEY", "DEMO_SECRET", "OrderApi"]

DEMO_KEY = "hostileKey0000000000000000000000000000000000000000000000000000000"
DEMO_SECRET = "hostileSecret000000000000000000000000000000000000000000000000000"  # noqa: S105 (test account)

SignedHandler = Callable[[dict[str, str]], web.Response]


def _missing(name: str) -> str:
    # Binance's -1102 message for a mandatory parameter.
    return f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."


class OrderApi:
    """POST / DELETE / GET ``order`` behind Binance's signed-request checks.

    The cue field `order_cue` is set by `HostileServer` and consumed by the next POST orders
    that pass auth.
    """

    def __init__(
        self,
        *,
        market: Market,
        counters: HostileCounters,
        now_s: Callable[[], float],
        server_ms: Callable[[], int],
        api_key: str,
        secret: str,
    ) -> None:
        self._market = market
        self._counters = counters
        self._now_s = now_s
        self._server_ms = server_ms
        self.api_key = api_key
        self._secret = secret.encode()
        self.orders_received: list[dict[str, str]] = []  # params of accepted POST orders
        self.order_cue: tuple[int, str, int, int] | None = None  # code, msg, left, http
        self._n_orders_10s: deque[float] = deque()
        self._orders: dict[int, dict[str, Any]] = {}
        self._next_order_id = 100_000

    def add_routes(self, app: web.Application, api: str) -> None:
        """Route the signed ``order`` endpoints under `api` (``/api/v3`` or ``/fapi/v1``)."""
        app.router.add_post(f"{api}/order", self._signed(self._order_new))
        app.router.add_delete(f"{api}/order", self._signed(self._order_cancel))
        app.router.add_get(f"{api}/order", self._signed(self._order_query))

    # -- auth -----------------------------------------------------------------------------

    def _signed(self, handler: SignedHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
        # `handler` runs on the request's params once key, signature and timestamp pass.
        async def serve(request: web.Request) -> web.Response:
            params = await self._signed_params(request)
            if isinstance(params, web.Response):
                return params
            return handler(params)

        return serve

    def _auth_failure(self, code: int, msg: str, status: int = 400) -> web.Response:
        self._counters.n_auth_failures += 1
        return error_response(code, msg, status)

    async def _signed_params(self, request: web.Request) -> dict[str, str] | web.Response:
        # Check key, signature (over query + body as sent) and timestamp; the params or an error.
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return self._auth_failure(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        query = request.rel_url.raw_query_string
        body = (await request.text()) if request.can_read_body else ""
        sig = ""
        for text in (query, body):
            head, sep, tail = text.rpartition("signature=")
            if sep and "&" not in tail and (not head or head.endswith("&")):
                sig = tail
                if text is query:
                    query = head[:-1] if head else ""
                else:
                    body = head[:-1] if head else ""
                break
        if not sig:
            return self._auth_failure(-1102, _missing("signature"))
        expected = hmac.new(self._secret, (query + body).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, sig.lower()):
            return self._auth_failure(-1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(body, keep_blank_values=True))
        params.update(parse_qsl(query, keep_blank_values=True))  # the query wins
        try:
            ts = int(params["timestamp"])
            recv_window = float(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            return self._auth_failure(-1102, _missing("timestamp"))
        now_ms = self._server_ms()
        if ts >= now_ms + 1000:
            return self._auth_failure(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now_ms - ts > recv_window:
            return self._auth_failure(
                -1021, "Timestamp for this request is outside of the recvWindow."
            )
        return params

    # -- orders ---------------------------------------------------------------------------

    def _order_headers(self) -> dict[str, str]:
        now = self._now_s()
        self._n_orders_10s.append(now)
        while self._n_orders_10s and now - self._n_orders_10s[0] > 10.0:
            self._n_orders_10s.popleft()
        return {
            "X-MBX-ORDER-COUNT-10S": str(len(self._n_orders_10s)),
            ("X-MBX-ORDER-COUNT-1M" if self._market.is_usdm else "X-MBX-ORDER-COUNT-1D"): str(
                self._counters.n_orders
            ),
        }

    def _order_new(self, params: dict[str, str]) -> web.Response:
        m = self._market
        self._counters.n_orders += 1
        if self.order_cue is not None:
            code, msg, left, http_status = self.order_cue
            self.order_cue = (code, msg, left - 1, http_status) if left > 1 else None
            self._counters.n_order_errors += 1
            return error_response(code, msg, http_status)
        if params.get("symbol", "").upper() != m.symbol:
            return invalid_symbol()
        try:
            side, otype = params["side"], params["type"]
            qty = params["quantity"]
        except KeyError as exc:
            return error_response(-1102, _missing(exc.args[0]))
        self.orders_received.append(params)
        self._next_order_id += 1
        ms = self._server_ms()
        is_market = otype == "MARKET"
        touch = m.best_ask() if side == "BUY" else m.best_bid()
        price = params.get("price", "0")
        fill_px = m.px_text(touch)
        order: dict[str, Any] = {
            "symbol": m.symbol,
            "orderId": self._next_order_id,
            "clientOrderId": params.get("newClientOrderId", f"hostile{self._next_order_id}"),
            "price": "0.00000000" if is_market else price,
            "origQty": qty,
            "executedQty": qty if is_market else "0",
            "status": "FILLED" if is_market else "NEW",
            "timeInForce": params.get("timeInForce", "GTC"),
            "type": otype,
            "side": side,
        }
        self._orders[self._next_order_id] = order
        headers = self._order_headers()
        if m.is_usdm:
            body = {
                **order,
                "avgPrice": fill_px if is_market else "0.00",
                "cumQty": order["executedQty"],
                "cumQuote": "0",
                "reduceOnly": False,
                "positionSide": "BOTH",
                "updateTime": ms,
            }
            return json_response(body, headers=headers)
        resp_type = params.get(
            "newOrderRespType", "FULL" if otype in ("LIMIT", "MARKET") else "ACK"
        )
        ack = {
            "symbol": m.symbol,
            "orderId": order["orderId"],
            "orderListId": -1,
            "clientOrderId": order["clientOrderId"],
            "transactTime": ms,
        }
        if resp_type == "ACK":
            return json_response(ack, headers=headers)
        body = {
            **ack,
            **order,
            "origQuoteOrderQty": "0.00000000",
            "cummulativeQuoteQty": "0.00000000",
            "workingTime": ms,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if resp_type == "FULL":
            body["fills"] = (
                [
                    {
                        "price": fill_px,
                        "qty": qty,
                        "commission": "0.00000000",
                        "commissionAsset": "BNB",
                        "tradeId": m.trade_id,
                    }
                ]
                if is_market
                else []
            )
        return json_response(body, headers=headers)

    def _find_order(self, params: dict[str, str]) -> dict[str, Any] | None:
        if "orderId" in params:
            with contextlib.suppress(ValueError):
                return self._orders.get(int(params["orderId"]))
            return None
        cid = params.get("origClientOrderId")
        return next((o for o in self._orders.values() if o["clientOrderId"] == cid), None)

    def _order_cancel(self, params: dict[str, str]) -> web.Response:
        self._counters.n_cancels += 1
        order = self._find_order(params)
        if order is None or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return error_response(-2011, "Unknown order sent.")
        order["status"] = "CANCELED"
        return json_response({**order, "origClientOrderId": order["clientOrderId"]})

    def _order_query(self, params: dict[str, str]) -> web.Response:
        self._counters.n_order_queries += 1
        order = self._find_order(params)
        if order is None:
            return error_response(-2013, "Order does not exist.")
        return json_response(order)
