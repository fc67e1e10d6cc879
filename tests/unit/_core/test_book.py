"""L2 book: every method and edge case, then differential runs against the SortedDict twin."""

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.unit._core.reference.book_ref import BookRef
from veloz._core.book import Book
from veloz._core.book import Side
from veloz.errors import InvariantError
from veloz.errors import NumberError
from veloz.errors import WireError

BID = Side.BID
ASK = Side.ASK
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def arr(xs: list[int]) -> np.ndarray:
    return np.array(xs, dtype=np.int64)


def levels(book: Book | BookRef, side: int) -> list[tuple[int, int]]:
    """All levels of a side, best first, as Python ints."""
    px, qty = book.top_n(side, book.n_levels(side))
    return list(zip(px.tolist(), qty.tolist(), strict=True))


def make_book(bids: list[tuple[int, int]], asks: list[tuple[int, int]], **kw: Any) -> Book:
    book = Book(2, 8, **kw)
    for px, qty in bids:
        book.apply_level(BID, px, qty)
    for px, qty in asks:
        book.apply_level(ASK, px, qty)
    return book


# ---- construction -------------------------------------------------------------------------------


def test_book_new_is_empty_everywhere() -> None:
    book = Book(2, 8)
    assert (book.price_dp, book.qty_dp) == (2, 8)
    assert book.n_levels(BID) == book.n_levels(ASK) == 0
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert book.spread() is None
    assert book.mid_x2() is None
    assert not book.is_crossed()
    assert book.n_levels_applied == book.n_delete_missing == 0
    assert book.check_invariants() == 0


@pytest.mark.parametrize(("price_dp", "qty_dp"), [(-1, 8), (19, 8), (2, -1), (2, 19)])
def test_book_init_dp_outside_0_18_raises_value_error(price_dp: int, qty_dp: int) -> None:
    with pytest.raises(ValueError, match=r"dp must be 0\.\.18"):
        Book(price_dp, qty_dp)


def test_book_init_dp_bounds_0_and_18_accepted() -> None:
    assert Book(0, 18).qty_dp == 18
    assert Book(18, 0).price_dp == 18


def test_book_init_negative_capacity_raises_value_error() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Book(2, 8, capacity=-1)


@pytest.mark.parametrize("capacity", [0, 1, 3])
def test_book_small_capacity_grows_past_it(capacity: int) -> None:
    book = Book(2, 8, capacity=capacity)
    for px in range(1, 101):
        book.apply_level(BID, px, px)
    book.apply_batch(ASK, arr(list(range(200, 300))), arr([1] * 100))
    assert book.n_levels(BID) == book.n_levels(ASK) == 100
    assert book.best_bid() == (100, 100)
    assert book.best_ask() == (200, 1)
    book.check_invariants()


def test_book_repr_shows_best_levels_and_counts() -> None:
    book = make_book([(100, 5), (99, 1)], [(101, 3)])
    text = repr(book)
    assert "bid=(100, 5)" in text
    assert "ask=(101, 3)" in text
    assert "n_bids=2" in text
    assert "n_asks=1" in text


def test_book_repr_empty_book_shows_none() -> None:
    assert "bid=None ask=None" in repr(Book(2, 8))


# ---- apply_level --------------------------------------------------------------------------------


def test_book_apply_level_bids_best_is_highest() -> None:
    book = make_book([(100, 1), (102, 2), (101, 3)], [])
    assert levels(book, BID) == [(102, 2), (101, 3), (100, 1)]
    assert book.best_bid() == (102, 2)


def test_book_apply_level_asks_best_is_lowest() -> None:
    book = make_book([], [(105, 1), (103, 2), (104, 3)])
    assert levels(book, ASK) == [(103, 2), (104, 3), (105, 1)]
    assert book.best_ask() == (103, 2)


