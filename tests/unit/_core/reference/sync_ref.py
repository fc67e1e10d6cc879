"""Pure-Python twin of veloz._core.depth_sync.DepthSync, with its own dict-based book.

Written from exchange-protocols.md §5 and the DepthSync contract, plainly and without any
Cython: the differential test drives both with the same events and compares every step.
Never imports the Cython modules; events are plain tuples, so no buffer aliasing is possible.
"""

from dataclasses import dataclass
from dataclasses import field
from enum import IntEnum


class Rule(IntEnum):
    """Mirror of depth_sync.SyncRule."""

    SPOT = 0
    USDM = 1


class State(IntEnum):
    """Mirror of depth_sync.SyncState."""

    AWAIT_SNAPSHOT = 0
    SNAPSHOT_PENDING = 1
    LIVE = 2


class Status(IntEnum):
    """Mirror of depth_sync.SyncStatus."""

    BUFFERED = 0
    APPLIED = 1
    STALE = 2
    GAP = 3
    SYNCED = 4
    SNAPSHOT_TOO_OLD = 5
    SNAPSHOT_WAIT = 6
    CROSSED = 7


Levels = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Msg:
    """A diff or snapshot: U, u, pu (-1 if none), bid and ask levels as (px, qty) raws."""

    first_id: int
    last_id: int
    prev_id: int = -1
    bids: Levels = ()
    asks: Levels = ()


class RefBook:
    """Price -> quantity per side; qty 0 deletes, a delete of an absent price is a no-op."""

    def __init__(self) -> None:
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}

    def clear(self) -> None:
        """Forget every level."""
        self.bids.clear()
        self.asks.clear()

    @staticmethod
    def _set(side: dict[int, int], levels: Levels) -> None:
        for px, qty in levels:
            if qty == 0:
                side.pop(px, None)
            else:
                side[px] = qty

    def apply(self, msg: Msg) -> None:
        """Apply a diff's bids, then its asks."""
        self._set(self.bids, msg.bids)
        self._set(self.asks, msg.asks)

    def load(self, snap: Msg) -> None:
        """Replace the book with the snapshot's levels."""
        self.clear()
        self.apply(snap)

    def is_crossed(self) -> bool:
        """Best bid >= best ask, both sides non-empty."""
        return bool(self.bids) and bool(self.asks) and max(self.bids) >= min(self.asks)

    def levels(self, side: int) -> list[tuple[int, int]]:
        """All levels of side 0 (bids, highest first) or 1 (asks, lowest first)."""
        if side == 0:
            return sorted(self.bids.items(), reverse=True)
        return sorted(self.asks.items())


