"""Fixed point: exact text <-> int64, checked against Python's Decimal."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from veloz._core import fixed
from veloz.errors import NumberError

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@pytest.mark.parametrize(
    ("text", "dp", "raw"),
    [
        ("65000.01000000", 2, 6500001),
        ("0.35210000", 8, 35210000),
        ("7.6110", 4, 76110),
        ("0", 0, 0),
        ("0.00000000", 8, 0),
        ("00012.5", 1, 125),
        ("1", 8, 100000000),
        ("1.", 2, 100),
        (".5", 1, 5),
        ("9223372036854775807", 0, INT64_MAX),
        ("92233720368547758.07", 2, INT64_MAX),
        ("9.223372036854775807", 18, INT64_MAX),
    ],
)
def test_parse_valid_text_gives_exact_raw(text: str, dp: int, raw: int) -> None:
    assert fixed.parse(text, dp) == raw
    assert fixed.parse(text.encode(), dp) == raw
    assert fixed.parse(bytearray(text.encode()), dp) == raw


@pytest.mark.parametrize(
    ("text", "raw"),
    [("-1.5", -150), ("+1.5", 150), ("-0", 0), ("-92233720368547758.08", INT64_MIN)],
)
def test_parse_signed_allowed_gives_signed_raw(text: str, raw: int) -> None:
    assert fixed.parse(text, 2, signed=True) == raw


@pytest.mark.parametrize(
    ("text", "dp", "reason"),
    [
        ("", 2, "empty text"),
        ("1.234", 2, "more significant decimals than dp"),
        ("65000.01000001", 2, "more significant decimals than dp"),
        ("-1", 2, "sign not allowed"),
        ("+1", 2, "sign not allowed"),
        ("abc", 2, "not a plain decimal number"),
        ("1e5", 2, "not a plain decimal number"),
        ("1.2.3", 2, "not a plain decimal number"),
        (" 1", 2, "not a plain decimal number"),
        ("1 ", 2, "not a plain decimal number"),
        (".", 2, "not a plain decimal number"),
        ("-", 2, "sign not allowed"),
        ("1,5", 2, "not a plain decimal number"),
        ("\uff11\uff12", 0, "not a plain decimal number"),  # full-width digits
        ("nan", 2, "not a plain decimal number"),
        ("9223372036854775808", 0, "does not fit int64"),
        ("92233720368547758.08", 2, "does not fit int64"),
        ("99999999999999999999999", 0, "does not fit int64"),
        ("10", 18, "does not fit int64"),
        ("1", 19, "dp must be 0..18"),
        ("1", -1, "dp must be 0..18"),
    ],
)
def test_parse_bad_text_raises_number_error_naming_input(text: str, dp: int, reason: str) -> None:
    with pytest.raises(NumberError) as info:
        fixed.parse(text, dp)
    assert reason in str(info.value)
    assert repr(text)[:20] in str(info.value)


def test_parse_signed_lone_minus_is_junk() -> None:
    with pytest.raises(NumberError, match="not a plain decimal number"):
        fixed.parse("-", 2, signed=True)


def test_parse_signed_below_int64_min_overflows() -> None:
    with pytest.raises(NumberError, match="does not fit int64"):
        fixed.parse("-9223372036854775809", 0, signed=True)


def test_parse_non_text_raises_number_error() -> None:
    with pytest.raises(NumberError, match="expected decimal text"):
        fixed.parse(1.5, 2)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("raw", "dp", "text"),
    [
        (6500001, 2, "65000.01"),
        (0, 0, "0"),
        (0, 3, "0.000"),
        (-5, 3, "-0.005"),
        (5, 8, "0.00000005"),
        (INT64_MAX, 0, "9223372036854775807"),
        (INT64_MIN, 2, "-92233720368547758.08"),
        (INT64_MAX, 18, "9.223372036854775807"),
    ],
)
def test_to_text_formats_exactly_dp_decimals(raw: int, dp: int, text: str) -> None:
    assert fixed.to_text(raw, dp) == text


def test_to_text_bad_dp_raises() -> None:
    with pytest.raises(NumberError):
        fixed.to_text(1, 19)


@st.composite
def decimal_texts(draw: st.DrawFn) -> tuple[str, int]:
    dp = draw(st.integers(0, 18))
    int_digits = draw(st.integers(1, 20))
    frac_digits = draw(st.integers(0, 22))
    int_part = draw(st.text("0123456789", min_size=int_digits, max_size=int_digits))
    frac_part = draw(st.text("0123456789", min_size=frac_digits, max_size=frac_digits))
    sign = draw(st.sampled_from(["", "", "-", "+"]))
    text = sign + int_part + ("." + frac_part if frac_digits or draw(st.booleans()) else "")
    return text, dp


@settings(max_examples=3000, derandomize=True)
@given(decimal_texts())
def test_parse_matches_decimal_on_random_text(case: tuple[str, int]) -> None:
    text, dp = case
    value = Decimal(text)
    scaled = value.scaleb(dp)
    exact = scaled == scaled.to_integral_value()
    signed = text[0] in "+-"
    expect_ok = exact and INT64_MIN <= int(scaled) <= INT64_MAX
    try:
        got = fixed.parse(text, dp, signed=True)
    except NumberError:
        assert not expect_ok, text
    else:
        assert expect_ok, text
        assert got == int(scaled)
        assert Decimal(fixed.to_text(got, dp)) == value
    if signed:
        with pytest.raises(NumberError):
            fixed.parse(text, dp)


@settings(max_examples=2000, derandomize=True)
@given(st.integers(INT64_MIN, INT64_MAX), st.integers(0, 18))
def test_to_text_then_parse_round_trips(raw: int, dp: int) -> None:
    text = fixed.to_text(raw, dp)
    assert fixed.parse(text, dp, signed=True) == raw
    assert Decimal(text) == Decimal(raw).scaleb(-dp)


@pytest.mark.parametrize(
    ("text", "dp"),
    [("0.01000000", 2), ("1.00000000", 0), ("10", 0), ("0.00000001", 8), ("0.5", 1)],
)
def test_dp_of_tick_text_strips_trailing_zeros(text: str, dp: int) -> None:
    assert fixed.dp_of(text) == dp


@pytest.mark.parametrize("text", ["", "-0.01", "abc", "1e-3"])
def test_dp_of_bad_text_raises(text: str) -> None:
    with pytest.raises(NumberError):
        fixed.dp_of(text)


@settings(max_examples=2000, derandomize=True)
@given(
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(INT64_MIN, INT64_MAX),
    st.integers(INT64_MIN, INT64_MAX).filter(lambda d: d != 0),
)
def test_mul_div_matches_python_ints_or_raises(a: int, b: int, d: int) -> None:
    q = abs(a * b) // abs(d) * (1 if (a * b >= 0) == (d > 0) else -1)
    if INT64_MIN <= q <= INT64_MAX:
        assert fixed.mul_div(a, b, d) == q
    else:
        with pytest.raises(NumberError, match="does not fit int64"):
            fixed.mul_div(a, b, d)


def test_mul_div_by_zero_raises() -> None:
    with pytest.raises(NumberError, match="division by zero"):
        fixed.mul_div(1, 1, 0)


def test_mul_div_notional_of_price_and_qty() -> None:
    px = fixed.parse("65000.01", 2)
    qty = fixed.parse("0.00150", 5)
    # notional at dp 7 -> rescale to dp 2 by dividing by 10**5
    assert fixed.mul_div(px, qty, 10**5) == int(Decimal("97.500015") * 100)


@pytest.mark.parametrize(
    ("raw", "src", "dst", "out"),
    [(125, 1, 3, 12500), (12500, 3, 1, 125), (-7, 0, 2, -700), (0, 18, 0, 0)],
)
def test_rescale_exact(raw: int, src: int, dst: int, out: int) -> None:
    assert fixed.rescale(raw, src, dst) == out


@pytest.mark.parametrize(
    ("raw", "src", "dst", "reason"),
    [(125, 2, 1, "more significant decimals"), (INT64_MAX, 0, 1, "does not fit")],
)
def test_rescale_lossy_or_overflow_raises(raw: int, src: int, dst: int, reason: str) -> None:
    with pytest.raises(NumberError, match=reason):
        fixed.rescale(raw, src, dst)


def test_to_float_is_for_display_only() -> None:
    assert fixed.to_float(6500001, 2) == pytest.approx(65000.01)


@pytest.mark.parametrize(("x", "dp", "raw"), [(0.125, 2, 12), (0.135, 2, 14), (1.0, 0, 1)])
def test_from_float_rounds_half_even(x: float, dp: int, raw: int) -> None:
    assert fixed.from_float(x, dp) == raw


@pytest.mark.parametrize("x", [float("nan"), float("inf"), 1e30])
def test_from_float_rejects_non_finite_and_overflow(x: float) -> None:
    with pytest.raises(NumberError):
        fixed.from_float(x, 2)
