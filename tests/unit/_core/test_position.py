"""Position: scripted opens, adds, reduces, closes and flips on both sides, the rounding rules,
bad input and overflow, then differential runs against the Python-int twin."""

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.unit._core.reference.position_ref import PositionRef
from veloz._core.matching import OrdSide
from veloz._core.position import Position
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.errors import NumberError

BUY, SELL = int(OrdSide.BUY), int(OrdSide.SELL)
INT64_MAX = 2**63 - 1


def fill(p: Position, side: int, px: int, qty: int) -> int:
    return p.apply_fill(side, Px(px), Qty(qty))


def state(p: Position | PositionRef) -> tuple[int, int, int, int, int, bool]:
    return (p.qty, p.cost, p.realized_pnl, p.n_fills, p.entry_px, p.is_flat)


def outcome(obj: Position | PositionRef, method: str, *args: int) -> tuple[str, int | type]:
    """("ok", result) or ("err", exception class) of one call, so both objects compare."""
    call: Callable[..., int] = getattr(obj, method)
    try:
        return ("ok", call(*args))
    except (ValueError, NumberError) as exc:
        return ("err", type(exc))


# ---- construction -----------------------------------------------------------------------------


def test_position_new_is_flat_with_zero_state() -> None:
    p = Position(2, 3)
    assert state(p) == (0, 0, 0, 0, 0, True)
    assert (p.price_dp, p.qty_dp) == (2, 3)
    assert p.unrealized_pnl(Px(100)) == 0
    assert p.notional(Px(100)) == 0
    assert p.check_invariants() == 0


@pytest.mark.parametrize(("price_dp", "qty_dp"), [(-1, 0), (0, -1), (19, 0), (0, 19), (10, 9)])
def test_position_dp_out_of_range_raises_value_error(price_dp: int, qty_dp: int) -> None:
    with pytest.raises(ValueError, match="dp"):
        Position(price_dp, qty_dp)


def test_position_repr_shows_state_and_dps() -> None:
    p = Position(2, 3)
    fill(p, BUY, 10_000, 1_000)
    assert repr(p) == (
        "Position(qty=1000 entry_px=10000 cost=10000000 realized_pnl=0 n_fills=1 "
        "price_dp=2 qty_dp=3)"
    )


# ---- scripted long and short at price_dp=2, qty_dp=3 (notional dp 5) -------------------------


def test_position_long_open_add_reduce_gain_and_loss_then_close() -> None:
    p = Position(2, 3)
    assert fill(p, BUY, 10_000, 1_000) == 0  # buy 1.000 @ 100.00
    assert (p.qty, p.cost, p.entry_px) == (1_000, 10_000_000, 10_000)
    assert fill(p, BUY, 10_400, 3_000) == 0  # add 3.000 @ 104.00
    assert (p.qty, p.cost, p.entry_px) == (4_000, 41_200_000, 10_300)
    assert fill(p, SELL, 11_000, 1_000) == 700_000  # sell 1 @ 110: +7.00000
    assert (p.qty, p.cost, p.entry_px) == (3_000, 30_900_000, 10_300)
    assert fill(p, SELL, 9_500, 1_000) == -800_000  # sell 1 @ 95: -8.00000
    assert (p.qty, p.cost) == (2_000, 20_600_000)
    assert fill(p, SELL, 10_300, 2_000) == 0  # close the rest at entry
    assert state(p) == (0, 0, -100_000, 5, 0, True)
    assert p.check_invariants() == 0


def test_position_short_open_add_reduce_then_close() -> None:
    p = Position(2, 3)
    assert fill(p, SELL, 10_000, 2_000) == 0
    assert (p.qty, p.cost, p.entry_px) == (-2_000, -20_000_000, 10_000)
    assert fill(p, SELL, 10_200, 2_000) == 0
    assert (p.qty, p.cost, p.entry_px) == (-4_000, -40_400_000, 10_100)
    assert fill(p, BUY, 9_100, 1_000) == 1_000_000  # short gains 10.00 on 1.000
    assert (p.qty, p.cost) == (-3_000, -30_300_000)
    assert fill(p, BUY, 10_600, 3_000) == -1_500_000
    assert state(p) == (0, 0, -500_000, 4, 0, True)
    assert p.realized_pnl == (20_000_000 + 20_400_000) - (9_100_000 + 31_800_000)


def test_position_unrealized_and_notional_follow_sign_of_qty() -> None:
    long, short = Position(0, 0), Position(0, 0)
    fill(long, BUY, 100, 2)
    fill(short, SELL, 100, 2)
    assert long.unrealized_pnl(Px(110)) == 20
    assert short.unrealized_pnl(Px(110)) == -20
    assert long.notional(Px(110)) == 220
    assert short.notional(Px(110)) == -220


def test_position_unrealized_uses_exact_cost_not_rounded_entry() -> None:
    p = Position(0, 0)
    fill(p, BUY, 1, 1)
    fill(p, BUY, 2, 2)  # cost 5 on qty 3: entry 1.67 shows as 2
    assert p.entry_px == 2
    assert p.unrealized_pnl(Px(2)) == 1  # 2 * 3 - 5, not (2 - 2) * 3