@dataclass
class RefSync:
    """The DepthSync state machine over a RefBook; same statuses, state and counters."""

    rule: Rule
    max_buffered: int = 10000
    book: RefBook = field(default_factory=RefBook)
    state: State = State.AWAIT_SNAPSHOT
    update_id: int = -1
    buffer: list[Msg] = field(default_factory=list)
    pending: Msg | None = None
    n_diffs: int = 0
    n_applied: int = 0
    n_stale: int = 0
    n_gaps: int = 0
    n_resyncs: int = 1  # the initial snapshot request
    n_snapshots: int = 0
    n_snapshots_too_old: int = 0
    n_buffer_dropped: int = 0
    n_crossed: int = 0

    def __post_init__(self) -> None:
        if self.rule not in (Rule.SPOT, Rule.USDM):
            raise ValueError(f"bad rule {self.rule}")
        if self.max_buffered < 1:
            raise ValueError(f"bad max_buffered {self.max_buffered}")

    # -- the three rules of §5, written out per venue -------------------------------------

    def stale_for_snapshot(self, msg: Msg, snap_id: int) -> bool:
        """Step 4: spot drops u <= L, USD-M drops u < L."""
        if self.rule == Rule.SPOT:
            return msg.last_id <= snap_id
        return msg.last_id < snap_id

    def first_event_fits(self, msg: Msg, snap_id: int) -> bool:
        """Step 5: spot U <= L+1 <= u, USD-M U <= L <= u."""
        if self.rule == Rule.SPOT:
            return msg.first_id <= snap_id + 1 <= msg.last_id
        return msg.first_id <= snap_id <= msg.last_id

    def chains(self, prev_u: int, msg: Msg) -> bool:
        """Continuity: spot U <= prev_u + 1 (overlap allowed), USD-M pu == prev_u."""
        if self.rule == Rule.SPOT:
            return msg.first_id <= prev_u + 1
        return msg.prev_id == prev_u

    # -- transitions ----------------------------------------------------------------------

    @property
    def n_buffered(self) -> int:
        """Diffs held now."""
        return len(self.buffer)

    def _apply(self, msg: Msg) -> bool:
        self.book.apply(msg)
        self.update_id = msg.last_id
        self.n_applied += 1
        if self.book.is_crossed():
            self.n_crossed += 1
            return True
        return False

    def _load(self, snap: Msg) -> None:
        self.book.load(snap)
        self.update_id = snap.last_id
        self.state = State.LIVE
        self.pending = None

    def _gap(self, keep: list[Msg]) -> Status:
        self.book.clear()
        self.buffer = list(keep)
        self.pending = None
        self.state = State.AWAIT_SNAPSHOT
        self.update_id = -1
        self.n_gaps += 1
        self.n_resyncs += 1
        return Status.GAP

    def on_diff(self, msg: Msg) -> Status:
        """Offer one diff."""
        self.n_diffs += 1
        if self.state == State.LIVE:
            if msg.last_id <= self.update_id:
                self.n_stale += 1
                return Status.STALE
            if not self.chains(self.update_id, msg):
                return self._gap([msg])
            return Status.CROSSED if self._apply(msg) else Status.APPLIED
        if self.state == State.SNAPSHOT_PENDING:
            assert self.pending is not None
            snap_id = self.pending.last_id
            if self.stale_for_snapshot(msg, snap_id):
                self.n_stale += 1
                return Status.STALE
            if not self.first_event_fits(msg, snap_id):
                return self._gap([msg])
            self._load(self.pending)
            return Status.CROSSED if self._apply(msg) else Status.SYNCED
        if self.buffer:
            last = self.buffer[-1]
            if msg.last_id <= last.last_id:
                self.n_stale += 1
                return Status.STALE
            if not self.chains(last.last_id, msg):
                self.buffer = [msg]
                self.n_gaps += 1
                return Status.BUFFERED
        self.buffer.append(msg)
        if len(self.buffer) > self.max_buffered:
            self.buffer.pop(0)
            self.n_buffer_dropped += 1
        return Status.BUFFERED

    def on_snapshot(self, snap: Msg) -> Status:
        """Offer one snapshot."""
        self.n_snapshots += 1
        if self.state == State.LIVE:
            return Status.STALE
        snap_id = snap.last_id
        fresh = [m for m in self.buffer if not self.stale_for_snapshot(m, snap_id)]
        self.n_stale += len(self.buffer) - len(fresh)
        self.buffer = fresh
        if not fresh:
            self.pending = snap
            self.state = State.SNAPSHOT_PENDING
            self.update_id = snap_id
            return Status.SNAPSHOT_WAIT
        if not self.first_event_fits(fresh[0], snap_id):
            self.n_snapshots_too_old += 1
            self.n_resyncs += 1
            return Status.SNAPSHOT_TOO_OLD
        self._load(snap)
        crossed = self._apply(fresh[0])
        for i in range(1, len(fresh)):
            msg = fresh[i]
            if msg.last_id <= self.update_id:
                self.n_stale += 1
                continue
            if not self.chains(self.update_id, msg):
                return self._gap(fresh[i:])
            crossed = self._apply(msg)
        self.buffer = []
        return Status.CROSSED if crossed else Status.SYNCED

    def reset(self) -> None:
        """Back to AWAIT_SNAPSHOT with an empty book; one more snapshot request."""
        self.book.clear()
        self.buffer = []
        self.pending = None
        self.state = State.AWAIT_SNAPSHOT
        self.update_id = -1
        self.n_resyncs += 1
