# Binance's documented local-order-book procedure as a pure state machine (no I/O): buffer
# diffs until a snapshot fits, drop stale events, enforce continuity, and on a gap clear the
# book and ask for a resync. Spot and USD-M rules differ only where exchange-protocols.md §5
# says they do.
cimport cython
from libc.stdint cimport uint64_t

from veloz._core.book cimport Book
from veloz._core.defs cimport seq_t
from veloz._core.depth cimport DepthMsg


cpdef enum SyncRule:
    SPOT = 0   # drop u <= L; first event U <= L+1 <= u; chain U == prev_u + 1
    USDM = 1   # drop u < L;  first event U <= L <= u;   chain pu == prev_u


cpdef enum SyncState:
    AWAIT_SNAPSHOT = 0    # buffering diffs, no snapshot in hand; book invalid
    SNAPSHOT_PENDING = 1  # snapshot newer than every buffered diff; waiting for the one covering it
    LIVE = 2              # book valid and current at update_id


cpdef enum SyncStatus:
    BUFFERED = 0          # on_diff: held until a snapshot fits
    APPLIED = 1           # levels applied, book valid
    STALE = 2             # dropped: already covered by the book or snapshot
    GAP = 3               # continuity broke: book cleared, snapshot needed (event kept in buffer)
    SYNCED = 4            # book went LIVE (from on_snapshot, or on_diff with a pending snapshot)
    SNAPSHOT_TOO_OLD = 5  # on_snapshot: older than the buffered diffs; fetch another
    SNAPSHOT_WAIT = 6     # on_snapshot: newer than every buffered diff; kept until one covers it
    CROSSED = 7           # levels applied and book LIVE, but best bid >= best ask afterwards


@cython.final
cdef class DepthSync:
    cdef:
        readonly Book book               # the book this machine keeps; valid only when LIVE
        readonly int rule                # SyncRule
        readonly int state               # SyncState
        readonly seq_t update_id         # last update id applied (LIVE) or of the pending snapshot
        readonly Py_ssize_t max_buffered  # diffs kept while waiting; oldest dropped beyond this
        list _buffer                     # DepthMsg copies held while not LIVE, oldest first
        DepthMsg _pending                # snapshot kept in SNAPSHOT_PENDING, else None
        readonly uint64_t n_diffs        # diffs offered
        readonly uint64_t n_applied      # diffs applied to a LIVE book
        readonly uint64_t n_stale        # diffs dropped as already covered
        readonly uint64_t n_gaps         # continuity breaks detected
        readonly uint64_t n_resyncs      # snapshots asked for (initial one included)
        readonly uint64_t n_snapshots    # snapshots offered
        readonly uint64_t n_snapshots_too_old  # snapshots rejected as older than the diffs
        readonly uint64_t n_buffer_dropped     # buffered diffs dropped past max_buffered
        readonly uint64_t n_crossed      # applications that left the book crossed

    cpdef int on_diff(self, DepthMsg msg) except -1
    cpdef int on_snapshot(self, DepthMsg snap) except -1
    cpdef void reset(self)