# ---- rounding ---------------------------------------------------------------------------------


def test_position_long_partial_reduce_realizes_floor_and_keeps_remainder() -> None:
    p = Position(2, 0)
    fill(p, BUY, 100, 1)
    fill(p, BUY, 101, 2)  # cost 302 on qty 3
    assert fill(p, SELL, 100, 1) == -1  # exact -0.67 -> floor -1
    assert (p.qty, p.cost) == (2, 201)
    assert fill(p, SELL, 100, 2) == -1  # the remainder comes back on the close
    assert p.realized_pnl == 300 - 302


def test_position_short_partial_reduce_realizes_floor_and_keeps_remainder() -> None:
    p = Position(2, 0)
    fill(p, SELL, 100, 1)
    fill(p, SELL, 101, 2)  # cost -302 on qty -3
    assert fill(p, BUY, 100, 1) == 0  # exact +0.67 -> floor 0
    assert (p.qty, p.cost) == (-2, -202)
    assert fill(p, BUY, 100, 2) == 2
    assert p.realized_pnl == 302 - 300


@pytest.mark.parametrize(
    ("fills", "entry"),
    [
        ([(2, 1), (3, 1)], 2),  # 2.5 -> 2 (even)
        ([(3, 1), (4, 1)], 4),  # 3.5 -> 4 (even)
        ([(1, 1), (2, 2)], 2),  # 1.67 -> 2
        ([(1, 2), (2, 1)], 1),  # 1.33 -> 1
    ],
)
def test_position_entry_px_rounds_half_even_on_both_sides(
    fills: list[tuple[int, int]], entry: int
) -> None:
    for side in (BUY, SELL):
        p = Position(0, 0)
        for px, qty in fills:
            fill(p, side, px, qty)
        assert p.entry_px == entry


# ---- flips ------------------------------------------------------------------------------------


def test_position_flip_long_to_short_closes_at_fill_px_and_opens_rest() -> None:
    p = Position(0, 0)
    fill(p, BUY, 100, 2)
    assert fill(p, SELL, 110, 5) == 20
    assert state(p) == (-3, -330, 20, 2, 110, False)
    assert p.check_invariants() == 0


def test_position_flip_short_to_long_closes_at_fill_px_and_opens_rest() -> None:
    p = Position(0, 0)
    fill(p, SELL, 100, 2)
    fill(p, SELL, 103, 1)  # cost -303 on qty -3
    assert fill(p, BUY, 105, 7) == 303 - 315
    assert state(p) == (4, 420, -12, 3, 105, False)


def test_position_flip_after_partial_reduce_realizes_the_kept_remainder() -> None:
    p = Position(0, 0)
    fill(p, BUY, 1, 1)
    fill(p, BUY, 2, 2)  # cost 5, qty 3
    assert fill(p, SELL, 3, 1) == 1  # exact 1.33 -> 1; cost 5 - 2 = 3
    assert fill(p, SELL, 3, 4) == 3  # close 2 @ 3 = 6 - 3, then short 2 @ 3
    assert (p.qty, p.cost, p.realized_pnl) == (-2, -6, 4)
    fill(p, BUY, 3, 2)
    assert p.is_flat
    assert p.realized_pnl == (3 * 1 + 3 * 4) - (1 * 1 + 2 * 2 + 3 * 2)  # sells - buys


def test_position_short_round_trips_sum_to_cash_flow() -> None:
    p = Position(1, 2)
    cash = 0
    for sell_px, buy_px, qty in [(5_000, 4_900, 7), (4_950, 5_010, 13), (5_000, 5_000, 1)]:
        fill(p, SELL, sell_px, qty)
        fill(p, BUY, buy_px, qty)
        cash += sell_px * qty - buy_px * qty
        assert p.is_flat
        assert p.realized_pnl == cash


# ---- bad input and overflow -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "px", "qty"), [(2, 100, 1), (-1, 100, 1), (BUY, 0, 1), (SELL, -5, 1), (BUY, 1, 0)]
)
def test_position_bad_fill_raises_value_error_and_keeps_state(side: int, px: int, qty: int) -> None:
    p = Position(0, 0)
    fill(p, BUY, 100, 2)
    before = state(p)
    with pytest.raises(ValueError, match=r"side|px|qty"):
        fill(p, side, px, qty)
    assert state(p) == before


def test_position_bad_mark_px_raises_value_error() -> None:
    p = Position(0, 0)
    with pytest.raises(ValueError, match="mark"):
        p.unrealized_pnl(Px(0))
    with pytest.raises(ValueError, match="mark"):
        p.notional(Px(-1))


