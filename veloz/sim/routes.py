"""The simulator's endpoint table: every REST route and WS-API method with its request weight.

Owns `Route`, `ROUTES` (method, path, the `SimExchange` method it lands on, security type,
call shape, weight as a function of the parameters, whether it counts as an order) and
`WS_METHODS`. Weights follow Binance's published tables. Must not serve requests, check
auth or limits, or decide trading outcomes (that is `server` and `exchange`).
"""

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["ROUTES", "WS_METHODS", "Route"]


def _const(n: int) -> Callable[[Mapping[str, str]], int]:
    return lambda _params: n


def _by_symbol(one: int, every: int) -> Callable[[Mapping[str, str]], int]:
    return lambda params: one if params.get("symbol") else every


def _by_order(one: int, every: int) -> Callable[[Mapping[str, str]], int]:
    return lambda params: one if params.get("orderId") else every


def _limit(params: Mapping[str, str], default: int) -> int:
    text = params.get("limit", "")
    return int(text) if text.isdigit() else default


def _spot_depth(params: Mapping[str, str]) -> int:
    n = _limit(params, 100)
    return 5 if n <= 100 else 25 if n <= 500 else 50 if n <= 1000 else 250


def _usdm_depth(params: Mapping[str, str]) -> int:
    n = _limit(params, 500)
    return 2 if n <= 50 else 5 if n <= 100 else 10 if n <= 500 else 20


def _usdm_klines(params: Mapping[str, str]) -> int:
    n = _limit(params, 500)
    return 1 if n < 100 else 2 if n < 500 else 5 if n <= 1000 else 10


@dataclass(frozen=True, slots=True)
class Route:
    """One REST endpoint.

    Attributes
    ----------
    venue : {"spot", "usdm"}
    method, path : str
        HTTP method and path.
    call : str
        SimExchange method name; ``ping``/``time``/``listen_key`` are served here.
    security : {"NONE", "USER_DATA", "TRADE", "USER_STREAM"}
        Binance security type.
    args : {"none", "params", "account", "account_params"}
        How the SimExchange method is called.
    weight : callable
        Request weight from the decoded parameters.
    is_order : bool
        Counts towards the ORDERS limits.
    """

    venue: str
    method: str
    path: str
    call: str
    security: str
    args: str
    weight: Callable[[Mapping[str, str]], int]
    is_order: bool = False


def _r(venue: str, spec: str, call: str, sec: str, args: str, w: Any, order: bool = False) -> Route:
    method, path = spec.split(" ")
    weight = _const(w) if isinstance(w, int) else w
    return Route(venue, method, path, call, sec, args, weight, order)


