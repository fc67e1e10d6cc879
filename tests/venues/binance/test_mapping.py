"""exchangeInfo -> Instrument on real spot and USD-M captures, and every bad-entry class.

The scale rule under test: price_dp = max(tick decimals, quoteAssetPrecision or else
quotePrecision), qty_dp = max(step decimals, baseAssetPrecision) -- 8 and 8 on Binance -- with
tick_raw / step_raw the grid at that scale and min_notional_raw at price_dp + qty_dp.
"""

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from veloz.errors import WireError
from veloz.model.instrument import Instrument
from veloz.venues.binance.mapping import instrument_from_symbol_info
from veloz.venues.binance.mapping import instruments_from_exchange_info

SPOT_2021 = "spot/exchangeInfo_rest_v3_2021-10-11_TRIMMED_6_symbols.json"
SPOT_NT = "spot/exchangeInfo_rest_v3_2021-10-22_TRIMMED_BTCUSDT_ETHUSDT_nautilus.json"
USDM_2021 = "futures_usdm/exchangeInfo_fapi_v1_2021-07-22_TRIMMED_6_symbols.json"
USDM_NT = "futures_usdm/exchangeInfo_fapi_v1_2022-02-19_TRIMMED_nautilus.json"
ALL = [
    (SPOT_2021, "binance-spot"),
    (SPOT_NT, "binance-spot"),
    (USDM_2021, "binance-usdm"),
    (USDM_NT, "binance-usdm"),
]


