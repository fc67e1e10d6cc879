# L2 order book on int64 fixed point: per side one sorted array of Level{px, qty}, best level
# LAST (bids ascending, asks descending) so updates near the touch memmove a few bytes.
# Owns only price levels: never parses text, never logs, never uncrosses a crossed book (the
# caller reads the crossed flag and resyncs). Bad input raises WireError; nothing is dropped.
cimport cython
from cpython.mem cimport PyMem_Free
from cpython.mem cimport PyMem_Malloc
from cpython.mem cimport PyMem_Realloc
from libc.stdint cimport INT64_MAX
from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from libc.string cimport memmove

import numpy as np

from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t

from veloz._core.errors import InvariantError
from veloz._core.errors import NumberError
from veloz._core.errors import WireError

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef enum:
    # Best levels searched by a branch-free count before bisecting the rest: depth diffs touch
    # the first few levels. A fresh 100k stream at geometric depth (mean 6), release build:
    # an early-exit scan cost 9.9 ns per replace (its exit mispredicts), the count 6.0 ns.
    SCAN = 16
    MIN_CAP = 16  # levels allocated at the first growth of an empty side
    DEFAULT_CAPACITY = 1024  # levels per side allocated by Book() unless told otherwise

_SIDE_NAMES = ("bid", "ask")


# ---- cold error paths: kept out of line so the hot loops stay small ---------------------------

cdef int _raise_side(int side) except -1:
    raise ValueError(f"side must be BID (0) or ASK (1), got {side}")


cdef int _raise_negative(int side, px_t px, qty_t qty) except -1:
    raise WireError(f"negative qty {qty} at px {px} on the {_SIDE_NAMES[side]} side")


cdef int _check_qty(int side, const px_t* px, const qty_t* qty, Py_ssize_t n) except -1:
    # Whole-batch validation before any level changes, so a bad batch leaves the book as it was.
    cdef Py_ssize_t i
    cdef qty_t lowest = 0
    for i in range(n):  # branch-free min: the loop vectorises, the raise path is outside it
        lowest = qty[i] if qty[i] < lowest else lowest
    if lowest < 0:
        for i in range(n):
            if qty[i] < 0:
                return _raise_negative(side, px[i], qty[i])
    return 0


# ---- storage ----------------------------------------------------------------------------------

cdef int _reserve(BookSide* s, Py_ssize_t want) except -1:
    # Grow s to hold at least `want` levels (doubling), keeping its contents. O(n) when it moves.
    cdef Py_ssize_t new_cap
    cdef void* p
    if want <= s.cap:
        return 0
    new_cap = max(want, 2 * s.cap, <Py_ssize_t>MIN_CAP)
    if new_cap > PY_SSIZE_T_MAX // <Py_ssize_t>sizeof(Level):
        raise MemoryError(f"book side of {new_cap} levels")
    p = PyMem_Realloc(s.lv, new_cap * sizeof(Level))
    if p == NULL:
        raise MemoryError(f"book side of {new_cap} levels")
    s.lv = <Level*>p
    s.cap = new_cap
    return 0


cdef inline Py_ssize_t _bisect(const Level* lv, Py_ssize_t lo, Py_ssize_t hi, px_t px,
                               bint is_bid, bint or_equal) noexcept nogil:
    # Index in [lo, hi] just past the levels worse than px (or_equal: worse than or equal to
    # px). Worse means lower for bids, higher for asks; lv[lo:hi] is sorted worst -> best.
    cdef Py_ssize_t mid
    cdef px_t p
    while lo < hi:
        mid = lo + ((hi - lo) >> 1)
        p = lv[mid].px
        if ((p < px) if is_bid else (p > px)) or (or_equal and p == px):
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline Py_ssize_t _rank(const Level* lv, Py_ssize_t n, px_t px, bint is_bid) noexcept nogil:
    # Number of levels not better than px: px's slot is j - 1 when lv[j - 1].px == px, else px
    # goes in at j. Updates cluster at the touch: when px falls inside the SCAN best levels,
    # count the levels better than px without branching (sorted, so they are a suffix of the
    # window); a data-dependent loop exit there mispredicts on most fresh updates.
    cdef Py_ssize_t lo = n - SCAN if n > SCAN else 0
    cdef Py_ssize_t k
    cdef Py_ssize_t n_better = 0
    if lo > 0 and ((lv[lo].px > px) if is_bid else (lv[lo].px < px)):
        return _bisect(lv, 0, lo, px, is_bid, True)
    if is_bid:
        for k in range(lo, n):
            n_better += lv[k].px > px
    else:
        for k in range(lo, n):
            n_better += lv[k].px < px
    return n - n_better


