"""DepthSync: Binance's local-order-book procedure, branch by branch for spot and USD-M.

Hand-made sequences script every transition: construction, sync from buffered diffs, the exact
first-event boundaries, snapshots older or newer than the buffer, buffering, LIVE, crossed books
and reset. Seeded random streams against the twin and the real captures are in
test_depth_sync_streams.py.
"""

import pytest

from tests.unit._core.depth_sync_cases import SNAP_ASKS
from tests.unit._core.depth_sync_cases import SNAP_BIDS
from tests.unit._core.depth_sync_cases import SPOT
from tests.unit._core.depth_sync_cases import USDM
from tests.unit._core.depth_sync_cases import assert_awaiting_empty
from tests.unit._core.depth_sync_cases import book_of
from tests.unit._core.depth_sync_cases import diff
from tests.unit._core.depth_sync_cases import expect
from tests.unit._core.depth_sync_cases import new_sync
from tests.unit._core.depth_sync_cases import snap
from veloz._core.book import Book
from veloz._core.book import Side
from veloz._core.depth import DepthMsg
from veloz._core.depth_sync import DepthSync
from veloz._core.depth_sync import SyncState
from veloz._core.depth_sync import SyncStatus

# ---- construction -----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [SPOT, USDM], ids=["spot", "usdm"])
def test_sync_new_awaits_snapshot_and_clears_book(rule: int) -> None:
    book = Book(0, 0)
    book.apply_level(Side.BID, 50, 1)
    sync = DepthSync(book, rule)
    assert sync.book is book
    assert sync.rule == rule
    assert sync.max_buffered == 10000
    assert sync.n_buffered == 0
    assert_awaiting_empty(sync)
    expect(sync)


@pytest.mark.parametrize("rule", [-1, 2, 7])
def test_sync_bad_rule_raises_value_error(rule: int) -> None:
    with pytest.raises(ValueError, match="rule must be"):
        DepthSync(Book(0, 0), rule)


@pytest.mark.parametrize("max_buffered", [0, -5])
def test_sync_max_buffered_below_one_raises_value_error(max_buffered: int) -> None:
    with pytest.raises(ValueError, match="max_buffered"):
        DepthSync(Book(0, 0), SPOT, max_buffered)


def test_sync_none_book_raises_type_error() -> None:
    with pytest.raises(TypeError):
        DepthSync(None, SPOT)  # type: ignore[arg-type]


def test_sync_none_message_raises_type_error() -> None:
    sync = new_sync(SPOT)
    with pytest.raises(TypeError, match="on_diff"):
        sync.on_diff(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="on_snapshot"):
        sync.on_snapshot(None)  # type: ignore[arg-type]
    expect(sync)


def test_sync_repr_names_rule_and_state() -> None:
    sync = new_sync(USDM)
    sync.on_diff(diff(10, 12, 9))
    assert repr(sync) == "DepthSync(rule=USDM state=AWAIT_SNAPSHOT update_id=-1 buffered=1)"


# ---- normal sync from buffered diffs ----------------------------------------------------------


def test_spot_buffered_diffs_then_snapshot_syncs_and_replays_in_order() -> None:
    sync = new_sync(SPOT)
    assert sync.on_diff(diff(101, 101, bids=[(99, 11)])) == SyncStatus.BUFFERED
    assert sync.on_diff(diff(102, 104, asks=[(101, 0), (103, 5)])) == SyncStatus.BUFFERED
    assert sync.on_diff(diff(105, 105, bids=[(99, 12), (97, 1)])) == SyncStatus.BUFFERED
    assert sync.n_buffered == 3
    assert book_of(sync) == ([], [])

    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.is_live
    assert not sync.needs_snapshot
    assert sync.state == SyncState.LIVE
    assert sync.update_id == 105
    assert sync.n_buffered == 0
    assert book_of(sync) == ([(99, 12), (98, 20), (97, 1)], [(102, 20), (103, 5)])
    expect(sync, n_diffs=3, n_applied=3, n_snapshots=1)


