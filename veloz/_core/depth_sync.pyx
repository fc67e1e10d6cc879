# Binance's local-order-book procedure (exchange-protocols.md §5) as a pure state machine:
# buffer diffs until a snapshot fits, drop stale events, enforce continuity, and on a gap clear
# the book and ask for a resync. No I/O, no logging, no clock: the caller fetches snapshots and
# reads the status codes and counters. LIVE on_diff touches no Python object.
cimport cython

from veloz._core.book cimport ASK
from veloz._core.book cimport BID
from veloz._core.book cimport Book
from veloz._core.defs cimport seq_t
from veloz._core.depth cimport DepthMsg


cdef inline bint _is_stale_for(int rule, seq_t u, seq_t snap_id) noexcept nogil:
    # Step 4 of §5: spot drops u <= L, USD-M drops only u < L (u == L is still needed).
    if rule == SPOT:
        return u <= snap_id
    return u < snap_id


cdef inline bint _covers(int rule, seq_t first_id, seq_t snap_id) noexcept nogil:
    # First-event rule for an event already known not to be stale for snap_id:
    # spot U <= L+1 <= u, USD-M U <= L <= u (the right-hand halves follow from "not stale").
    if rule == SPOT:
        return first_id <= snap_id + 1
    return first_id <= snap_id


cdef inline bint _continues(int rule, seq_t prev_u, DepthMsg msg) noexcept:
    # Chain rule for an event already known to end after prev_u: spot U <= prev_u + 1 (overlap
    # accepted, as the per-event procedure does), USD-M pu == prev_u (U itself is not contiguous).
    if rule == SPOT:
        return msg.first_id <= prev_u + 1
    return msg.prev_id == prev_u


cdef int _apply(DepthSync s, DepthMsg msg) except -1:
    # Apply one diff to the book and advance update_id; returns 1 if the book is crossed after.
    s.book.apply_c(BID, msg.bid_px, msg.bid_qty, msg.n_bids)
    s.book.apply_c(ASK, msg.ask_px, msg.ask_qty, msg.n_asks)
    s.update_id = msg.last_id
    s.n_applied += 1
    if s.book.is_crossed_c():
        s.n_crossed += 1
        return 1
    return 0


cdef int _load(DepthSync s, DepthMsg snap) except -1:
    # Replace the book with the snapshot's levels; the machine is LIVE at snap.last_id after.
    s.book.load_c(snap.bid_px, snap.bid_qty, snap.n_bids, snap.ask_px, snap.ask_qty, snap.n_asks)
    s.update_id = snap.last_id
    s.state = LIVE
    s._pending = None
    return 0


cdef int _gap(DepthSync s, list keep) except -1:
    # Continuity broke with a snapshot or a live book in hand: the book is invalid, keep the
    # events from the break on (they may still fit the next snapshot) and ask for a new one.
    s.book.clear()
    s._buffer = keep
    s._pending = None
    s.state = AWAIT_SNAPSHOT
    s.update_id = -1
    s.n_gaps += 1
    s.n_resyncs += 1
    return GAP


cdef int _diff_pending(DepthSync s, DepthMsg msg) except -1:
    # SNAPSHOT_PENDING: update_id is the pending snapshot's L and the buffer is empty.
    if _is_stale_for(s.rule, msg.last_id, s.update_id):
        s.n_stale += 1
        return STALE
    if _covers(s.rule, msg.first_id, s.update_id):
        _load(s, s._pending)
        return CROSSED if _apply(s, msg) else SYNCED
    # It starts after L+1 (spot) / L (USD-M): the events in between are lost.
    return _gap(s, [msg.copy()])


cdef int _diff_buffering(DepthSync s, DepthMsg msg) except -1:
    # AWAIT_SNAPSHOT: keep the buffer one continuous chain of strictly increasing u.
    cdef list buf = s._buffer
    cdef DepthMsg last
    if buf:
        last = <DepthMsg>buf[len(buf) - 1]
        if msg.last_id <= last.last_id:
            s.n_stale += 1
            return STALE
        if not _continues(s.rule, last.last_id, msg):
            # No snapshot in hand, so no resync to count: the older diffs are just useless.
            s._buffer = [msg.copy()]
            s.n_gaps += 1
            return BUFFERED
    buf.append(msg.copy())
    if len(buf) > s.max_buffered:
        del buf[0]
        s.n_buffer_dropped += 1
    return BUFFERED