cdef inline int _put(BookSide* s, px_t px, qty_t qty, bint is_bid) noexcept nogil:
    # Set (qty > 0) or delete (qty == 0) the level at px; return 1 when a delete found no level,
    # else 0. Caller guarantees qty >= 0 and s.n < s.cap. O(SCAN) at the touch, else
    # O(log n), plus a memmove of the levels better than px on insert or delete.
    cdef Level* lv = s.lv
    cdef Py_ssize_t n = s.n
    cdef Py_ssize_t j = _rank(lv, n, px, is_bid)
    if j > 0 and lv[j - 1].px == px:
        if qty != 0:
            lv[j - 1].qty = qty
        else:
            memmove(lv + j - 1, lv + j, (n - j) * sizeof(Level))
            s.n = n - 1
        return 0
    if qty == 0:
        return 1
    memmove(lv + j + 1, lv + j, (n - j) * sizeof(Level))
    lv[j].px = px
    lv[j].qty = qty
    s.n = n + 1
    return 0


cdef Py_ssize_t _copy_reversed(Level* dst, const px_t* px, const qty_t* qty,
                               Py_ssize_t n) noexcept nogil:
    # Wire order is best first; storage is best last. Zero quantities are skipped.
    cdef Py_ssize_t i
    cdef Py_ssize_t k = 0
    for i in range(n - 1, -1, -1):
        if qty[i] != 0:
            dst[k].px = px[i]
            dst[k].qty = qty[i]
            k += 1
    return k


cdef void _merge_sort(Level* a, Level* tmp, Py_ssize_t n) noexcept nogil:
    # Stable bottom-up merge sort of a[:n] by px ascending; tmp holds n levels. O(n log n).
    # Stability is what makes "the last duplicate wins" hold after sorting.
    cdef Py_ssize_t width = 1
    cdef Py_ssize_t lo
    cdef Py_ssize_t mid
    cdef Py_ssize_t hi
    cdef Py_ssize_t i
    cdef Py_ssize_t j
    cdef Py_ssize_t k
    cdef Level* src = a
    cdef Level* dst = tmp
    cdef Level* t
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if src[j].px < src[i].px:
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
            lo = hi
        t = src
        src = dst
        dst = t
        width *= 2
    if src != a:
        memcpy(a, src, n * sizeof(Level))


