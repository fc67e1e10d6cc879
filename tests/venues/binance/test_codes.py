"""Binance error codes: the table's classification and `venue_error` for REST and WS-API bodies."""

from pathlib import Path

import orjson
import pytest

from veloz.venues.binance.codes import CODES
from veloz.venues.binance.codes import Handling
from veloz.venues.binance.codes import is_retryable
from veloz.venues.binance.codes import is_unknown_status
from veloz.venues.binance.codes import retry_after_s
from veloz.venues.binance.codes import venue_error

# exchange-protocols.md §9 "Common codes" plus the -1xxx/-2xxx families it names.
SECTION_9 = (
    -1003, -1008, -1013, -1015, -1021, -1022, -1100, -1101, -1102, -1103, -1104, -1105, -1106,
    -1111, -1121, -1125, -2010, -2011, -2013, -2014, -2015, -2019, -2021, -2022, -4120, -5022,
    -1007, -4014, -4023, -4003, -4004, -4005, -4164, -4016, -4024,
)  # fmt: skip
THROTTLE_AND_CLOCK = (-1003, -1008, -1015, -1021, -1034, -5028)
FINAL = (-1013, -1022, -1100, -1102, -1111, -1121, -2010, -2011, -2013, -2015, -4014, -5022)


def test_codes_table_has_every_section_9_code() -> None:
    assert set(SECTION_9) <= set(CODES)


def test_codes_table_keys_match_entries_and_names_are_set() -> None:
    assert all(info.code == code and info.name for code, info in CODES.items())


@pytest.mark.parametrize("code", THROTTLE_AND_CLOCK)
def test_is_retryable_throttle_and_clock_codes_true(code: int) -> None:
    assert is_retryable(code)
    assert not is_unknown_status(code)


@pytest.mark.parametrize("code", FINAL)
def test_is_retryable_parameter_filter_signature_order_codes_false(code: int) -> None:
    assert not is_retryable(code)


@pytest.mark.parametrize("code", (-1000, -1006, -1007))
def test_execution_unknown_codes_reconcile_then_retry(code: int) -> None:
    assert CODES[code].handling is Handling.RECONCILE
    assert is_unknown_status(code) and is_retryable(code)


def test_is_retryable_code_outside_table_false() -> None:
    assert -9999 not in CODES
    assert not is_retryable(-9999)


def test_venue_error_keeps_code_and_msg_verbatim() -> None:
    msg = "Account has insufficient balance for requested action."
    err = venue_error(400, orjson.dumps({"code": -2010, "msg": msg}))
    assert (err.code, err.msg, err.http_status) == (-2010, msg, 400)
    assert not err.retryable and not err.is_unknown


def test_venue_error_str_body_same_as_bytes() -> None:
    body = '{"code":-1121,"msg":"Invalid symbol."}'
    a, b = venue_error(400, body), venue_error(400, body.encode())
    assert (a.code, a.msg) == (b.code, b.msg) == (-1121, "Invalid symbol.")


def test_venue_error_docs_example_body(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "binance/spot/docs_examples/rest_error_response.json").read_bytes()
    err = venue_error(400, body)
    assert (err.code, err.msg, err.retryable) == (-1121, "Invalid symbol.", False)


def test_venue_error_non_json_body_gives_code_0_and_quotes_it() -> None:
    err = venue_error(502, b"<html>Bad Gateway</html>")
    assert err.code == 0
    assert "502" in err.msg and "Bad Gateway" in err.msg
    assert err.is_unknown and err.retryable


@pytest.mark.parametrize("body", [None, b"", ""])
def test_venue_error_empty_body_gives_clear_message(body: bytes | str | None) -> None:
    err = venue_error(500, body)
    assert err.code == 0 and "500" in err.msg and "empty" in err.msg


def test_venue_error_json_without_code_gives_code_0() -> None:
    err = venue_error(400, b'{"error":"nope"}')
    assert err.code == 0 and "nope" in err.msg and not err.retryable


def test_venue_error_wsapi_reply_reads_nested_error(fixtures_dir: Path) -> None:
    path = fixtures_dir / "binance/spot/docs_examples/wsapi_order_place_response_error.json"
    doc = orjson.loads(path.read_bytes())
    err = venue_error(doc["status"], path.read_bytes())
    assert (err.code, err.msg) == (-2010, doc["error"]["msg"])


def test_venue_error_429_retryable_with_retry_after() -> None:
    body = b'{"code":-1003,"msg":"Too much request weight used; current limit is 6000."}'
    err = venue_error(429, body, retry_after_s=7.0)
    assert err.retryable and not err.is_unknown and err.retry_after_s == 7.0


def test_venue_error_418_ban_retryable_not_unknown() -> None:
    err = venue_error(418, b'{"code":-1003,"msg":"Way too much request weight used; IP banned"}')
    assert err.retryable and not err.is_unknown


def test_venue_error_5xx_unknown_even_with_final_code() -> None:
    err = venue_error(500, b'{"code":-1000,"msg":"An unknown error occurred"}')
    assert err.is_unknown and err.retryable


def test_venue_error_408_unknown() -> None:
    err = venue_error(408, b"")
    assert err.is_unknown and err.retryable


def test_venue_error_503_service_unavailable_failed_not_unknown() -> None:
    err = venue_error(503, b'{"code":-1001,"msg":"Service Unavailable."}')
    assert err.retryable and not err.is_unknown


def test_venue_error_503_unknown_error_is_unknown() -> None:
    body = b'{"code":-1000,"msg":"Unknown error, please check your request or try again later."}'
    err = venue_error(503, body)
    assert err.retryable and err.is_unknown


def test_venue_error_503_throttled_1008_failed_not_unknown() -> None:
    body = b'{"code":-1008,"msg":"Request throttled by system-level protection."}'
    err = venue_error(503, body)
    assert err.retryable and not err.is_unknown


def test_venue_error_1007_on_400_unknown() -> None:
    err = venue_error(400, b'{"code":-1007,"msg":"Timeout waiting for response from backend"}')
    assert err.is_unknown


def test_venue_error_403_waf_without_code_retryable() -> None:
    err = venue_error(403, b"<html>403 Forbidden</html>")
    assert err.code == 0 and err.retryable and not err.is_unknown


def test_venue_error_negative_retry_after_clamped_to_zero() -> None:
    assert venue_error(429, b"", retry_after_s=-3.0).retry_after_s == 0.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, 0.0),
        ("", 0.0),
        ("7", 7.0),
        ("0.4", 0.4),
        ("-3", 0.0),
        ("soon", 0.0),
        ("999999999", 259_200.0),
    ],
)
def test_retry_after_header_is_positive_seconds_capped_at_three_days(
    header: str | None, seconds: float
) -> None:
    assert retry_after_s(header) == seconds
