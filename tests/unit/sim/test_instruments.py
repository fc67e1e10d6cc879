"""Tests for veloz.sim.instruments: the sim's rules and its exchangeInfo bodies."""

import json
from pathlib import Path

import pytest

from veloz._core import fixed
from veloz.sim.instruments import SPOT_INSTRUMENTS
from veloz.sim.instruments import USDM_INSTRUMENTS
from veloz.sim.instruments import Padding
from veloz.sim.instruments import exchange_info
from veloz.sim.instruments import instruments
from veloz.sim.instruments import padding


def test_instruments_spot_btcusdt_has_binance_rules() -> None:
    btc = SPOT_INSTRUMENTS[0]
    assert (btc.symbol, btc.price_dp, btc.qty_dp) == ("BTCUSDT", 2, 5)
    assert btc.tick_raw == fixed.parse("0.01", 2)
    assert btc.step_raw == btc.min_qty_raw == fixed.parse("0.00001", 5)
    assert btc.min_notional_raw == fixed.parse("5", 7)
    assert padding(btc) == Padding(8, 8)


def test_instruments_usdm_btcusdt_pads_to_price_and_quantity_precision() -> None:
    btc = USDM_INSTRUMENTS[0]
    assert (btc.price_dp, btc.qty_dp) == (1, 3)
    assert btc.tick_raw == fixed.parse("0.1", 1)
    assert btc.step_raw == fixed.parse("0.001", 3)
    assert btc.min_notional_raw == fixed.parse("100", 4)
    assert padding(btc) == Padding(2, 3)


def test_instruments_unknown_venue_raises_value_error() -> None:
    with pytest.raises(ValueError, match="venue"):
        instruments("coinm")


def test_exchange_info_spot_has_filters_and_limiter_defaults() -> None:
    info = exchange_info("spot", SPOT_INSTRUMENTS, 123)
    assert info["serverTime"] == 123
    assert info["rateLimits"][0] == {
        "rateLimitType": "REQUEST_WEIGHT",
        "interval": "MINUTE",
        "intervalNum": 1,
        "limit": 6000,
    }
    sym = info["symbols"][0]
    filters = {f["filterType"]: f for f in sym["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert filters["NOTIONAL"]["minNotional"] == "5.00000000"
    assert set(filters) == {"PRICE_FILTER", "LOT_SIZE", "MARKET_LOT_SIZE", "NOTIONAL"}
    assert sym["defaultSelfTradePreventionMode"] == "EXPIRE_MAKER"


def test_exchange_info_usdm_has_precisions_and_min_notional() -> None:
    sym = exchange_info("usdm", USDM_INSTRUMENTS, 1)["symbols"][0]
    assert (sym["pricePrecision"], sym["quantityPrecision"]) == (2, 3)
    filters = {f["filterType"]: f for f in sym["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10"
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert filters["MIN_NOTIONAL"]["notional"] == "100"
    assert sym["contractType"] == "PERPETUAL"


@pytest.mark.parametrize(
    ("venue", "insts", "path"),
    [
        (
            "spot",
            SPOT_INSTRUMENTS,
            "binance/spot/exchangeInfo_rest_v3_2021-10-22_TRIMMED_BTCUSDT_ETHUSDT_nautilus.json",
        ),
        (
            "usdm",
            USDM_INSTRUMENTS,
            "binance/futures_usdm/exchangeInfo_fapi_v1_2022-02-19_TRIMMED_nautilus.json",
        ),
    ],
)
def test_exchange_info_keys_cover_real_capture_keys(
    fixtures_dir: Path, venue: str, insts: tuple[object, ...], path: str
) -> None:
    real = json.loads((fixtures_dir / path).read_text())
    ours = exchange_info(venue, insts, 1)  # type: ignore[arg-type]
    assert set(real) - {"symbols"} <= set(ours)
    legacy = {"permissions", "isMarginTradingAllowed"} if venue == "spot" else set()
    missing = set(real["symbols"][0]) - set(ours["symbols"][0]) - legacy
    assert not missing