def test_book_apply_level_existing_price_replaces_qty() -> None:
    book = make_book([(100, 1), (99, 2)], [(101, 1)])
    book.apply_level(BID, 99, 7)
    assert levels(book, BID) == [(100, 1), (99, 7)]
    assert book.n_levels(BID) == 2


def test_book_apply_level_zero_qty_deletes_level() -> None:
    book = make_book([(100, 1), (99, 2), (98, 3)], [])
    book.apply_level(BID, 99, 0)
    assert levels(book, BID) == [(100, 1), (98, 3)]
    assert book.n_delete_missing == 0


def test_book_delete_missing_level_counts_and_keeps_book() -> None:
    book = make_book([(100, 1), (98, 3)], [(101, 1)])
    before = (levels(book, BID), levels(book, ASK))
    assert book.apply_level(BID, 99, 0) is False
    book.apply_level(ASK, 500, 0)
    assert book.n_delete_missing == 2
    assert (levels(book, BID), levels(book, ASK)) == before
    book.check_invariants()


def test_book_delete_on_empty_side_counts_missing() -> None:
    book = Book(2, 8, capacity=0)
    book.apply_level(ASK, 1, 0)
    assert book.n_delete_missing == 1
    assert book.n_levels(ASK) == 0


def test_book_apply_level_every_call_counts_as_applied() -> None:
    book = Book(2, 8)
    book.apply_level(BID, 100, 1)  # insert
    book.apply_level(BID, 100, 2)  # replace
    book.apply_level(BID, 100, 0)  # delete
    book.apply_level(BID, 100, 0)  # delete missing
    assert book.n_levels_applied == 4
    assert book.n_delete_missing == 1


def test_book_apply_level_negative_qty_raises_wire_error_and_keeps_book() -> None:
    book = make_book([(100, 1)], [(101, 1)])
    with pytest.raises(WireError, match=r"negative qty -5 at px 100 on the bid side"):
        book.apply_level(BID, 100, -5)
    assert levels(book, BID) == [(100, 1)]
    assert book.n_levels_applied == 2


def test_book_apply_level_px_beyond_int64_raises_overflow_error() -> None:
    with pytest.raises(OverflowError):
        Book(2, 8).apply_level(BID, 2**63, 1)


@pytest.mark.parametrize("side", [-1, 2, 255])
@pytest.mark.parametrize(
    "call",
    [
        lambda b, s: b.apply_level(s, 1, 1),
        lambda b, s: b.apply_batch(s, arr([1]), arr([1])),
        lambda b, s: b.n_levels(s),
        lambda b, s: b.level(s, 0),
        lambda b, s: b.top_n(s, 1),
        lambda b, s: b.qty_in_band(s, 0, 10),
    ],
    ids=["apply_level", "apply_batch", "n_levels", "level", "top_n", "qty_in_band"],
)
def test_book_bad_side_raises_value_error(call: Callable[[Book, int], object], side: int) -> None:
    book = make_book([(1, 1)], [(2, 1)])
    with pytest.raises(ValueError, match="side must be BID"):
        call(book, side)
    assert book.n_levels_applied == 2


def test_book_apply_level_crossing_update_returns_true_and_is_crossed() -> None:
    book = make_book([(100, 1)], [(102, 1)])
    assert book.apply_level(BID, 101, 1) is False
    assert book.apply_level(BID, 103, 1) is True
    assert book.is_crossed()
    assert book.spread() == -1


def test_book_apply_level_locked_book_counts_as_crossed() -> None:
    book = make_book([(100, 1)], [(101, 1)])
    assert book.apply_level(ASK, 100, 1) is True


def test_book_apply_level_uncrossing_delete_returns_false() -> None:
    book = make_book([(100, 1), (103, 1)], [(102, 1)])
    assert book.is_crossed()
    assert book.apply_level(BID, 103, 0) is False
    assert not book.is_crossed()


def test_book_one_sided_book_is_not_crossed() -> None:
    assert make_book([(100, 1)], []).apply_level(BID, 10**12, 1) is False