def _doc(fixtures_dir: Path, rel: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((fixtures_dir / "binance" / rel).read_bytes())
    return doc


def _filter(info: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(f for f in info["filters"] if f["filterType"] == kind)


def _value(raw: int, dp: int) -> Decimal:
    return Decimal(raw).scaleb(-dp)


def _decimals(text: str) -> int:
    # Decimals of a size with trailing zeros stripped: "0.01000000" -> 2, "10.00" -> 0.
    exponent = Decimal(text).normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


# -- real captures ------------------------------------------------------------------------------


def test_spot_2021_btcusdt_scales_and_rules_are_exact(fixtures_dir: Path) -> None:
    insts = instruments_from_exchange_info(_doc(fixtures_dir, SPOT_2021), "binance-spot")
    assert list(insts) == ["BTCUSDT", "ETHUSDT", "LRCBTC", "BLZETH", "NKNUSDT", "RUNEEUR"]
    assert insts["BTCUSDT"] == Instrument(
        venue="binance-spot",
        symbol="BTCUSDT",
        base="BTC",
        quote="USDT",
        status="TRADING",
        price_dp=8,  # quoteAssetPrecision 8 > 2 decimals of tickSize "0.01000000"
        qty_dp=8,  # baseAssetPrecision 8 > 5 decimals of stepSize "0.00001000"
        tick_raw=1_000_000,  # 0.01
        step_raw=1_000,  # 0.00001
        min_px_raw=1_000_000,  # 0.01
        max_px_raw=100_000_000_000_000,  # 1000000.00000000
        min_qty_raw=1_000,  # 0.00001
        max_qty_raw=900_000_000_000,  # 9000.00000000
        min_notional_raw=100_000_000_000_000_000,  # MIN_NOTIONAL 10.00000000 at dp 8 + 8
    )


@pytest.mark.parametrize(
    ("symbol", "tick_raw", "step_raw"),
    [
        ("ETHUSDT", 1_000_000, 10_000),  # tick 0.01, step 0.0001
        ("LRCBTC", 1, 100_000_000),  # tick 0.00000001, step 1
        ("BLZETH", 1, 100_000_000),  # tick 0.00000001, step 1
        ("NKNUSDT", 10_000, 100_000_000),  # tick 0.0001, step 1
        ("RUNEEUR", 100_000, 10_000_000),  # tick 0.001, step 0.1
    ],
)
def test_spot_2021_scales_are_asset_precisions_with_tick_and_step_raws_at_dp_8(
    fixtures_dir: Path, symbol: str, tick_raw: int, step_raw: int
) -> None:
    inst = instruments_from_exchange_info(_doc(fixtures_dir, SPOT_2021), "binance-spot")[symbol]
    assert (inst.price_dp, inst.qty_dp) == (8, 8)
    assert (inst.tick_raw, inst.step_raw) == (tick_raw, step_raw)


@pytest.mark.parametrize(("rel", "venue"), ALL)
def test_every_captured_symbol_maps_back_to_its_filter_text(
    fixtures_dir: Path, rel: str, venue: str
) -> None:
    doc = _doc(fixtures_dir, rel)
    insts = instruments_from_exchange_info(doc, venue)
    assert len(insts) == len(doc["symbols"])
    for info in doc["symbols"]:
        inst = insts[info["symbol"]]
        pf, lot = _filter(info, "PRICE_FILTER"), _filter(info, "LOT_SIZE")
        notional = _filter(info, "MIN_NOTIONAL")
        min_notional = notional["notional" if venue == "binance-usdm" else "minNotional"]
        assert (inst.venue, inst.base, inst.quote, inst.status) == (
            venue,
            info["baseAsset"],
            info["quoteAsset"],
            info["status"],
        )
        assert _value(inst.min_px_raw, inst.price_dp) == Decimal(pf["minPrice"])
        assert _value(inst.max_px_raw, inst.price_dp) == Decimal(pf["maxPrice"])
        assert _value(inst.min_qty_raw, inst.qty_dp) == Decimal(lot["minQty"])
        assert _value(inst.max_qty_raw, inst.qty_dp) == Decimal(lot["maxQty"])
        assert _value(inst.min_notional_raw, inst.notional_dp) == Decimal(min_notional)
        assert inst.notional_dp == inst.price_dp + inst.qty_dp
        # The scale is the asset precision, never coarser than the tick and step decimals.
        quote_precision = info.get("quoteAssetPrecision", info.get("quotePrecision"))
        tick_dp, step_dp = _decimals(pf["tickSize"]), _decimals(lot["stepSize"])
        assert inst.price_dp == max(tick_dp, quote_precision)
        assert inst.qty_dp == max(step_dp, info["baseAssetPrecision"])
        assert inst.price_dp >= tick_dp
        assert inst.qty_dp >= step_dp
        assert Decimal(inst.tick_raw) / 10**inst.price_dp == Decimal(pf["tickSize"])
        assert Decimal(inst.step_raw) / 10**inst.qty_dp == Decimal(lot["stepSize"])


@pytest.mark.parametrize(
    ("rel", "symbol", "tick_raw", "step_raw", "precisions"),
    [
        (USDM_2021, "SUSHIUSDT", 100_000, 100_000_000, (4, 0)),  # tickSize "0.0010"
        (USDM_2021, "CTKUSDT", 100_000, 100_000_000, (5, 0)),  # tickSize "0.00100"
        (USDM_2021, "BTCUSDT", 1_000_000, 100_000, (2, 3)),
        (USDM_NT, "BTCUSDT", 10_000_000, 100_000, (2, 3)),  # tickSize "0.10"
        (USDM_NT, "BTCUSDT_220325", 10_000_000, 100_000, (1, 3)),
    ],
)
def test_usdm_scales_are_8_and_8_whatever_price_and_quantity_precision_say(
    fixtures_dir: Path,
    rel: str,
    symbol: str,
    tick_raw: int,
    step_raw: int,
    precisions: tuple[int, int],
) -> None:
    doc = _doc(fixtures_dir, rel)
    info = next(s for s in doc["symbols"] if s["symbol"] == symbol)
    assert (info["pricePrecision"], info["quantityPrecision"]) == precisions
    inst = instrument_from_symbol_info(info, "binance-usdm")
    assert (inst.price_dp, inst.qty_dp) == (8, 8)
    assert (inst.tick_raw, inst.step_raw) == (tick_raw, step_raw)


def test_usdm_without_or_with_junk_price_and_quantity_precision_maps_the_same(
    fixtures_dir: Path,
) -> None:
    doc = _doc(fixtures_dir, USDM_2021)
    info = next(s for s in doc["symbols"] if s["symbol"] == "SUSHIUSDT")
    want = instrument_from_symbol_info(info, "binance-usdm")
    info = copy.deepcopy(info)
    info["pricePrecision"], info["quantityPrecision"] = 19, "x"
    assert instrument_from_symbol_info(info, "binance-usdm") == want
    del info["pricePrecision"], info["quantityPrecision"]
    assert instrument_from_symbol_info(info, "binance-usdm") == want


def test_usdm_sushi_min_notional_is_5_usdt_at_notional_dp_16(fixtures_dir: Path) -> None:
    inst = instruments_from_exchange_info(_doc(fixtures_dir, USDM_2021), "binance-usdm")[
        "SUSHIUSDT"
    ]
    assert inst.notional_dp == 16
    assert inst.min_notional_raw == 50_000_000_000_000_000  # 5 at dp 16
    assert inst.min_px_raw == 14_300_000  # minPrice "0.1430"
    assert inst.check_order(inst.px("7.611"), inst.qty("1")) is None
    assert inst.check_order(inst.px("0.143"), inst.qty("34")) == (
        "notional 4.8620000000000000 below min 5.0000000000000000"
    )
    assert inst.check_order(inst.px("0.143"), inst.qty("35")) is None


def test_spot_nautilus_capture_matches_the_2021_capture_for_btcusdt(fixtures_dir: Path) -> None:
    a = instruments_from_exchange_info(_doc(fixtures_dir, SPOT_2021), "binance-spot")["BTCUSDT"]
    b = instruments_from_exchange_info(_doc(fixtures_dir, SPOT_NT), "binance-spot")["BTCUSDT"]
    assert a == b


# -- spot NOTIONAL (post-2023 shape, hand-made from the 2021 entry) -------------------------------


def _spot_btc(fixtures_dir: Path) -> dict[str, Any]:
    doc = _doc(fixtures_dir, SPOT_2021)
    info: dict[str, Any] = copy.deepcopy(doc["symbols"][0])
    assert info["symbol"] == "BTCUSDT"
    return info


def test_spot_notional_filter_replaces_min_notional(fixtures_dir: Path) -> None:
    info = _spot_btc(fixtures_dir)
    info["filters"] = [f for f in info["filters"] if f["filterType"] != "MIN_NOTIONAL"]
    info["filters"].append(
        {
            "filterType": "NOTIONAL",
            "minNotional": "5.00000000",
            "applyMinToMarket": True,
            "maxNotional": "9000000.00000000",
            "applyMaxToMarket": False,
            "avgPriceMins": 5,
        }
    )
    inst = instrument_from_symbol_info(info, "binance-spot")
    assert inst.min_notional_raw == 50_000_000_000_000_000  # 5 at dp 16


def test_spot_with_both_notional_filters_enforces_the_stricter(fixtures_dir: Path) -> None:
    info = _spot_btc(fixtures_dir)
    info["filters"].append({"filterType": "NOTIONAL", "minNotional": "12.5"})
    inst = instrument_from_symbol_info(info, "binance-spot")
    assert inst.min_notional_raw == 125_000_000_000_000_000  # 12.5 at dp 16


# -- bad entries raise, naming symbol and field ---------------------------------------------------


def _without_filter(info: dict[str, Any], kind: str) -> dict[str, Any]:
    info["filters"] = [f for f in info["filters"] if f["filterType"] != kind]
    return info


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda i: _without_filter(i, "PRICE_FILTER"), "BTCUSDT: missing filter PRICE_FILTER"),
        (lambda i: _without_filter(i, "LOT_SIZE"), "BTCUSDT: missing filter LOT_SIZE"),
        (
            lambda i: _without_filter(i, "MIN_NOTIONAL"),
            "BTCUSDT: missing filter MIN_NOTIONAL or NOTIONAL",
        ),
        (lambda i: i.pop("filters"), "BTCUSDT: missing field 'filters'"),
        (lambda i: i.pop("baseAsset"), "BTCUSDT: missing field 'baseAsset'"),
        (lambda i: i.pop("symbol"), "symbol entry: missing field 'symbol'"),
        (lambda i: _filter(i, "PRICE_FILTER").pop("tickSize"), "missing field 'tickSize'"),
        (lambda i: _filter(i, "LOT_SIZE").pop("maxQty"), "LOT_SIZE: missing field 'maxQty'"),
        (
            lambda i: _filter(i, "PRICE_FILTER").update(tickSize=0.01),
            "field 'tickSize' must be a non-empty string",
        ),
        (
            lambda i: _filter(i, "PRICE_FILTER").update(tickSize="0.00000000"),
            "PRICE_FILTER.tickSize: '0.00000000' is zero",
        ),
        (
            lambda i: _filter(i, "PRICE_FILTER").update(minPrice="0.000000001"),
            "BTCUSDT: PRICE_FILTER.minPrice:",
        ),
        (
            lambda i: _filter(i, "LOT_SIZE").update(maxQty="9000.000000001"),
            "BTCUSDT: LOT_SIZE.maxQty:",
        ),
        (
            lambda i: _filter(i, "LOT_SIZE").update(stepSize="1e-5"),
            "BTCUSDT: LOT_SIZE.stepSize:",
        ),
        (
            lambda i: _filter(i, "MIN_NOTIONAL").update(minNotional="0.00000000000000001"),
            "BTCUSDT: MIN_NOTIONAL.minNotional:",
        ),
        (lambda i: i["filters"].append(i["filters"][0]), "filter PRICE_FILTER appears twice"),
        (lambda i: i["filters"].append("x"), "BTCUSDT: filters[8] is not an object"),
    ],
)
def test_bad_spot_entry_raises_wire_error_naming_symbol_and_field(
    fixtures_dir: Path, edit: Any, message: str
) -> None:
    info = _spot_btc(fixtures_dir)
    edit(info)
    with pytest.raises(WireError) as err:
        instrument_from_symbol_info(info, "binance-spot")
    assert message in str(err.value)


