# L2 order book on int64 fixed point: two sorted arrays of (px, qty), best level last so
# that updates near the touch move little memory. Never parses, never logs.
cimport cython
from libc.stdint cimport uint64_t

from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t


cpdef enum Side:
    BID = 0
    ASK = 1


cdef struct Level:
    px_t px     # price raw at the book's price_dp
    qty_t qty   # quantity raw at the book's qty_dp, always > 0 inside the book


cdef struct BookSide:
    Level* lv          # levels sorted worst -> best: bids ascending, asks descending
    Py_ssize_t n       # levels in use
    Py_ssize_t cap     # levels allocated


@cython.final
cdef class Book:
    cdef:
        BookSide sides[2]                  # indexed by Side
        readonly int price_dp              # decimal places of every px in this book
        readonly int qty_dp                # decimal places of every qty in this book
        readonly uint64_t n_levels_applied  # level updates applied (sets + deletes), lifetime
        readonly uint64_t n_delete_missing  # deletes of a price not in the book (normal on Binance)

    cdef int apply_level_c(self, int side, px_t px, qty_t qty) except -1
    cdef int apply_c(self, int side, const px_t* px, const qty_t* qty, Py_ssize_t n) except -1
    cdef int load_c(self, const px_t* bid_px, const qty_t* bid_qty, Py_ssize_t n_bids,
                    const px_t* ask_px, const qty_t* ask_qty, Py_ssize_t n_asks) except -1
    cdef bint is_crossed_c(self) noexcept nogil
    cpdef bint apply_level(self, int side, px_t px, qty_t qty) except -1
    cpdef bint apply_batch(self, int side, const px_t[::1] px, const qty_t[::1] qty) except -1
    cpdef bint load_snapshot(self, const px_t[::1] bid_px, const qty_t[::1] bid_qty,
                             const px_t[::1] ask_px, const qty_t[::1] ask_qty) except -1
    cpdef void clear(self)
    cpdef Py_ssize_t n_levels(self, int side) except -1
    cpdef bint is_crossed(self)
    cpdef object best_bid(self)
    cpdef object best_ask(self)
    cpdef object spread(self)
    cpdef object mid_x2(self)
    cpdef tuple level(self, int side, Py_ssize_t i)
    cpdef tuple top_n(self, int side, Py_ssize_t n)
    cpdef object qty_in_band(self, int side, px_t px_lo, px_t px_hi)
    cpdef int check_invariants(self, bint allow_crossed=*) except -1
