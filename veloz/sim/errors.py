"""Binance error codes the simulator sends: HTTP status, code and message text as Binance sends.

Owns the table and `BinanceApiError`; it must not decide when an error applies (auth and
limits do) and must not know about the client side in `veloz.venues`.
Messages follow binance-spot-api-docs errors.md (2025-01-09) word for word, the -4xxx codes
the USD-M futures error-code page. A code missing here cannot be raised (`BinanceApiError`
raises KeyError), so every error the simulator sends goes through this table.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from veloz.errors import VelozError

__all__ = [
    "ERRORS",
    "MSG_CANCEL_UNKNOWN_ORDER",
    "MSG_DUPLICATE_ORDER",
    "MSG_DUPLICATE_PARAM",
    "MSG_INSUFFICIENT_BALANCE",
    "MSG_IP_BANNED",
    "MSG_MANDATORY_PARAM",
    "MSG_PARAM_TOO_LARGE",
    "MSG_TIMESTAMP_AHEAD",
    "MSG_TIMESTAMP_OUTSIDE_RECV_WINDOW",
    "MSG_TOO_MANY_ORDERS",
    "MSG_TOO_MUCH_WEIGHT",
    "MSG_WOULD_TAKE",
    "BinanceApiError",
    "ErrorSpec",
]


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One Binance error code.

    Attributes
    ----------
    code : int
        Negative Binance code, e.g. -1022.
    name : str
        Binance's symbolic name, e.g. ``INVALID_SIGNATURE``.
    http_status : int
        HTTP status the REST API answers with (the WS API mirrors it in ``status``).
    msg : str
        Default message text, exactly as Binance sends it.
    """

    code: int
    name: str
    http_status: int
    msg: str


def _table(*specs: ErrorSpec) -> Mapping[int, ErrorSpec]:
    return MappingProxyType({s.code: s for s in specs})


ERRORS: Mapping[int, ErrorSpec] = _table(
    ErrorSpec(-1000, "UNKNOWN", 500, "An unknown error occurred while processing the request."),
    ErrorSpec(-1002, "UNAUTHORIZED", 401, "You are not authorized to execute this request."),
    ErrorSpec(-1003, "TOO_MANY_REQUESTS", 429, "Too many requests queued."),
    ErrorSpec(
        -1013,
        "INVALID_MESSAGE",
        400,
        "The request is rejected by the API. (i.e. The request didn't reach the Matching Engine.)",
    ),
    ErrorSpec(-1015, "TOO_MANY_ORDERS", 429, "Too many new orders."),
    ErrorSpec(
        -1021, "INVALID_TIMESTAMP", 400, "Timestamp for this request is outside of the recvWindow."
    ),
    ErrorSpec(-1022, "INVALID_SIGNATURE", 400, "Signature for this request is not valid."),
    ErrorSpec(-1100, "ILLEGAL_CHARS", 400, "Illegal characters found in a parameter."),
    ErrorSpec(-1101, "TOO_MANY_PARAMETERS", 400, "Too many parameters sent for this endpoint."),
    ErrorSpec(
        -1102,
        "MANDATORY_PARAM_EMPTY_OR_MALFORMED",
        400,
        "A mandatory parameter was not sent, was empty/null, or malformed.",
    ),
    ErrorSpec(-1106, "PARAM_NOT_REQUIRED", 400, "Parameter '%s' sent when not required."),
    ErrorSpec(-1111, "BAD_PRECISION", 400, "Parameter '%s' has too much precision."),
    ErrorSpec(-1115, "INVALID_TIF", 400, "Invalid timeInForce."),
    ErrorSpec(-1116, "INVALID_ORDER_TYPE", 400, "Invalid orderType."),
    ErrorSpec(-1117, "INVALID_SIDE", 400, "Invalid side."),
    ErrorSpec(-1121, "BAD_SYMBOL", 400, "Invalid symbol."),
    ErrorSpec(-1125, "INVALID_LISTEN_KEY", 400, "This listenKey does not exist."),
    ErrorSpec(-1128, "BAD_OPTIONAL_PARAMS", 400, "Combination of optional parameters invalid."),
    ErrorSpec(-2010, "NEW_ORDER_REJECTED", 400, "NEW_ORDER_REJECTED"),
    ErrorSpec(-2011, "CANCEL_REJECTED", 400, "CANCEL_REJECTED"),
    ErrorSpec(-2013, "NO_SUCH_ORDER", 400, "Order does not exist."),
    ErrorSpec(-2014, "BAD_API_KEY_FMT", 401, "API-key format invalid."),
    ErrorSpec(-2015, "REJECTED_MBX_KEY", 401, "Invalid API-key, IP, or permissions for action."),
    ErrorSpec(-2035, "SUBSCRIPTION_ACTIVE", 400, "User Data Stream subscription already active."),
    ErrorSpec(-4002, "PRICE_GREATER_THAN_MAX_PRICE", 400, "Price greater than max price."),
    ErrorSpec(-4003, "QTY_LESS_THAN_ZERO", 400, "Quantity less than zero."),
    ErrorSpec(-4004, "QTY_LESS_THAN_MIN_QTY", 400, "Quantity less than min quantity."),
    ErrorSpec(-4005, "QTY_GREATER_THAN_MAX_QTY", 400, "Quantity greater than max quantity."),
    ErrorSpec(-4013, "PRICE_LESS_THAN_MIN_PRICE", 400, "Price less than min price."),
    ErrorSpec(-4014, "PRICE_NOT_INCREASED_BY_TICK_SIZE", 400, "Price not increased by tick size."),
    ErrorSpec(
        -4016,
        "PRICE_HIGHTER_THAN_MULTIPLIER_UP",  # sic, Binance's spelling
        400,
        "Price is higher than mark price multiplier cap.",
    ),
    ErrorSpec(-4023, "QTY_NOT_INCREASED_BY_STEP_SIZE", 400, "Qty not increased by step size."),
    # Spot WS API session.logon with an HMAC key; Binance publishes no symbolic name for it.
    ErrorSpec(-4056, "HMAC_KEY_NOT_SUPPORTED", 400, "HMAC_SHA256 API key is not supported."),
    ErrorSpec(
        -4061,
        "POSITION_SIDE_NOT_MATCH",
        400,
        "Order's position side does not match user's setting.",
    ),
    ErrorSpec(
        -4164,
        "MIN_NOTIONAL",
        400,
        "Order's notional must be no smaller than %s (unless you choose reduce only).",
    ),
)