def test_usdm_entry_without_min_notional_notional_raises(fixtures_dir: Path) -> None:
    doc = _doc(fixtures_dir, USDM_2021)
    info = copy.deepcopy(doc["symbols"][0])
    _filter(info, "MIN_NOTIONAL")["minNotional"] = _filter(info, "MIN_NOTIONAL").pop("notional")
    with pytest.raises(WireError, match="BTCUSDT: MIN_NOTIONAL: missing field 'notional'"):
        instrument_from_symbol_info(info, "binance-usdm")


def test_usdm_min_price_on_the_tick_grid_maps_at_dp_8(fixtures_dir: Path) -> None:
    doc = _doc(fixtures_dir, USDM_NT)
    info = copy.deepcopy(doc["symbols"][0])  # BTCUSDT, tick 0.10, step 0.001
    _filter(info, "PRICE_FILTER")["minPrice"] = "402.1"
    inst = instrument_from_symbol_info(info, "binance-usdm")
    assert (inst.min_px_raw, inst.tick_raw) == (40_210_000_000, 10_000_000)


@pytest.mark.parametrize(
    ("kind", "changes", "message"),
    [
        # 402.1 on a 0.20 grid from 0
        ("PRICE_FILTER", {"minPrice": "402.1", "tickSize": "0.20"}, "minPrice is not on the"),
        # representable at dp 8, finer than the 0.10 tick
        ("PRICE_FILTER", {"minPrice": "402.15"}, "minPrice is not on the tick grid"),
        ("LOT_SIZE", {"minQty": "0.0015"}, "minQty is not on the step grid"),
        ("LOT_SIZE", {"minQty": "0.002", "stepSize": "0.003"}, "minQty is not on the step"),
    ],
)
def test_usdm_minimum_off_the_grid_raises_wire_error(
    fixtures_dir: Path, kind: str, changes: dict[str, str], message: str
) -> None:
    doc = _doc(fixtures_dir, USDM_NT)
    info = copy.deepcopy(doc["symbols"][0])  # BTCUSDT, tick 0.10, step 0.001
    _filter(info, kind).update(changes)
    with pytest.raises(WireError, match=f"BTCUSDT: {kind}.{message}"):
        instrument_from_symbol_info(info, "binance-usdm")