# ---- apply_batch --------------------------------------------------------------------------------


def test_book_apply_batch_applies_in_order() -> None:
    book = make_book([(100, 1)], [])
    book.apply_batch(BID, arr([99, 99, 100, 98, 98]), arr([5, 6, 0, 1, 0]))
    assert levels(book, BID) == [(99, 6)]
    assert book.n_levels_applied == 6
    assert book.n_delete_missing == 0


def test_book_apply_batch_counts_missing_deletes() -> None:
    book = make_book([(100, 1)], [])
    book.apply_batch(BID, arr([97, 100, 100]), arr([0, 0, 0]))
    assert book.n_delete_missing == 2
    assert book.n_levels(BID) == 0


def test_book_apply_batch_crossing_returns_true() -> None:
    book = make_book([(100, 1)], [(102, 1)])
    assert book.apply_batch(ASK, arr([101, 99]), arr([1, 1])) is True
    assert book.is_crossed()
    assert book.apply_batch(ASK, arr([99, 100]), arr([0, 0])) is False


def test_book_apply_batch_empty_changes_nothing() -> None:
    book = make_book([(100, 1)], [(99, 1)])
    assert book.apply_batch(BID, arr([]), arr([])) is True
    assert book.n_levels_applied == 2


def test_book_apply_batch_length_mismatch_raises_value_error() -> None:
    book = Book(2, 8)
    with pytest.raises(ValueError, match="lengths differ: 2 != 1"):
        book.apply_batch(BID, arr([1, 2]), arr([1]))


def test_book_apply_batch_negative_qty_raises_before_any_change() -> None:
    book = make_book([(100, 1)], [])
    with pytest.raises(WireError, match=r"negative qty -1 at px 98 on the ask side"):
        book.apply_batch(ASK, arr([99, 98, 97]), arr([1, -1, 1]))
    assert book.n_levels(ASK) == 0
    assert book.n_levels_applied == 1


def test_book_apply_batch_wrong_dtype_raises_value_error() -> None:
    with pytest.raises(ValueError, match="dtype mismatch"):
        Book(2, 8).apply_batch(BID, np.array([1], dtype=np.int32), arr([1]))


def test_book_apply_batch_none_raises_type_error() -> None:
    with pytest.raises(TypeError):
        Book(2, 8).apply_batch(BID, None, arr([1]))  # type: ignore[arg-type]


def test_book_apply_batch_read_only_arrays_accepted() -> None:
    px, qty = arr([100, 99]), arr([1, 2])
    px.flags.writeable = qty.flags.writeable = False
    book = Book(2, 8)
    book.apply_batch(BID, px, qty)
    book.load_snapshot(px, qty, px + 10, qty)
    assert book.best_bid() == (100, 1)


def test_book_apply_batch_non_contiguous_raises_value_error() -> None:
    with pytest.raises(ValueError):
        Book(2, 8).apply_batch(BID, arr([1, 2, 3, 4])[::2], arr([1, 1]))


# ---- size, spikes -------------------------------------------------------------------------------


def test_book_6000_levels_a_side_shuffled_inserts_keep_invariants() -> None:
    rng = random.Random(6000)
    bid_px = list(range(1_000_000, 1_000_000 - 6000, -1))
    ask_px = list(range(1_000_001, 1_000_001 + 6000))
    book = Book(2, 8, capacity=16)
    for side, pxs in ((BID, bid_px), (ASK, ask_px)):
        order = pxs[:]
        rng.shuffle(order)
        for px in order:
            book.apply_level(side, px, px % 97 + 1)
    book.check_invariants()
    assert levels(book, BID) == [(p, p % 97 + 1) for p in bid_px]
    assert levels(book, ASK) == [(p, p % 97 + 1) for p in ask_px]


