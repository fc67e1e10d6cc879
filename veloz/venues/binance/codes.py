"""Binance error codes (spot and USD-M) and how a client must treat each: retry, give up, reconcile.

Owns the code table (every code the spot ``errors.md`` and the USD-M "Error Codes" page list,
2025-2026 text) and the turn of an HTTP status plus error body into a `VenueError`. Must not
send, sleep or retry anything itself: the REST and WS-API clients decide what to do with the
classification. Messages are kept verbatim; the code, never the message, drives behaviour,
except where Binance documents two meanings under one HTTP 503.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import orjson

from veloz.errors import VenueError

__all__ = [
    "CODES",
    "CodeInfo",
    "Handling",
    "is_retryable",
    "is_unknown_status",
    "venue_error",
]


class Handling(StrEnum):
    """What a client does after an error code.

    ``RETRY``: the request was refused and not executed; the same request may succeed later
    (throttling, clock skew, overload). ``FINAL``: it will never succeed as sent (bad
    parameter, filter, signature, permission, rejected or unknown order). ``RECONCILE``: the
    venue does not know whether it executed the request (the order may exist): query first,
    then decide; a retry is allowed only after that.
    """

    RETRY = "retry"
    FINAL = "final"
    RECONCILE = "reconcile"


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One Binance error code: its symbolic name(s) and how to handle it.

    Where spot and USD-M use one code for different errors the name holds both, spot first
    (``"PARAM_OVERFLOW / usdm BAD_ASSET"``); the handling is the same for both meanings.
    """

    code: int
    name: str
    handling: Handling


_R = Handling.RETRY
_F = Handling.FINAL
_U = Handling.RECONCILE