def test_usdm_buffered_diffs_then_snapshot_syncs_and_replays_in_order() -> None:
    sync = new_sync(USDM)
    assert sync.on_diff(diff(95, 103, 90, bids=[(99, 11)])) == SyncStatus.BUFFERED
    # U far above prev u + 1 is normal on USD-M: only pu chains.
    assert sync.on_diff(diff(120, 130, 103, asks=[(101, 0)])) == SyncStatus.BUFFERED
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.update_id == 130
    assert book_of(sync) == ([(99, 11), (98, 20)], [(102, 20)])
    expect(sync, n_diffs=2, n_applied=2, n_snapshots=1)


def test_spot_first_buffered_diff_stale_is_dropped_before_sync() -> None:
    sync = new_sync(SPOT)
    sync.on_diff(diff(95, 99, bids=[(50, 1)]))
    sync.on_diff(diff(100, 100, bids=[(51, 1)]))
    sync.on_diff(diff(101, 102, bids=[(99, 0)]))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.update_id == 102
    # Neither dropped diff's level reached the book.
    assert book_of(sync) == ([(98, 20)], SNAP_ASKS)
    expect(sync, n_diffs=3, n_applied=1, n_stale=2, n_snapshots=1)


def test_usdm_first_buffered_diff_stale_is_dropped_before_sync() -> None:
    sync = new_sync(USDM)
    sync.on_diff(diff(90, 99, 80, bids=[(50, 1)]))
    sync.on_diff(diff(100, 110, 99, bids=[(99, 0)]))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.update_id == 110
    assert book_of(sync) == ([(98, 20)], SNAP_ASKS)
    expect(sync, n_diffs=2, n_applied=1, n_stale=1, n_snapshots=1)


# ---- exact boundaries of the first-event rule -------------------------------------------------


def test_spot_first_event_starting_at_snapshot_plus_one_syncs() -> None:
    sync = new_sync(SPOT)
    sync.on_diff(diff(101, 103, bids=[(100, 1)]))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.update_id == 103
    assert book_of(sync) == ([(100, 1), *SNAP_BIDS], SNAP_ASKS)
    expect(sync, n_diffs=1, n_applied=1, n_snapshots=1)


def test_spot_first_event_starting_at_snapshot_plus_two_is_too_old() -> None:
    sync = new_sync(SPOT)
    sync.on_diff(diff(102, 103, bids=[(100, 1)]))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_TOO_OLD
    assert_awaiting_empty(sync)
    assert sync.n_buffered == 1
    expect(sync, n_diffs=1, n_resyncs=2, n_snapshots=1, n_snapshots_too_old=1)


def test_spot_diff_ending_at_snapshot_id_is_dropped() -> None:
    sync = new_sync(SPOT)
    sync.on_diff(diff(98, 100, bids=[(50, 1)]))
    # The only buffered diff ends at L: nothing left, the snapshot waits.
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_WAIT
    assert sync.state == SyncState.SNAPSHOT_PENDING
    assert sync.n_buffered == 0
    expect(sync, n_diffs=1, n_stale=1, n_snapshots=1)


def test_usdm_diff_ending_at_snapshot_id_is_kept_and_applied() -> None:
    sync = new_sync(USDM)
    sync.on_diff(diff(98, 100, 97, bids=[(100, 1)]))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.update_id == 100
    assert book_of(sync) == ([(100, 1), *SNAP_BIDS], SNAP_ASKS)
    expect(sync, n_diffs=1, n_applied=1, n_snapshots=1)


def test_usdm_first_event_starting_at_snapshot_plus_one_is_too_old() -> None:
    sync = new_sync(USDM)
    sync.on_diff(diff(101, 105, 100))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_TOO_OLD
    assert_awaiting_empty(sync)
    expect(sync, n_diffs=1, n_resyncs=2, n_snapshots=1, n_snapshots_too_old=1)


