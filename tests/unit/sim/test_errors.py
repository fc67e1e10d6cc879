"""The simulator's Binance error table and error bodies."""

import ast
import json
from pathlib import Path

import pytest

import veloz.sim
from veloz.errors import VelozError
from veloz.sim.errors import ERRORS
from veloz.sim.errors import MSG_IP_BANNED
from veloz.sim.errors import MSG_TOO_MANY_ORDERS
from veloz.sim.errors import MSG_TOO_MUCH_WEIGHT
from veloz.sim.errors import BinanceApiError

# Messages as binance-spot-api-docs errors.md gives them.
EXPECTED = {
    -1000: (500, "An unknown error occurred while processing the request."),
    -1002: (401, "You are not authorized to execute this request."),
    -1021: (400, "Timestamp for this request is outside of the recvWindow."),
    -1022: (400, "Signature for this request is not valid."),
    -1121: (400, "Invalid symbol."),
    -2013: (400, "Order does not exist."),
    -2014: (401, "API-key format invalid."),
    -2015: (401, "Invalid API-key, IP, or permissions for action."),
}


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_errors_table_code_has_binance_status_and_message(code: int) -> None:
    status, msg = EXPECTED[code]
    assert (ERRORS[code].http_status, ERRORS[code].msg) == (status, msg)


def test_errors_table_required_codes_all_present() -> None:
    required = {-1000, -1002, -1003, -1013, -1015, -1021, -1022, -1100, -1101, -1102}
    required |= {-1111, -1121, -2010, -2011, -2013, -2014, -2015}
    assert required <= set(ERRORS)


def _raised_codes() -> list[tuple[str, int, int | None]]:
    # (file, line, code) of every BinanceApiError(...) call in veloz/sim; code None when the
    # first argument is not a literal, which would hide a code from this check.
    out: list[tuple[str, int, int | None]] = []
    for path in sorted(Path(veloz.sim.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "BinanceApiError"
            ):
                continue
            arg = node.args[0] if node.args else None
            code = None
            if (
                isinstance(arg, ast.UnaryOp)
                and isinstance(arg.op, ast.USub)
                and isinstance(arg.operand, ast.Constant)
                and isinstance(arg.operand.value, int)
            ):
                code = -arg.operand.value
            out.append((path.name, node.lineno, code))
    return out


def test_errors_every_code_raised_in_sim_is_a_literal_in_the_table() -> None:
    raised = _raised_codes()
    assert len(raised) > 50  # the scan found the call sites
    assert [(f, line) for f, line, code in raised if code is None] == []
    assert sorted({c for _, _, c in raised if c not in ERRORS}) == []


def test_errors_order_and_stream_codes_answer_http_400() -> None:
    codes = {-1106, -1115, -1116, -1117, -1125, -2035, -4003, -4004, -4005, -4013, -4014}
    codes |= {-4002, -4016, -4023, -4056, -4061, -4164}
    assert {c: ERRORS[c].http_status for c in codes} == dict.fromkeys(codes, 400)


def test_error_body_default_message_is_compact_binance_json() -> None:
    err = BinanceApiError(-1022)
    assert err.body() == b'{"code":-1022,"msg":"Signature for this request is not valid."}'
    assert err.http_status == 400
    assert err.headers == {}


def test_error_body_custom_message_and_status_override_table() -> None:
    err = BinanceApiError(-1003, MSG_IP_BANNED % 1530469779590, http_status=418)
    assert err.http_status == 418
    assert json.loads(err.body()) == {
        "code": -1003,
        "msg": "Way too much request weight used; IP banned until 1530469779590. "
        "Please use WebSocket Streams for live updates to avoid bans.",
    }


def test_error_templates_fill_to_binance_text() -> None:
    assert MSG_TOO_MUCH_WEIGHT % (6000, "1 MINUTE") == (
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API."
    )
    assert MSG_TOO_MANY_ORDERS % (100, "10 SECOND") == (
        "Too many new orders; current limit is 100 orders per 10 SECOND."
    )


def test_error_unknown_code_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        BinanceApiError(-9999)


def test_error_is_in_veloz_tree_and_str_names_code() -> None:
    err = BinanceApiError(-2011, "Unknown order sent.")
    assert isinstance(err, VelozError)
    assert str(err) == "http=400 code=-2011 msg=Unknown order sent."