def test_exchange_info_with_one_bad_symbol_raises_instead_of_skipping(fixtures_dir: Path) -> None:
    doc = _doc(fixtures_dir, SPOT_2021)
    _without_filter(doc["symbols"][4], "LOT_SIZE")
    with pytest.raises(WireError, match="NKNUSDT: missing filter LOT_SIZE"):
        instruments_from_exchange_info(doc, "binance-spot")


def test_exchange_info_with_a_repeated_symbol_raises(fixtures_dir: Path) -> None:
    doc = _doc(fixtures_dir, SPOT_2021)
    doc["symbols"].append(doc["symbols"][0])
    with pytest.raises(WireError, match="BTCUSDT appears twice"):
        instruments_from_exchange_info(doc, "binance-spot")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "missing field 'symbols'"),
        ({"symbols": {}}, "'symbols' must be a list"),
        ({"symbols": [1]}, r"symbols\[0\] is not an object"),
    ],
)
def test_exchange_info_without_a_symbols_list_raises(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(WireError, match=message):
        instruments_from_exchange_info(doc, "binance-spot")


@pytest.mark.parametrize("venue", ["binance", "binance-coinm", "okx-spot", ""])
def test_unknown_venue_raises_value_error(venue: str) -> None:
    with pytest.raises(ValueError, match="venue must be one of"):
        instruments_from_exchange_info({"symbols": []}, venue)
    with pytest.raises(ValueError, match="venue must be one of"):
        instrument_from_symbol_info({}, venue)


# -- asset precisions ----------------------------------------------------------------------------


def _toy(tick: str = "0.05", step: str = "10.00", **precisions: Any) -> dict[str, Any]:
    # A hand-made USD-M symbol entry: like the real ones, it carries no quoteAssetPrecision.
    return {
        "symbol": "XYZUSDT",
        "status": "TRADING",
        "baseAsset": "XYZ",
        "quoteAsset": "USDT",
        **precisions,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "0", "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": step, "maxQty": "0", "stepSize": step},
            {"filterType": "MIN_NOTIONAL", "notional": "5"},
        ],
    }


