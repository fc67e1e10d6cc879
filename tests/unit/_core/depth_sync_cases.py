"""Shared cases of the DepthSync tests: message builders, the snapshot book, counter checks.

Owns only helpers for test_depth_sync.py and test_depth_sync_streams.py; holds no tests.
"""

from tests.unit._core.reference.sync_ref import RefSync
from veloz._core.book import Book
from veloz._core.book import Side
from veloz._core.depth import DepthMsg
from veloz._core.depth_sync import DepthSync
from veloz._core.depth_sync import SyncRule
from veloz._core.depth_sync import SyncState

SPOT = SyncRule.SPOT
USDM = SyncRule.USDM

COUNTERS = (
    "n_diffs",
    "n_applied",
    "n_stale",
    "n_gaps",
    "n_resyncs",
    "n_snapshots",
    "n_snapshots_too_old",
    "n_buffer_dropped",
    "n_crossed",
)

# A snapshot both rules use: bids 99/98, asks 101/102.
SNAP_BIDS = [(99, 10), (98, 20)]
SNAP_ASKS = [(101, 10), (102, 20)]


def diff(
    first_id: int,
    last_id: int,
    prev_id: int = -1,
    bids: list[tuple[int, int]] | None = None,
    asks: list[tuple[int, int]] | None = None,
) -> DepthMsg:
    return DepthMsg(first_id, last_id, prev_id, bids or [], asks or [])


def snap(
    snap_id: int,
    bids: list[tuple[int, int]] | None = None,
    asks: list[tuple[int, int]] | None = None,
) -> DepthMsg:
    bids = SNAP_BIDS if bids is None else bids
    asks = SNAP_ASKS if asks is None else asks
    return DepthMsg(snap_id, snap_id, -1, bids, asks, is_snapshot=True)


def levels(book: Book, side: int) -> list[tuple[int, int]]:
    """Every level of one side, best first."""
    px, qty = book.top_n(side, book.n_levels(side))
    return list(zip(px.tolist(), qty.tolist(), strict=True))


def book_of(sync: DepthSync) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    return levels(sync.book, Side.BID), levels(sync.book, Side.ASK)


def counters(sync: DepthSync | RefSync) -> dict[str, int]:
    return {name: getattr(sync, name) for name in COUNTERS}


def expect(sync: DepthSync, **want: int) -> None:
    """Assert the named counters; every counter not named must be 0 (n_resyncs: 1)."""
    full = dict.fromkeys(COUNTERS, 0)
    full["n_resyncs"] = 1
    full.update(want)
    assert counters(sync) == full


def new_sync(rule: int, max_buffered: int = 10000) -> DepthSync:
    return DepthSync(Book(0, 0), rule, max_buffered)


def assert_awaiting_empty(sync: DepthSync) -> None:
    assert sync.state == SyncState.AWAIT_SNAPSHOT
    assert sync.needs_snapshot
    assert not sync.is_live
    assert sync.update_id == -1
    assert book_of(sync) == ([], [])