# (code, name, handling). Sources: binance-spot-api-docs errors.md and the USD-M futures
# "Error Codes" page on developers.binance.com (exchange-protocols.md §9).
_TABLE: tuple[tuple[int, str, Handling], ...] = (
    # 10xx general server or network issues
    (-1000, "UNKNOWN", _U),  # "An unknown error occurred while processing the request."
    (-1001, "DISCONNECTED", _R),  # "unable to process your request. Please try again."
    (-1002, "UNAUTHORIZED", _F),
    (-1003, "TOO_MANY_REQUESTS", _R),
    (-1004, "DUPLICATE_IP", _F),
    (-1005, "NO_SUCH_IP", _F),
    (-1006, "UNEXPECTED_RESP", _U),  # "Execution status unknown."
    (-1007, "TIMEOUT", _U),  # "Send status unknown; execution status unknown."
    (-1008, "SERVER_BUSY", _R),  # USD-M "Request throttled by system-level protection"
    (-1010, "ERROR_MSG_RECEIVED", _F),
    (-1011, "NON_WHITE_LIST", _F),
    (-1013, "INVALID_MESSAGE", _F),  # spot filter failures
    (-1014, "UNKNOWN_ORDER_COMPOSITION", _F),
    (-1015, "TOO_MANY_ORDERS", _R),
    (-1016, "SERVICE_SHUTTING_DOWN", _R),
    (-1020, "UNSUPPORTED_OPERATION", _F),
    (-1021, "INVALID_TIMESTAMP", _R),  # resync the clock, send again with a new timestamp
    (-1022, "INVALID_SIGNATURE", _F),
    (-1023, "START_TIME_GREATER_THAN_END_TIME", _F),
    (-1033, "COMP_ID_IN_USE", _F),
    (-1034, "TOO_MANY_CONNECTIONS", _R),
    (-1035, "LOGGED_OUT", _F),
    (-1099, "NOT_FOUND", _F),
    # 11xx request issues
    (-1100, "ILLEGAL_CHARS", _F),
    (-1101, "TOO_MANY_PARAMETERS", _F),
    (-1102, "MANDATORY_PARAM_EMPTY_OR_MALFORMED", _F),
    (-1103, "UNKNOWN_PARAM", _F),
    (-1104, "UNREAD_PARAMETERS", _F),
    (-1105, "PARAM_EMPTY", _F),
    (-1106, "PARAM_NOT_REQUIRED", _F),
    (-1108, "PARAM_OVERFLOW / usdm BAD_ASSET", _F),
    (-1109, "BAD_ACCOUNT", _F),
    (-1110, "BAD_INSTRUMENT_TYPE", _F),
    (-1111, "BAD_PRECISION", _F),
    (-1112, "NO_DEPTH", _F),
    (-1113, "WITHDRAW_NOT_NEGATIVE", _F),
    (-1114, "TIF_NOT_REQUIRED", _F),
    (-1115, "INVALID_TIF", _F),
    (-1116, "INVALID_ORDER_TYPE", _F),
    (-1117, "INVALID_SIDE", _F),
    (-1118, "EMPTY_NEW_CL_ORD_ID", _F),
    (-1119, "EMPTY_ORG_CL_ORD_ID", _F),
    (-1120, "BAD_INTERVAL", _F),
    (-1121, "BAD_SYMBOL", _F),
    (-1122, "INVALID_SYMBOLSTATUS", _F),
    (-1125, "INVALID_LISTEN_KEY", _F),
    (-1126, "ASSET_NOT_SUPPORTED", _F),
    (-1127, "MORE_THAN_XX_HOURS", _F),
    (-1128, "OPTIONAL_PARAMS_BAD_COMBO", _F),
    (-1130, "INVALID_PARAMETER", _F),
    (-1134, "BAD_STRATEGY_TYPE", _F),
    (-1135, "INVALID_JSON", _F),
    (-1136, "INVALID_NEW_ORDER_RESP_TYPE", _F),
    (-1139, "INVALID_TICKER_TYPE", _F),
    (-1145, "INVALID_CANCEL_RESTRICTIONS", _F),
    (-1151, "DUPLICATE_SYMBOLS", _F),
    (-1152, "INVALID_SBE_HEADER", _F),
    (-1153, "UNSUPPORTED_SCHEMA_ID", _F),
    (-1155, "SBE_DISABLED", _F),
    (-1158, "OCO_ORDER_TYPE_REJECTED", _F),
    (-1160, "OCO_ICEBERGQTY_TIMEINFORCE", _F),
    (-1161, "DEPRECATED_SCHEMA", _F),
    (-1165, "BUY_OCO_LIMIT_MUST_BE_BELOW", _F),
    (-1166, "SELL_OCO_LIMIT_MUST_BE_ABOVE", _F),
    (-1168, "BOTH_OCO_ORDERS_CANNOT_BE_LIMIT", _F),
    (-1169, "INVALID_TAG_NUMBER", _F),
    (-1170, "TAG_NOT_DEFINED_IN_MESSAGE", _F),
    (-1171, "TAG_APPEARS_MORE_THAN_ONCE", _F),
    (-1172, "TAG_OUT_OF_ORDER", _F),
    (-1173, "GROUP_FIELDS_OUT_OF_ORDER", _F),
    (-1174, "INVALID_COMPONENT", _F),
    (-1175, "RESET_SEQ_NUM_SUPPORT", _F),
    (-1176, "ALREADY_LOGGED_IN", _F),
    (-1177, "GARBLED_MESSAGE", _F),
    (-1178, "BAD_SENDER_COMPID", _F),
    (-1179, "BAD_SEQ_NUM", _F),
    (-1180, "EXPECTED_LOGON", _F),
    (-1181, "TOO_MANY_MESSAGES", _R),
    (-1182, "PARAMS_BAD_COMBO", _F),
    (-1183, "NOT_ALLOWED_IN_DROP_COPY_SESSIONS", _F),
    (-1184, "DROP_COPY_SESSION_NOT_ALLOWED", _F),
    (-1185, "DROP_COPY_SESSION_REQUIRED", _F),
    (-1186, "NOT_ALLOWED_IN_ORDER_ENTRY_SESSIONS", _F),
    (-1187, "NOT_ALLOWED_IN_MARKET_DATA_SESSIONS", _F),
    (-1188, "INCORRECT_NUM_IN_GROUP_COUNT", _F),
    (-1189, "DUPLICATE_ENTRIES_IN_A_GROUP", _F),
    (-1190, "INVALID_REQUEST_ID", _F),
    (-1191, "TOO_MANY_SUBSCRIPTIONS", _F),
    (-1194, "INVALID_TIME_UNIT", _F),
    (-1196, "BUY_OCO_STOP_LOSS_MUST_BE_ABOVE", _F),
    (-1197, "SELL_OCO_STOP_LOSS_MUST_BE_BELOW", _F),
    (-1198, "BUY_OCO_TAKE_PROFIT_MUST_BE_BELOW", _F),
    (-1199, "SELL_OCO_TAKE_PROFIT_MUST_BE_ABOVE", _F),
    (-1210, "INVALID_PEG_PRICE_TYPE", _F),
    (-1211, "INVALID_PEG_OFFSET_TYPE", _F),
    (-1220, "SYMBOL_DOES_NOT_MATCH_STATUS", _F),
    (-1221, "INVALID_SBE_MESSAGE_FIELD", _F),
    (-1222, "OPO_WORKING_MUST_BE_BUY", _F),
    (-1223, "OPO_PENDING_MUST_BE_SELL", _F),
    (-1224, "WORKING_PARAM_REQUIRED", _F),
    (-1225, "PENDING_PARAM_NOT_REQUIRED", _F),
    # 20xx processing issues
    (-2010, "NEW_ORDER_REJECTED", _F),
    (-2011, "CANCEL_REJECTED", _F),
    (-2012, "CANCEL_ALL_FAIL", _F),
    (-2013, "NO_SUCH_ORDER", _F),
    (-2014, "BAD_API_KEY_FMT", _F),
    (-2015, "REJECTED_MBX_KEY", _F),
    (-2016, "NO_TRADING_WINDOW", _F),
    (-2017, "API_KEYS_LOCKED", _F),
    (-2018, "BALANCE_NOT_SUFFICIENT", _F),
    (-2019, "MARGIN_NOT_SUFFICIENT", _F),
    (-2020, "UNABLE_TO_FILL", _F),
    (-2021, "CANCEL_REPLACE_PARTIALLY_FAILED / usdm ORDER_WOULD_IMMEDIATELY_TRIGGER", _F),
    (-2022, "CANCEL_REPLACE_FAILED / usdm REDUCE_ONLY_REJECT", _F),
    (-2023, "USER_IN_LIQUIDATION", _F),
    (-2024, "POSITION_NOT_SUFFICIENT", _F),
    (-2025, "MAX_OPEN_ORDER_EXCEEDED", _F),
    (-2026, "ORDER_ARCHIVED / usdm REDUCE_ONLY_ORDER_TYPE_NOT_SUPPORTED", _F),
    (-2027, "MAX_LEVERAGE_RATIO", _F),
    (-2028, "MIN_LEVERAGE_RATIO", _F),
    (-2035, "SUBSCRIPTION_ACTIVE", _F),
    (-2036, "SUBSCRIPTION_INACTIVE", _F),
    (-2038, "ORDER_AMEND_REJECTED", _F),
    (-2039, "CLIENT_ORDER_ID_INVALID", _F),
    (-2042, "MAXIMUM_SUBSCRIPTION_IDS", _F),
    # 40xx USD-M filters and other issues
    (-4000, "INVALID_ORDER_STATUS", _F),
    (-4001, "PRICE_LESS_THAN_ZERO", _F),
    (-4002, "PRICE_GREATER_THAN_MAX_PRICE", _F),
    (-4003, "QTY_LESS_THAN_ZERO", _F),
    (-4004, "QTY_LESS_THAN_MIN_QTY", _F),
    (-4005, "QTY_GREATER_THAN_MAX_QTY", _F),
    (-4006, "STOP_PRICE_LESS_THAN_ZERO", _F),
    (-4007, "STOP_PRICE_GREATER_THAN_MAX_PRICE", _F),
    (-4008, "TICK_SIZE_LESS_THAN_ZERO", _F),
    (-4009, "MAX_PRICE_LESS_THAN_MIN_PRICE", _F),
    (-4010, "MAX_QTY_LESS_THAN_MIN_QTY", _F),
    (-4011, "STEP_SIZE_LESS_THAN_ZERO", _F),
    (-4012, "MAX_NUM_ORDERS_LESS_THAN_ZERO", _F),
    (-4013, "PRICE_LESS_THAN_MIN_PRICE", _F),
    (-4014, "PRICE_NOT_INCREASED_BY_TICK_SIZE", _F),
    (-4015, "INVALID_CL_ORD_ID_LEN", _F),
    (-4016, "PRICE_HIGHTER_THAN_MULTIPLIER_UP", _F),  # sic, Binance's spelling
    (-4017, "MULTIPLIER_UP_LESS_THAN_ZERO", _F),
    (-4018, "MULTIPLIER_DOWN_LESS_THAN_ZERO", _F),
    (-4019, "COMPOSITE_SCALE_OVERFLOW", _F),
    (-4020, "TARGET_STRATEGY_INVALID", _F),
    (-4021, "INVALID_DEPTH_LIMIT", _F),
    (-4022, "WRONG_MARKET_STATUS", _F),
    (-4023, "QTY_NOT_INCREASED_BY_STEP_SIZE", _F),
    (-4024, "PRICE_LOWER_THAN_MULTIPLIER_DOWN", _F),
    (-4025, "MULTIPLIER_DECIMAL_LESS_THAN_ZERO", _F),
    (-4026, "COMMISSION_INVALID", _F),
    (-4027, "INVALID_ACCOUNT_TYPE", _F),
    (-4028, "INVALID_LEVERAGE", _F),
    (-4029, "INVALID_TICK_SIZE_PRECISION", _F),
    (-4030, "INVALID_STEP_SIZE_PRECISION", _F),
    (-4031, "INVALID_WORKING_TYPE", _F),
    (-4032, "EXCEED_MAX_CANCEL_ORDER_SIZE", _F),
    (-4033, "INSURANCE_ACCOUNT_NOT_FOUND", _F),
    (-4044, "INVALID_BALANCE_TYPE", _F),
    (-4045, "MAX_STOP_ORDER_EXCEEDED", _F),
    (-4046, "NO_NEED_TO_CHANGE_MARGIN_TYPE", _F),
    (-4047, "THERE_EXISTS_OPEN_ORDERS", _F),
    (-4048, "THERE_EXISTS_QUANTITY", _F),
    (-4049, "ADD_ISOLATED_MARGIN_REJECT", _F),
    (-4050, "CROSS_BALANCE_INSUFFICIENT", _F),
    (-4051, "ISOLATED_BALANCE_INSUFFICIENT", _F),
    (-4052, "NO_NEED_TO_CHANGE_AUTO_ADD_MARGIN", _F),
    (-4053, "AUTO_ADD_CROSSED_MARGIN_REJECT", _F),
    (-4054, "ADD_ISOLATED_MARGIN_NO_POSITION_REJECT", _F),
    (-4055, "AMOUNT_MUST_BE_POSITIVE", _F),
    (-4056, "INVALID_API_KEY_TYPE", _F),  # spot WS-API session.logon with an HMAC key too
    (-4057, "INVALID_RSA_PUBLIC_KEY", _F),
    (-4058, "MAX_PRICE_TOO_LARGE", _F),
    (-4059, "NO_NEED_TO_CHANGE_POSITION_SIDE", _F),
    (-4060, "INVALID_POSITION_SIDE", _F),
    (-4061, "POSITION_SIDE_NOT_MATCH", _F),
    (-4062, "REDUCE_ONLY_CONFLICT", _F),
    (-4063, "INVALID_OPTIONS_REQUEST_TYPE", _F),
    (-4064, "INVALID_OPTIONS_TIME_FRAME", _F),
    (-4065, "INVALID_OPTIONS_AMOUNT", _F),
    (-4066, "INVALID_OPTIONS_EVENT_TYPE", _F),
    (-4067, "POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS", _F),
    (-4068, "POSITION_SIDE_CHANGE_EXISTS_QUANTITY", _F),
    (-4069, "INVALID_OPTIONS_PREMIUM_FEE", _F),
    (-4070, "INVALID_CL_OPTIONS_ID_LEN", _F),
    (-4071, "INVALID_OPTIONS_DIRECTION", _F),
    (-4072, "OPTIONS_PREMIUM_NOT_UPDATE", _F),
    (-4073, "OPTIONS_PREMIUM_INPUT_LESS_THAN_ZERO", _F),
    (-4074, "OPTIONS_AMOUNT_BIGGER_THAN_UPPER", _F),
    (-4075, "OPTIONS_PREMIUM_OUTPUT_ZERO", _F),
    (-4076, "OPTIONS_PREMIUM_TOO_DIFF", _F),
    (-4077, "OPTIONS_PREMIUM_REACH_LIMIT", _F),
    (-4078, "OPTIONS_COMMON_ERROR", _F),
    (-4079, "INVALID_OPTIONS_ID", _F),
    (-4080, "OPTIONS_USER_NOT_FOUND", _F),
    (-4081, "OPTIONS_NOT_FOUND", _F),
    (-4082, "INVALID_BATCH_PLACE_ORDER_SIZE", _F),
    (-4083, "PLACE_BATCH_ORDERS_FAIL", _F),
    (-4084, "UPCOMING_METHOD", _F),
    (-4085, "INVALID_NOTIONAL_LIMIT_COEF", _F),
    (-4086, "INVALID_PRICE_SPREAD_THRESHOLD", _F),
    (-4087, "REDUCE_ONLY_ORDER_PERMISSION", _F),
    (-4088, "NO_PLACE_ORDER_PERMISSION", _F),
    (-4104, "INVALID_CONTRACT_TYPE", _F),
    (-4109, "INACTIVE_ACCOUNT", _F),
    (-4114, "INVALID_CLIENT_TRAN_ID_LEN", _F),
    (-4115, "DUPLICATED_CLIENT_TRAN_ID", _F),
    (-4116, "DUPLICATED_CLIENT_ORDER_ID", _F),
    (-4117, "STOP_ORDER_TRIGGERING", _R),  # transient: the stop is being triggered
    (-4118, "REDUCE_ONLY_MARGIN_CHECK_FAILED", _F),
    (-4120, "STOP_ORDER_SWITCH_ALGO", _F),  # conditional types moved to the Algo API
    (-4131, "MARKET_ORDER_REJECT", _F),
    (-4135, "INVALID_ACTIVATION_PRICE", _F),
    (-4137, "QUANTITY_EXISTS_WITH_CLOSE_POSITION", _F),
    (-4138, "REDUCE_ONLY_MUST_BE_TRUE", _F),
    (-4139, "ORDER_TYPE_CANNOT_BE_MKT", _F),
    (-4140, "INVALID_OPENING_POSITION_STATUS", _F),
    (-4141, "SYMBOL_ALREADY_CLOSED", _F),
    (-4142, "STRATEGY_INVALID_TRIGGER_PRICE", _F),
    (-4144, "INVALID_PAIR", _F),
    (-4161, "ISOLATED_LEVERAGE_REJECT_WITH_POSITION", _F),
    (-4164, "MIN_NOTIONAL", _F),
    (-4165, "INVALID_TIME_INTERVAL", _F),
    (-4167, "ISOLATED_REJECT_WITH_JOINT_MARGIN", _F),
    (-4168, "JOINT_MARGIN_REJECT_WITH_ISOLATED", _F),
    (-4169, "JOINT_MARGIN_REJECT_WITH_MB", _F),
    (-4170, "JOINT_MARGIN_REJECT_WITH_OPEN_ORDER", _F),
    (-4171, "NO_NEED_TO_CHANGE_JOINT_MARGIN", _F),
    (-4172, "JOINT_MARGIN_REJECT_WITH_NEGATIVE_BALANCE", _F),
    (-4183, "PRICE_HIGHER_THAN_STOP_MULTIPLIER_UP", _F),  # page heading repeats -4167's name
    (-4184, "PRICE_LOWER_THAN_STOP_MULTIPLIER_DOWN", _F),
    (-4192, "COOLING_OFF_PERIOD", _F),
    (-4202, "ADJUST_LEVERAGE_KYC_FAILED", _F),
    (-4203, "ADJUST_LEVERAGE_ONE_MONTH_FAILED", _F),
    (-4205, "ADJUST_LEVERAGE_X_DAYS_FAILED", _F),
    (-4206, "ADJUST_LEVERAGE_KYC_LIMIT", _F),
    (-4208, "ADJUST_LEVERAGE_ACCOUNT_SYMBOL_FAILED", _F),
    (-4209, "ADJUST_LEVERAGE_SYMBOL_FAILED", _F),
    (-4210, "STOP_PRICE_HIGHER_THAN_PRICE_MULTIPLIER_LIMIT", _F),
    (-4211, "STOP_PRICE_LOWER_THAN_PRICE_MULTIPLIER_LIMIT", _F),
    (-4400, "TRADING_QUANTITATIVE_RULE", _F),
    (-4401, "LARGE_POSITION_SYM_RULE", _F),
    (-4402, "COMPLIANCE_BLACK_SYMBOL_RESTRICTION", _F),
    (-4403, "ADJUST_LEVERAGE_COMPLIANCE_FAILED", _F),
    # 50xx USD-M order execution issues
    (-5021, "FOK_ORDER_REJECT", _F),
    (-5022, "GTX_ORDER_REJECT", _F),  # post-only would take
    (-5024, "MOVE_ORDER_NOT_ALLOWED_SYMBOL_REASON", _F),
    (-5025, "LIMIT_ORDER_ONLY", _F),
    (-5026, "EXCEED_MAXIMUM_MODIFY_ORDER_LIMIT", _F),
    (-5027, "SAME_ORDER", _F),
    (-5028, "ME_RECVWINDOW_REJECT", _R),  # like -1021, checked before the matching engine
    (-5029, "MODIFICATION_MIN_NOTIONAL", _F),
    (-5037, "INVALID_PRICE_MATCH", _F),
    (-5038, "UNSUPPORTED_ORDER_TYPE_PRICE_MATCH", _F),
    (-5039, "INVALID_SELF_TRADE_PREVENTION_MODE", _F),
    (-5040, "FUTURE_GOOD_TILL_DATE", _F),
    (-5041, "BBO_ORDER_REJECT", _F),
    (-5043, "EXISTING_PENDING_MODIFICATION", _F),
)

