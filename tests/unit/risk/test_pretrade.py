"""PreTrade: every rule at its boundary (one raw inside passes, one raw outside is refused)."""

import pytest

from veloz.errors import ConfigError
from veloz.model.instrument import Instrument
from veloz.risk.pretrade import RULES
from veloz.risk.pretrade import PreTrade
from veloz.risk.pretrade import RiskConfig
from veloz.risk.pretrade import TokenBucket

# BTCUSDT: price 2 dp (tick 0.01), quantity 5 dp (step 0.00001).
BTC = Instrument("binance-spot", "BTCUSDT", "BTC", "USDT", "TRADING", 2, 5, 1, 1, 0, 0, 1, 0, 0)
ETH = Instrument("binance-spot", "ETHUSDT", "ETH", "USDT", "TRADING", 2, 4, 1, 1, 0, 0, 1, 0, 0)
S = 1_000_000_000  # ns per second
PX = 5_000_000  # 50000.00
ONE = 100_000  # 1.00000 BTC


def _pt(**kw: object) -> PreTrade:
    base: dict[str, object] = {
        "max_notional": "50000",
        "price_band_bps": 100,
        "max_orders_per_s": 1000.0,
    }
    base.update(kw)
    pt = PreTrade(RiskConfig(**base), [BTC, ETH])  # type: ignore[arg-type]
    pt.set_mid(0, PX, PX)  # mid 50000.00
    return pt


def _limit(pt: PreTrade, px: int, qty: int, is_buy: bool = True, now_ns: int = 0) -> str | None:
    return pt.check_new(0, is_buy, False, px, qty, now_ns)


def _market(pt: PreTrade, qty: int, is_buy: bool, now_ns: int = 0) -> str | None:
    return pt.check_new(0, is_buy, True, 0, qty, now_ns)


# ---- config ---------------------------------------------------------------------------------


def test_risk_config_defaults_are_valid_and_documented_values() -> None:
    cfg = RiskConfig()
    assert (cfg.max_notional, cfg.price_band_bps, cfg.require_market_data) == ("50000", 500, True)
    assert cfg.max_orders_per_s == 5.0 and cfg.max_cancels_per_s == 10.0


@pytest.mark.parametrize(
    ("kw", "word"),
    [
        ({"max_notional": "0"}, "max_notional"),
        ({"max_notional": "1e5"}, "max_notional"),
        ({"max_notional": "-5"}, "max_notional"),
        ({"max_order_qty": {"BTCUSDT": "abc"}}, "max_order_qty.BTCUSDT"),
        ({"max_order_qty": {"btcusdt": "1"}}, "max_order_qty.btcusdt"),
        ({"price_band_bps": 0}, "price_band_bps"),
        ({"price_band_bps": 10_001}, "price_band_bps"),
        ({"max_orders_per_s": 0.0}, "max_orders_per_s"),
        ({"max_cancels_per_s": -1.0}, "max_cancels_per_s"),
    ],
)
def test_risk_config_bad_value_is_config_error_naming_the_key(
    kw: dict[str, object], word: str
) -> None:
    with pytest.raises(ConfigError, match=word):
        RiskConfig(**kw)  # type: ignore[arg-type]


def test_pretrade_max_order_qty_for_unknown_symbol_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"max_order_qty\.SOLUSDT: not a symbol"):
        PreTrade(RiskConfig(max_order_qty={"SOLUSDT": "1"}), [BTC])


def test_pretrade_limit_finer_than_the_scale_is_config_error() -> None:
    with pytest.raises(ConfigError, match="more decimals"):
        PreTrade(RiskConfig(max_order_qty={"BTCUSDT": "0.000001"}), [BTC])
    with pytest.raises(ConfigError, match="max_notional"):
        PreTrade(RiskConfig(max_notional="0.00000001"), [BTC])  # notional dp is 7


# ---- market data ----------------------------------------------------------------------------