def test_book_6000_levels_a_side_batch_deletes_in_random_order_empty_the_book() -> None:
    rng = random.Random(6001)
    bid_px = list(range(6000))
    rng.shuffle(bid_px)
    book = Book(2, 8)
    book.apply_batch(BID, arr(bid_px), arr([1] * 6000))
    assert book.n_levels(BID) == 6000
    book.check_invariants()
    rng.shuffle(bid_px)
    book.apply_batch(BID, arr(bid_px[:3000]), arr([0] * 3000))
    book.check_invariants()
    assert levels(book, BID) == [(p, 1) for p in sorted(bid_px[3000:], reverse=True)]
    book.apply_batch(BID, arr(bid_px[3000:]), arr([0] * 3000))
    assert book.n_levels(BID) == 0
    assert book.n_delete_missing == 0


@pytest.mark.parametrize(
    ("side", "spike"),
    [(BID, 1), (BID, INT64_MIN), (ASK, 10**15), (ASK, INT64_MAX)],
    ids=["bid-deep", "bid-int64-min", "ask-deep", "ask-int64-max"],
)
def test_book_spike_far_from_touch_inserted_then_deleted(side: int, spike: int) -> None:
    bids = [(100_000 - i, 1) for i in range(5000)]
    asks = [(100_001 + i, 1) for i in range(5000)]
    book = make_book(bids, asks)
    before = levels(book, side)
    book.apply_level(side, spike, 42)
    assert book.level(side, 5000) == (spike, 42)  # the worst level
    assert book.n_levels(side) == 5001
    book.check_invariants()
    book.apply_level(side, spike, 0)
    assert levels(book, side) == before
    assert book.n_delete_missing == 0


def test_book_spike_through_the_touch_crosses_then_delete_uncrosses() -> None:
    book = make_book([(100 - i, 1) for i in range(50)], [(101 + i, 1) for i in range(50)])
    assert book.apply_level(BID, 10**12, 1) is True
    assert book.best_bid() == (10**12, 1)
    assert book.apply_level(BID, 10**12, 0) is False
    assert book.best_bid() == (100, 1)


# ---- load_snapshot ------------------------------------------------------------------------------


def test_book_load_snapshot_wire_order_loads_every_level() -> None:
    book = Book(2, 8)
    crossed = book.load_snapshot(arr([100, 99, 97]), arr([1, 2, 3]), arr([101, 102]), arr([4, 5]))
    assert crossed is False
    assert levels(book, BID) == [(100, 1), (99, 2), (97, 3)]
    assert levels(book, ASK) == [(101, 4), (102, 5)]
    book.check_invariants()


def test_book_load_snapshot_shuffled_equals_wire_order() -> None:
    rng = random.Random(11)
    bids = [(1000 - 3 * i, i + 1) for i in range(500)]
    asks = [(1001 + 2 * i, i + 7) for i in range(500)]
    wire = Book(2, 8)
    wire.load_snapshot(*map(arr, zip(*bids, strict=True)), *map(arr, zip(*asks, strict=True)))
    rng.shuffle(bids)
    rng.shuffle(asks)
    shuffled = Book(2, 8)
    shuffled.load_snapshot(*map(arr, zip(*bids, strict=True)), *map(arr, zip(*asks, strict=True)))
    shuffled.check_invariants()
    assert levels(shuffled, BID) == levels(wire, BID)
    assert levels(shuffled, ASK) == levels(wire, ASK)


def test_book_load_snapshot_storage_order_input_loads_sorted() -> None:
    book = Book(2, 8)
    book.load_snapshot(arr([97, 99, 100]), arr([3, 2, 1]), arr([102, 101]), arr([5, 4]))
    assert levels(book, BID) == [(100, 1), (99, 2), (97, 3)]
    assert levels(book, ASK) == [(101, 4), (102, 5)]


