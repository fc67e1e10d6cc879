"""RiskEngine: every transition, hysteresis on an injected clock, HALTED needs resume."""

import tomllib
from dataclasses import fields
from pathlib import Path

import pytest

from veloz._core.risk import PreTradeRisk
from veloz._core.risk import Reason
from veloz.config.loader import build
from veloz.errors import ConfigError
from veloz.model.instrument import Instrument
from veloz.risk.config import RiskLimits
from veloz.risk.engine import RiskEngine
from veloz.risk.engine import RiskEvent
from veloz.risk.engine import RiskState
from veloz.risk.engine import make_pretrade_risk

S = 1_000_000_000
SYMS = ("BTCUSDT", "ETHUSDT")
WALL = 1_700_000_000 * S
A, R, C, H = RiskState.ACTIVE, RiskState.REDUCE_ONLY, RiskState.CANCEL_ONLY, RiskState.HALTED


def _cfg(**kw: object) -> RiskLimits:
    base: dict[str, object] = {
        "max_drawdown": "100",
        "daily_loss_limit": "300",
        "stale_feed_s": 0.0,  # off unless a test is about it
        "latency_p99_us": 1000.0,
        "error_spike_count": 3,
        "error_spike_window_s": 10.0,
        "recover_after_s": 30.0,
    }
    base.update(kw)
    return RiskLimits(**base)  # type: ignore[arg-type]


class _Wall:
    def __init__(self) -> None:
        self.ns = WALL

    def __call__(self) -> int:
        return self.ns