CODES: Mapping[int, CodeInfo] = MappingProxyType(
    {code: CodeInfo(code, name, handling) for code, name, handling in _TABLE}
)

# USD-M 503 "Service Unavailable." means the request failed and may be sent again; any other
# 503 text ("Unknown error, please check your request or try again later.") leaves the
# execution status unknown (FD "General Info").
_MSG_SERVICE_UNAVAILABLE = "Service Unavailable"
_BODY_CUT = 200  # characters of a non-JSON body kept in the message


def is_retryable(code: int) -> bool:
    """Return True when a request refused with `code` may succeed if sent again later.

    True for throttling (-1003, -1008, -1015, -1034), clock skew (-1021, -5028), overload
    and the execution-unknown codes (-1000, -1006, -1007: retry only after reconciling).
    An unknown code is not retryable. O(1).
    """
    info = CODES.get(code)
    return info is not None and info.handling is not Handling.FINAL


def is_unknown_status(code: int) -> bool:
    """Return True when `code` says the venue may have executed the request (-1000, -1006,
    -1007): the caller must query the order before acting on it. O(1)."""
    info = CODES.get(code)
    return info is not None and info.handling is Handling.RECONCILE


def venue_error(
    http_status: int, body: bytes | str | None, retry_after_s: float = 0.0
) -> VenueError:
    """Return the `VenueError` for an error answer, code and message kept verbatim.

    Parameters
    ----------
    http_status : int
        HTTP status of the REST answer, or the WS-API ``status`` field (0 when none).
    body : bytes, str or None
        The answer body: ``{"code":..,"msg":..}``, or a WS-API reply holding it under
        ``error``. A non-JSON or empty body gives code 0 and a message naming the status
        and quoting the first 200 characters.
    retry_after_s : float
        The ``Retry-After`` header in seconds, 0 when absent.

    Returns
    -------
    VenueError
        ``retryable`` and ``is_unknown`` as the code table says, then the HTTP status
        overrides: 429 and 418 are retryable (after ``Retry-After``); 408 and 5xx are of
        unknown execution status and retryable after reconciling, except a 503 "Service
        Unavailable." or -1008, which failed for sure. A code outside the table on a 4xx
        answer is final; 403 without a code (WAF) is retryable after backing off.
    """
    code, msg = _parse(http_status, body)
    info = CODES.get(code)
    retryable = info is not None and info.handling is not Handling.FINAL
    is_unknown = info is not None and info.handling is Handling.RECONCILE
    if http_status in (429, 418):
        retryable, is_unknown = True, False
    elif http_status == 408 or http_status >= 500:
        retryable, is_unknown = True, True
        if http_status == 503 and (code == -1008 or _MSG_SERVICE_UNAVAILABLE in msg):
            is_unknown = False
    elif http_status == 403 and code == 0:
        retryable = True
    return VenueError(
        code,
        msg,
        retryable=retryable,
        http_status=http_status,
        is_unknown=is_unknown,
        retry_after_s=max(0.0, retry_after_s),
    )