ROUTES: tuple[Route, ...] = (
    _r("spot", "GET /api/v3/ping", "ping", "NONE", "none", 1),
    _r("spot", "GET /api/v3/time", "time", "NONE", "none", 1),
    _r("spot", "GET /api/v3/exchangeInfo", "exchange_info", "NONE", "none", 20),
    _r("spot", "GET /api/v3/depth", "depth", "NONE", "params", _spot_depth),
    _r("spot", "GET /api/v3/trades", "trades", "NONE", "params", 25),
    _r("spot", "GET /api/v3/aggTrades", "agg_trades", "NONE", "params", 4),
    _r("spot", "GET /api/v3/klines", "klines", "NONE", "params", 2),
    _r("spot", "GET /api/v3/ticker/bookTicker", "book_ticker", "NONE", "params", _by_symbol(2, 4)),
    _r("spot", "GET /api/v3/ticker/price", "ticker_price", "NONE", "params", _by_symbol(2, 4)),
    _r("spot", "POST /api/v3/order", "new_order", "TRADE", "account_params", 1, order=True),
    _r("spot", "DELETE /api/v3/order", "cancel_order", "TRADE", "account_params", 1),
    _r("spot", "GET /api/v3/order", "get_order", "USER_DATA", "account_params", 4),
    _r(
        "spot",
        "GET /api/v3/openOrders",
        "open_orders",
        "USER_DATA",
        "account_params",
        _by_symbol(6, 80),
    ),
    _r("spot", "GET /api/v3/allOrders", "all_orders", "USER_DATA", "account_params", 20),
    _r(
        "spot", "GET /api/v3/myTrades", "my_trades", "USER_DATA", "account_params", _by_order(5, 20)
    ),
    _r("spot", "DELETE /api/v3/openOrders", "cancel_open_orders", "TRADE", "account_params", 1),
    _r("spot", "GET /api/v3/account", "account", "USER_DATA", "account", 20),
    _r("usdm", "GET /fapi/v1/ping", "ping", "NONE", "none", 1),
    _r("usdm", "GET /fapi/v1/time", "time", "NONE", "none", 1),
    _r("usdm", "GET /fapi/v1/exchangeInfo", "exchange_info", "NONE", "none", 1),
    _r("usdm", "GET /fapi/v1/depth", "depth", "NONE", "params", _usdm_depth),
    _r("usdm", "GET /fapi/v1/trades", "trades", "NONE", "params", 5),
    _r("usdm", "GET /fapi/v1/aggTrades", "agg_trades", "NONE", "params", 20),
    _r("usdm", "GET /fapi/v1/klines", "klines", "NONE", "params", _usdm_klines),
    _r("usdm", "GET /fapi/v1/premiumIndex", "premium_index", "NONE", "params", _by_symbol(1, 10)),
    _r("usdm", "GET /fapi/v1/ticker/bookTicker", "book_ticker", "NONE", "params", _by_symbol(2, 5)),
    _r("usdm", "GET /fapi/v1/ticker/price", "ticker_price", "NONE", "params", _by_symbol(1, 2)),
    _r("usdm", "POST /fapi/v1/order", "new_order", "TRADE", "account_params", 0, order=True),
    _r("usdm", "DELETE /fapi/v1/order", "cancel_order", "TRADE", "account_params", 1),
    _r("usdm", "GET /fapi/v1/order", "get_order", "USER_DATA", "account_params", 1),
    _r(
        "usdm",
        "GET /fapi/v1/openOrders",
        "open_orders",
        "USER_DATA",
        "account_params",
        _by_symbol(1, 40),
    ),
    _r("usdm", "GET /fapi/v1/allOrders", "all_orders", "USER_DATA", "account_params", 5),
    _r("usdm", "GET /fapi/v1/userTrades", "my_trades", "USER_DATA", "account_params", 5),
    _r("usdm", "DELETE /fapi/v1/allOpenOrders", "cancel_open_orders", "TRADE", "account_params", 1),
    _r("usdm", "GET /fapi/v2/balance", "futures_balance", "USER_DATA", "account", 5),
    _r("usdm", "GET /fapi/v2/account", "futures_account", "USER_DATA", "account", 5),
    _r("usdm", "GET /fapi/v2/positionRisk", "position_risk", "USER_DATA", "account_params", 5),
    _r("usdm", "GET /fapi/v3/balance", "futures_balance", "USER_DATA", "account", 5),
    _r("usdm", "GET /fapi/v3/account", "futures_account_v3", "USER_DATA", "account", 5),
    _r("usdm", "GET /fapi/v3/positionRisk", "position_risk_v3", "USER_DATA", "account_params", 5),
    _r(
        "usdm",
        "GET /fapi/v1/leverageBracket",
        "leverage_bracket",
        "USER_DATA",
        "account_params",
        1,
    ),
    _r("usdm", "POST /fapi/v1/listenKey", "listen_key", "USER_STREAM", "none", 1),
    _r("usdm", "PUT /fapi/v1/listenKey", "listen_key", "USER_STREAM", "none", 1),
    _r("usdm", "DELETE /fapi/v1/listenKey", "listen_key", "USER_STREAM", "none", 1),
)

# WS API: method -> (weight, security, SimExchange method or None when served here).
WS_METHODS: dict[str, tuple[int, str, str | None]] = {
    "ping": (1, "NONE", None),
    "time": (1, "NONE", None),
    "session.logon": (2, "SIGNED", None),
    "userDataStream.subscribe.signature": (2, "USER_DATA", None),
    "userDataStream.subscribe": (2, "USER_DATA", None),
    "userDataStream.unsubscribe": (2, "NONE", None),
    "order.place": (1, "TRADE", "new_order"),
    "order.cancel": (1, "TRADE", "cancel_order"),
    "order.status": (4, "USER_DATA", "get_order"),
}