def test_usdm_diff_ending_at_pending_snapshot_id_syncs() -> None:
    sync = new_sync(USDM)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_WAIT
    assert sync.on_diff(diff(99, 100, 98, asks=[(100, 3)])) == SyncStatus.SYNCED
    assert sync.update_id == 100
    assert book_of(sync) == (SNAP_BIDS, [(100, 3), *SNAP_ASKS])


# ---- snapshot older than every buffered diff --------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "first", "newer_snap_id"),
    [
        (SPOT, diff(110, 112, bids=[(97, 7)]), 111),
        (USDM, diff(110, 112, 105, bids=[(97, 7)]), 111),
    ],
    ids=["spot", "usdm"],
)
def test_snapshot_older_than_buffer_is_too_old_then_newer_snapshot_syncs(
    rule: int, first: DepthMsg, newer_snap_id: int
) -> None:
    sync = new_sync(rule)
    sync.on_diff(first)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_TOO_OLD
    assert_awaiting_empty(sync)
    assert sync.n_buffered == 1
    expect(sync, n_diffs=1, n_resyncs=2, n_snapshots=1, n_snapshots_too_old=1)

    assert sync.on_snapshot(snap(newer_snap_id)) == SyncStatus.SYNCED
    assert sync.update_id == 112
    assert book_of(sync) == ([*SNAP_BIDS, (97, 7)], SNAP_ASKS)
    expect(sync, n_diffs=1, n_applied=1, n_resyncs=2, n_snapshots=2, n_snapshots_too_old=1)


def test_too_old_snapshot_still_drops_diffs_stale_for_it() -> None:
    # USD-M ids are not contiguous: L can fall between one event's u and the next event's U.
    sync = new_sync(USDM)
    sync.on_diff(diff(90, 95, 80))
    sync.on_diff(diff(110, 120, 95))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_TOO_OLD
    assert sync.n_buffered == 1
    expect(sync, n_diffs=2, n_stale=1, n_resyncs=2, n_snapshots=1, n_snapshots_too_old=1)


# ---- snapshot newer than every buffered diff --------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "old", "stale", "covering"),
    [
        (SPOT, diff(90, 95), diff(96, 100), diff(101, 102, bids=[(100, 4)])),
        (USDM, diff(90, 95, 89), diff(96, 99, 95), diff(99, 102, 99, bids=[(100, 4)])),
    ],
    ids=["spot", "usdm"],
)
def test_snapshot_newer_than_buffer_waits_drops_stale_then_covering_diff_syncs(
    rule: int, old: DepthMsg, stale: DepthMsg, covering: DepthMsg
) -> None:
    sync = new_sync(rule)
    sync.on_diff(old)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_WAIT
    assert sync.state == SyncState.SNAPSHOT_PENDING
    assert not sync.needs_snapshot
    assert not sync.is_live
    assert sync.update_id == 100
    assert sync.n_buffered == 0
    assert book_of(sync) == ([], [])
    expect(sync, n_diffs=1, n_stale=1, n_snapshots=1)

    assert sync.on_diff(stale) == SyncStatus.STALE
    assert sync.state == SyncState.SNAPSHOT_PENDING
    assert book_of(sync) == ([], [])
    expect(sync, n_diffs=2, n_stale=2, n_snapshots=1)

    assert sync.on_diff(covering) == SyncStatus.SYNCED
    assert sync.is_live
    assert sync.update_id == 102
    assert book_of(sync) == ([(100, 4), *SNAP_BIDS], SNAP_ASKS)
    expect(sync, n_diffs=3, n_applied=1, n_stale=2, n_snapshots=1)


@pytest.mark.parametrize(
    ("rule", "jumper"),
    [(SPOT, diff(102, 104, bids=[(100, 4)])), (USDM, diff(101, 104, 100, bids=[(100, 4)]))],
    ids=["spot", "usdm"],
)
def test_pending_snapshot_diff_jumping_past_it_is_gap_and_kept(rule: int, jumper: DepthMsg) -> None:
    sync = new_sync(rule)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_WAIT
    assert sync.on_diff(jumper) == SyncStatus.GAP
    assert_awaiting_empty(sync)
    assert sync.n_buffered == 1
    expect(sync, n_diffs=1, n_gaps=1, n_resyncs=2, n_snapshots=1)
    # The jumper is the first buffered diff: a snapshot it covers syncs with its levels.
    assert sync.on_snapshot(snap(103)) == SyncStatus.SYNCED
    assert sync.update_id == 104
    assert book_of(sync) == ([(100, 4), *SNAP_BIDS], SNAP_ASKS)


