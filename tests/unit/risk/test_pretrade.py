"""Pre-trade rules as the gateway builds them: `make_pretrade_risk` from `RiskLimits`.

Every rule at its boundary (one raw inside passes, one raw outside is refused) on the Cython
`PreTradeRisk`, with the refusal text a strategy sees.
"""

import pytest

from veloz._core.risk import REASON_NAMES
from veloz._core.risk import PreTradeRisk
from veloz._core.risk import Reason
from veloz._core.risk import RiskMode
from veloz.errors import ConfigError
from veloz.model.instrument import Instrument
from veloz.risk.config import RiskLimits
from veloz.risk.engine import make_pretrade_risk

# BTCUSDT: price 2 dp (tick 0.01), quantity 5 dp (step 0.00001), no venue minimums.
BTC = Instrument("binance-spot", "BTCUSDT", "BTC", "USDT", "TRADING", 2, 5, 1, 1, 0, 0, 0, 0, 0)
# ETHUSDT with a coarse grid: tick 0.05, step 0.0010, min qty 0.0100, min notional 5.00 (dp 6).
ETH = Instrument(
    "binance-spot", "ETHUSDT", "ETH", "USDT", "TRADING", 2, 4, 5, 10, 0, 0, 100, 0, 5 * 10**6
)
# BTCUSDT as the simulator lists it: 8 + 8 decimals (tick 0.01, step 0.00001).
SIM = Instrument(
    "binance-spot", "BTCUSDT", "BTC", "USDT", "TRADING", 8, 8, 10**6, 1000, 0, 0, 0, 0, 0
)
S = 1_000_000_000  # ns per second
BUY, SELL = 0, 1
PX = 5_000_000  # 50000.00
ONE = 100_000  # 1.00000 BTC
ETH_PX = 300_000  # 3000.00


def _risk(*insts: Instrument, **kw: object) -> PreTradeRisk:
    base: dict[str, object] = {
        "max_notional": "50000",
        "price_band_bps": 100,
        "max_orders_per_s": 1000.0,
    }
    base.update(kw)
    r = make_pretrade_risk(RiskLimits(**base), list(insts) or [BTC])  # type: ignore[arg-type]
    return r


def _btc(**kw: object) -> PreTradeRisk:
    r = _risk(BTC, **kw)
    r.set_mid(0, PX, PX)  # mid 50000.00
    return r


def _text(r: PreTradeRisk, code: int, base: str = "BTC", quote: str = "USDT") -> str:
    return r.reason_text(code, base, quote)


def _refused(
    r: PreTradeRisk, code: int, *order: int, is_market: bool = False, base: str = "BTC"
) -> str:
    # Check one order (slot, side, px, qty, now_ns) and return its refusal text.
    slot, side, px, qty, now = order
    got = r.check_new(slot, side, is_market, px, qty, now)
    assert got == code, (REASON_NAMES[got], REASON_NAMES[code])
    assert r.counters()[f"n_{REASON_NAMES[code]}"] >= 1
    r.check_invariants()
    return _text(r, code, base)


# ---- config -----------------------------------------------------------------------------------


def test_risk_limits_issue5_defaults_are_documented_values() -> None:
    cfg = RiskLimits()
    assert (cfg.max_notional, cfg.price_band_bps, cfg.require_market_data) == ("50000", 500, True)
    assert cfg.max_orders_per_s == 5.0 and cfg.max_cancels_per_s == 10.0
    assert cfg.max_order_qty == {}


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"max_notional": "0"}, "max_notional"),
        ({"max_notional": "1e5"}, "max_notional"),
        ({"max_notional": "-5"}, "max_notional"),
        ({"max_order_qty": {"BTCUSDT": "abc"}}, "max_order_qty.BTCUSDT"),
        ({"max_order_qty": {"BTCUSDT": "0"}}, "max_order_qty.BTCUSDT"),
        ({"max_order_qty": {"btcusdt": "1"}}, "max_order_qty.btcusdt"),
        ({"price_band_bps": 0}, "price_band_bps"),
        ({"price_band_bps": 10_001}, "price_band_bps"),
        ({"max_orders_per_s": 0.0}, "max_orders_per_s"),
        ({"max_orders_per_s": 2e9}, "max_orders_per_s"),
        ({"max_cancels_per_s": -1.0}, "max_cancels_per_s"),
    ],
)
def test_risk_limits_bad_pretrade_value_is_config_error_naming_the_key(
    kw: dict[str, object], word: str
) -> None:
    with pytest.raises(ConfigError, match=word):
        RiskLimits(**kw)  # type: ignore[arg-type]