def test_tick_of_five_hundredths_at_dp_8_keeps_its_grid_in_check_order() -> None:
    info = _toy(quotePrecision=8, baseAssetPrecision=8)
    inst = instrument_from_symbol_info(info, "binance-usdm")
    assert (inst.price_dp, inst.tick_raw, inst.qty_dp, inst.step_raw) == (
        8,
        5_000_000,
        8,
        1_000_000_000,
    )
    assert (inst.max_px_raw, inst.max_qty_raw) == (0, 0)  # 0 disables the bound
    assert inst.check_order(inst.px("1.05"), inst.qty("10")) is None
    assert inst.check_order(inst.px("1.07"), inst.qty("10")) == (
        "price 1.07000000 is not a multiple of tick 0.05000000"
    )
    assert inst.check_order(inst.px("1.05000001"), inst.qty("10")) == (
        "price 1.05000001 is not a multiple of tick 0.05000000"
    )
    assert inst.check_order(inst.px("1.05"), inst.qty("15")) == (
        "quantity 15.00000000 is not a multiple of step 10.00000000"
    )


@pytest.mark.parametrize(
    ("tick", "step", "precisions", "scales"),
    [
        # (price_dp, tick_raw, qty_dp, step_raw)
        ("0.00000000050", "1", {"quotePrecision": 8, "baseAssetPrecision": 8}, (10, 5, 8, 10**8)),
        ("0.0005", "0.001", {"quotePrecision": 2, "baseAssetPrecision": 1}, (4, 5, 3, 1)),
        ("0.05", "10.00", {"quotePrecision": 0, "baseAssetPrecision": 0}, (2, 5, 0, 10)),
    ],
)
def test_tick_or_step_finer_than_asset_precision_sets_dp_to_its_decimals(
    tick: str, step: str, precisions: dict[str, int], scales: tuple[int, int, int, int]
) -> None:
    inst = instrument_from_symbol_info(_toy(tick=tick, step=step, **precisions), "binance-usdm")
    assert (inst.price_dp, inst.tick_raw, inst.qty_dp, inst.step_raw) == scales
    assert (inst.min_px_raw, inst.min_qty_raw) == (inst.tick_raw, inst.step_raw)


def test_tick_needing_more_decimals_than_notional_dp_allows_raises_wire_error() -> None:
    info = _toy(tick="0.00000000005", quotePrecision=8, baseAssetPrecision=8)
    with pytest.raises(WireError, match=r"XYZUSDT: notional dp 11\+8 exceeds 18"):
        instrument_from_symbol_info(info, "binance-usdm")


def test_spot_without_quote_asset_precision_uses_quote_precision(fixtures_dir: Path) -> None:
    info = _spot_btc(fixtures_dir)  # tick 0.01
    del info["quoteAssetPrecision"]
    info["quotePrecision"] = 6
    inst = instrument_from_symbol_info(info, "binance-spot")
    assert (inst.price_dp, inst.tick_raw, inst.min_px_raw) == (6, 10_000, 10_000)
    assert inst.min_notional_raw == 1_000_000_000_000_000  # 10 at dp 6 + 8


def test_spot_with_both_quote_precisions_prefers_quote_asset_precision(
    fixtures_dir: Path,
) -> None:
    info = _spot_btc(fixtures_dir)
    info["quoteAssetPrecision"], info["quotePrecision"] = 7, 3
    assert instrument_from_symbol_info(info, "binance-spot").price_dp == 7