def _parse(http_status: int, body: bytes | str | None) -> tuple[int, str]:
    # (code, msg) from an error body; (0, a description) when it holds no Binance error.
    if body is None or len(body) == 0:
        return 0, f"HTTP {http_status} with an empty body"
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        doc: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 0, f"HTTP {http_status} with a non-JSON body: {text[:_BODY_CUT]!r}"
    if isinstance(doc, dict) and isinstance(doc.get("error"), dict):
        doc = doc["error"]  # a WS-API reply: {"id", "status", "error": {...}}
    if isinstance(doc, dict):
        code, msg = doc.get("code"), doc.get("msg")
        if isinstance(code, int) and not isinstance(code, bool) and isinstance(msg, str):
            return code, msg
    return 0, f"HTTP {http_status} without a code and msg: {text[:_BODY_CUT]!r}"


# The longest documented IP ban (3 days): a longer Retry-After is capped here.
_MAX_RETRY_AFTER_S = 259_200.0


def retry_after_s(header: str | None) -> float:
    """Return a ``Retry-After`` header as seconds: 0.0 when absent, not a positive number,
    or unreadable (Binance sends whole seconds); capped at the longest ban, 3 days."""
    if not header:
        return 0.0
    try:
        value = float(header)
    except ValueError:
        return 0.0
    return min(value, _MAX_RETRY_AFTER_S) if value > 0 else 0.0