cdef int _enter_await(DepthSync s) except -1:
    # Book empty and invalid, nothing buffered or pending; counters untouched.
    s.book.clear()
    s._buffer = []
    s._pending = None
    s.state = AWAIT_SNAPSHOT
    s.update_id = -1
    return 0


@cython.final
cdef class DepthSync:
    """Keep an L2 book in step with a Binance depth-diff stream and REST snapshots.

    Feed every diff to `on_diff` and every snapshot to `on_snapshot`; both return a
    `SyncStatus`. Fetch a snapshot whenever `needs_snapshot` is True (after construction,
    after GAP, after SNAPSHOT_TOO_OLD, after `reset`); `n_resyncs` counts those requests,
    the initial one included.

    States: AWAIT_SNAPSHOT (diffs are buffered as a continuous chain, the book is empty and
    invalid), SNAPSHOT_PENDING (a snapshot newer than every buffered diff waits for the diff
    that covers it), LIVE (the book is valid at `update_id`). Outside LIVE the book is kept
    empty and `update_id` is the pending snapshot's id (SNAPSHOT_PENDING) or -1.

    Parameters
    ----------
    book : Book
        The book to maintain. It is cleared here: its contents are not valid until LIVE.
    rule : SyncRule
        SPOT (chain ``U <= prev_u + 1``; drop ``u <= L``; first event ``U <= L+1 <= u``) or
        USDM (chain ``pu == prev_u``; drop ``u < L``; first event ``U <= L <= u``).
    max_buffered : int
        Diffs held while not LIVE; beyond this the oldest is dropped (`n_buffer_dropped`).

    Raises
    ------
    ValueError
        If `rule` is not SPOT or USDM, or `max_buffered` < 1.
    """

    def __init__(self, Book book not None, int rule, Py_ssize_t max_buffered=10000):
        if rule != SPOT and rule != USDM:
            raise ValueError(f"rule must be SyncRule.SPOT (0) or SyncRule.USDM (1), got {rule}")
        if max_buffered < 1:
            raise ValueError(f"max_buffered must be >= 1, got {max_buffered}")
        self.book = book
        self.rule = rule
        self.max_buffered = max_buffered
        self.n_diffs = 0
        self.n_applied = 0
        self.n_stale = 0
        self.n_gaps = 0
        self.n_snapshots = 0
        self.n_snapshots_too_old = 0
        self.n_buffer_dropped = 0
        self.n_crossed = 0
        self.n_resyncs = 1  # the initial snapshot request
        _enter_await(self)

    cpdef int on_diff(self, DepthMsg msg) except -1:
        """Offer one depth diff; `msg` is not kept (it is copied where it must be buffered).

        Parameters
        ----------
        msg : DepthMsg
            The diff (``first_id`` = U, ``last_id`` = u, ``prev_id`` = pu for USD-M).

        Returns
        -------
        int
            A `SyncStatus`: APPLIED or CROSSED (LIVE), STALE, GAP (book cleared, snapshot
            needed, `msg` kept as the first buffered diff), BUFFERED (no snapshot yet), SYNCED
            or CROSSED (it covered the pending snapshot and the book went LIVE).

        Raises
        ------
        TypeError
            If `msg` is None.

        Notes
        -----
        LIVE: O(k log n) for k levels in `msg` on a side of n levels (the book's apply), no
        Python objects. Otherwise O(levels) for the copy, O(max_buffered) when the buffer is
        full (the oldest entry is removed from the front of a list).
        """
        if msg is None:
            raise TypeError("on_diff needs a DepthMsg, got None")
        self.n_diffs += 1
        if self.state == LIVE:
            if msg.last_id <= self.update_id:
                self.n_stale += 1
                return STALE
            if _continues(self.rule, self.update_id, msg):
                return CROSSED if _apply(self, msg) else APPLIED
            return _gap(self, [msg.copy()])
        if self.state == SNAPSHOT_PENDING:
            return _diff_pending(self, msg)
        return _diff_buffering(self, msg)

    cpdef int on_snapshot(self, DepthMsg snap) except -1:
        """Offer a REST depth snapshot taken at ``L = snap.last_id``; `snap` is not kept.

        While LIVE the snapshot is not used (STALE): the book is already current and a
        snapshot cannot prove otherwise. Call `reset` first to force a resync from it.

        Parameters
        ----------
        snap : DepthMsg
            The snapshot; levels in any order, ``last_id`` = ``lastUpdateId``.

        Returns
        -------
        int
            A `SyncStatus`: SYNCED or CROSSED (book loaded, buffered diffs replayed, LIVE),
            SNAPSHOT_WAIT (newer than every buffered diff: kept until a diff covers it),
            SNAPSHOT_TOO_OLD (the first non-stale buffered diff starts after it: fetch another,
            buffer kept), GAP (a buffered diff broke the chain during replay), STALE (LIVE).

        Raises
        ------
        TypeError
            If `snap` is None.

        Notes
        -----
        O(levels in snap + levels in the buffered diffs) plus the book's load and applies.
        """
        cdef list buf
        cdef DepthMsg first
        cdef DepthMsg m
        cdef seq_t snap_id
        cdef Py_ssize_t i
        cdef Py_ssize_t n
        cdef bint is_crossed
        if snap is None:
            raise TypeError("on_snapshot needs a DepthMsg, got None")
        self.n_snapshots += 1
        if self.state == LIVE:
            return STALE
        snap_id = snap.last_id
        buf = self._buffer
        # Buffered diffs have strictly increasing u (on_diff drops the rest), so the stale ones
        # for this snapshot are a prefix.
        n = len(buf)
        i = 0
        while i < n and _is_stale_for(self.rule, (<DepthMsg>buf[i]).last_id, snap_id):
            i += 1
        if i:
            del buf[:i]
            self.n_stale += i
        if not buf:
            self._pending = snap.copy()
            self.state = SNAPSHOT_PENDING
            self.update_id = snap_id
            return SNAPSHOT_WAIT
        first = <DepthMsg>buf[0]
        if not _covers(self.rule, first.first_id, snap_id):
            # Only reachable in AWAIT_SNAPSHOT: SNAPSHOT_PENDING holds no buffered diffs.
            self.n_snapshots_too_old += 1
            self.n_resyncs += 1
            return SNAPSHOT_TOO_OLD
        _load(self, snap)
        # The first event is checked by the first-event rule above, not by the chain rule.
        is_crossed = _apply(self, first)
        n = len(buf)
        for i in range(1, n):
            m = <DepthMsg>buf[i]
            # on_diff builds the buffer with this same stale and chain rule, so neither branch
            # fires today; they keep the book off a broken chain should buffering ever change.
            if m.last_id <= self.update_id:
                self.n_stale += 1
                continue
            if not _continues(self.rule, self.update_id, m):
                return _gap(self, buf[i:])
            is_crossed = _apply(self, m)
        self._buffer = []
        return CROSSED if is_crossed else SYNCED

    cpdef void reset(self):
        """Clear the book and forget buffered diffs and any pending snapshot.

        Use after a reconnect: the machine is back in AWAIT_SNAPSHOT and counts one more
        snapshot request in `n_resyncs`; other counters are kept. O(levels) for the clear.
        """
        _enter_await(self)
        self.n_resyncs += 1

    @property
    def is_live(self):
        """True when the book is valid and current at `update_id`."""
        return self.state == LIVE

    @property
    def needs_snapshot(self):
        """True in AWAIT_SNAPSHOT: the caller should fetch (or keep fetching) a snapshot."""
        return self.state == AWAIT_SNAPSHOT

    @property
    def n_buffered(self):
        """Diffs held in the buffer now (0 while LIVE or SNAPSHOT_PENDING)."""
        return len(self._buffer)

    def __repr__(self):
        return (f"DepthSync(rule={SyncRule(self.rule).name} state={SyncState(self.state).name} "
                f"update_id={self.update_id} buffered={len(self._buffer)})")