def test_pretrade_without_mid_refuses_when_market_data_required() -> None:
    pt = PreTrade(RiskConfig(), [BTC])
    assert _limit(pt, PX, ONE // 100) == "no_market_data: BTCUSDT: no BBO or book yet"
    assert pt.counters.n_no_market_data == 1


def test_pretrade_without_mid_lets_limit_pass_when_not_required_but_not_market() -> None:
    pt = PreTrade(RiskConfig(require_market_data=False, price_band_bps=1), [BTC])
    assert _limit(pt, PX * 3, ONE // 100) is None  # no band without a mid
    why = _market(pt, ONE // 100, is_buy=True)
    assert why is not None and why.startswith("no_market_data: BTCUSDT: a market order")


def test_pretrade_crossed_or_one_sided_quote_clears_the_mid() -> None:
    pt = _pt()
    pt.set_mid(0, PX + 1, PX)
    assert pt.mid_x2(0) == 0
    pt.set_mid(0, PX, PX + 2)
    assert pt.mid_x2(0) == 2 * PX + 2
    pt.set_mid(0, 0, PX)
    assert pt.mid_x2(0) == 0
    pt.set_mid(0, PX, PX)
    pt.clear_mid(0)
    assert _limit(pt, PX, 1) is not None


# ---- size and notional ----------------------------------------------------------------------


def test_pretrade_max_order_qty_boundary() -> None:
    pt = _pt(max_order_qty={"BTCUSDT": "0.5"})
    assert _limit(pt, PX, ONE // 2) is None
    assert _limit(pt, PX, ONE // 2 + 1) == "max_order_qty: 0.50001 > 0.50000 BTC"
    assert pt.counters.n_max_order_qty == 1


def test_pretrade_symbol_without_qty_limit_is_bounded_by_notional_only() -> None:
    pt = _pt(max_order_qty={"BTCUSDT": "0.5"})
    pt.set_mid(1, 300_000, 300_000)  # ETH 3000.00
    assert pt.check_new(1, True, False, 300_000, 160_000, 0) is None  # 16 ETH = 48000
    assert pt.check_new(1, True, False, 300_000, 170_000, 0) is not None  # 51000


def test_pretrade_max_notional_limit_order_boundary() -> None:
    pt = _pt()
    assert _limit(pt, PX, ONE) is None  # exactly 50000.00
    assert _limit(pt, PX, ONE + 1) == "max_notional: 50000.50 > 50000.00 USDT"
    assert pt.counters.n_max_notional == 1


def test_pretrade_max_notional_shows_rounded_up_never_equal_to_limit() -> None:
    pt = _pt()
    # 49999.99 * 1.00001 = 50000.4899999 -> shown 50000.49, above the limit as it is
    assert _limit(pt, PX - 1, ONE + 1) == "max_notional: 50000.49 > 50000.00 USDT"


def test_pretrade_market_buy_valued_at_mid_plus_band() -> None:
    pt = _pt()  # band 100 bps: reference 50500.00
    assert _market(pt, 99_009, is_buy=True) is None  # 49999.545
    why = _market(pt, 99_010, is_buy=True)  # 50000.05
    assert why is not None and why.startswith("max_notional: 50000.05 > 50000.00 USDT (market")


def test_pretrade_market_sell_valued_at_mid() -> None:
    pt = _pt()
    assert _market(pt, ONE, is_buy=False) is None
    assert _market(pt, ONE + 1, is_buy=False) is not None


def test_pretrade_huge_order_refused_without_overflow() -> None:
    pt = _pt()
    why = _limit(pt, PX, 2**62)
    assert why is not None and why.startswith("max_notional: >")


# ---- price band -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("px", "ok"),
    [(5_050_000, True), (5_050_001, False), (4_950_000, True), (4_949_999, False)],
)
def test_pretrade_price_band_boundary_both_sides(px: int, ok: bool) -> None:
    pt = _pt(max_notional="1000000")
    why = _limit(pt, px, ONE // 100, is_buy=px < PX)
    assert (why is None) == ok
    if not ok:
        assert why is not None and why.startswith("price_band: ")
        assert "bps from mid 50000.00 (max 100 bps)" in why
        assert pt.counters.n_price_band == 1


def test_pretrade_price_band_text_shows_half_tick_mid_exactly() -> None:
    pt = _pt(max_notional="1000000")
    pt.set_mid(0, PX, PX + 1)  # mid 50000.005
    why = _limit(pt, 6_000_000, ONE // 100)
    assert why == "price_band: 60000.00 is 1999 bps from mid 50000.005 (max 100 bps)"


# ---- rates ----------------------------------------------------------------------------------


def test_pretrade_order_rate_refuses_past_burst_and_refills() -> None:
    pt = _pt(max_orders_per_s=2.0)
    assert _limit(pt, PX, 1, now_ns=0) is None
    assert _limit(pt, PX, 1, now_ns=0) is None
    why = _limit(pt, PX, 1, now_ns=0)
    assert why == "order_rate: over 2 orders/s (next in 0.500 s)"
    assert _limit(pt, PX, 1, now_ns=S // 2 - 1) is not None
    assert _limit(pt, PX, 1, now_ns=S // 2) is None
    assert pt.counters.n_order_rate == 2 and pt.counters.n_orders_passed == 3


def test_pretrade_refused_order_costs_no_rate_token() -> None:
    pt = _pt(max_orders_per_s=1.0)
    assert _limit(pt, PX, ONE * 2) is not None  # notional: refused before the bucket
    assert _limit(pt, PX, 1) is None


def test_pretrade_cancel_rate_is_its_own_bucket() -> None:
    pt = _pt(max_orders_per_s=1.0, max_cancels_per_s=1.0)
    assert _limit(pt, PX, 1) is None
    assert pt.check_cancel(0) is None
    why = pt.check_cancel(0)
    assert why is not None and why.startswith("cancel_rate: over 1 cancels/s")
    assert pt.check_cancel(S) is None
    assert pt.counters.n_cancel_rate == 1 and pt.counters.n_cancels_passed == 2


def test_token_bucket_clock_going_back_neither_refills_nor_breaks() -> None:
    b = TokenBucket(1.0, 1.0)
    assert b.take(10 * S) == 0.0
    assert b.take(5 * S) == pytest.approx(1.0)
    assert b.take(11 * S) == 0.0


def test_pretrade_every_refusal_text_starts_with_a_rule_name() -> None:
    pt = _pt(max_order_qty={"BTCUSDT": "0.5"}, max_orders_per_s=1.0)
    texts = [
        _limit(pt, PX, ONE),  # qty
        _limit(pt, PX * 2, ONE // 10),  # band
        _limit(pt, PX, 1),  # passes, takes the token
        _limit(pt, PX, 1),  # rate
    ]
    assert texts[2] is None
    for t in (texts[0], texts[1], texts[3]):
        assert t is not None and t.split(":")[0] in RULES
    assert sum(pt.counters.as_dict().values()) == 4