def test_position_fill_notional_overflow_raises_number_error_and_keeps_state() -> None:
    p = Position(0, 0)
    with pytest.raises(NumberError, match="fill notional"):
        fill(p, BUY, 2, INT64_MAX // 2 + 1)
    assert state(p) == (0, 0, 0, 0, 0, True)


def test_position_cost_overflow_on_add_raises_number_error_and_keeps_state() -> None:
    p = Position(0, 0)
    fill(p, SELL, 2**62, 1)
    with pytest.raises(NumberError, match="cost"):
        fill(p, SELL, 2**62, 1)
    assert state(p) == (-1, -(2**62), 0, 1, 2**62, False)


def test_position_qty_overflow_on_add_raises_number_error() -> None:
    p = Position(0, 0)
    fill(p, BUY, 1, 2**62)
    with pytest.raises(NumberError, match="qty"):
        fill(p, BUY, 1, 2**62)
    assert p.qty == 2**62


def test_position_realized_overflow_raises_number_error_and_keeps_state() -> None:
    p = Position(0, 0)
    for _ in range(2):
        fill(p, BUY, 1, 1)
        fill(p, SELL, 2**62, 1)
    fill(p, BUY, 1, 1)
    before = state(p)
    with pytest.raises(NumberError, match="realized"):
        fill(p, SELL, 2**62, 1)
    assert state(p) == before


def test_position_unrealized_and_notional_overflow_raise_number_error() -> None:
    p = Position(0, 0)
    fill(p, BUY, 1, 2**40)
    with pytest.raises(NumberError, match="unrealized"):
        p.unrealized_pnl(Px(2**30))
    with pytest.raises(NumberError, match="notional"):
        p.notional(Px(2**30))


def test_position_entry_px_at_int64_max_price_does_not_overflow() -> None:
    p = Position(0, 0)
    fill(p, SELL, INT64_MAX, 1)
    assert p.entry_px == INT64_MAX
    assert fill(p, BUY, INT64_MAX, 1) == 0


# ---- differential against the twin ------------------------------------------------------------

# mode 0: free qty; 1: close exactly; 2: flip by k; 3: huge qty (overflow paths)
steps = st.lists(
    st.tuples(
        st.sampled_from([BUY, SELL]),
        st.one_of(st.integers(1, 200), st.integers(1, 200), st.integers(1, 2**40)),
        st.sampled_from([0, 0, 0, 1, 2, 3]),
        st.integers(1, 60),
    ),
    max_size=60,
)


@settings(derandomize=True, max_examples=400, deadline=None, database=None)
@given(price_dp=st.integers(0, 9), qty_dp=st.integers(0, 9), ops=steps)
def test_position_random_fills_match_twin_and_keep_identities(
    price_dp: int, qty_dp: int, ops: list[tuple[int, int, int, int]]
) -> None:
    p, ref = Position(price_dp, qty_dp), PositionRef(price_dp, qty_dp)
    cash = 0  # sum(sell px * qty) - sum(buy px * qty) of the applied fills
    lo = hi = 0  # price range of the fills that opened or added to the open qty
    for side, px, mode, k in ops:
        if mode in (1, 2) and p.qty != 0:
            side = SELL if p.qty > 0 else BUY
            qty = abs(p.qty) + (k if mode == 2 else 0)
        else:
            qty = 2**61 + k if mode == 3 else k
        was_qty = p.qty
        got = outcome(p, "apply_fill", side, px, qty)
        assert got == outcome(ref, "apply_fill", side, px, qty), (side, px, qty, ref.__dict__)
        assert state(p) == state(ref)
        for mark in (1, px):
            for method in ("unrealized_pnl", "notional"):
                assert outcome(p, method, mark) == outcome(ref, method, mark)
        assert p.check_invariants() == 0
        assert ref.check_invariants() == 0
        if got[0] == "ok":
            cash += px * qty if side == SELL else -px * qty
            signed = qty if side == BUY else -qty
            if was_qty == 0 or (was_qty > 0) != (p.qty > 0):
                lo = hi = px  # opened or flipped: the open qty is all at px
            elif (was_qty > 0) == (signed > 0):
                lo, hi = min(lo, px), max(hi, px)
        assert p.realized_pnl == cash + p.cost
        if p.is_flat:
            assert p.realized_pnl == cash
        else:
            assert abs(p.qty) * lo <= abs(p.cost) <= abs(p.qty) * hi
            assert lo <= p.entry_px <= hi


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(
    fills=st.lists(
        st.tuples(st.sampled_from([BUY, SELL]), st.integers(1, 10**9), st.integers(1, 10**6)),
        min_size=1,
        max_size=40,
    )
)
def test_position_round_trip_realized_equals_sells_minus_buys(
    fills: list[tuple[int, int, int]],
) -> None:
    p = Position(4, 4)
    total = 0
    for side, px, qty in fills:
        total += fill(p, side, px, qty)
    last_px = fills[-1][1]
    if p.qty != 0:  # close at the last px to end flat
        total += fill(p, SELL if p.qty > 0 else BUY, last_px, abs(p.qty))
    sells = sum(px * q for s, px, q in fills if s == SELL)
    buys = sum(px * q for s, px, q in fills if s == BUY)
    net = sum(q if s == BUY else -q for s, px, q in fills)
    closing = net * last_px  # the closing fill's cash flow: sells a long, buys a short
    assert p.is_flat
    assert total == p.realized_pnl == sells - buys + closing