def test_book_load_snapshot_duplicate_prices_last_wins() -> None:
    book = Book(2, 8)
    book.load_snapshot(arr([100, 99, 100, 100]), arr([1, 2, 3, 4]), arr([101, 101]), arr([7, 8]))
    assert levels(book, BID) == [(100, 4), (99, 2)]
    assert levels(book, ASK) == [(101, 8)]
    book.check_invariants()


def test_book_load_snapshot_zero_qty_entries_skipped() -> None:
    book = Book(2, 8)
    book.load_snapshot(arr([100, 99, 98]), arr([1, 0, 3]), arr([103, 101, 101]), arr([0, 5, 0]))
    assert levels(book, BID) == [(100, 1), (98, 3)]
    assert levels(book, ASK) == [(101, 5)]  # the later 0 neither sets nor deletes
    assert book.n_delete_missing == 0


def test_book_load_snapshot_replaces_book_and_keeps_counters() -> None:
    book = make_book([(50, 1), (49, 1)], [(51, 1)])
    book.apply_level(BID, 1, 0)
    book.load_snapshot(arr([10]), arr([1]), arr([]), arr([]))
    assert levels(book, BID) == [(10, 1)]
    assert book.n_levels(ASK) == 0
    assert (book.n_levels_applied, book.n_delete_missing) == (4, 1)


def test_book_load_snapshot_crossed_returns_true() -> None:
    book = Book(2, 8)
    assert book.load_snapshot(arr([101, 100]), arr([1, 1]), arr([100, 102]), arr([1, 1])) is True
    assert book.is_crossed()
    book.check_invariants(allow_crossed=True)


def test_book_load_snapshot_negative_qty_raises_and_keeps_book() -> None:
    book = make_book([(50, 1)], [(51, 1)])
    with pytest.raises(WireError, match=r"negative qty -2 at px 60 on the ask side"):
        book.load_snapshot(arr([10]), arr([1]), arr([60]), arr([-2]))
    assert levels(book, BID) == [(50, 1)]
    assert levels(book, ASK) == [(51, 1)]


def test_book_load_snapshot_length_mismatch_raises_value_error() -> None:
    with pytest.raises(ValueError, match="ask px and qty lengths differ"):
        Book(2, 8).load_snapshot(arr([1]), arr([1]), arr([2, 3]), arr([1]))


def test_book_load_snapshot_empty_clears_book() -> None:
    book = make_book([(50, 1)], [(51, 1)])
    assert book.load_snapshot(arr([]), arr([]), arr([]), arr([])) is False
    assert book.n_levels(BID) == book.n_levels(ASK) == 0


def test_book_load_snapshot_larger_than_capacity_grows() -> None:
    book = Book(2, 8, capacity=2)
    book.load_snapshot(arr(list(range(7000, 0, -1))), arr([1] * 7000), arr([7001]), arr([1]))
    assert book.n_levels(BID) == 7000
    book.check_invariants()


# ---- queries ------------------------------------------------------------------------------------


def test_book_clear_empties_both_sides_and_keeps_counters() -> None:
    book = make_book([(50, 1)], [(51, 1)])
    book.clear()
    assert book.n_levels(BID) == book.n_levels(ASK) == 0
    assert book.best_bid() is None
    assert book.n_levels_applied == 2
    book.apply_level(BID, 1, 1)
    assert book.best_bid() == (1, 1)


def test_book_spread_and_mid_x2_are_exact_ints() -> None:
    book = make_book([(6_500_001, 1)], [(6_500_004, 2)])
    assert book.spread() == 3
    assert book.mid_x2() == 13_000_005  # mid = 65000.025 at dp 2: exact, no float


def test_book_spread_and_mid_x2_do_not_overflow_at_int64_bounds() -> None:
    book = make_book([(INT64_MIN, 1)], [(INT64_MAX, 1)])
    assert book.spread() == 2**64 - 1
    assert book.mid_x2() == -1
    book2 = make_book([(INT64_MAX - 1, 1)], [(INT64_MAX, 1)])
    assert book2.mid_x2() == 2 * INT64_MAX - 1


