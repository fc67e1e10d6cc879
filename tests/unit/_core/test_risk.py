"""PreTradeRisk: every check at its boundary, modes, buckets, and a differential test.

The pure-Python twin `RefRisk` below restates each rule in Python ints; hypothesis drives both
with the same random orders, positions, prices and clock and compares every decision.
"""

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from veloz._core.risk import REASON_NAMES
from veloz._core.risk import PreTradeRisk
from veloz._core.risk import Reason
from veloz._core.risk import RiskMode

BUY, SELL = 0, 1
# BTCUSDT-like slot: price_dp 2, qty_dp 5; tick 0.01, step 0.001, min qty 0.001,
# max qty 2, min notional 5, max notional 100000, max position 3, band 500 bps.
PDP, QDP = 2, 5
TICK, STEP, MIN_QTY, MAX_QTY = 1, 100, 100, 200_000
NDP = PDP + QDP
MIN_NOTIONAL, MAX_NOTIONAL = 5 * 10**NDP, 100_000 * 10**NDP
MAX_POS, BAND = 300_000, 500
MID = 50_000_00  # 50000.00


def _risk(max_gross: int = 0, rate: float = 1000.0, burst: float = 1000.0) -> PreTradeRisk:
    r = PreTradeRisk(2, rate, burst, rate, burst, max_gross, 2)
    for slot in (0, 1):
        r.configure(
            slot, PDP, QDP, TICK, STEP, MIN_QTY, MAX_QTY, MIN_NOTIONAL, MAX_NOTIONAL, MAX_POS, BAND
        )
        r.set_ref_px(slot, MID)
    return r


# ---- the pure-Python twin ---------------------------------------------------------------------


@dataclass
class _RefSlot:
    ref_px: int = 0
    position: int = 0
    mode: int = 0