def test_pending_snapshot_replaced_by_later_snapshot() -> None:
    sync = new_sync(SPOT)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_WAIT
    assert sync.on_snapshot(snap(105, bids=[(90, 1)], asks=[(110, 1)])) == (
        SyncStatus.SNAPSHOT_WAIT
    )
    assert sync.update_id == 105
    assert sync.on_diff(diff(101, 105)) == SyncStatus.STALE
    assert sync.on_diff(diff(106, 106)) == SyncStatus.SYNCED
    assert book_of(sync) == ([(90, 1)], [(110, 1)])
    expect(sync, n_diffs=2, n_applied=1, n_stale=1, n_snapshots=2)


def test_pending_snapshot_is_a_copy_caller_may_reuse_message() -> None:
    sync = new_sync(SPOT)
    shot = snap(100)
    assert sync.on_snapshot(shot) == SyncStatus.SNAPSHOT_WAIT
    shot.clear()  # the decoder refills its one snapshot object
    assert sync.on_diff(diff(101, 101)) == SyncStatus.SYNCED
    assert book_of(sync) == (SNAP_BIDS, SNAP_ASKS)


# ---- buffering --------------------------------------------------------------------------------


def test_buffered_diff_is_a_copy_caller_may_reuse_message() -> None:
    sync = new_sync(SPOT)
    msg = diff(101, 102, bids=[(100, 4)], asks=[(101, 0)])
    sync.on_diff(msg)
    msg.clear()  # the decoder refills its one diff object for the next frame
    msg.first_id = 103
    msg.last_id = 103
    sync.on_diff(msg)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.update_id == 103
    assert book_of(sync) == ([(100, 4), *SNAP_BIDS], [(102, 20)])


@pytest.mark.parametrize(
    ("rule", "older", "breaker", "snap_id"),
    [
        (SPOT, diff(101, 102, bids=[(50, 1)]), diff(104, 105, bids=[(100, 4)]), 103),
        (USDM, diff(101, 102, 100, bids=[(50, 1)]), diff(104, 105, 103, bids=[(100, 4)]), 104),
    ],
    ids=["spot", "usdm"],
)
def test_buffering_continuity_break_keeps_only_newest_without_resync(
    rule: int, older: DepthMsg, breaker: DepthMsg, snap_id: int
) -> None:
    sync = new_sync(rule)
    sync.on_diff(older)
    assert sync.on_diff(breaker) == SyncStatus.BUFFERED
    assert sync.n_buffered == 1
    assert_awaiting_empty(sync)
    expect(sync, n_diffs=2, n_gaps=1)
    # Only the breaker is left: a snapshot it covers syncs, and px 50 never shows up.
    assert sync.on_snapshot(snap(snap_id)) == SyncStatus.SYNCED
    assert book_of(sync) == ([(100, 4), *SNAP_BIDS], SNAP_ASKS)


@pytest.mark.parametrize(
    ("rule", "chain"),
    [
        (SPOT, [diff(101, 102, bids=[(50, 1)]), diff(104, 105, bids=[(100, 4)])]),
        (USDM, [diff(101, 102, 100, bids=[(50, 1)]), diff(104, 105, 103, bids=[(100, 4)])]),
    ],
    ids=["spot", "usdm"],
)
def test_gap_among_buffered_diffs_snapshot_for_older_part_is_too_old(
    rule: int, chain: list[DepthMsg]
) -> None:
    # A break inside what arrives before the snapshot is found while buffering (the older part
    # is dropped then), so on_snapshot sees one continuous chain; its replay therefore never
    # gaps. A snapshot that would fit only the dropped part is too old, never a half-built book.
    sync = new_sync(rule)
    for msg in chain:
        sync.on_diff(msg)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_TOO_OLD
    assert_awaiting_empty(sync)
    assert sync.n_buffered == 1
    expect(sync, n_diffs=2, n_gaps=1, n_resyncs=2, n_snapshots=1, n_snapshots_too_old=1)