def test_book_spread_one_side_empty_is_none() -> None:
    book = make_book([(100, 1)], [])
    assert book.spread() is None
    assert book.mid_x2() is None
    assert book.best_ask() is None


def test_book_level_zero_is_best_and_last_is_worst() -> None:
    book = make_book([(100, 1), (99, 2), (98, 3)], [(101, 4), (102, 5)])
    assert book.level(BID, 0) == (100, 1)
    assert book.level(BID, 2) == (98, 3)
    assert book.level(ASK, 0) == (101, 4)
    assert book.level(ASK, 1) == (102, 5)


@pytest.mark.parametrize("i", [-1, 3, 10**6])
def test_book_level_index_out_of_range_raises_index_error(i: int) -> None:
    book = make_book([(100, 1), (99, 2), (98, 3)], [])
    with pytest.raises(IndexError, match="out of range"):
        book.level(BID, i)


def test_book_level_on_empty_side_raises_index_error() -> None:
    with pytest.raises(IndexError):
        Book(2, 8).level(ASK, 0)


def test_book_top_n_returns_best_first_int64_arrays() -> None:
    book = make_book([(100, 1), (99, 2), (98, 3)], [(101, 4), (102, 5)])
    px, qty = book.top_n(BID, 2)
    assert px.dtype == qty.dtype == np.int64
    assert px.tolist() == [100, 99]
    assert qty.tolist() == [1, 2]
    px, qty = book.top_n(ASK, 1)
    assert (px.tolist(), qty.tolist()) == ([101], [4])


def test_book_top_n_beyond_size_returns_every_level() -> None:
    book = make_book([(100, 1), (99, 2)], [])
    px, qty = book.top_n(BID, 50)
    assert px.tolist() == [100, 99]
    assert len(qty) == 2
    px, qty = book.top_n(ASK, 50)
    assert len(px) == len(qty) == 0


def test_book_top_n_zero_returns_empty_arrays() -> None:
    px, qty = make_book([(100, 1)], []).top_n(BID, 0)
    assert len(px) == len(qty) == 0


def test_book_top_n_negative_raises_value_error() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        Book(2, 8).top_n(BID, -1)


def test_book_top_n_returns_copies() -> None:
    book = make_book([(100, 1)], [])
    px, _ = book.top_n(BID, 1)
    px[0] = 5
    assert book.best_bid() == (100, 1)


@pytest.fixture
def band_book() -> Book:
    return make_book([(100, 1), (99, 2), (97, 4)], [(101, 10), (102, 20), (105, 40)])


@pytest.mark.parametrize(
    ("side", "lo", "hi", "total"),
    [
        (BID, 97, 100, 7),  # both ends inclusive
        (BID, 98, 99, 2),
        (BID, 98, 98, 0),  # no level inside
        (BID, 100, 100, 1),  # one price
        (BID, 101, 200, 0),  # above the book
        (BID, 0, 96, 0),  # below the book
        (BID, 100, 97, 0),  # inverted band
        (BID, INT64_MIN, INT64_MAX, 7),
        (ASK, 101, 102, 30),
        (ASK, 102, 105, 60),
        (ASK, 103, 104, 0),
        (ASK, 105, INT64_MAX, 40),
        (ASK, INT64_MIN, 101, 10),
        (ASK, INT64_MAX, INT64_MIN, 0),
    ],
)
def test_book_qty_in_band_sums_levels_inside_inclusive_band(
    band_book: Book, side: int, lo: int, hi: int, total: int
) -> None:
    assert band_book.qty_in_band(side, lo, hi) == total


def test_book_qty_in_band_empty_side_is_zero() -> None:
    assert Book(2, 8).qty_in_band(ASK, INT64_MIN, INT64_MAX) == 0


def test_book_qty_in_band_int64_overflow_raises_number_error() -> None:
    book = make_book([(1, INT64_MAX), (2, 1)], [])
    assert book.qty_in_band(BID, 1, 1) == INT64_MAX
    with pytest.raises(NumberError, match="does not fit int64"):
        book.qty_in_band(BID, 1, 2)


