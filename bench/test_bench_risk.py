"""One pre-trade check: Cython `PreTradeRisk.check_new` against a pure-Python twin.

Both run every rule the gateway applies (mode, reduce-only, market data, tick, step, min qty,
max_order_qty, min/max notional, price band, position, gross, order rate) on the same seeded
orders, all passing so no rule is skipped, in the same run; the summary prints the median per
call group and the ratio. The instrument is BTCUSDT as the simulator lists it (8 + 8 decimals,
so the 100000 USDT notional limit is past int64 at the notional scale). Budget (issue 6 §3):
<= 1 us median per check.
"""

import random

import pytest

from bench.conftest import scale
from veloz._core.risk import PreTradeRisk
from veloz.model.instrument import Instrument
from veloz.risk.config import RiskLimits
from veloz.risk.engine import make_pretrade_risk

N = 10_000
PDP, QDP = 8, 8
MID = 50_000 * 10**PDP
TICK, STEP = 10**6, 1000  # 0.01 USDT, 0.00001 BTC
SIM = Instrument(
    "binance-spot", "BTCUSDT", "BTC", "USDT", "TRADING", PDP, QDP, TICK, STEP, 0, 0, STEP, 0,
    5 * 10 ** (PDP + QDP),
)  # fmt: skip
LIMITS = RiskLimits(
    max_order_qty={"BTCUSDT": "1"},
    max_notional="100000",
    price_band_bps=500,
    max_orders_per_s=1e9,
    max_cancels_per_s=1e9,
    max_position={"BTCUSDT": "1000000"},
    max_gross_notional="1000000000",
)

Order = tuple[int, bool, int, int]  # side, is_market, px, qty


class PyPreTrade:
    """The rules of `PreTradeRisk` for one slot in plain Python ints (the baseline only)."""

    def __init__(self, limits: RiskLimits, inst: Instrument) -> None:
        ndp = inst.price_dp + inst.qty_dp
        self.tick, self.step = inst.tick_raw, inst.step_raw
        self.min_qty = inst.min_qty_raw
        self.max_qty = int(limits.max_order_qty[inst.symbol]) * 10**inst.qty_dp
        self.min_n2 = 2 * inst.min_notional_raw
        self.max_n2 = 2 * int(limits.max_notional) * 10**ndp
        self.max_pos = int(limits.max_position[inst.symbol]) * 10**inst.qty_dp
        self.band = limits.price_band_bps
        self.max_gross = int(limits.max_gross_notional) * 10**inst.price_dp
        self.unit2 = 2 * 10**inst.qty_dp
        self.require = limits.require_market_data
        self.mode = self.position = self.gross_others = 0
        self.mid_x2 = 0
        self.rate_milli = round(limits.max_orders_per_s * 1000)
        self.burst = self.level = round(max(1.0, limits.max_orders_per_s) * 1e9)
        self.last_ns = -1

    def check_new(self, side: int, is_market: bool, px: int, qty: int, now_ns: int) -> int:
        if side not in (0, 1) or qty <= 0 or (not is_market and px <= 0):
            return 2
        if self.mode >= 2:
            return 3 if self.mode == 3 else 4
        pos = self.position
        new = pos + qty if side == 0 else pos - qty
        if self.mode == 1 and not (
            (pos > 0 and side == 1 and qty <= pos) or (pos < 0 and side == 0 and qty <= -pos)
        ):
            return 5
        mid_x2 = self.mid_x2
        if not mid_x2 and (is_market or self.require):
            return 6
        if is_market:
            val_x2 = -(-mid_x2 * (10_000 + self.band) // 10_000) if side == 0 else mid_x2
        else:
            if px % self.tick:
                return 7
            val_x2 = 2 * px
        if qty % self.step:
            return 8
        if qty < self.min_qty:
            return 9
        if qty > self.max_qty:
            return 10
        n2 = val_x2 * qty
        if n2 < self.min_n2:
            return 11
        if n2 > self.max_n2:
            return 12
        if not is_market and abs(2 * px - mid_x2) * 10_000 > self.band * mid_x2:
            return 13
        if abs(new) > abs(pos):
            if abs(new) > self.max_pos:
                return 14
            if self.gross_others - (-abs(new) * val_x2 // self.unit2) > self.max_gross:
                return 15
        if self.last_ns < 0:
            self.last_ns = now_ns
        elif now_ns > self.last_ns:
            dt = now_ns - self.last_ns
            self.level = min(self.burst, self.level + dt * self.rate_milli // 1000)
            self.last_ns = now_ns
        if self.level < 10**9:
            return 16
        self.level -= 10**9
        return 0


def _orders(n: int) -> list[Order]:
    rng = random.Random(11)
    out: list[Order] = []
    for _ in range(n):
        side = rng.randint(0, 1)
        qty = rng.randint(100, 50_000) * STEP  # 0.001 .. 0.5 BTC
        if rng.random() < 0.2:
            out.append((side, True, 0, qty))
        else:
            out.append((side, False, MID + rng.randint(-1000, 1000) * TICK, qty))
    return out


@pytest.fixture(scope="module")
def orders() -> list[Order]:
    return _orders(scale(N))


def test_bench_risk_check_new_cython(benchmark, orders: list[Order]) -> None:
    benchmark.group = f"risk check_new, orders={len(orders)}"
    benchmark.extra_info["role"] = "subject"
    r: PreTradeRisk = make_pretrade_risk(LIMITS, [SIM])
    r.set_mid(0, MID, MID)
    check = r.check_new

    def run() -> int:
        bad = 0
        for i, (side, is_market, px, qty) in enumerate(orders):
            bad += check(0, side, is_market, px, qty, i)
        return bad

    assert benchmark(run) == 0


def test_bench_risk_check_new_python(benchmark, orders: list[Order]) -> None:
    benchmark.group = f"risk check_new, orders={len(orders)}"
    benchmark.extra_info["role"] = "baseline"
    p = PyPreTrade(LIMITS, SIM)
    p.mid_x2 = 2 * MID
    check = p.check_new

    def run() -> int:
        bad = 0
        for i, (side, is_market, px, qty) in enumerate(orders):
            bad += check(side, is_market, px, qty, i)
        return bad

    assert benchmark(run) == 0


def test_bench_risk_twin_agrees_with_cython_on_refusals() -> None:
    # The baseline must be the same rules, not a cheaper subset: refusals agree too.
    r = make_pretrade_risk(LIMITS, [SIM])
    p = PyPreTrade(LIMITS, SIM)
    rng = random.Random(3)
    for mid in (0, MID):
        r.set_mid(0, mid, mid)
        p.mid_x2 = 2 * mid
        for i in range(scale(2000)):
            side = rng.randint(0, 1)
            qty = rng.randint(-1, 2 * 10**8)
            px = MID + rng.randint(-(10**11), 10**11) * rng.choice((1, 10**6))
            is_market = rng.random() < 0.2
            assert r.check_new(0, side, is_market, px, qty, i) == p.check_new(
                side, is_market, px, qty, i
            )