def test_spot_buffering_overlapping_diff_is_continuous() -> None:
    sync = new_sync(SPOT)
    sync.on_diff(diff(101, 105, bids=[(50, 1)]))
    assert sync.on_diff(diff(104, 107, bids=[(51, 1)])) == SyncStatus.BUFFERED
    assert sync.n_buffered == 2
    expect(sync, n_diffs=2)
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    assert sync.update_id == 107
    assert book_of(sync) == ([*SNAP_BIDS, (51, 1), (50, 1)], SNAP_ASKS)


@pytest.mark.parametrize(
    ("rule", "first", "again"),
    [
        (SPOT, diff(101, 105), diff(103, 105)),
        (SPOT, diff(101, 105), diff(90, 92)),
        (USDM, diff(101, 105, 100), diff(101, 105, 100)),
        (USDM, diff(101, 105, 100), diff(90, 92, 89)),
    ],
    ids=["spot_duplicate", "spot_older", "usdm_duplicate", "usdm_older"],
)
def test_buffering_diff_not_newer_than_last_buffered_is_stale(
    rule: int, first: DepthMsg, again: DepthMsg
) -> None:
    sync = new_sync(rule)
    sync.on_diff(first)
    assert sync.on_diff(again) == SyncStatus.STALE
    assert sync.n_buffered == 1
    expect(sync, n_diffs=2, n_stale=1)


@pytest.mark.parametrize("rule", [SPOT, USDM], ids=["spot", "usdm"])
def test_buffer_overflow_drops_oldest_and_counts(rule: int) -> None:
    sync = new_sync(rule, max_buffered=2)
    sync.on_diff(diff(101, 101, 100, bids=[(50, 1)]))
    sync.on_diff(diff(102, 102, 101, bids=[(51, 1)]))
    assert sync.on_diff(diff(103, 103, 102, bids=[(52, 1)])) == SyncStatus.BUFFERED
    assert sync.n_buffered == 2
    expect(sync, n_diffs=3, n_buffer_dropped=1)
    # 101 is gone: a snapshot at 100 no longer fits; one covered by 102 does.
    assert sync.on_snapshot(snap(100)) == SyncStatus.SNAPSHOT_TOO_OLD
    assert sync.on_snapshot(snap(101 if rule == SPOT else 102)) == SyncStatus.SYNCED
    assert book_of(sync) == ([*SNAP_BIDS, (52, 1), (51, 1)], SNAP_ASKS)
    expect(
        sync,
        n_diffs=3,
        n_applied=2,
        n_resyncs=2,
        n_snapshots=2,
        n_snapshots_too_old=1,
        n_buffer_dropped=1,
    )


# ---- LIVE ------------------------------------------------------------------------------------


def live_sync(rule: int) -> DepthSync:
    """A machine LIVE at update_id 101 on the SNAP_* book."""
    sync = new_sync(rule)
    sync.on_diff(diff(101, 101, 100))
    # Spot needs U <= L+1, USD-M U <= L: the snapshot just before this diff for each.
    assert sync.on_snapshot(snap(100 if rule == SPOT else 101)) == SyncStatus.SYNCED
    assert sync.update_id == 101
    return sync


def test_spot_live_contiguous_diff_applies() -> None:
    sync = live_sync(SPOT)
    assert sync.on_diff(diff(102, 103, bids=[(99, 0), (100, 1)], asks=[(104, 2)])) == (
        SyncStatus.APPLIED
    )
    assert sync.update_id == 103
    assert book_of(sync) == ([(100, 1), (98, 20)], [*SNAP_ASKS, (104, 2)])
    expect(sync, n_diffs=2, n_applied=2, n_snapshots=1)