# Variant messages Binance sends under the codes above; %s are filled with `%` by the caller.
MSG_TOO_MUCH_WEIGHT = (
    "Too much request weight used; current limit is %s request weight per %s. "
    "Please use WebSocket Streams for live updates to avoid polling the API."
)
# %s is the ban end in ms since the epoch, as in live responses ("banned until 1530469779590").
MSG_IP_BANNED = (
    "Way too much request weight used; IP banned until %s. "
    "Please use WebSocket Streams for live updates to avoid bans."
)
MSG_TOO_MANY_ORDERS = "Too many new orders; current limit is %s orders per %s."
MSG_TIMESTAMP_OUTSIDE_RECV_WINDOW = "Timestamp for this request is outside of the recvWindow."
MSG_TIMESTAMP_AHEAD = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_MANDATORY_PARAM = "Mandatory parameter '%s' was not sent, was empty/null, or malformed."
MSG_PARAM_TOO_LARGE = "'%s' contains unexpected value. Cannot be greater than '%s'."
MSG_DUPLICATE_PARAM = "Duplicate values for a parameter detected."
MSG_CANCEL_UNKNOWN_ORDER = "Unknown order sent."
MSG_INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
MSG_WOULD_TAKE = "Order would immediately match and take."
MSG_DUPLICATE_ORDER = "Duplicate order sent."


class BinanceApiError(VelozError):
    """An error response the simulator sends: ``{"code":..,"msg":..}`` with an HTTP status.

    Parameters
    ----------
    code : int
        A code from `ERRORS`.
    msg : str, optional
        Message text; defaults to the table's text for `code`.
    http_status : int, optional
        Defaults to the table's status for `code` (e.g. pass 418 for an IP ban under -1003).
    headers : dict of str to str, optional
        Extra response headers, e.g. ``Retry-After`` (seconds) or the used-weight header.

    Raises
    ------
    KeyError
        If `code` is not in `ERRORS` (a simulator bug, never input).
    """

    __slots__ = ("code", "headers", "http_status", "msg")

    def __init__(
        self,
        code: int,
        msg: str | None = None,
        *,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        spec = ERRORS[code]
        self.code = code
        self.msg = spec.msg if msg is None else msg
        self.http_status = spec.http_status if http_status is None else http_status
        self.headers: dict[str, str] = {} if headers is None else dict(headers)
        super().__init__(code, self.msg)

    def __str__(self) -> str:
        return f"http={self.http_status} code={self.code} msg={self.msg}"

    def body(self) -> bytes:
        """Return the JSON body Binance sends, e.g. ``{"code":-1022,"msg":"..."}``."""
        return json.dumps(
            {"code": self.code, "msg": self.msg}, separators=(",", ":"), ensure_ascii=False
        ).encode()
