# One depth message (diff or snapshot) as int64 arrays; the decoder -> DepthSync hand-off.
# Owns its buffers; never parses, never touches a book.
cimport cython
from cpython.mem cimport PyMem_Free
from cpython.mem cimport PyMem_Realloc
from libc.string cimport memcpy

import numpy as np

from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t


cdef int _grow(px_t** px, qty_t** qty, Py_ssize_t* cap, Py_ssize_t want) except -1:
    cdef Py_ssize_t new_cap
    cdef void* p
    cdef void* q
    if want <= cap[0]:
        return 0
    new_cap = max(want, 2 * cap[0], 64)
    p = PyMem_Realloc(px[0], new_cap * sizeof(px_t))
    if p == NULL:
        raise MemoryError()
    px[0] = <px_t*>p
    q = PyMem_Realloc(qty[0], new_cap * sizeof(qty_t))
    if q == NULL:
        raise MemoryError()
    qty[0] = <qty_t*>q
    cap[0] = new_cap
    return 0


@cython.final
cdef class DepthMsg:
    """A depth diff or snapshot: update ids plus bid and ask levels as int64 raws.

    Parameters
    ----------
    first_id, last_id, prev_id : int
        Binance ``U``, ``u`` and ``pu`` (``prev_id = -1`` where the venue sends none).
        A snapshot has ``first_id == last_id == lastUpdateId``.
    bids, asks : sequence of (px, qty)
        Levels in wire order, raws at the instrument's price_dp and qty_dp.
    is_snapshot : bool
        True for a full snapshot, False for a diff.
    """

    def __cinit__(self):
        self.bid_px = NULL
        self.bid_qty = NULL
        self.ask_px = NULL
        self.ask_qty = NULL
        self.n_bids = 0
        self.n_asks = 0
        self.cap_bids = 0
        self.cap_asks = 0
        self.prev_id = -1

    def __init__(self, first_id=0, last_id=0, prev_id=-1, bids=(), asks=(),
                 is_snapshot=False, exch_ns=0, txn_ns=0):
        cdef Py_ssize_t i
        bids = list(bids)
        asks = list(asks)
        self.first_id = first_id
        self.last_id = last_id
        self.prev_id = prev_id
        self.exch_ns = exch_ns
        self.txn_ns = txn_ns
        self.is_snapshot = is_snapshot
        self.reserve_c(len(bids), len(asks))
        for i, (p, q) in enumerate(bids):
            self.bid_px[i] = p
            self.bid_qty[i] = q
        for i, (p, q) in enumerate(asks):
            self.ask_px[i] = p
            self.ask_qty[i] = q
        self.set_counts_c(len(bids), len(asks))

    def __dealloc__(self):
        PyMem_Free(self.bid_px)
        PyMem_Free(self.bid_qty)
        PyMem_Free(self.ask_px)
        PyMem_Free(self.ask_qty)

    cdef int reserve_c(self, Py_ssize_t n_bids, Py_ssize_t n_asks) except -1:
        """Make room for at least n_bids / n_asks levels; keeps existing contents."""
        _grow(&self.bid_px, &self.bid_qty, &self.cap_bids, n_bids)
        _grow(&self.ask_px, &self.ask_qty, &self.cap_asks, n_asks)
        return 0

    cdef void set_counts_c(self, Py_ssize_t n_bids, Py_ssize_t n_asks) noexcept nogil:
        # caller guarantees n_bids <= cap_bids and n_asks <= cap_asks (reserve_c first)
        self.n_bids = n_bids
        self.n_asks = n_asks

    cpdef void clear(self):
        """Forget the levels and ids (keeps the allocation)."""
        self.n_bids = 0
        self.n_asks = 0
        self.first_id = 0
        self.last_id = 0
        self.prev_id = -1
        self.exch_ns = 0
        self.txn_ns = 0
        self.is_snapshot = False

    cpdef DepthMsg copy(self):
        """Return an independent copy (used when a diff must be buffered)."""
        cdef DepthMsg out = DepthMsg.__new__(DepthMsg)
        out.first_id = self.first_id
        out.last_id = self.last_id
        out.prev_id = self.prev_id
        out.exch_ns = self.exch_ns
        out.txn_ns = self.txn_ns
        out.is_snapshot = self.is_snapshot
        out.reserve_c(self.n_bids, self.n_asks)
        if self.n_bids:
            memcpy(out.bid_px, self.bid_px, self.n_bids * sizeof(px_t))
            memcpy(out.bid_qty, self.bid_qty, self.n_bids * sizeof(qty_t))
        if self.n_asks:
            memcpy(out.ask_px, self.ask_px, self.n_asks * sizeof(px_t))
            memcpy(out.ask_qty, self.ask_qty, self.n_asks * sizeof(qty_t))
        out.set_counts_c(self.n_bids, self.n_asks)
        return out

    @property
    def bids(self):
        """Bid levels as an (n, 2) int64 array [px, qty] in wire order (a copy)."""
        cdef Py_ssize_t i
        out = np.empty((self.n_bids, 2), dtype=np.int64)
        cdef long long[:, ::1] v = out
        for i in range(self.n_bids):
            v[i, 0] = self.bid_px[i]
            v[i, 1] = self.bid_qty[i]
        return out

    @property
    def asks(self):
        """Ask levels as an (n, 2) int64 array [px, qty] in wire order (a copy)."""
        cdef Py_ssize_t i
        out = np.empty((self.n_asks, 2), dtype=np.int64)
        cdef long long[:, ::1] v = out
        for i in range(self.n_asks):
            v[i, 0] = self.ask_px[i]
            v[i, 1] = self.ask_qty[i]
        return out

    def __repr__(self):
        kind = "snapshot" if self.is_snapshot else "diff"
        return (f"DepthMsg({kind} U={self.first_id} u={self.last_id} pu={self.prev_id} "
                f"bids={self.n_bids} asks={self.n_asks})")