def test_spot_live_overlapping_diff_applies() -> None:
    sync = live_sync(SPOT)
    assert sync.on_diff(diff(100, 103, asks=[(101, 0)])) == SyncStatus.APPLIED
    assert sync.update_id == 103
    assert book_of(sync) == (SNAP_BIDS, [(102, 20)])


@pytest.mark.parametrize(
    ("first_id", "last_id"),
    [(101, 101), (90, 100), (95, 101)],
    ids=["duplicate", "older", "ends_at_update_id"],
)
def test_spot_live_diff_not_past_update_id_is_stale_and_ignored(
    first_id: int, last_id: int
) -> None:
    sync = live_sync(SPOT)
    assert sync.on_diff(diff(first_id, last_id, bids=[(99, 1)])) == SyncStatus.STALE
    assert sync.update_id == 101
    assert book_of(sync) == (SNAP_BIDS, SNAP_ASKS)
    expect(sync, n_diffs=2, n_applied=1, n_stale=1, n_snapshots=1)


@pytest.mark.parametrize(
    ("rule", "gapper"),
    [(SPOT, diff(103, 104, bids=[(100, 4)])), (USDM, diff(103, 104, 102, bids=[(100, 4)]))],
    ids=["spot", "usdm"],
)
def test_live_gap_clears_book_needs_snapshot_and_buffers_gap_diff(
    rule: int, gapper: DepthMsg
) -> None:
    sync = live_sync(rule)
    assert sync.on_diff(gapper) == SyncStatus.GAP
    assert_awaiting_empty(sync)  # nothing of the gapped diff reached the book
    assert sync.n_buffered == 1
    expect(sync, n_diffs=2, n_applied=1, n_gaps=1, n_resyncs=2, n_snapshots=1)
    # The gapped diff is the first buffered one: a snapshot it covers syncs with it.
    snap_id = 102 if rule == SPOT else 103
    assert sync.on_snapshot(snap(snap_id, bids=[(90, 1)], asks=[(110, 1)])) == SyncStatus.SYNCED
    assert sync.update_id == 104
    assert book_of(sync) == ([(100, 4), (90, 1)], [(110, 1)])


def test_usdm_live_non_contiguous_first_id_with_matching_prev_id_applies() -> None:
    sync = live_sync(USDM)
    assert sync.on_diff(diff(150, 160, 101, bids=[(100, 1)])) == SyncStatus.APPLIED
    assert sync.on_diff(diff(999, 1000, 160, bids=[(100, 0)])) == SyncStatus.APPLIED
    assert sync.update_id == 1000
    assert book_of(sync) == (SNAP_BIDS, SNAP_ASKS)
    expect(sync, n_diffs=3, n_applied=3, n_snapshots=1)


@pytest.mark.parametrize(
    ("first_id", "last_id", "prev_id"),
    [(101, 101, 100), (50, 60, 40), (90, 101, 89)],
    ids=["duplicate", "older", "ends_at_update_id"],
)
def test_usdm_live_duplicate_or_older_diff_is_stale_and_ignored(
    first_id: int, last_id: int, prev_id: int
) -> None:
    sync = live_sync(USDM)
    assert sync.on_diff(diff(first_id, last_id, prev_id, bids=[(99, 1)])) == SyncStatus.STALE
    assert sync.update_id == 101
    assert book_of(sync) == (SNAP_BIDS, SNAP_ASKS)
    expect(sync, n_diffs=2, n_applied=1, n_stale=1, n_snapshots=1)


def test_usdm_live_contiguous_ids_with_wrong_prev_id_is_gap() -> None:
    # USD-M chains only by pu: U == update_id + 1 does not save a wrong pu.
    sync = live_sync(USDM)
    assert sync.on_diff(diff(102, 103, 100)) == SyncStatus.GAP
    assert_awaiting_empty(sync)