class RefBucket:
    """Integer token bucket in nano-tokens, as in risk.pyx."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate_milli = round(rate * 1000)
        self.burst = round(burst * 1e9)
        self.level = self.burst
        self.last_ns = -1

    def take(self, now_ns: int) -> bool:
        if self.last_ns < 0:
            self.last_ns = now_ns
        elif now_ns > self.last_ns:
            self.level = min(
                self.burst, self.level + (now_ns - self.last_ns) * self.rate_milli // 1000
            )
            self.last_ns = now_ns
        if self.level >= 10**9:
            self.level -= 10**9
            return True
        return False


class RefRisk:
    """The rules of PreTradeRisk for the slot layout of `_risk`, in Python ints."""

    def __init__(self, max_gross: int, rate: float, burst: float) -> None:
        self.slots = [_RefSlot(MID), _RefSlot(MID)]
        self.max_gross = max_gross
        self.mode = 0
        self.orders = RefBucket(rate, burst)
        self.unit = 10 ** (NDP - 2)

    def gross(self, s: _RefSlot) -> int:
        return -(-abs(s.position) * s.ref_px // self.unit)

    def check_new(self, slot: int, side: int, is_market: bool, px: int, qty: int, now: int) -> int:
        s = self.slots[slot]
        if qty <= 0 or (not is_market and px <= 0):
            return Reason.R_BAD_INPUT
        mode = max(self.mode, s.mode)
        if mode == 3:
            return Reason.R_HALTED
        if mode == 2:
            return Reason.R_CANCEL_ONLY
        new = s.position + (qty if side == BUY else -qty)
        grows = abs(new) > abs(s.position)
        if mode == 1:
            pos = s.position
            if not (
                (pos > 0 and side == SELL and qty <= pos)
                or (pos < 0 and side == BUY and qty <= -pos)
            ):
                return Reason.R_REDUCE_ONLY
        if is_market:
            if not s.ref_px:
                return Reason.R_NO_REF_PX
            val = -(-s.ref_px * (10_000 + BAND) // 10_000) if side == BUY else s.ref_px
        else:
            if not s.ref_px:
                return Reason.R_NO_REF_PX
            if px % TICK:
                return Reason.R_TICK
            val = px
        if qty % STEP:
            return Reason.R_STEP
        if qty < MIN_QTY:
            return Reason.R_MIN_QTY
        if qty > MAX_QTY:
            return Reason.R_MAX_QTY
        if val * qty < MIN_NOTIONAL:
            return Reason.R_MIN_NOTIONAL
        if val * qty > MAX_NOTIONAL:
            return Reason.R_MAX_NOTIONAL
        if not is_market and abs(px - s.ref_px) * 10_000 > BAND * s.ref_px:
            return Reason.R_PRICE_BAND
        if grows:
            if abs(new) > MAX_POS:
                return Reason.R_POSITION_LIMIT
            if self.max_gross:
                total = sum(self.gross(x) for x in self.slots) - self.gross(s)
                if total + -(-abs(new) * val // self.unit) > self.max_gross:
                    return Reason.R_GROSS_LIMIT
        if not self.orders.take(now):
            return Reason.R_ORDER_RATE
        return Reason.R_OK


# ---- boundaries -------------------------------------------------------------------------------


def test_risk_check_new_plain_order_passes() -> None:
    r = _risk()
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK
    assert r.n_reason(Reason.R_OK) == 1


def test_risk_unconfigured_slot_refused_not_raised() -> None:
    r = PreTradeRisk(3, 10.0, 10.0, 10.0, 10.0)
    assert r.check_new(2, BUY, False, MID, 1000, 0) == Reason.R_BAD_SLOT
    assert r.check_new(7, BUY, False, MID, 1000, 0) == Reason.R_BAD_SLOT
    assert r.check_new(-1, BUY, False, MID, 1000, 0) == Reason.R_BAD_SLOT
    assert r.reason_text(Reason.R_BAD_SLOT).startswith("bad_slot: ")


@pytest.mark.parametrize(("side", "px", "qty"), [(2, MID, 1000), (BUY, MID, 0), (BUY, 0, 1000)])
def test_risk_bad_input_refused(side: int, px: int, qty: int) -> None:
    assert _risk().check_new(0, side, False, px, qty, 0) == Reason.R_BAD_INPUT


def test_risk_tick_boundary() -> None:
    r = PreTradeRisk(1, 10.0, 10.0, 10.0, 10.0)
    r.configure(0, PDP, QDP, 5, STEP, 0, 0, 0, 0, 0, 0)
    assert r.check_new(0, BUY, False, 100_05, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, 100_06, 1000, 0) == Reason.R_TICK
    assert r.reason_text(Reason.R_TICK) == "tick: 100.06 not a multiple of 0.05"


def test_risk_step_boundary() -> None:
    r = _risk()
    assert r.check_new(0, BUY, False, MID, 1100, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, MID, 1101, 0) == Reason.R_STEP


def test_risk_min_qty_boundary() -> None:
    r = PreTradeRisk(1, 10.0, 10.0, 10.0, 10.0)
    r.configure(0, PDP, QDP, TICK, STEP, 1000, 0, 0, 0, 0, 0)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, MID, 900, 0) == Reason.R_MIN_QTY
    assert r.reason_text(Reason.R_MIN_QTY) == "min_qty: 0.00900 < 0.01000"


def test_risk_max_qty_boundary() -> None:
    r = _risk()
    px = 40_000_00  # keeps notional under its limit: 40000 * 2 = 80000
    r.set_ref_px(0, px)
    assert r.check_new(0, BUY, False, px, MAX_QTY, 0) == Reason.R_OK
    assert r.check_new(0, SELL, False, px, MAX_QTY + STEP, 0) == Reason.R_MAX_QTY
    assert r.reason_text(Reason.R_MAX_QTY) == "max_qty: 2.00100 > 2.00000"


def test_risk_min_notional_boundary() -> None:
    r = _risk()
    r.set_ref_px(0, 500_00)
    # 500.00 * 0.010 = 5.00 exactly passes; 499.99 * 0.010 is under.
    assert r.check_new(0, BUY, False, 500_00, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, 499_99, 1000, 0) == Reason.R_MIN_NOTIONAL


def test_risk_max_notional_boundary_and_text() -> None:
    r = _risk()
    # 50000.00 * 2.00000 = 100000 exactly passes; one tick more is over.
    assert r.check_new(0, BUY, False, MID, MAX_QTY, 0) == Reason.R_OK
    assert r.check_new(0, SELL, False, MID + 1, MAX_QTY, 0) == Reason.R_MAX_NOTIONAL
    assert r.reason_text(Reason.R_MAX_NOTIONAL) == ("max_notional: 100000.0200000 > 100000.0000000")


def test_risk_max_notional_huge_order_does_not_wrap() -> None:
    r = PreTradeRisk(1, 10.0, 10.0, 10.0, 10.0)
    r.configure(0, PDP, QDP, TICK, STEP, 0, 0, 0, MAX_NOTIONAL, 0, 0)
    big = 2**62  # px * qty is far past int64
    assert r.check_new(0, BUY, False, big, big - big % STEP, 0) == Reason.R_MAX_NOTIONAL


def test_risk_market_buy_valued_at_band_worst_price() -> None:
    r = _risk()
    # BUY at 50000 * 1.05 = 52500: 1.90476 BTC would be 99999.9; 1.905 is over.
    assert r.check_new(0, BUY, True, 0, 190_400, 0) == Reason.R_OK
    assert r.check_new(0, BUY, True, 0, 190_500, 0) == Reason.R_MAX_NOTIONAL
    assert r.check_new(0, SELL, True, 0, 190_500, 0) == Reason.R_OK


def test_risk_market_without_ref_px_refused() -> None:
    r = _risk()
    r.set_ref_px(0, 0)
    assert r.check_new(0, BUY, True, 0, 1000, 0) == Reason.R_NO_REF_PX
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_NO_REF_PX


def test_risk_limit_without_band_needs_no_ref_px() -> None:
    r = PreTradeRisk(1, 10.0, 10.0, 10.0, 10.0)
    r.configure(0, PDP, QDP, TICK, STEP, 0, 0, 0, 0, 0, 0)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK


def test_risk_price_band_boundary_both_sides() -> None:
    r = _risk()
    edge = MID * BAND // 10_000  # 2500.00 exactly is inside
    assert r.check_new(0, BUY, False, MID + edge, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, MID - edge, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, MID + edge + 1, 1000, 0) == Reason.R_PRICE_BAND
    assert r.check_new(0, SELL, False, MID - edge - 1, 1000, 0) == Reason.R_PRICE_BAND
    assert r.reason_text(Reason.R_PRICE_BAND) == "price_band: 500 bps from reference (max 500 bps)"


def test_risk_position_limit_boundary_and_reducing_passes() -> None:
    r = _risk()
    r.set_position(0, MAX_POS - 1000)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, MID, 1100, 0) == Reason.R_POSITION_LIMIT
    r.set_position(0, MAX_POS + 50_000)  # over the limit already: shrinking still passes
    assert r.check_new(0, SELL, False, MID, 1000, 0) == Reason.R_OK
    r.set_position(0, -MAX_POS)
    assert r.check_new(0, SELL, False, MID, 100, 0) == Reason.R_POSITION_LIMIT
    assert r.check_new(0, BUY, False, MID, 100, 0) == Reason.R_OK


def test_risk_gross_limit_boundary_across_slots() -> None:
    # Slot 1 holds 1 BTC at 50000 = 50000.00; the limit is 60000.00 at gross_dp 2.
    r = _risk(max_gross=60_000_00)
    r.set_position(1, 100_000)
    assert r.gross_total == 50_000_00
    assert r.check_new(0, BUY, False, MID, 20_000, 0) == Reason.R_OK  # +10000.00 = limit
    assert r.check_new(0, BUY, False, MID, 20_100, 0) == Reason.R_GROSS_LIMIT
    r.set_position(0, 20_000)
    assert r.gross_total == 60_000_00
    assert r.check_new(0, SELL, False, MID, 1000, 0) == Reason.R_OK  # shrinking passes
    r.check_invariants()


def test_risk_reduce_only_refuses_growth_and_flip() -> None:
    r = _risk()
    r.set_mode(RiskMode.MODE_REDUCE_ONLY)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_REDUCE_ONLY  # flat
    r.set_position(0, 5000)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_REDUCE_ONLY
    assert r.check_new(0, SELL, False, MID, 5000, 0) == Reason.R_OK
    assert r.check_new(0, SELL, False, MID, 5100, 0) == Reason.R_REDUCE_ONLY  # would flip
    r.set_position(0, -5000)
    assert r.check_new(0, BUY, True, 0, 5000, 0) == Reason.R_OK


def test_risk_cancel_only_and_halted_refuse_new_but_pass_cancels() -> None:
    r = _risk()
    r.set_mode(RiskMode.MODE_CANCEL_ONLY)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_CANCEL_ONLY
    r.set_mode(RiskMode.MODE_HALTED)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_HALTED
    assert r.check_cancel(0) == Reason.R_OK


def test_risk_slot_mode_applies_to_that_slot_only() -> None:
    r = _risk()
    r.set_slot_mode(1, RiskMode.MODE_CANCEL_ONLY)
    assert r.check_new(1, BUY, False, MID, 1000, 0) == Reason.R_CANCEL_ONLY
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK


def test_risk_order_bucket_burst_then_refill() -> None:
    r = _risk(rate=2.0, burst=2.0)
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK
    assert r.check_new(0, BUY, False, MID, 1000, 1) == Reason.R_ORDER_RATE
    assert r.check_new(0, BUY, False, MID, 1000, 499_999_999) == Reason.R_ORDER_RATE
    assert r.check_new(0, BUY, False, MID, 1000, 500_000_001) == Reason.R_OK


def test_risk_refused_order_costs_no_token() -> None:
    r = _risk(rate=1.0, burst=1.0)
    assert r.check_new(0, BUY, False, MID, 1101, 0) == Reason.R_STEP
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK


def test_risk_cancel_bucket_limits_cancels() -> None:
    r = PreTradeRisk(1, 10.0, 10.0, 1.0, 1.0)
    assert r.check_cancel(0) == Reason.R_OK
    assert r.check_cancel(10) == Reason.R_CANCEL_RATE
    assert r.check_cancel(1_000_000_010) == Reason.R_OK
    assert r.counters()["n_cancel_rate"] == 1


def test_risk_reason_text_for_other_code_is_name_only() -> None:
    r = _risk()
    assert r.reason_text(Reason.R_OK) == "ok"
    assert r.reason_text(Reason.R_TICK) == "tick: refused"
    assert r.reason_text(99).startswith("unknown: ")
    assert len(REASON_NAMES) == Reason.R_N_REASONS


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_slots": 0},
        {"max_orders_per_s": 0.0},
        {"order_burst": 0.5},
        {"max_gross": -1},
        {"gross_dp": 19},
    ],
)
def test_risk_constructor_rejects_bad_values(kwargs: dict[str, float]) -> None:
    args: dict[str, float] = {
        "n_slots": 1,
        "max_orders_per_s": 1.0,
        "order_burst": 1.0,
        "max_cancels_per_s": 1.0,
        "cancel_burst": 1.0,
    }
    args.update(kwargs)
    with pytest.raises(ValueError):
        PreTradeRisk(**args)  # type: ignore[arg-type]


def test_risk_configure_rejects_bad_scale_and_band() -> None:
    r = PreTradeRisk(1, 1.0, 1.0, 1.0, 1.0, 0, 8)
    with pytest.raises(ValueError, match="gross_dp"):
        r.configure(0, 2, 5, 1, 1, 0, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="band_bps"):
        r.configure(0, 4, 5, 1, 1, 0, 0, 0, 0, 0, 10_001)
    with pytest.raises(ValueError, match="not configured"):
        r.set_position(0, 1)


# ---- differential -----------------------------------------------------------------------------

_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("new"),
            st.integers(0, 1),
            st.integers(0, 1),
            st.booleans(),
            st.integers(-5, 60_000_00),
            st.sampled_from([0, 50, 100, 1000, 1100, 20_000, 200_000, 200_100, 400_000]),
            st.integers(0, 2_000_000_000),
        ),
        st.tuples(st.just("pos"), st.integers(0, 1), st.integers(-400_000, 400_000)),
        st.tuples(st.just("ref"), st.integers(0, 1), st.integers(-1, 60_000_00)),
        st.tuples(st.just("mode"), st.integers(0, 3)),
        st.tuples(st.just("slot_mode"), st.integers(0, 1), st.integers(0, 3)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(ops=_ops, max_gross=st.sampled_from([0, 30_000_00, 200_000_00]))
def test_risk_matches_python_twin_on_random_sequences(
    ops: list[tuple[object, ...]], max_gross: int
) -> None:
    r = _risk(max_gross=max_gross, rate=3.0, burst=3.0)
    ref = RefRisk(max_gross, 3.0, 3.0)
    now = 0
    for op in ops:
        kind = op[0]
        if kind == "new":
            _, slot, side, is_market, px, qty, dt = op
            now += int(dt)  # type: ignore[call-overload]
            got = r.check_new(slot, side, is_market, px, qty, now)  # type: ignore[arg-type]
            want = ref.check_new(slot, side, is_market, px, qty, now)  # type: ignore[arg-type]
            assert got == want, (op, got, want)
        elif kind == "pos":
            r.set_position(op[1], op[2])  # type: ignore[arg-type]
            ref.slots[op[1]].position = op[2]  # type: ignore[index,assignment]
        elif kind == "ref":
            r.set_ref_px(op[1], op[2])  # type: ignore[arg-type]
            ref.slots[op[1]].ref_px = max(0, op[2])  # type: ignore[index,call-overload]
        elif kind == "mode":
            r.set_mode(op[1])  # type: ignore[arg-type]
            ref.mode = op[1]  # type: ignore[assignment]
        else:
            r.set_slot_mode(op[1], op[2])  # type: ignore[arg-type]
            ref.slots[op[1]].mode = op[2]  # type: ignore[index,assignment]
        r.check_invariants()