cdef Py_ssize_t _load_side(BookSide* s, const px_t* px, const qty_t* qty, Py_ssize_t n,
                           bint is_bid, Level* tmp) noexcept nogil:
    # Replace s with the levels of (px, qty)[:n] in any order: zero quantities skipped, the
    # last of duplicate prices wins. s.cap >= n and tmp holds n levels. Fast path O(n) when
    # in wire order (bids strictly descending, asks strictly ascending), else O(n log n).
    cdef Py_ssize_t i
    cdef Py_ssize_t k = 0
    cdef Py_ssize_t m = 0
    cdef bint is_wire_order = True
    cdef Level* lv = s.lv
    cdef Level x
    for i in range(1, n):
        if (px[i] >= px[i - 1]) if is_bid else (px[i] <= px[i - 1]):
            is_wire_order = False
            break
    if is_wire_order:
        s.n = _copy_reversed(lv, px, qty, n)
        return s.n
    for i in range(n):
        if qty[i] != 0:
            lv[k].px = px[i]
            lv[k].qty = qty[i]
            k += 1
    _merge_sort(lv, tmp, k)
    for i in range(k):  # keep the last of each run of equal prices
        if m > 0 and lv[m - 1].px == lv[i].px:
            lv[m - 1] = lv[i]
        else:
            lv[m] = lv[i]
            m += 1
    if not is_bid:  # asks are stored descending
        for i in range(m // 2):
            x = lv[i]
            lv[i] = lv[m - 1 - i]
            lv[m - 1 - i] = x
    s.n = m
    return m


@cython.final
cdef class Book:
    """L2 order book of one instrument: price levels as int64 raws, best level last per side.

    Quantities are positive inside the book; an update with qty 0 deletes its level. The book
    never uncrosses itself: a crossed book (best bid >= best ask) is reported by the return
    value of every apply/load method and by ``is_crossed()``, and the caller resyncs.

    Parameters
    ----------
    price_dp : int
        Decimal places of every price raw in this book (0..18).
    qty_dp : int
        Decimal places of every quantity raw in this book (0..18).
    capacity : int
        Levels allocated per side up front (default 1024); a side grows by doubling past it.

    Raises
    ------
    ValueError
        If a dp is outside 0..18 or capacity is negative.
    """

    def __cinit__(self):
        cdef int k
        for k in range(2):
            self.sides[k].lv = NULL
            self.sides[k].n = 0
            self.sides[k].cap = 0

    def __init__(self, int price_dp, int qty_dp, Py_ssize_t capacity=DEFAULT_CAPACITY):
        if not 0 <= price_dp <= 18:
            raise ValueError(f"price_dp must be 0..18, got {price_dp}")
        if not 0 <= qty_dp <= 18:
            raise ValueError(f"qty_dp must be 0..18, got {qty_dp}")
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.price_dp = price_dp
        self.qty_dp = qty_dp
        self.n_levels_applied = 0
        self.n_delete_missing = 0
        _reserve(&self.sides[<int>BID], capacity)
        _reserve(&self.sides[<int>ASK], capacity)
        self.sides[<int>BID].n = 0
        self.sides[<int>ASK].n = 0

    def __dealloc__(self):
        PyMem_Free(self.sides[<int>BID].lv)
        PyMem_Free(self.sides[<int>ASK].lv)

    # ---- C API (callers pass a valid side: BID or ASK) ----------------------------------------

    cdef int apply_level_c(self, int side, px_t px, qty_t qty) except -1:
        """Set (qty > 0) or delete (qty == 0) one level; O(1) near the touch, else O(log n)
        plus the memmove of the levels better than px. Raise WireError on qty < 0 (book kept)."""
        cdef BookSide* s = &self.sides[side]
        if qty < 0:
            return _raise_negative(side, px, qty)
        if s.n == s.cap:
            _reserve(s, s.n + 1)
        if side == BID:
            self.n_delete_missing += <uint64_t>_put(s, px, qty, True)
        else:
            self.n_delete_missing += <uint64_t>_put(s, px, qty, False)
        self.n_levels_applied += 1
        return 0

    cdef int apply_c(self, int side, const px_t* px, const qty_t* qty, Py_ssize_t n) except -1:
        """Apply n level updates to one side in order (the per-level work of apply_level_c,
        inlined). The whole batch is checked first: a qty < 0 raises WireError before any level
        changes. O(n) near the touch."""
        cdef BookSide* s = &self.sides[side]
        cdef Py_ssize_t i
        cdef uint64_t n_missing = 0
        _check_qty(side, px, qty, n)
        _reserve(s, s.n + n)  # room for every update being an insert: no check in the loop
        if side == BID:
            for i in range(n):
                n_missing += <uint64_t>_put(s, px[i], qty[i], True)
        else:
            for i in range(n):
                n_missing += <uint64_t>_put(s, px[i], qty[i], False)
        self.n_delete_missing += n_missing
        self.n_levels_applied += <uint64_t>n
        return 0

    cdef int load_c(self, const px_t* bid_px, const qty_t* bid_qty, Py_ssize_t n_bids,
                    const px_t* ask_px, const qty_t* ask_qty, Py_ssize_t n_asks) except -1:
        """Replace the whole book with a snapshot given in any order (see load_snapshot).
        A qty < 0 raises WireError before the book changes. Counters do not move."""
        cdef Level* tmp = NULL
        _check_qty(BID, bid_px, bid_qty, n_bids)
        _check_qty(ASK, ask_px, ask_qty, n_asks)
        _reserve(&self.sides[<int>BID], n_bids)
        _reserve(&self.sides[<int>ASK], n_asks)
        tmp = <Level*>PyMem_Malloc(max(n_bids, n_asks, 1) * sizeof(Level))
        if tmp == NULL:
            raise MemoryError("snapshot sort buffer")
        _load_side(&self.sides[<int>BID], bid_px, bid_qty, n_bids, True, tmp)
        _load_side(&self.sides[<int>ASK], ask_px, ask_qty, n_asks, False, tmp)
        PyMem_Free(tmp)
        return 0

    cdef bint is_crossed_c(self) noexcept nogil:
        """True when both sides have levels and best bid >= best ask. O(1)."""
        cdef const BookSide* b = &self.sides[<int>BID]
        cdef const BookSide* a = &self.sides[<int>ASK]
        return b.n > 0 and a.n > 0 and b.lv[b.n - 1].px >= a.lv[a.n - 1].px

    # ---- Python API -----------------------------------------------------------------------------

    cpdef bint apply_level(self, int side, px_t px, qty_t qty) except -1:
        """Set or delete one price level and say whether the book is crossed afterwards.

        Parameters
        ----------
        side : int
            ``BID`` (0) or ``ASK`` (1).
        px : int
            Price raw at ``price_dp``.
        qty : int
            Quantity raw at ``qty_dp``: > 0 inserts or replaces the level, 0 deletes it. A
            delete of a price not in the book bumps ``n_delete_missing`` and changes nothing.

        Returns
        -------
        bool
            True if best bid >= best ask afterwards (both sides non-empty).

        Raises
        ------
        ValueError
            If side is not BID or ASK.
        WireError
            If qty < 0 (the book is unchanged).

        Notes
        -----
        O(1) for a price within 16 levels of the touch, else O(log n), plus a memmove of the
        levels better than px on insert or delete. Bumps ``n_levels_applied`` on success.
        """
        if <unsigned int>side > 1:
            return _raise_side(side)
        self.apply_level_c(side, px, qty)
        return self.is_crossed_c()

    cpdef bint apply_batch(self, int side, const px_t[::1] px, const qty_t[::1] qty) except -1:
        """Apply level updates to one side in order; say whether the book is crossed after.

        Parameters
        ----------
        side : int
            ``BID`` (0) or ``ASK`` (1).
        px, qty : int64 buffer (e.g. ``np.ndarray[int64]``), C-contiguous, equal length
            Price raws and quantity raws; each pair is handled as by ``apply_level``.

        Returns
        -------
        bool
            True if best bid >= best ask afterwards (both sides non-empty).

        Raises
        ------
        ValueError
            If side is not BID or ASK, or the lengths differ.
        WireError
            If any qty < 0; checked before any level changes, so the book is unchanged.

        Notes
        -----
        O(k) for k updates near the touch (O(k log n) far from it), in one C loop.
        """
        cdef Py_ssize_t n
        if <unsigned int>side > 1:
            return _raise_side(side)
        if px is None or qty is None:
            raise TypeError("apply_batch needs two int64 buffers, got None")
        n = px.shape[0]
        if qty.shape[0] != n:
            raise ValueError(f"px and qty lengths differ: {n} != {qty.shape[0]}")
        if n > 0:
            self.apply_c(side, &px[0], &qty[0], n)
        return self.is_crossed_c()

    cpdef bint load_snapshot(self, const px_t[::1] bid_px, const qty_t[::1] bid_qty,
                             const px_t[::1] ask_px, const qty_t[::1] ask_qty) except -1:
        """Replace the whole book with a snapshot; say whether it is crossed.

        Parameters
        ----------
        bid_px, bid_qty, ask_px, ask_qty : int64 buffers, C-contiguous
            Levels in any order. Wire order (bids strictly descending, asks strictly
            ascending) takes the fast path. Of duplicate prices the last wins; entries with
            qty 0 are skipped (they neither set nor delete a level).

        Returns
        -------
        bool
            True if best bid >= best ask in the loaded book (both sides non-empty).

        Raises
        ------
        ValueError
            If a px and its qty buffer differ in length.
        WireError
            If any qty < 0 (checked before the book changes).

        Notes
        -----
        O(n) in wire order, else O(n log n). The counters do not move.
        """
        cdef Py_ssize_t nb
        cdef Py_ssize_t na
        if bid_px is None or bid_qty is None or ask_px is None or ask_qty is None:
            raise TypeError("load_snapshot needs four int64 buffers, got None")
        nb = bid_px.shape[0]
        na = ask_px.shape[0]
        if bid_qty.shape[0] != nb:
            raise ValueError(f"bid px and qty lengths differ: {nb} != {bid_qty.shape[0]}")
        if ask_qty.shape[0] != na:
            raise ValueError(f"ask px and qty lengths differ: {na} != {ask_qty.shape[0]}")
        self.load_c(&bid_px[0] if nb else NULL, &bid_qty[0] if nb else NULL, nb,
                    &ask_px[0] if na else NULL, &ask_qty[0] if na else NULL, na)
        return self.is_crossed_c()

    cpdef void clear(self):
        """Remove every level (keeps the allocation and the counters). O(1)."""
        self.sides[<int>BID].n = 0
        self.sides[<int>ASK].n = 0

    cpdef Py_ssize_t n_levels(self, int side) except -1:
        """Return the number of levels on ``side`` (BID or ASK; else ValueError). O(1)."""
        if <unsigned int>side > 1:
            return _raise_side(side)
        return self.sides[side].n

    cpdef bint is_crossed(self):
        """Return True when both sides have levels and best bid >= best ask. O(1)."""
        return self.is_crossed_c()

    cpdef object best_bid(self):
        """Return the best bid as ``(px, qty)`` raws, or None when there are no bids. O(1)."""
        cdef const BookSide* s = &self.sides[<int>BID]
        if s.n == 0:
            return None
        return (s.lv[s.n - 1].px, s.lv[s.n - 1].qty)

    cpdef object best_ask(self):
        """Return the best ask as ``(px, qty)`` raws, or None when there are no asks. O(1)."""
        cdef const BookSide* s = &self.sides[<int>ASK]
        if s.n == 0:
            return None
        return (s.lv[s.n - 1].px, s.lv[s.n - 1].qty)

    cpdef object spread(self):
        """Return best ask - best bid as an exact int raw (negative when crossed), or None
        when a side is empty. O(1)."""
        cdef const BookSide* b = &self.sides[<int>BID]
        cdef const BookSide* a = &self.sides[<int>ASK]
        if b.n == 0 or a.n == 0:
            return None
        # Python ints: exact even where the int64 difference would overflow
        return <object>a.lv[a.n - 1].px - <object>b.lv[b.n - 1].px

    cpdef object mid_x2(self):
        """Return best bid + best ask, twice the mid price, as an exact int raw at
        ``price_dp``, or None when a side is empty.

        The mid itself is ``mid_x2 / 2``: keeping the doubled value means no float and no
        rounding enter the book; divide (or ``fixed.to_float(mid_x2, price_dp) / 2``) only at
        the edge. O(1).
        """
        cdef const BookSide* b = &self.sides[<int>BID]
        cdef const BookSide* a = &self.sides[<int>ASK]
        if b.n == 0 or a.n == 0:
            return None
        return <object>a.lv[a.n - 1].px + <object>b.lv[b.n - 1].px

    cpdef tuple level(self, int side, Py_ssize_t i):
        """Return level ``i`` of ``side`` as ``(px, qty)`` raws, ``i = 0`` being the best.

        Raises
        ------
        ValueError
            If side is not BID or ASK.
        IndexError
            If ``i < 0`` or ``i >= n_levels(side)``.

        Notes
        -----
        O(1).
        """
        cdef const BookSide* s
        if <unsigned int>side > 1:
            _raise_side(side)
        s = &self.sides[side]
        if i < 0 or i >= s.n:
            raise IndexError(f"{_SIDE_NAMES[side]} level {i} out of range: {s.n} levels")
        return (s.lv[s.n - 1 - i].px, s.lv[s.n - 1 - i].qty)

    cpdef tuple top_n(self, int side, Py_ssize_t n):
        """Return the best ``min(n, n_levels(side))`` levels, best first, as ``(px, qty)``
        int64 arrays (copies).

        Raises
        ------
        ValueError
            If side is not BID or ASK, or n < 0.

        Notes
        -----
        O(n).
        """
        cdef const BookSide* s
        cdef Py_ssize_t m
        cdef Py_ssize_t i
        cdef px_t[::1] pv
        cdef qty_t[::1] qv
        if <unsigned int>side > 1:
            _raise_side(side)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        s = &self.sides[side]
        m = min(n, s.n)
        px_arr = np.empty(m, dtype=np.int64)
        qty_arr = np.empty(m, dtype=np.int64)
        pv = px_arr
        qv = qty_arr
        for i in range(m):
            pv[i] = s.lv[s.n - 1 - i].px
            qv[i] = s.lv[s.n - 1 - i].qty
        return (px_arr, qty_arr)

    cpdef object qty_in_band(self, int side, px_t px_lo, px_t px_hi):
        """Return the total quantity of ``side`` at prices ``px_lo <= px <= px_hi``.

        Returns
        -------
        int
            Exact sum of quantity raws at ``qty_dp``; 0 when the band is empty or inverted.

        Raises
        ------
        ValueError
            If side is not BID or ASK.
        NumberError
            If the sum does not fit int64.

        Notes
        -----
        O(log n + k) for k levels in the band.
        """
        cdef const BookSide* s
        cdef Py_ssize_t i0
        cdef Py_ssize_t i1
        cdef Py_ssize_t i
        cdef qty_t total = 0
        cdef qty_t q
        cdef bint is_bid = side == BID
        if <unsigned int>side > 1:
            _raise_side(side)
        if px_lo > px_hi:
            return 0
        s = &self.sides[side]
        if is_bid:  # ascending: [first px >= lo, first px > hi)
            i0 = _bisect(s.lv, 0, s.n, px_lo, True, False)
            i1 = _bisect(s.lv, i0, s.n, px_hi, True, True)
        else:  # descending: [first px <= hi, first px < lo)
            i0 = _bisect(s.lv, 0, s.n, px_hi, False, False)
            i1 = _bisect(s.lv, i0, s.n, px_lo, False, True)
        for i in range(i0, i1):
            q = s.lv[i].qty
            if q > INT64_MAX - total:  # quantities are > 0: the sum only grows
                raise NumberError(
                    f"{_SIDE_NAMES[side]} qty in [{px_lo}, {px_hi}] does not fit int64")
            total += q
        return total

    cpdef int check_invariants(self, bint allow_crossed=False) except -1:
        """Check the book's structure; return 0 or raise InvariantError saying what is wrong.

        Checks, per side: 0 <= n <= cap, storage present when cap > 0, prices strictly
        ascending (bids) or strictly descending (asks), every qty > 0; and, unless
        ``allow_crossed``, that best bid < best ask.

        Raises
        ------
        InvariantError
            On the first broken rule, naming side, index and values.

        Notes
        -----
        O(n).
        """
        cdef int side
        cdef const BookSide* s
        cdef Py_ssize_t i
        cdef bint is_bid
        for side in range(2):
            s = &self.sides[side]
            is_bid = side == BID
            name = _SIDE_NAMES[side]
            if s.n < 0 or s.n > s.cap:
                raise InvariantError(f"{name} side: n={s.n} outside 0..cap={s.cap}")
            if s.cap > 0 and s.lv == NULL:
                raise InvariantError(f"{name} side: cap={s.cap} but no storage")
            for i in range(s.n):
                if s.lv[i].qty <= 0:
                    raise InvariantError(
                        f"{name} side: level {i} at px {s.lv[i].px} has qty {s.lv[i].qty} <= 0")
                if i > 0 and ((s.lv[i].px <= s.lv[i - 1].px) if is_bid
                              else (s.lv[i].px >= s.lv[i - 1].px)):
                    raise InvariantError(
                        f"{name} side not strictly {'ascending' if is_bid else 'descending'} "
                        f"in storage at index {i}: px {s.lv[i - 1].px} then {s.lv[i].px}")
        if not allow_crossed and self.is_crossed_c():
            raise InvariantError(
                f"book crossed: best bid {self.best_bid()} >= best ask {self.best_ask()}")
        return 0

    def __repr__(self):
        return (f"Book(bid={self.best_bid()} ask={self.best_ask()} "
                f"n_bids={self.sides[<int>BID].n} n_asks={self.sides[<int>ASK].n} "
                f"price_dp={self.price_dp} qty_dp={self.qty_dp})")