def test_make_pretrade_risk_max_order_qty_for_unknown_symbol_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"max_order_qty\.SOLUSDT: not a symbol"):
        make_pretrade_risk(RiskLimits(max_order_qty={"SOLUSDT": "1"}), [BTC])


def test_make_pretrade_risk_qty_limit_finer_than_the_step_scale_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"max_order_qty\.BTCUSDT"):
        make_pretrade_risk(RiskLimits(max_order_qty={"BTCUSDT": "0.000001"}), [BTC])


def test_make_pretrade_risk_takes_require_market_data_and_gross_scale() -> None:
    r = make_pretrade_risk(RiskLimits(require_market_data=False, max_gross_notional="7.5"), [SIM])
    assert r.require_ref_px is False and (r.gross_dp, r.max_gross) == (8, 750_000_000)


# ---- market data ------------------------------------------------------------------------------


def test_pretrade_without_mid_refuses_every_order_when_market_data_required() -> None:
    r = _risk(BTC)
    text = _refused(r, Reason.R_NO_MARKET_DATA, 0, BUY, PX, ONE // 100, 0)
    assert text == "no_market_data: no BBO or book yet"
    r.set_mid(0, PX, PX)
    assert r.check_new(0, BUY, False, PX, ONE // 100, 0) == Reason.R_OK


def test_pretrade_without_mid_limit_skips_band_when_not_required_but_market_refused() -> None:
    r = _risk(BTC, require_market_data=False, price_band_bps=1)
    assert r.check_new(0, BUY, False, PX * 3 // 2, ONE // 100, 0) == Reason.R_OK
    text = _refused(r, Reason.R_NO_MARKET_DATA, 0, BUY, 0, ONE // 100, 0, is_market=True)
    assert text == "no_market_data: a market order needs a mid"


def test_pretrade_set_mid_keeps_half_tick_and_clears_on_crossed_or_one_sided() -> None:
    r = _risk(BTC)
    r.set_mid(0, PX, PX + 1)
    assert (r.mid_x2(0), r.ref_px(0)) == (2 * PX + 1, PX)
    r.set_mid(0, PX + 1, PX)  # crossed
    assert r.mid_x2(0) == 0
    r.set_mid(0, PX, PX)
    r.set_mid(0, 0, PX)  # bid side missing
    assert r.mid_x2(0) == 0
    r.set_mid(0, 2**62, 2**62)  # bid + ask past int64
    assert r.mid_x2(0) == 0
    r.set_ref_px(0, PX)
    assert r.mid_x2(0) == 2 * PX


# ---- grid: tick, step, min qty ----------------------------------------------------------------


def test_pretrade_tick_boundary() -> None:
    r = _risk(ETH)
    r.set_mid(0, ETH_PX, ETH_PX)
    assert r.check_new(0, BUY, False, ETH_PX + 5, 1000, 0) == Reason.R_OK
    text = _refused(r, Reason.R_TICK, 0, BUY, ETH_PX + 6, 1000, 0)
    assert text == "tick: 3000.06 not a multiple of 0.05"


def test_pretrade_step_boundary() -> None:
    r = _risk(ETH)
    r.set_mid(0, ETH_PX, ETH_PX)
    assert r.check_new(0, BUY, False, ETH_PX, 1010, 0) == Reason.R_OK
    assert _refused(r, Reason.R_STEP, 0, BUY, ETH_PX, 1011, 0) == (
        "step: 0.1011 not a multiple of 0.0010"
    )


def test_pretrade_min_qty_boundary() -> None:
    r = _risk(ETH)
    r.set_mid(0, ETH_PX, ETH_PX)
    assert r.check_new(0, BUY, False, ETH_PX, 100, 0) == Reason.R_OK
    text = _refused(r, Reason.R_MIN_QTY, 0, BUY, ETH_PX, 90, 0, base="ETH")
    assert text == "min_qty: 0.0090 < 0.0100 ETH"


# ---- size and notional ------------------------------------------------------------------------


def test_pretrade_max_order_qty_boundary() -> None:
    r = _btc(max_order_qty={"BTCUSDT": "0.5"})
    assert r.check_new(0, BUY, False, PX, ONE // 2, 0) == Reason.R_OK
    text = _refused(r, Reason.R_MAX_ORDER_QTY, 0, BUY, PX, ONE // 2 + 1, 0)
    assert text == "max_order_qty: 0.50001 > 0.50000 BTC"


def test_pretrade_symbol_without_qty_limit_is_bounded_by_notional_only() -> None:
    r = _risk(BTC, ETH, max_order_qty={"BTCUSDT": "0.5"})
    r.set_mid(1, ETH_PX, ETH_PX)
    assert r.check_new(1, BUY, False, ETH_PX, 160_000, 0) == Reason.R_OK  # 16 ETH = 48000
    assert r.check_new(1, BUY, False, ETH_PX, 170_000, 0) == Reason.R_MAX_NOTIONAL  # 51000


def test_pretrade_min_notional_from_instrument_boundary() -> None:
    r = _risk(ETH, price_band_bps=10_000)
    r.set_mid(0, 500_00, 500_00)
    assert r.check_new(0, BUY, False, 500_00, 100, 0) == Reason.R_OK  # 500.00 * 0.0100 = 5
    text = _refused(r, Reason.R_MIN_NOTIONAL, 0, BUY, 499_95, 100, 0)
    assert text == "min_notional: 4.99 < 5.00 USDT"  # 4.9995 shown rounded down


def test_pretrade_max_notional_limit_order_boundary() -> None:
    r = _btc()
    assert r.check_new(0, BUY, False, PX, ONE, 0) == Reason.R_OK  # exactly 50000.00
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, BUY, PX, ONE + 1, 0)
    assert text == "max_notional: 50000.50 > 50000.00 USDT"


def test_pretrade_max_notional_text_rounds_up_never_shows_the_limit() -> None:
    r = _btc()
    # 49990.01 * 1.00020 = 50000.008002: rounded down it would read 50000.00.
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, BUY, 4_999_001, 100_020, 0)
    assert text == "max_notional: 50000.01 > 50000.00 USDT"


def test_pretrade_max_notional_finer_than_notional_scale_is_exact() -> None:
    # Limit at 9 decimals, notional raws at 7: 0.01 * 5000000.00000 = 50000.0000000 passes,
    # one raw more (50000.0000001) is above 50000.000000001.
    r = _risk(BTC, max_notional="50000.000000001")
    r.set_mid(0, 1, 1)
    assert r.check_new(0, BUY, False, 1, 500_000_000_000, 0) == Reason.R_OK
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, BUY, 1, 500_000_000_001, 0)
    assert text == "max_notional: 50000.000000100 > 50000.000000001 USDT"


def test_pretrade_max_notional_8_plus_8_dp_limit_100000_boundary() -> None:
    r = _risk(SIM, max_notional="100000")
    px = 50_000 * 10**8
    r.set_mid(0, px, px)
    assert r.check_new(0, BUY, False, px, 2 * 10**8, 0) == Reason.R_OK  # exactly 100000
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, SELL, px, 2 * 10**8 + 1000, 0)
    assert text == "max_notional: 100000.50000000 > 100000.00000000 USDT"


def test_pretrade_fat_finger_qty_near_int64_at_8_plus_8_dp_refused_without_wrap() -> None:
    r = _risk(SIM, max_notional="100000")
    px = 50_000 * 10**8
    r.set_mid(0, px, px)
    qty = 2**63 - 1 - (2**63 - 1) % 1000  # the largest int64 on the step
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, BUY, px, qty, 0)
    shown = -(-px * qty // 10**16)  # whole USDT, rounded up: 8 decimals do not fit int64
    assert text == f"max_notional: {shown} > 100000 USDT"
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, BUY, 0, qty, 0, is_market=True)
    assert text.startswith("max_notional: ") and text.endswith("(market BUY at 50500.00000000)")


def test_pretrade_market_buy_valued_at_mid_plus_band() -> None:
    r = _btc()  # band 100 bps: BUY valued at 50500.00
    assert r.check_new(0, BUY, True, 0, 99_009, 0) == Reason.R_OK  # 49999.545
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, BUY, 0, 99_010, 0, is_market=True)
    assert text == "max_notional: 50000.05 > 50000.00 USDT (market BUY at 50500.00)"


