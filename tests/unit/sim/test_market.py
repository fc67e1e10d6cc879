"""Tests for veloz.sim.market: seeded, deep, trading background activity."""

import itertools

import pytest

from veloz.sim.exchange import SimExchange
from veloz.sim.instruments import SPOT_INSTRUMENTS
from veloz.sim.instruments import USDM_INSTRUMENTS
from veloz.sim.market import MarketActivity
from veloz.sim.md import DepthDiff
from veloz.sim.md import TradeEvent

S = "BTCUSDT"


def _run(seed: int, until_ms: int = 2_000) -> tuple[SimExchange, MarketActivity, list[object]]:
    now = [0]
    ex = SimExchange("spot", SPOT_INSTRUMENTS, lambda: now[0])
    events: list[object] = []
    ex.listen(events.append)
    m = MarketActivity(ex, S, seed, 5_000, "60000.00")
    for t in range(0, until_ms + 1, 10):
        now[0] = t
        m.step(t)
    return ex, m, events


def test_market_seeded_book_has_hundreds_of_levels_at_start() -> None:
    ex = SimExchange("spot", SPOT_INSTRUMENTS, lambda: 0)
    MarketActivity(ex, S, 1, 1000, "60000.00")
    bids, asks = ex.engine_depth(S, 10_000)
    assert len(bids) >= 300 and len(asks) >= 300
    assert bids[0][0] < asks[0][0]


def test_market_same_seed_gives_same_book_and_events() -> None:
    ex1, m1, ev1 = _run(42)
    ex2, m2, ev2 = _run(42)
    assert m1.n_actions == m2.n_actions > 0
    assert ex1.engine_depth(S, 10_000) == ex2.engine_depth(S, 10_000)
    assert ev1 == ev2


def test_market_other_seed_gives_other_book() -> None:
    assert _run(1)[0].engine_depth(S, 50) != _run(2)[0].engine_depth(S, 50)


def test_market_after_warm_up_is_deep_and_trades() -> None:
    ex, m, events = _run(7, until_ms=4_000)
    bids, asks = ex.engine_depth(S, 10_000)
    assert len(bids) > 200 and len(asks) > 200
    assert any(isinstance(e, TradeEvent) for e in events)
    diffs = [e for e in events if isinstance(e, DepthDiff)]
    for a, b in itertools.pairwise(diffs):
        assert b.first_id == a.last_id + 1
    # Poisson arrivals at 5000/s over ~4 s
    assert 17_000 < m.n_actions < 23_000


def test_market_step_runs_only_due_actions() -> None:
    ex = SimExchange("spot", SPOT_INSTRUMENTS, lambda: 0)
    m = MarketActivity(ex, S, 3, 1000, "60000.00")
    assert m.step(0) == 0
    assert m.step(0) == 0
    assert 50 < m.step(100) < 160


def test_market_runs_on_usdm() -> None:
    ex = SimExchange("usdm", USDM_INSTRUMENTS, lambda: 0)
    m = MarketActivity(ex, S, 5, 2000, "60000.0")
    m.step(0)
    assert m.step(500) > 0
    bids, asks = ex.engine_depth(S, 10_000)
    assert len(bids) > 200 and len(asks) > 200


def test_market_bad_rate_raises_value_error() -> None:
    ex = SimExchange("spot", SPOT_INSTRUMENTS, lambda: 0)
    with pytest.raises(ValueError, match="updates_per_s"):
        MarketActivity(ex, S, 1, 0, "60000.00")


def test_market_step_in_slices_runs_the_same_actions_as_one_step() -> None:
    # Slicing (step_slice, used by the server to yield between slices) never changes what
    # the participants do: same actions, same order, same book.
    from veloz.sim.market import SLICE_ACTIONS

    def run(sliced: bool) -> tuple[int, object]:
        ex = SimExchange("spot", SPOT_INSTRUMENTS, lambda: 100)
        market = MarketActivity(ex, S, 3, 50_000, "60000.00")
        market.step(0)
        if sliced:
            n_slices = 1
            while market.step_slice(100):
                n_slices += 1
            assert n_slices > 1  # the backlog really was cut into slices
        else:
            market.step(100)
        return market.n_actions, ex.engine_depth(S, 10_000)

    assert run(sliced=True) == run(sliced=False)
    assert SLICE_ACTIONS > 0