def test_book_qty_in_band_sum_exactly_int64_max_is_exact() -> None:
    book = make_book([], [(1, INT64_MAX - 5), (2, 5)])
    assert book.qty_in_band(ASK, 1, 2) == INT64_MAX


def test_book_check_invariants_crossed_raises_unless_allowed() -> None:
    book = make_book([(101, 1)], [(100, 1)])
    with pytest.raises(InvariantError, match="crossed"):
        book.check_invariants()
    assert book.check_invariants(allow_crossed=True) == 0


def test_book_invariant_error_is_assertion_error() -> None:
    assert issubclass(InvariantError, AssertionError)


# ---- differential: Book against BookRef ---------------------------------------------------------


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', value) or ('err', exception class): errors must match as well as values."""
    try:
        value = fn()
    except (ValueError, IndexError, OverflowError, NumberError, WireError) as exc:
        return ("err", type(exc))
    if isinstance(value, tuple) and value and isinstance(value[0], np.ndarray):
        return ("ok", tuple(v.tolist() for v in value))
    return ("ok", value)


def assert_same(book: Book, ref: BookRef, bands: list[tuple[int, int]]) -> None:
    for side in (BID, ASK):
        n = ref.n_levels(side)
        assert book.n_levels(side) == n
        assert levels(book, side) == ref.levels(side)
        for k in (0, 1, 5, n + 3):
            assert outcome(lambda s=side, k=k: book.top_n(s, k)) == outcome(
                lambda s=side, k=k: ref.top_n(s, k)
            )
        for i in (0, n - 1, n):
            assert outcome(lambda s=side, i=i: book.level(s, i)) == outcome(
                lambda s=side, i=i: ref.level(s, i)
            )
        for lo, hi in bands:
            assert outcome(lambda s=side, lo=lo, hi=hi: book.qty_in_band(s, lo, hi)) == outcome(
                lambda s=side, lo=lo, hi=hi: ref.qty_in_band(s, lo, hi)
            )
    assert book.best_bid() == ref.best_bid()
    assert book.best_ask() == ref.best_ask()
    assert book.spread() == ref.spread()
    assert book.mid_x2() == ref.mid_x2()
    assert book.is_crossed() == ref.is_crossed()
    assert book.n_levels_applied == ref.n_levels_applied
    assert book.n_delete_missing == ref.n_delete_missing
    assert book.check_invariants(allow_crossed=True) == 0


NEAR_PX = st.integers(9_950, 10_050)
FAR_PX = st.sampled_from([INT64_MIN, INT64_MIN + 1, -1, 0, 1, 10**15, INT64_MAX - 1, INT64_MAX])
PX = st.one_of(NEAR_PX, NEAR_PX, NEAR_PX, FAR_PX)  # spikes one draw in four at most
QTY = st.one_of(st.integers(1, 1_000_000), st.just(INT64_MAX))
UPDATE_QTY = st.one_of(st.just(0), QTY)
SIDE = st.sampled_from([BID, ASK])
UPDATES = st.lists(st.tuples(PX, UPDATE_QTY), max_size=40)
OPS = st.one_of(
    st.tuples(st.just("set"), SIDE, PX, QTY),
    st.tuples(st.just("delete"), SIDE, PX),
    st.tuples(st.just("batch"), SIDE, UPDATES),
    st.tuples(st.just("snapshot"), UPDATES, UPDATES, st.booleans()),
    st.tuples(st.just("bad_qty"), SIDE, PX, st.integers(INT64_MIN, -1), st.booleans()),
    st.tuples(st.just("clear")),
)