def test_pretrade_market_buy_at_half_tick_mid_rounds_the_band_price_up() -> None:
    r = _btc()
    r.set_mid(0, PX, PX + 1)  # mid 50000.005; +1 % = 50500.00505, up to the half tick 50500.01
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, BUY, 0, ONE, 0, is_market=True)
    assert text == "max_notional: 50500.01 > 50000.00 USDT (market BUY at 50500.01)"


def test_pretrade_market_sell_valued_at_mid() -> None:
    r = _btc()
    assert r.check_new(0, SELL, True, 0, ONE, 0) == Reason.R_OK
    text = _refused(r, Reason.R_MAX_NOTIONAL, 0, SELL, 0, ONE + 1, 0, is_market=True)
    assert text == "max_notional: 50000.50 > 50000.00 USDT (market SELL at 50000.00)"


# ---- price band -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("px", "ok"),
    [(5_050_000, True), (5_050_001, False), (4_950_000, True), (4_949_999, False)],
)
def test_pretrade_price_band_boundary_both_sides(px: int, ok: bool) -> None:
    r = _btc(max_notional="1000000")
    got = r.check_new(0, BUY if px < PX else SELL, False, px, ONE // 100, 0)
    assert got == (Reason.R_OK if ok else Reason.R_PRICE_BAND)
    if not ok:
        assert _text(r, got).endswith("bps from mid 50000.00 (max 100 bps)")


def test_pretrade_price_band_is_exact_against_a_half_tick_mid() -> None:
    r = _btc(max_notional="1000000")
    r.set_mid(0, PX, PX + 1)  # mid 50000.005: the band is 49500.00495 .. 50500.00505
    assert r.check_new(0, BUY, False, 4_950_001, 1000, 0) == Reason.R_OK
    assert r.check_new(0, SELL, False, 5_050_000, 1000, 0) == Reason.R_OK
    assert r.check_new(0, SELL, False, 5_050_001, 1000, 0) == Reason.R_PRICE_BAND
    # 49500.00 is inside the band of mid 50000.00, but not of 50000.005:
    text = _refused(r, Reason.R_PRICE_BAND, 0, BUY, 4_950_000, 1000, 0)
    assert text == "price_band: 49500.00 is 101 bps from mid 50000.005 (max 100 bps)"


# ---- position and gross -----------------------------------------------------------------------


def test_pretrade_position_limit_boundary_and_reducing_passes() -> None:
    r = _btc(max_position={"BTCUSDT": "1"}, max_notional="1000000")
    r.set_position(0, ONE - 1000)
    assert r.check_new(0, BUY, False, PX, 1000, 0) == Reason.R_OK
    text = _refused(r, Reason.R_POSITION_LIMIT, 0, BUY, PX, 1001, 0)
    assert text == "position_limit: |position| 1.00001 > 1.00000 BTC"
    r.set_position(0, 2 * ONE)  # over the limit already: shrinking passes
    assert r.check_new(0, SELL, False, PX, ONE, 0) == Reason.R_OK


def test_pretrade_gross_limit_boundary_across_symbols() -> None:
    r = _risk(BTC, ETH, max_gross_notional="60000", max_notional="1000000")
    r.set_mid(0, PX, PX)
    r.set_mid(1, ETH_PX, ETH_PX)
    r.set_position(1, 10_000)  # 1 ETH at 3000.00
    assert r.gross_total == 3_000_00
    assert r.check_new(0, BUY, False, PX, 114_000, 0) == Reason.R_OK  # + 57000.00 = limit
    text = _refused(r, Reason.R_GROSS_LIMIT, 0, BUY, PX, 114_001, 0)
    assert text == "gross_limit: 60000.50 > 60000.00 USDT"


def test_pretrade_gross_values_position_at_half_tick_mid_rounded_up() -> None:
    r = _btc()
    r.set_mid(0, PX, PX + 1)
    r.set_position(0, -ONE)
    assert r.slot_gross(0) == 5_000_001  # 50000.005 rounded up to 50000.01
    r.check_invariants()


# ---- modes ------------------------------------------------------------------------------------


def test_pretrade_reduce_only_text_names_side_qty_and_position() -> None:
    r = _btc()
    r.set_position(0, 500)
    r.set_mode(RiskMode.MODE_REDUCE_ONLY)
    assert r.check_new(0, SELL, False, PX, 500, 0) == Reason.R_OK
    text = _refused(r, Reason.R_REDUCE_ONLY, 0, SELL, PX, 501, 0)
    assert text == "reduce_only: SELL 0.00501 BTC does not reduce position 0.00500 BTC"


@pytest.mark.parametrize(
    ("mode", "code"),
    [(RiskMode.MODE_CANCEL_ONLY, Reason.R_CANCEL_ONLY), (RiskMode.MODE_HALTED, Reason.R_HALTED)],
)
def test_pretrade_cancel_only_and_halted_refuse_new_orders(mode: int, code: int) -> None:
    r = _btc()
    r.set_mode(mode)
    text = _refused(r, code, 0, BUY, PX, 1000, 0)
    assert text == f"{REASON_NAMES[code]}: new orders are refused"
    assert r.check_cancel(0) == Reason.R_OK


# ---- rates ------------------------------------------------------------------------------------


def test_pretrade_order_rate_refuses_past_burst_and_refills_exactly() -> None:
    r = _btc(max_orders_per_s=2.0)
    assert r.check_new(0, BUY, False, PX, 1, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, PX, 1, 0) == Reason.R_OK
    text = _refused(r, Reason.R_ORDER_RATE, 0, BUY, PX, 1, 0)
    assert text == "order_rate: over 2 orders/s (next in 0.500 s)"
    assert r.check_new(0, BUY, False, PX, 1, S // 2 - 1) == Reason.R_ORDER_RATE
    assert r.check_new(0, BUY, False, PX, 1, S // 2) == Reason.R_OK
    assert r.n_reason(Reason.R_ORDER_RATE) == 2 and r.n_reason(Reason.R_OK) == 3


def test_pretrade_order_rate_third_of_a_second_refill_boundary() -> None:
    r = _btc(max_orders_per_s=3.0)  # burst 3; one token per 333333333.3 ns
    for _ in range(3):
        assert r.check_new(0, BUY, False, PX, 1, 0) == Reason.R_OK
    text = _refused(r, Reason.R_ORDER_RATE, 0, BUY, PX, 1, 333_333_333)
    assert text == "order_rate: over 3 orders/s (next in 0.001 s)"  # 1 ns, shown in whole ms
    assert r.check_new(0, BUY, False, PX, 1, 333_333_334) == Reason.R_OK


def test_pretrade_refused_order_costs_no_rate_token() -> None:
    r = _btc(max_orders_per_s=1.0)
    assert r.check_new(0, BUY, False, PX, ONE * 2, 0) == Reason.R_MAX_NOTIONAL
    assert r.check_new(0, BUY, False, PX, 1, 0) == Reason.R_OK


def test_pretrade_cancel_rate_is_its_own_bucket() -> None:
    r = _btc(max_orders_per_s=1.0, max_cancels_per_s=1.0)
    assert r.check_new(0, BUY, False, PX, 1, 0) == Reason.R_OK
    assert r.check_cancel(0) == Reason.R_OK
    assert r.check_cancel(0) == Reason.R_CANCEL_RATE
    assert r.reason_text(Reason.R_CANCEL_RATE) == "cancel_rate: over 1 cancels/s (next in 1.000 s)"
    assert r.check_cancel(S) == Reason.R_OK
    assert r.counters()["n_cancel_rate"] == 1


def test_pretrade_every_refusal_text_starts_with_its_rule_name() -> None:
    r = _btc(max_order_qty={"BTCUSDT": "0.5"}, max_orders_per_s=1.0)
    codes = [
        r.check_new(0, BUY, False, PX, ONE, 0),  # qty
        r.check_new(0, BUY, False, PX * 2, ONE // 10, 0),  # band
        r.check_new(0, BUY, False, PX, 1, 0),  # passes, takes the token
        r.check_new(0, BUY, False, PX, 1, 0),  # rate
    ]
    assert codes == [Reason.R_MAX_ORDER_QTY, Reason.R_PRICE_BAND, Reason.R_OK, Reason.R_ORDER_RATE]
    assert r.reason_text(Reason.R_ORDER_RATE).startswith("order_rate: ")
    assert r.reason_text(Reason.R_PRICE_BAND) == "price_band: refused"  # not the last refusal
    assert sum(r.counters().values()) == 4
