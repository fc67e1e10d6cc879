"""Instrument: fixed-point text round trips and the exact local order check."""

import dataclasses
from typing import Any

import pytest

from veloz.errors import NumberError
from veloz.model.instrument import Instrument

# Hand-made at the tick's own scale (dp 2, 5): any scale that holds the grid is a valid
# Instrument. The Binance mapping gives 8 and 8 (see NKN below and tests/venues/binance).
BTC = Instrument(
    venue="binance-spot",
    symbol="BTCUSDT",
    base="BTC",
    quote="USDT",
    status="TRADING",
    price_dp=2,
    qty_dp=5,
    tick_raw=1,
    step_raw=1,
    min_px_raw=1,
    max_px_raw=100_000_000,
    min_qty_raw=1,
    max_qty_raw=900_000_000,
    min_notional_raw=100_000_000,  # 10 USDT at dp 7
)
# NKNUSDT as the Binance mapping builds it: scales 8 and 8, finer than tick 0.0001 and step 1.
NKN = Instrument(
    venue="binance-spot",
    symbol="NKNUSDT",
    base="NKN",
    quote="USDT",
    status="TRADING",
    price_dp=8,
    qty_dp=8,
    tick_raw=10_000,  # 0.0001
    step_raw=100_000_000,  # 1
    min_px_raw=10_000,
    max_px_raw=100_000_000_000,  # 1000
    min_qty_raw=100_000_000,
    max_qty_raw=900_000_000_000_000,  # 9000000
    min_notional_raw=100_000_000_000_000_000,  # 10 USDT at dp 16
)


def test_instrument_is_frozen_and_slotted() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BTC.price_dp = 3  # type: ignore[misc]
    assert not hasattr(BTC, "__dict__")


def test_px_and_qty_parse_wire_text_at_the_instrument_scale() -> None:
    assert BTC.px("65000.01000000") == 6_500_001
    assert BTC.qty(b"0.00123000") == 123
    assert BTC.px_text(6_500_001) == "65000.01"
    assert BTC.qty_text(123) == "0.00123"
    assert BTC.notional_dp == 7


def test_px_with_more_decimals_than_price_dp_raises_number_error() -> None:
    with pytest.raises(NumberError):
        BTC.px("65000.001")


def test_px_and_qty_finer_than_tick_and_step_parse_exactly_at_dp_8() -> None:
    # Legacy book levels from before a filter change: representable, off the current grid.
    assert NKN.px("0.25974000") == 25_974_000
    assert NKN.qty("11979.30000000") == 1_197_930_000_000
    assert NKN.px_text(25_974_000) == "0.25974000"
    assert NKN.notional_dp == 16
    with pytest.raises(NumberError):
        NKN.px("0.259740001")


@pytest.mark.parametrize(
    ("px", "qty", "reason"),
    [
        ("0.25974", "100", "price 0.25974000 is not a multiple of tick 0.00010000"),
        ("0.2597", "11979.3", "quantity 11979.30000000 is not a multiple of step 1.00000000"),
        ("0.2597", "38", "notional 9.8686000000000000 below min 10.0000000000000000"),
        ("0.2597", "39", None),
    ],
)
def test_check_order_at_scale_finer_than_tick_and_step_enforces_the_grid(
    px: str, qty: str, reason: str | None
) -> None:
    assert NKN.check_order(NKN.px(px), NKN.qty(qty)) == reason


def test_check_order_accepts_an_order_exactly_at_min_notional() -> None:
    # 10000.00 * 0.00100 = 10.0000000
    assert BTC.check_order(BTC.px("10000"), BTC.qty("0.001")) is None


@pytest.mark.parametrize(
    ("px", "qty", "reason"),
    [
        (0, 100, "price raw 0 is not a positive int64"),
        (2**63, 100, "price raw 9223372036854775808 is not a positive int64"),
        (100_000_001, 100, "price 1000000.01 above max 1000000.00"),
        (6_500_000, 0, "quantity raw 0 is not a positive int64"),
        (6_500_000, 900_000_001, "quantity 9000.00001 above max 9000.00000"),
        (1_000_000, 99, "notional 9.9000000 below min 10.0000000"),
    ],
)
def test_check_order_names_the_broken_rule(px: int, qty: int, reason: str) -> None:
    assert BTC.check_order(px, qty) == reason


def test_check_order_on_coarse_tick_step_and_bounds() -> None:
    inst = dataclasses.replace(
        BTC, tick_raw=50, step_raw=10, min_px_raw=1000, min_qty_raw=100, min_notional_raw=0
    )
    assert inst.check_order(1050, 110) is None
    assert inst.check_order(1049, 110) == "price 10.49 is not a multiple of tick 0.50"
    assert inst.check_order(950, 110) == "price 9.50 below min 10.00"
    assert inst.check_order(1050, 115) == "quantity 0.00115 is not a multiple of step 0.00010"
    assert inst.check_order(1050, 90) == "quantity 0.00090 below min 0.00100"


def test_check_order_with_zero_bounds_checks_only_tick_and_step() -> None:
    inst = dataclasses.replace(
        BTC, min_px_raw=0, max_px_raw=0, min_qty_raw=0, max_qty_raw=0, min_notional_raw=0
    )
    assert inst.check_order(1, 1) is None
    assert inst.check_order(2**63 - 1, 2**63 - 1) is None  # product exact in Python ints


@pytest.mark.parametrize(
    "changes",
    [
        {"price_dp": 19},
        {"qty_dp": -1},
        {"price_dp": 10, "qty_dp": 9},
        {"tick_raw": 0},
        {"step_raw": -5},
        {"min_qty_raw": -1},
        {"max_px_raw": 2**63},
        {"min_px_raw": 10, "max_px_raw": 5},
        {"min_qty_raw": 10, "max_qty_raw": 5},
    ],
)
def test_instrument_rejects_impossible_rules(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="BTCUSDT"):
        dataclasses.replace(BTC, **changes)
