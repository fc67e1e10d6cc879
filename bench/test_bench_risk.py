"""One pre-trade check: Cython PreTradeRisk.check_new against pure-Python PreTrade.check_new.

Same seeded orders (all passing: every rule is evaluated), same run; the summary prints the
median per call group and the ratio. Budget (issue 6 §3): <= 1 us median per check.
"""

import random

import pytest

from bench.conftest import scale
from veloz._core.risk import PreTradeRisk
from veloz.model.instrument import Instrument
from veloz.risk.pretrade import PreTrade
from veloz.risk.pretrade import RiskConfig

N = 10_000
MID = 50_000_00
INST = Instrument(
    venue="binance-spot",
    symbol="BTCUSDT",
    base="BTC",
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


def _orders(n: int) -> list[tuple[int, bool, int, int]]:
    rng = random.Random(11)
    return [
        (rng.randint(0, 1), False, MID + rng.randint(-1000_00, 1000_00), rng.randint(1, 50) * 100)
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def orders() -> list[tuple[int, bool, int, int]]:
    return _orders(scale(N))


def test_bench_risk_check_new_cython(benchmark, orders: list[tuple[int, bool, int, int]]) -> None:
    benchmark.group = f"risk check_new, orders={len(orders)}"
    benchmark.extra_info["role"] = "subject"
    r = PreTradeRisk(1, 1e9, 1e9, 1e9, 1e9, 10**12, 2)
    r.configure(0, 2, 5, 1, 100, 100, 10**6, 5 * 10**7, 100_000 * 10**7, 10**8, 500)
    r.set_ref_px(0, MID)
    check = r.check_new

    def run() -> int:
        bad = 0
        for i, (side, is_market, px, qty) in enumerate(orders):
            bad += check(0, side, is_market, px, qty, i)
        return bad

    assert benchmark(run) == 0


def test_bench_risk_check_new_python(benchmark, orders: list[tuple[int, bool, int, int]]) -> None:
    benchmark.group = f"risk check_new, orders={len(orders)}"
    benchmark.extra_info["role"] = "baseline"
    p = PreTrade(
        RiskConfig(max_notional="100000", max_orders_per_s=1e9, max_cancels_per_s=1e9), [INST]
    )
    p.set_mid(0, MID, MID)
    check = p.check_new

    def run() -> int:
        bad = 0
        for i, (side, is_market, px, qty) in enumerate(orders):
            bad += check(0, side == 0, is_market, px, qty, i) is not None
        return bad

    assert benchmark(run) == 0