@pytest.mark.parametrize("rule", [SPOT, USDM], ids=["spot", "usdm"])
def test_snapshot_while_live_is_ignored_as_stale(rule: int) -> None:
    sync = live_sync(rule)
    assert sync.on_snapshot(snap(500, bids=[(1, 1)], asks=[(2, 1)])) == SyncStatus.STALE
    assert sync.is_live
    assert sync.update_id == 101
    assert book_of(sync) == (SNAP_BIDS, SNAP_ASKS)
    expect(sync, n_diffs=1, n_applied=1, n_snapshots=2)


# ---- crossed books ----------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [SPOT, USDM], ids=["spot", "usdm"])
def test_live_diff_crossing_book_returns_crossed_and_counts(rule: int) -> None:
    sync = live_sync(rule)
    assert sync.on_diff(diff(102, 102, 101, bids=[(101, 5)])) == SyncStatus.CROSSED
    assert sync.is_live
    assert sync.update_id == 102
    assert sync.book.is_crossed()
    assert book_of(sync) == ([(101, 5), *SNAP_BIDS], SNAP_ASKS)
    expect(sync, n_diffs=2, n_applied=2, n_snapshots=1, n_crossed=1)
    # The next diff that uncrosses it is an ordinary APPLIED.
    assert sync.on_diff(diff(103, 103, 102, bids=[(101, 0)])) == SyncStatus.APPLIED
    assert not sync.book.is_crossed()
    expect(sync, n_diffs=3, n_applied=3, n_snapshots=1, n_crossed=1)


def test_snapshot_sync_leaving_book_crossed_returns_crossed() -> None:
    sync = new_sync(SPOT)
    sync.on_diff(diff(101, 101, asks=[(99, 1)]))
    assert sync.on_snapshot(snap(100)) == SyncStatus.CROSSED
    assert sync.is_live
    assert book_of(sync) == (SNAP_BIDS, [(99, 1), *SNAP_ASKS])
    expect(sync, n_diffs=1, n_applied=1, n_snapshots=1, n_crossed=1)


def test_snapshot_sync_crossed_midway_then_uncrossed_returns_synced_and_counts() -> None:
    sync = new_sync(SPOT)
    sync.on_diff(diff(101, 101, asks=[(99, 1)]))
    sync.on_diff(diff(102, 102, asks=[(99, 0)]))
    assert sync.on_snapshot(snap(100)) == SyncStatus.SYNCED
    expect(sync, n_diffs=2, n_applied=2, n_snapshots=1, n_crossed=1)


def test_pending_snapshot_covering_diff_crossing_returns_crossed() -> None:
    sync = new_sync(USDM)
    sync.on_snapshot(snap(100))
    assert sync.on_diff(diff(100, 101, 99, bids=[(102, 1)])) == SyncStatus.CROSSED
    assert sync.is_live
    expect(sync, n_diffs=1, n_applied=1, n_snapshots=1, n_crossed=1)


# ---- reset ------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [SPOT, USDM], ids=["spot", "usdm"])
def test_reset_while_live_clears_book_and_asks_for_snapshot(rule: int) -> None:
    sync = live_sync(rule)
    sync.reset()
    assert_awaiting_empty(sync)
    assert sync.n_buffered == 0
    expect(sync, n_diffs=1, n_applied=1, n_snapshots=1, n_resyncs=2)
    # A snapshot now is used again (after reset nothing is buffered: it waits).
    assert sync.on_snapshot(snap(200)) == SyncStatus.SNAPSHOT_WAIT


def test_reset_drops_buffer_and_pending_snapshot() -> None:
    sync = new_sync(SPOT)
    sync.on_snapshot(snap(100))
    sync.reset()
    assert_awaiting_empty(sync)
    # The pending snapshot is gone: a diff that covered it is only buffered.
    assert sync.on_diff(diff(101, 101)) == SyncStatus.BUFFERED
    sync.reset()
    assert sync.n_buffered == 0
    expect(sync, n_diffs=1, n_snapshots=1, n_resyncs=3)