def split(updates: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    return [p for p, _ in updates], [q for _, q in updates]


def wire_order(updates: list[tuple[int, int]], side: int) -> list[tuple[int, int]]:
    best = dict(updates)  # last duplicate wins, as in load_snapshot
    return sorted(best.items(), reverse=side == BID)


def run_op(target: Book | BookRef, op: tuple[Any, ...]) -> tuple[str, Any]:
    kind = op[0]
    if kind == "set":
        return outcome(lambda: target.apply_level(op[1], op[2], op[3]))
    if kind == "delete":
        return outcome(lambda: target.apply_level(op[1], op[2], 0))
    if kind == "batch":
        px, qty = split(op[2])
        return outcome(lambda: target.apply_batch(op[1], arr(px), arr(qty)))
    if kind == "snapshot":
        bids, asks = op[1], op[2]
        if op[3]:  # in wire order: the fast path
            bids, asks = wire_order(bids, BID), wire_order(asks, ASK)
        (bp, bq), (ap, aq) = split(bids), split(asks)
        return outcome(lambda: target.load_snapshot(arr(bp), arr(bq), arr(ap), arr(aq)))
    if kind == "bad_qty":
        _, side, px, qty, as_batch = op
        if as_batch:
            return outcome(lambda: target.apply_batch(side, arr([px, px]), arr([1, qty])))
        return outcome(lambda: target.apply_level(side, px, qty))
    assert kind == "clear"
    target.clear()
    return ("ok", None)


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(
    capacity=st.sampled_from([0, 1, 8, 1024]),
    ops=st.lists(st.tuples(OPS, st.lists(st.tuples(PX, PX), max_size=3)), max_size=30),
)
def test_book_matches_reference_after_every_random_step(
    capacity: int, ops: list[tuple[tuple[Any, ...], list[tuple[int, int]]]]
) -> None:
    book = Book(2, 8, capacity=capacity)
    ref = BookRef(2, 8, capacity=capacity)
    fixed_bands = [(INT64_MIN, INT64_MAX), (9_990, 10_010), (10_000, 10_000)]
    for op, bands in ops:
        assert run_op(book, op) == run_op(ref, op), op
        assert_same(book, ref, fixed_bands + bands)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_book_matches_reference_on_long_deep_near_touch_stream(seed: int) -> None:
    """Thousands of levels (the bisection path), near-touch-heavy updates, occasional spikes."""
    rng = random.Random(seed)
    mid = 5_000_000
    book, ref = Book(2, 8, capacity=64), BookRef(2, 8)
    bids = [(mid - 1 - i, rng.randint(1, 10**6)) for i in range(3000) if rng.random() < 0.8]
    asks = [(mid + 1 + i, rng.randint(1, 10**6)) for i in range(3000) if rng.random() < 0.8]
    snap = (*split(bids), *split(asks))
    assert book.load_snapshot(*map(arr, snap)) == ref.load_snapshot(*snap) is False

    def draw() -> tuple[int, int]:
        depth = min(int(rng.expovariate(0.15)), 4000) if rng.random() < 0.97 else 10**9
        qty = 0 if rng.random() < 0.3 else rng.randint(1, 10**6)
        return depth, qty

    for step in range(4000):
        side = rng.choice((BID, ASK))
        sign = -1 if side == BID else 1
        if rng.random() < 0.5:
            depth, qty = draw()
            assert book.apply_level(side, mid + sign * (1 + depth), qty) == ref.apply_level(
                side, mid + sign * (1 + depth), qty
            )
        else:
            ups = [draw() for _ in range(rng.randint(1, 20))]
            px = [mid + sign * (1 + d) for d, _ in ups]
            qty = [q for _, q in ups]
            assert book.apply_batch(side, arr(px), arr(qty)) == ref.apply_batch(side, px, qty)
        if step % 500 == 0:
            assert_same(book, ref, [(mid - 100, mid + 100), (mid - 10**10, mid)])
            book.check_invariants()
    assert_same(book, ref, [(INT64_MIN, INT64_MAX)])
    assert book.n_delete_missing > 0