def test_usdm_capture_has_only_quote_precision_and_price_dp_follows_it(
    fixtures_dir: Path,
) -> None:
    doc = _doc(fixtures_dir, USDM_2021)
    info = copy.deepcopy(next(s for s in doc["symbols"] if s["symbol"] == "SUSHIUSDT"))
    assert "quoteAssetPrecision" not in info
    assert info["quotePrecision"] == 8
    assert instrument_from_symbol_info(info, "binance-usdm").price_dp == 8
    info["quotePrecision"] = 5  # tickSize "0.0010" needs 3
    inst = instrument_from_symbol_info(info, "binance-usdm")
    assert (inst.price_dp, inst.tick_raw, inst.min_px_raw) == (5, 100, 14_300)


def _set(key: str, value: Any) -> Any:
    return lambda i: i.update({key: value})


def _pop(*keys: str) -> Any:
    return lambda i: [i.pop(k) for k in keys]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            _pop("quoteAssetPrecision", "quotePrecision"),
            "exchangeInfo BTCUSDT: missing field 'quoteAssetPrecision'",
        ),
        (_pop("baseAssetPrecision"), "exchangeInfo BTCUSDT: missing field 'baseAssetPrecision'"),
        (
            _set("quoteAssetPrecision", "8"),
            "exchangeInfo BTCUSDT: field 'quoteAssetPrecision' must be an int 0..18, got '8'",
        ),
        (
            _set("baseAssetPrecision", 8.0),
            "exchangeInfo BTCUSDT: field 'baseAssetPrecision' must be an int 0..18, got 8.0",
        ),
        (
            _set("quoteAssetPrecision", None),
            "exchangeInfo BTCUSDT: field 'quoteAssetPrecision' must be an int 0..18, got None",
        ),
        (
            _set("quoteAssetPrecision", True),
            "exchangeInfo BTCUSDT: field 'quoteAssetPrecision' must be an int 0..18, got True",
        ),
        (
            _set("baseAssetPrecision", False),
            "exchangeInfo BTCUSDT: field 'baseAssetPrecision' must be an int 0..18, got False",
        ),
        (
            _set("baseAssetPrecision", 19),
            "exchangeInfo BTCUSDT: field 'baseAssetPrecision' must be an int 0..18, got 19",
        ),
        (
            _set("quoteAssetPrecision", -1),
            "exchangeInfo BTCUSDT: field 'quoteAssetPrecision' must be an int 0..18, got -1",
        ),
        (
            # quotePrecision is a fallback for an absent field, not for a bad one
            _set("quoteAssetPrecision", 19),
            "exchangeInfo BTCUSDT: field 'quoteAssetPrecision' must be an int 0..18, got 19",
        ),
        (
            lambda i: [i.pop("quoteAssetPrecision"), i.update(quotePrecision=19)],
            "exchangeInfo BTCUSDT: field 'quotePrecision' must be an int 0..18, got 19",
        ),
    ],
)
def test_bad_asset_precision_raises_wire_error_naming_symbol_and_field(
    fixtures_dir: Path, edit: Any, message: str
) -> None:
    info = _spot_btc(fixtures_dir)
    edit(info)
    with pytest.raises(WireError) as err:
        instrument_from_symbol_info(info, "binance-spot")
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("precisions", "message"),
    [
        ({"baseAssetPrecision": 8}, "XYZUSDT: missing field 'quoteAssetPrecision'"),
        ({"quotePrecision": 8}, "XYZUSDT: missing field 'baseAssetPrecision'"),
        (
            {"quotePrecision": True, "baseAssetPrecision": 8},
            "XYZUSDT: field 'quotePrecision' must be an int 0..18, got True",
        ),
        (
            {"quotePrecision": 8, "baseAssetPrecision": 19},
            "XYZUSDT: field 'baseAssetPrecision' must be an int 0..18, got 19",
        ),
        (
            {"quotePrecision": 10, "baseAssetPrecision": 9},
            r"XYZUSDT: notional dp 10\+9 exceeds 18",
        ),
    ],
)
def test_bad_usdm_asset_precision_raises_wire_error_naming_symbol_and_field(
    precisions: dict[str, Any], message: str
) -> None:
    with pytest.raises(WireError, match=message):
        instrument_from_symbol_info(_toy(**precisions), "binance-usdm")
