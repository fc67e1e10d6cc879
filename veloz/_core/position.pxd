# One-way-mode futures position of one instrument (Binance USD-M semantics) on exact fixed
# point: signed qty, exact open cost, realized PnL; every product through a 128-bit intermediate.
cimport cython
from libc.stdint cimport int64_t

from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t


@cython.final
cdef class Position:
    cdef:
        readonly int price_dp          # decimal places of every px
        readonly int qty_dp            # decimal places of every qty
        readonly qty_t qty             # open qty raw at qty_dp, signed: > 0 long, < 0 short
        readonly int64_t cost          # sum of open px * qty raw at price_dp + qty_dp, sign of qty
        readonly int64_t realized_pnl  # cumulative realized PnL raw at price_dp + qty_dp, signed
        readonly int64_t n_fills       # fills applied, lifetime

    cdef px_t entry_px_c(self) noexcept nogil
    cpdef int64_t apply_fill(self, int side, px_t px, qty_t qty) except? -1
    cpdef int64_t unrealized_pnl(self, px_t mark_px) except? -1
    cpdef int64_t notional(self, px_t mark_px) except? -1
    cpdef int check_invariants(self) except -1
