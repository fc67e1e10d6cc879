# One depth message (diff or snapshot) as int64 arrays: the hand-off between a venue decoder
# and DepthSync. Preallocated and reused: the decoder refills the same object every frame.
cimport cython

from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.defs cimport seq_t


@cython.final
cdef class DepthMsg:
    cdef:
        public seq_t first_id   # Binance U: first update id in the event (snapshot: lastUpdateId)
        public seq_t last_id    # Binance u: last update id in the event (snapshot: lastUpdateId)
        public seq_t prev_id    # Binance pu (USD-M): last_id of the previous event; -1 if none
        public ns_t exch_ns     # venue event time E, ns since epoch; 0 if absent
        public ns_t txn_ns      # venue transaction time T, ns since epoch; 0 if absent
        public bint is_snapshot  # True for a REST snapshot, False for a diff
        px_t* bid_px            # bid prices, wire order (raw at the instrument's price_dp)
        qty_t* bid_qty          # bid quantities (raw at qty_dp); 0 deletes the level
        px_t* ask_px            # ask prices, wire order
        qty_t* ask_qty          # ask quantities; 0 deletes the level
        readonly Py_ssize_t n_bids   # levels used in bid_px / bid_qty
        readonly Py_ssize_t n_asks   # levels used in ask_px / ask_qty
        Py_ssize_t cap_bids     # levels allocated for bids
        Py_ssize_t cap_asks     # levels allocated for asks

    cdef int reserve_c(self, Py_ssize_t n_bids, Py_ssize_t n_asks) except -1
    cdef void set_counts_c(self, Py_ssize_t n_bids, Py_ssize_t n_asks) noexcept nogil
    cpdef void clear(self)
    cpdef DepthMsg copy(self)