def _engine(**kw: object) -> tuple[RiskEngine, list[RiskEvent], PreTradeRisk, _Wall]:
    seen: list[RiskEvent] = []
    pre = PreTradeRisk(2, 100.0, 100.0, 100.0, 100.0)
    for slot in (0, 1):
        pre.configure(slot, 2, 5, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
        pre.set_ref_px(slot, 100)
    wall = _Wall()
    eng = RiskEngine(_cfg(**kw), SYMS, 2, pre, seen.append, wall)
    for sym in SYMS:
        eng.on_market_data(sym, 0)
    return eng, seen, pre, wall


def _pairs(events: list[RiskEvent]) -> list[tuple[RiskState, RiskState, str]]:
    return [(e.old, e.new, e.trigger) for e in events]


def test_engine_drawdown_at_limit_reduce_only_and_applies_mode() -> None:
    eng, seen, pre, _ = _engine()
    assert eng.on_equity(1000_00, 0) == []
    assert eng.on_equity(900_01, S) == []  # 99.99 below peak
    ev = eng.on_equity(900_00, S)
    assert _pairs(ev) == [(A, R, "drawdown")]
    assert seen == ev
    assert pre.mode == R
    assert pre.check_new(0, 0, False, 100, 1000, S) == Reason.R_REDUCE_ONLY
    assert not eng.is_cancel_all_needed


def test_engine_recovery_waits_recover_after_s() -> None:
    eng, _, pre, _ = _engine()
    eng.on_equity(1000_00, 0)
    eng.on_equity(900_00, S)
    assert eng.on_equity(950_00, 2 * S) == []  # condition gone at 2 s
    assert eng.evaluate(2 * S + 30 * S - 1) == []
    assert eng.state == R
    ev = eng.evaluate(2 * S + 30 * S)
    assert _pairs(ev) == [(R, A, "recovered")]
    assert pre.mode == A


def test_engine_condition_back_within_hysteresis_restarts_timer() -> None:
    eng, _, _, _ = _engine(latency_p99_us=1000.0)
    eng.on_latency_p99(2_000_000, 0)
    eng.on_latency_p99(500_000, S)
    eng.on_latency_p99(2_000_000, 20 * S)  # back before recovery: no event, timer reset
    eng.on_latency_p99(500_000, 21 * S)
    assert eng.evaluate(40 * S) == []
    assert _pairs(eng.evaluate(51 * S)) == [(R, A, "recovered")]


def test_engine_latency_above_threshold_reduce_only() -> None:
    eng, _, _, _ = _engine()
    assert eng.on_latency_p99(1_000_000, 0) == []  # equal is not above
    assert _pairs(eng.on_latency_p99(1_000_001, 0)) == [(A, R, "latency")]


def test_engine_daily_loss_cancel_only_and_cancel_all() -> None:
    eng, _, pre, _ = _engine(max_drawdown="0")
    eng.on_equity(1000_00, 0)
    assert eng.on_equity(700_01, S) == []
    assert _pairs(eng.on_equity(700_00, S)) == [(A, C, "daily_loss")]
    assert eng.is_cancel_all_needed
    assert eng.symbols_to_cancel() == list(SYMS)
    assert pre.check_new(0, 0, False, 100, 1000, S) == Reason.R_CANCEL_ONLY


def test_engine_daily_loss_resets_on_new_utc_day() -> None:
    eng, _, _, wall = _engine(max_drawdown="0", recover_after_s=0.0)
    eng.on_equity(1000_00, 0)
    eng.on_equity(600_00, S)
    assert eng.state == C
    wall.ns += 86_400 * S
    assert _pairs(eng.on_equity(600_00, 2 * S)) == [(C, A, "recovered")]
    assert eng.day_start_equity == 600_00


def test_engine_reduce_only_then_cancel_only_escalates() -> None:
    eng, _, _, _ = _engine()
    eng.on_equity(1000_00, 0)
    assert _pairs(eng.on_equity(850_00, S)) == [(A, R, "drawdown")]
    assert _pairs(eng.on_equity(650_00, S)) == [(R, C, "daily_loss")]


def test_engine_stale_feed_cancel_only_for_that_symbol() -> None:
    eng, _, pre, _ = _engine(stale_feed_s=5.0)
    eng.on_market_data("ETHUSDT", 4 * S)
    ev = eng.evaluate(5 * S)
    assert [(e.symbol, e.old, e.new, e.trigger) for e in ev] == [("BTCUSDT", A, C, "stale_feed")]
    assert eng.state == A
    assert eng.symbols_to_cancel() == ["BTCUSDT"]
    assert pre.check_new(0, 0, False, 100, 1000, 5 * S) == Reason.R_CANCEL_ONLY
    assert pre.check_new(1, 0, False, 100, 1000, 5 * S) == Reason.R_OK


def test_engine_stale_feed_recovers_after_hysteresis() -> None:
    eng, _, pre, _ = _engine(stale_feed_s=5.0)
    eng.on_market_data("ETHUSDT", 100 * S)
    eng.evaluate(5 * S)
    assert eng.on_market_data("BTCUSDT", 6 * S) == []
    eng.on_market_data("BTCUSDT", 35 * S)
    assert eng.evaluate(36 * S - 1) == []
    ev = eng.evaluate(36 * S)
    assert [(e.symbol, e.new) for e in ev] == [("BTCUSDT", A)]
    assert pre.slot_mode(0) == A


def test_engine_book_invalid_cancel_only_for_that_symbol() -> None:
    eng, _, _, _ = _engine()
    ev = eng.on_book_status("ETHUSDT", False, S)
    assert [(e.symbol, e.new, e.trigger) for e in ev] == [("ETHUSDT", C, "book_invalid")]
    assert eng.state_of("ETHUSDT") == C
    assert eng.state_of("BTCUSDT") == A


def test_engine_book_check_off_ignores_status() -> None:
    eng, _, _, _ = _engine(check_book_live=False)
    assert eng.on_book_status("ETHUSDT", False, S) == []


def test_engine_error_spike_in_window_cancel_only() -> None:
    eng, _, _, _ = _engine()
    assert eng.on_reject(0) == []
    assert eng.on_error(5 * S) == []
    assert _pairs(eng.on_reject(10 * S - 1)) == [(A, C, "error_spike")]


def test_engine_errors_spread_past_window_no_spike() -> None:
    eng, _, _, _ = _engine()
    eng.on_reject(0)
    eng.on_reject(5 * S)
    assert eng.on_reject(10 * S) == []  # the first fell out of the window
    assert eng.state == A


def test_engine_error_spike_recovers_after_window_and_hysteresis() -> None:
    eng, _, _, _ = _engine()
    for t in (0, 1, 2):
        eng.on_error(t)
    assert eng.evaluate(10 * S + 1) == []  # cleared now, recovery 30 s later
    assert _pairs(eng.evaluate(40 * S + 1)) == [(C, A, "recovered")]


def test_engine_kill_halts_and_only_resume_leaves() -> None:
    eng, seen, pre, _ = _engine()
    ev = eng.kill("operator test", 0)
    assert _pairs(ev) == [(A, H, "kill")]
    assert ev[0].detail == "operator test"
    assert eng.is_cancel_all_needed
    assert pre.mode == H
    assert pre.check_cancel(0) == Reason.R_OK
    assert eng.evaluate(10_000 * S) == []
    assert eng.state == H
    assert _pairs(eng.resume(10_000 * S)) == [(H, A, "resume")]
    assert len(seen) == 2


def test_engine_resume_returns_to_conditions_in_force() -> None:
    eng, _, _, _ = _engine()
    eng.on_latency_p99(5_000_000, 0)
    eng.kill("x", 0)
    assert _pairs(eng.resume(S)) == [(H, R, "resume")]


def test_engine_resume_without_kill_does_nothing() -> None:
    eng, _, _, _ = _engine()
    assert eng.resume(0) == []


def test_engine_zero_limits_switch_rules_off() -> None:
    eng, _, _, _ = _engine(
        max_drawdown="0", daily_loss_limit="0", latency_p99_us=0.0, error_spike_count=0
    )
    eng.on_equity(1000_00, 0)
    assert eng.on_equity(1_00, S) == []
    assert eng.on_latency_p99(10**12, S) == []
    assert all(eng.on_error(S) == [] for _ in range(50))


def test_engine_status_and_event_dict() -> None:
    eng, seen, _, _ = _engine()
    eng.kill("drill", 0)
    st = eng.status()
    assert st["state"] == "HALTED"
    assert st["is_killed"] is True
    assert seen[0].as_dict()["new"] == "HALTED"
    assert seen[0].wall_ns == WALL


def test_engine_limit_finer_than_equity_scale_is_config_error() -> None:
    with pytest.raises(ConfigError, match="max_drawdown"):
        RiskEngine(_cfg(max_drawdown="0.001"), SYMS, 2)


def _inst(symbol: str) -> Instrument:
    return Instrument(
        venue="binance-spot",
        symbol=symbol,
        base=symbol[:3],
        quote="USDT",
        status="TRADING",
        price_dp=2,
        qty_dp=5,
        tick_raw=1,
        step_raw=100,
        min_px_raw=0,
        max_px_raw=0,
        min_qty_raw=100,
        max_qty_raw=0,
        min_notional_raw=5 * 10**7,
    )


def test_make_pretrade_risk_builds_limits_from_config() -> None:
    cfg = RiskLimits(
        max_order_qty={"BTCUSDT": "0.5"},
        max_position={"BTCUSDT": "1"},
        max_gross_notional="100000",
    )
    pre = make_pretrade_risk(cfg, [_inst("BTCUSDT"), _inst("ETHUSDT")])
    pre.set_ref_px(0, 50_000_00)
    assert pre.max_gross == 100_000_00
    assert pre.check_new(0, 0, False, 50_000_00, 50_000, 0) == Reason.R_OK
    assert pre.check_new(0, 0, False, 50_000_00, 50_100, 0) == Reason.R_MAX_ORDER_QTY
    pre.set_position(0, 100_000)
    assert pre.check_new(0, 0, False, 50_000_00, 100, 0) == Reason.R_POSITION_LIMIT


def test_make_pretrade_risk_unknown_symbol_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"max_position\.XRPUSDT"):
        make_pretrade_risk(RiskLimits(max_position={"XRPUSDT": "1"}), [_inst("BTCUSDT")])


def test_risk_limits_rejects_bad_values() -> None:
    with pytest.raises(ConfigError, match="max_drawdown"):
        RiskLimits(max_drawdown="-1")
    with pytest.raises(ConfigError, match="webhook_url"):
        RiskLimits(webhook_url="ftp://x")
    with pytest.raises(ConfigError, match="price_band_bps"):
        RiskLimits(price_band_bps=0)


def test_risk_limits_loads_example_gateway_toml_with_every_key_strictly() -> None:
    examples = Path(__file__).parents[3] / "veloz" / "config" / "examples"
    risk = tomllib.loads((examples / "gateway.toml").read_text())["risk"]
    assert set(risk) == {f.name for f in fields(RiskLimits)}  # every key shown, none unknown
    limits = build(RiskLimits, risk, "risk.")
    assert limits.max_position == {"BTCUSDT": "1"} and limits.max_notional == "50000"
    up = tomllib.loads((examples / "up.toml").read_text())["gateway"]["risk"]
    assert build(RiskLimits, up, "gateway.risk.").max_orders_per_s == 50
    with pytest.raises(ConfigError, match="max_drawdwn"):
        build(RiskLimits, {"max_drawdwn": "1"}, "risk.")
