"""PreTradeRisk: slots, inputs, modes, validation, and a differential test against a twin.

The pure-Python twin `RefRisk` below restates each rule in Python ints, comparing notionals
as exact fractions (no thresholds, no 128-bit tricks); hypothesis drives both with the same
random orders, mids, positions, modes and clock and compares every decision. The boundary
of each rule, with its text, is in tests/unit/risk/test_pretrade.py.
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
INT64_MAX = 2**63 - 1
# BTCUSDT-like slot: price_dp 2, qty_dp 5; tick 0.05, step 0.001, min qty 0.002,
# max qty 2, min notional 5 (at dp 7), max position 3, band 500 bps.
PDP, QDP = 2, 5
NDP = PDP + QDP
TICK, STEP, MIN_QTY, MAX_QTY = 5, 100, 200, 200_000
MIN_NOTIONAL = (5 * 10**NDP, NDP)
MAX_NOTIONAL = (100_000, 0)  # "100000": at its own decimals
MAX_POS, BAND = 300_000, 500
MID = 50_000_00  # 50000.00


def _risk(
    max_gross: int = 0,
    rate: float = 1000.0,
    burst: float = 1000.0,
    require: bool = True,
    max_notional: tuple[int, int] = MAX_NOTIONAL,
) -> PreTradeRisk:
    r = PreTradeRisk(2, rate, burst, rate, burst, max_gross, 2, require)
    for slot in (0, 1):
        r.configure(
            slot,
            PDP,
            QDP,
            TICK,
            STEP,
            MIN_QTY,
            MAX_QTY,
            *MIN_NOTIONAL,
            *max_notional,
            MAX_POS,
            BAND,
        )
        r.set_mid(slot, MID, MID)
    return r


# ---- the pure-Python twin ---------------------------------------------------------------------


@dataclass
class _RefSlot:
    mid_x2: int = 0
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

    def __init__(
        self,
        max_gross: int,
        rate: float,
        burst: float,
        require: bool,
        max_notional: tuple[int, int],
    ) -> None:
        self.slots = [_RefSlot(2 * MID), _RefSlot(2 * MID)]
        self.max_gross = max_gross
        self.require = require
        self.max_notional = max_notional
        self.mode = 0
        self.orders = RefBucket(rate, burst)
        self.unit2 = 2 * 10 ** (NDP - 2)

    def gross(self, s: _RefSlot) -> int:
        # Each slot's figure saturates at int64, as the core stores it.
        return min(INT64_MAX, -(-abs(s.position) * s.mid_x2 // self.unit2))

    def set_mid(self, slot: int, bid: int, ask: int) -> None:
        ok = 0 < bid <= ask and bid + ask <= INT64_MAX
        self.slots[slot].mid_x2 = bid + ask if ok else 0

    def check_new(self, slot: int, side: int, is_market: bool, px: int, qty: int, now: int) -> int:
        s = self.slots[slot]
        if qty <= 0 or (not is_market and px <= 0):
            return Reason.R_BAD_INPUT
        mode = max(self.mode, s.mode)
        if mode == 3:
            return Reason.R_HALTED
        if mode == 2:
            return Reason.R_CANCEL_ONLY
        pos = s.position
        new = pos + (qty if side == BUY else -qty)
        if mode == 1 and not (
            (pos > 0 and side == SELL and qty <= pos) or (pos < 0 and side == BUY and qty <= -pos)
        ):
            return Reason.R_REDUCE_ONLY
        if not s.mid_x2 and (is_market or self.require):
            return Reason.R_NO_MARKET_DATA
        if is_market:
            val_x2 = -(-s.mid_x2 * (10_000 + BAND) // 10_000) if side == BUY else s.mid_x2
        else:
            if px % TICK:
                return Reason.R_TICK
            val_x2 = 2 * px
        if qty % STEP:
            return Reason.R_STEP
        if qty < MIN_QTY:
            return Reason.R_MIN_QTY
        if qty > MAX_QTY:
            return Reason.R_MAX_ORDER_QTY
        # notional = val_x2 * qty / (2 * 10**NDP) against limit / 10**dp, cross-multiplied
        n2 = val_x2 * qty
        lim, dp = MIN_NOTIONAL
        if n2 * 10**dp < 2 * lim * 10**NDP:
            return Reason.R_MIN_NOTIONAL
        lim, dp = self.max_notional
        if n2 * 10**dp > 2 * lim * 10**NDP:
            return Reason.R_MAX_NOTIONAL
        if not is_market and s.mid_x2 and abs(2 * px - s.mid_x2) * 10_000 > BAND * s.mid_x2:
            return Reason.R_PRICE_BAND
        if abs(new) > abs(pos):
            if abs(new) > MAX_POS:
                return Reason.R_POSITION_LIMIT
            if self.max_gross:
                others = sum(self.gross(x) for x in self.slots) - self.gross(s)
                if others + -(-abs(new) * val_x2 // self.unit2) > self.max_gross:
                    return Reason.R_GROSS_LIMIT
        if not self.orders.take(now):
            return Reason.R_ORDER_RATE
        return Reason.R_OK


# ---- slots, inputs, validation ----------------------------------------------------------------


def test_risk_check_new_plain_order_passes_and_counts() -> None:
    r = _risk()
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK
    assert r.n_reason(Reason.R_OK) == 1 and r.counters()["n_ok"] == 1


def test_risk_unconfigured_slot_refused_not_raised() -> None:
    r = PreTradeRisk(3, 10.0, 10.0, 10.0, 10.0)
    assert r.check_new(2, BUY, False, MID, 1000, 0) == Reason.R_BAD_SLOT
    assert r.check_new(7, BUY, False, MID, 1000, 0) == Reason.R_BAD_SLOT
    assert r.check_new(-1, BUY, False, MID, 1000, 0) == Reason.R_BAD_SLOT
    assert r.reason_text(Reason.R_BAD_SLOT) == "bad_slot: slot -1 not configured (3 slots)"


@pytest.mark.parametrize(("side", "px", "qty"), [(2, MID, 1000), (BUY, MID, 0), (BUY, 0, 1000)])
def test_risk_bad_input_refused(side: int, px: int, qty: int) -> None:
    r = _risk()
    assert r.check_new(0, side, False, px, qty, 0) == Reason.R_BAD_INPUT
    assert r.reason_text(Reason.R_BAD_INPUT).startswith("bad_input: ")


def test_risk_limit_without_mid_passes_only_when_not_required() -> None:
    for require, want in ((True, Reason.R_NO_MARKET_DATA), (False, Reason.R_OK)):
        r = _risk(require=require)
        r.set_mid(0, 0, 0)
        assert r.check_new(0, BUY, False, MID * 2, 1000, 0) == want  # no band without a mid
        assert r.check_new(0, BUY, True, 0, 1000, 0) == Reason.R_NO_MARKET_DATA


def test_risk_slot_mode_applies_to_that_slot_only() -> None:
    r = _risk()
    r.set_slot_mode(1, RiskMode.MODE_CANCEL_ONLY)
    assert r.slot_mode(1) == RiskMode.MODE_CANCEL_ONLY
    assert r.check_new(1, BUY, False, MID, 1000, 0) == Reason.R_CANCEL_ONLY
    assert r.check_new(0, BUY, False, MID, 1000, 0) == Reason.R_OK


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


def test_risk_gross_total_stays_exact_when_slot_figures_saturate() -> None:
    r = _risk(max_gross=10**6)
    r.set_mid(0, 2**61, 2**61)
    r.set_mid(1, 2**61, 2**61)
    r.set_position(0, 2**62)
    r.set_position(1, -(2**62))
    assert r.slot_gross(0) == INT64_MAX and r.gross_total == INT64_MAX
    r.set_position(0, 0)
    assert r.gross_total == INT64_MAX  # slot 1 alone still saturates
    r.set_position(1, 0)
    assert r.gross_total == 0
    r.check_invariants()


def test_risk_reason_text_for_other_code_is_name_only() -> None:
    r = _risk()
    assert r.reason_text(Reason.R_OK) == "ok"
    assert r.reason_text(Reason.R_TICK) == "tick: refused"
    assert r.reason_text(99).startswith("unknown: ")
    assert len(REASON_NAMES) == Reason.R_N_REASONS
    assert REASON_NAMES[Reason.R_NO_MARKET_DATA] == "no_market_data"
    assert REASON_NAMES[Reason.R_MAX_ORDER_QTY] == "max_order_qty"


def test_risk_init_again_starts_over() -> None:
    r = _risk()
    assert r.check_new(0, BUY, False, MID, 1101, 0) == Reason.R_STEP
    r.__init__(1, 1.0, 1.0, 1.0, 1.0)  # type: ignore[misc]
    assert r.counters()["n_step"] == 0 and r.gross_total == 0
    with pytest.raises(ValueError, match="not configured"):
        r.position(0)


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


def test_risk_configure_rejects_bad_scale_notional_dp_and_band() -> None:
    r = PreTradeRisk(1, 1.0, 1.0, 1.0, 1.0, 0, 8)
    with pytest.raises(ValueError, match="gross_dp"):
        r.configure(0, 2, 5, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="notional_dp"):
        r.configure(0, 4, 5, 1, 1, 0, 0, 0, 0, 1, 19, 0, 0)
    with pytest.raises(ValueError, match="band_bps"):
        r.configure(0, 4, 5, 1, 1, 0, 0, 0, 0, 0, 0, 0, 10_001)
    with pytest.raises(ValueError, match="not configured"):
        r.set_position(0, 1)
    r0 = PreTradeRisk(1, 1.0, 1.0, 1.0, 1.0, 0, 0)
    with pytest.raises(ValueError, match="gross_dp"):  # gross unit past 10**18
        r0.configure(0, 18, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)
    r18 = PreTradeRisk(1, 1.0, 1.0, 1.0, 1.0, 0, 18)
    r18.configure(0, 18, 18, 1, 1, 0, 0, 0, 0, 1, 0, 0, 0)  # notional raws at 36 decimals
    r18.set_mid(0, 10**18, 10**18)
    assert r18.check_new(0, BUY, False, 10**18, 10**18, 0) == Reason.R_OK  # 1 * 1 = limit 1
    assert r18.check_new(0, BUY, False, 10**18, 10**18 + 1, 0) == Reason.R_MAX_NOTIONAL


# ---- differential -----------------------------------------------------------------------------

_px = st.one_of(st.integers(-5, 60_000_00), st.just(2**62))
_qty = st.sampled_from([0, 50, 100, 1000, 1100, 20_000, 200_000, 200_100, 400_000, 2**62])
_ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("new"),
            st.integers(0, 1),
            st.integers(0, 1),
            st.booleans(),
            _px,
            _qty,
            st.one_of(st.just(0), st.integers(0, 2_000_000_000)),
        ),
        st.tuples(st.just("pos"), st.integers(0, 1), st.integers(-400_000, 400_000)),
        st.tuples(
            st.just("mid"), st.integers(0, 1), st.integers(-1, 60_000_00), st.integers(-2, 3)
        ),
        st.tuples(st.just("mode"), st.integers(0, 3)),
        st.tuples(st.just("slot_mode"), st.integers(0, 1), st.integers(0, 3)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    ops=_ops,
    max_gross=st.sampled_from([0, 30_000_00, 200_000_00]),
    require=st.booleans(),
    max_notional=st.sampled_from([MAX_NOTIONAL, (100_000_000_000_001, 9), (99_999_99, 2)]),
)
def test_risk_matches_python_twin_on_random_sequences(
    ops: list[tuple[object, ...]], max_gross: int, require: bool, max_notional: tuple[int, int]
) -> None:
    r = _risk(max_gross, 3.0, 3.0, require, max_notional)
    ref = RefRisk(max_gross, 3.0, 3.0, require, max_notional)
    now = 0
    for op in ops:
        kind = op[0]
        if kind == "new":
            _, slot, side, is_market, px, qty, dt = op
            now += int(dt)  # type: ignore[call-overload]
            got = r.check_new(slot, side, is_market, px, qty, now)  # type: ignore[arg-type]
            want = ref.check_new(slot, side, is_market, px, qty, now)  # type: ignore[arg-type]
            assert got == want, (op, REASON_NAMES[got], REASON_NAMES[want])
            if got:
                assert r.reason_text(got).startswith(REASON_NAMES[got] + ": ")
        elif kind == "pos":
            r.set_position(op[1], op[2])  # type: ignore[arg-type]
            ref.slots[op[1]].position = op[2]  # type: ignore[index,assignment]
        elif kind == "mid":
            _, slot, bid, spread = op
            r.set_mid(slot, bid, bid + spread)  # type: ignore[arg-type,operator]
            ref.set_mid(slot, bid, bid + spread)  # type: ignore[arg-type,operator]
        elif kind == "mode":
            r.set_mode(op[1])  # type: ignore[arg-type]
            ref.mode = op[1]  # type: ignore[assignment]
        else:
            r.set_slot_mode(op[1], op[2])  # type: ignore[arg-type]
            ref.slots[op[1]].mode = op[2]  # type: ignore[index,assignment]
        assert r.mid_x2(0) == ref.slots[0].mid_x2 and r.mid_x2(1) == ref.slots[1].mid_x2
        assert r.gross_total == min(INT64_MAX, sum(ref.gross(s) for s in ref.slots))
        r.check_invariants()
