# Price-time-priority matching engine of one symbol, for the embedded exchange and backtests.
# Owns orders, resting levels and the event buffer; never reads a clock, never draws a random
# number, never logs and never talks to a network: the caller passes every time and drains
# events. Bad orders are REJECTED events with a Reason, never exceptions.
cimport cython
from cpython.mem cimport PyMem_Free
from cpython.mem cimport PyMem_Malloc
from cpython.mem cimport PyMem_Realloc
from libc.stdint cimport INT64_MAX
from libc.stdint cimport int64_t
from libc.string cimport memmove

from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.fixed cimport mul_div

from veloz._core.errors import InvariantError

cdef extern from "Python.h":
    const Py_ssize_t PY_SSIZE_T_MAX

cdef extern from *:
    """
    typedef __int128 veloz_i128;
    """
    ctypedef long long veloz_i128  # really __int128; Cython only needs the name

cdef enum:
    INIT_ORDERS = 1024   # order slots allocated up front
    INIT_EVENTS = 1024   # events allocated up front
    INIT_LEVELS = 64     # levels per side allocated up front
    PPM = 1000000        # fee denominator: parts per million

_SIDE_NAMES = ("buy", "sell")
_STATUS_NAMES = ("NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED")


# ---- storage ----------------------------------------------------------------------------------

cdef int _grow(void** p, Py_ssize_t* cap, Py_ssize_t want, Py_ssize_t item,
               str what) except -1:
    # Grow *p to hold at least `want` items of `item` bytes (doubling), keeping its contents.
    cdef Py_ssize_t new_cap
    cdef void* q
    if want <= cap[0]:
        return 0
    new_cap = max(want, 2 * cap[0], <Py_ssize_t>16)
    if new_cap > PY_SSIZE_T_MAX // item:
        raise MemoryError(f"{what}: {new_cap} items")
    q = PyMem_Realloc(p[0], new_cap * item)
    if q == NULL:
        raise MemoryError(f"{what}: {new_cap} items")
    p[0] = q
    cap[0] = new_cap
    return 0


cdef inline Py_ssize_t _lower(const Lvl* lv, Py_ssize_t n, px_t px, bint is_bid) noexcept nogil:
    # Number of levels strictly worse than px (lower bids, higher asks); px's level, when it
    # exists, is at that index. lv[:n] is sorted worst -> best. O(log n).
    cdef Py_ssize_t lo = 0
    cdef Py_ssize_t hi = n
    cdef Py_ssize_t mid
    cdef px_t p
    while lo < hi:
        mid = lo + ((hi - lo) >> 1)
        p = lv[mid].px
        if (p < px) if is_bid else (p > px):
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef inline bint _fits(px_t px, qty_t qty) noexcept nogil:
    # px * qty fits int64 (both > 0).
    return <veloz_i128>px * <veloz_i128>qty <= <veloz_i128>INT64_MAX


cdef inline bint _crosses(const LvlSide* opp, bint is_buy, bint is_market,
                          px_t px) noexcept nogil:
    # An incoming order on the other side would match the best level of opp.
    cdef px_t best
    if opp.n == 0:
        return False
    if is_market:
        return True
    best = opp.lv[opp.n - 1].px
    return best <= px if is_buy else best >= px


cdef void _sift(Py_ssize_t* a, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    # Max-heap sift-down of a[i] within a[:n].
    cdef Py_ssize_t c
    cdef Py_ssize_t x
    while True:
        c = 2 * i + 1
        if c >= n:
            return
        if c + 1 < n and a[c + 1] > a[c]:
            c += 1
        if a[i] >= a[c]:
            return
        x = a[i]
        a[i] = a[c]
        a[c] = x
        i = c


cdef void _sort(Py_ssize_t* a, Py_ssize_t n) noexcept nogil:
    # Insertion sort for short runs, else heap sort: in place, O(n log n), no allocation.
    cdef Py_ssize_t i
    cdef Py_ssize_t j
    cdef Py_ssize_t x
    cdef Py_ssize_t end
    if n <= 32:
        for i in range(1, n):
            x = a[i]
            j = i - 1
            while j >= 0 and a[j] > x:
                a[j + 1] = a[j]
                j -= 1
            a[j + 1] = x
        return
    for i in range(n // 2 - 1, -1, -1):
        _sift(a, i, n)
    for end in range(n - 1, 0, -1):
        x = a[0]
        a[0] = a[end]
        a[end] = x
        _sift(a, 0, end)


@cython.final
cdef class MatchingEngine:
    """Price-time-priority matching engine of one symbol on int64 fixed point.

    Orders match the best opposite level first, FIFO within a level, at the resting order's
    price. Every call appends events to an internal buffer that the caller empties with
    ``drain()``; order state stays readable through ``order()`` for the engine's lifetime.

    Parameters
    ----------
    price_dp : int
        Decimal places of every price raw (0..18).
    qty_dp : int
        Decimal places of every quantity raw (0..18).
    maker_fee_ppm, taker_fee_ppm : int
        Fees in parts per million of notional, -1_000_000..1_000_000 (negative is a rebate).
        A fill's fee is ``px * qty * ppm / 1_000_000`` rounded toward zero, raw at
        ``price_dp + qty_dp``.

    Raises
    ------
    ValueError
        If a dp or a fee is out of range.

    Notes
    -----
    Order ids run 1, 2, 3, ... in submit order, rejected orders included. Every order keeps
    its slot for the engine's lifetime (about 100 bytes each), so ``order()`` and ``cancel()``
    are O(1) without a hash map. Resting levels are sorted arrays, best last.
    """

    def __cinit__(self):
        cdef int k
        self.orders = NULL
        self.events = NULL
        self.n_orders = self.cap_orders = 0
        self.n_events = self.cap_events = 0
        for k in range(2):
            self.sides[k].lv = NULL
            self.sides[k].n = 0
            self.sides[k].cap = 0

    def __init__(self, int price_dp, int qty_dp, int64_t maker_fee_ppm, int64_t taker_fee_ppm):
        cdef int k
        if not 0 <= price_dp <= 18:
            raise ValueError(f"price_dp must be 0..18, got {price_dp}")
        if not 0 <= qty_dp <= 18:
            raise ValueError(f"qty_dp must be 0..18, got {qty_dp}")
        if not -PPM <= maker_fee_ppm <= PPM:
            raise ValueError(f"maker_fee_ppm must be -1000000..1000000, got {maker_fee_ppm}")
        if not -PPM <= taker_fee_ppm <= PPM:
            raise ValueError(f"taker_fee_ppm must be -1000000..1000000, got {taker_fee_ppm}")
        self.price_dp = price_dp
        self.qty_dp = qty_dp
        self.maker_fee_ppm = maker_fee_ppm
        self.taker_fee_ppm = taker_fee_ppm
        self.n_trades = 0
        _grow(<void**>&self.orders, &self.cap_orders, INIT_ORDERS, sizeof(Ord), "order pool")
        _grow(<void**>&self.events, &self.cap_events, INIT_EVENTS, sizeof(Ev), "event buffer")
        for k in range(2):
            _grow(<void**>&self.sides[k].lv, &self.sides[k].cap, INIT_LEVELS, sizeof(Lvl),
                  "levels")

    def __dealloc__(self):
        PyMem_Free(self.orders)
        PyMem_Free(self.events)
        PyMem_Free(self.sides[0].lv)
        PyMem_Free(self.sides[1].lv)

    # ---- C API --------------------------------------------------------------------------------

    cdef const Ev* events_c(self, Py_ssize_t* n) noexcept:
        """Point at the undrained events (oldest first) and set ``*n`` to their count. The
        pointer is valid until the next call that emits; call ``clear_events_c`` when done."""
        n[0] = self.n_events
        return self.events

    cdef void clear_events_c(self) noexcept:
        """Forget every undrained event (the buffer is kept). O(1)."""
        self.n_events = 0

    # ---- internals (slot = order_id - 1; callers pass valid slots) ----------------------------

    cdef int _emit(self, int kind, int64_t order_id, int64_t maker_id, px_t px, qty_t qty,
                   int64_t taker_fee, int64_t maker_fee, int maker_side, int reason,
                   ns_t ts_ns) except -1:
        # Append one event; O(1) amortised.
        cdef Ev* e
        if self.n_events == self.cap_events:
            _grow(<void**>&self.events, &self.cap_events, self.n_events + 1, sizeof(Ev),
                  "event buffer")
        e = &self.events[self.n_events]
        e.kind = kind
        e.reason = reason
        e.maker_side = maker_side
        e.order_id = order_id
        e.maker_id = maker_id
        e.px = px
        e.qty = qty
        e.taker_fee = taker_fee
        e.maker_fee = maker_fee
        e.ts_ns = ts_ns
        self.n_events += 1
        return 0

    cdef int _close(self, Py_ssize_t slot, int status, int reason, int ev_kind,
                    ns_t ts_ns) except -1:
        # Move the order's remaining qty to `closed`, set its terminal status and emit the event
        # saying so. The order must already be out of the book.
        cdef Ord* o = &self.orders[slot]
        cdef qty_t q = o.left
        o.closed += q
        o.left = 0
        o.status = status
        o.reason = reason
        self._emit(ev_kind, slot + 1, 0, o.px, q, 0, 0, -1, reason, ts_ns)
        return 0

    cdef int _unlink(self, Py_ssize_t slot) except -1:
        # Take a resting order out of its level (and the level out of the book when it empties).
        # O(log n) to find the level, plus a memmove when the level goes.
        cdef Ord* o = &self.orders[slot]
        cdef LvlSide* s = &self.sides[o.side]
        cdef Py_ssize_t j = _lower(s.lv, s.n, o.px, o.side == BUY)
        cdef Lvl* lv
        if j >= s.n or s.lv[j].px != o.px:
            raise InvariantError(f"order {slot + 1} at px {o.px} has no level")
        lv = &s.lv[j]
        if o.prev != -1:
            self.orders[o.prev].next = o.next
        else:
            lv.head = o.next
        if o.next != -1:
            self.orders[o.next].prev = o.prev
        else:
            lv.tail = o.prev
        o.prev = o.next = -1
        lv.qty -= o.left
        if lv.head == -1:
            memmove(lv, lv + 1, (s.n - j - 1) * sizeof(Lvl))
            s.n -= 1
        return 0

    cdef int _rest(self, Py_ssize_t slot) except -1:
        # Append the order at the tail of its price level, inserting the level if new.
        # O(log n) plus a memmove of the better levels on insert.
        cdef Ord* o = &self.orders[slot]
        cdef LvlSide* s = &self.sides[o.side]
        cdef Py_ssize_t j = _lower(s.lv, s.n, o.px, o.side == BUY)
        cdef Lvl* lv
        if j < s.n and s.lv[j].px == o.px:
            lv = &s.lv[j]
            self.orders[lv.tail].next = slot
            o.prev = lv.tail
            o.next = -1
            lv.tail = slot
            lv.qty += o.left
            return 0
        if s.n == s.cap:
            _grow(<void**>&s.lv, &s.cap, s.n + 1, sizeof(Lvl), "levels")
        lv = &s.lv[j]
        memmove(lv + 1, lv, (s.n - j) * sizeof(Lvl))
        lv.px = o.px
        lv.qty = o.left
        lv.head = lv.tail = slot
        o.prev = o.next = -1
        s.n += 1
        return 0

    cdef int _fok_fillable(self, Py_ssize_t slot) except -1:
        # 1 when matching would fill the order completely, else 0; changes nothing. Follows
        # the taker's STP mode: EXPIRE_MAKER skips own orders, EXPIRE_TAKER and EXPIRE_BOTH
        # stop at the first one. O(levels crossed) without STP, else O(orders crossed).
        cdef Ord* t = &self.orders[slot]
        cdef const LvlSide* s = &self.sides[1 - t.side]
        cdef bint is_buy = t.side == BUY
        cdef bint is_market = t.kind == MARKET
        cdef qty_t need = t.left
        cdef Py_ssize_t i
        cdef Py_ssize_t ms
        cdef const Ord* m
        for i in range(s.n - 1, -1, -1):
            if not is_market and ((s.lv[i].px > t.px) if is_buy else (s.lv[i].px < t.px)):
                return 0
            if t.stp == NONE:
                if s.lv[i].qty >= need:
                    return 1
                need -= s.lv[i].qty
                continue
            ms = s.lv[i].head
            while ms != -1:
                m = &self.orders[ms]
                if m.account == t.account:
                    if t.stp != EXPIRE_MAKER:
                        return 0
                elif m.left >= need:
                    return 1
                else:
                    need -= m.left
                ms = m.next
        return 0

    cdef int _match(self, Py_ssize_t slot, ns_t ts_ns) except -1:
        # Match the taker in `slot` against the opposite side until it is filled, the book
        # stops crossing, or STP expires it. O(fills + STP expiries); a level that empties is
        # the best one, so removing it is O(1).
        cdef Ord* t = &self.orders[slot]
        cdef LvlSide* s = &self.sides[1 - t.side]
        cdef bint is_buy = t.side == BUY
        cdef bint is_market = t.kind == MARKET
        cdef int maker_side = 1 - t.side
        cdef Lvl* lv
        cdef Ord* m
        cdef Py_ssize_t ms
        cdef Py_ssize_t nxt
        cdef qty_t q
        cdef int64_t notional
        cdef int64_t taker_fee
        cdef int64_t maker_fee
        while t.left > 0 and s.n > 0:
            lv = &s.lv[s.n - 1]
            if not is_market and ((lv.px > t.px) if is_buy else (lv.px < t.px)):
                break
            ms = lv.head
            while ms != -1 and t.left > 0:
                m = &self.orders[ms]
                nxt = m.next
                if t.stp != NONE and m.account == t.account:
                    if t.stp == EXPIRE_TAKER:
                        self._close(slot, EXPIRED, STP_EXPIRED, EV_EXPIRED, ts_ns)
                        break
                    lv.qty -= m.left  # EXPIRE_MAKER / EXPIRE_BOTH: the maker goes first
                    lv.head = nxt
                    if nxt != -1:
                        self.orders[nxt].prev = -1
                    else:
                        lv.tail = -1
                    m.next = -1
                    self._close(ms, EXPIRED, STP_EXPIRED, EV_EXPIRED, ts_ns)
                    if t.stp == EXPIRE_BOTH:
                        self._close(slot, EXPIRED, STP_EXPIRED, EV_EXPIRED, ts_ns)
                    ms = nxt
                    continue
                q = t.left if t.left < m.left else m.left
                # Submit's bound check keeps every notional and quote total inside int64;
                # mul_div would raise NumberError rather than wrap if that were ever broken.
                notional = mul_div(lv.px, q, 1)
                taker_fee = mul_div(notional, self.taker_fee_ppm, PPM)
                maker_fee = mul_div(notional, self.maker_fee_ppm, PPM)
                t.left -= q
                t.exec += q
                t.quote += notional
                t.fee += taker_fee
                t.status = FILLED if t.left == 0 else PARTIALLY_FILLED
                m.left -= q
                m.exec += q
                m.quote += notional
                m.fee += maker_fee
                lv.qty -= q
                self.n_trades += 1
                self._emit(EV_TRADE, slot + 1, ms + 1, lv.px, q, taker_fee, maker_fee,
                           maker_side, NO_REASON, ts_ns)
                if m.left == 0:
                    m.status = FILLED
                    lv.head = nxt
                    if nxt != -1:
                        self.orders[nxt].prev = -1
                    else:
                        lv.tail = -1
                    m.next = -1
                else:
                    m.status = PARTIALLY_FILLED
                ms = nxt
            if lv.head == -1:
                s.n -= 1
        return 0

    # ---- Python API -----------------------------------------------------------------------------

    cpdef int64_t submit(self, int64_t account, int64_t client_id, int side, int kind, int tif,
                         px_t px, qty_t qty, int stp, ns_t ts_ns) except -1:
        """Accept, match and rest or expire one order; return its order id.

        Parameters
        ----------
        account : int
            Owner id; self-trade prevention compares it.
        client_id : int
            Caller's id, kept on the order.
        side : int
            ``OrdSide.BUY`` (0) or ``OrdSide.SELL`` (1).
        kind : int
            ``OrdKind``: LIMIT, MARKET (px ignored, stored as 0) or LIMIT_MAKER (post-only).
        tif : int
            ``Tif``: GTC rests the remainder, IOC expires it, FOK fills completely or expires
            with no trade, GTX is post-only. MARKET takes GTC or IOC (both mean IOC) or FOK;
            LIMIT_MAKER takes GTC or GTX.
        px : int
            Limit price raw at ``price_dp``, > 0 for LIMIT and LIMIT_MAKER.
        qty : int
            Quantity raw at ``qty_dp``, > 0.
        stp : int
            ``Stp`` mode of this order, applied when it would match a resting order of the
            same account: EXPIRE_TAKER expires this order's remainder, EXPIRE_MAKER expires the
            resting order and goes on, EXPIRE_BOTH expires both.
        ts_ns : int
            Caller's time, ns, stamped on the events.

        Returns
        -------
        int
            The new order id (also for a rejected order).

        Notes
        -----
        Events, in order: REJECTED alone for an invalid order; otherwise NEW, then TRADE and
        STP EXPIRED (maker) events as matching goes, then EXPIRED for the taker if it did not
        rest or fill. REJECTED reasons: BAD_SIDE, BAD_KIND, BAD_TIF, BAD_STP, BAD_QTY, BAD_PX,
        and OVERFLOW when the order's notional bound (its px, or the worst price it could
        fill at, times qty) or its level's total qty would not fit int64. O(log n + fills).
        """
        cdef Py_ssize_t slot
        cdef Ord* o
        cdef LvlSide* own
        cdef LvlSide* opp
        cdef px_t bound_px = 0
        cdef Py_ssize_t j
        cdef int reason = NO_REASON
        cdef bint is_post_only
        if self.n_orders == self.cap_orders:
            _grow(<void**>&self.orders, &self.cap_orders, self.n_orders + 1, sizeof(Ord),
                  "order pool")
        slot = self.n_orders
        self.n_orders += 1
        o = &self.orders[slot]
        o.px = 0 if kind == MARKET else px
        o.orig = qty
        o.left = 0
        o.exec = 0
        o.closed = 0
        o.quote = 0
        o.fee = 0
        o.account = account
        o.client_id = client_id
        o.ts_ns = ts_ns
        o.prev = o.next = -1
        o.side = side
        o.kind = kind
        o.tif = tif
        o.stp = stp
        o.status = NEW
        o.reason = NO_REASON
        if side != BUY and side != SELL:
            reason = BAD_SIDE
        elif kind != LIMIT and kind != MARKET and kind != LIMIT_MAKER:
            reason = BAD_KIND
        elif tif < GTC or tif > GTX:
            reason = BAD_TIF
        elif stp < NONE or stp > EXPIRE_BOTH:
            reason = BAD_STP
        elif qty <= 0:
            reason = BAD_QTY
        elif kind != MARKET and px <= 0:
            reason = BAD_PX
        elif (kind == MARKET and tif == GTX) or (kind == LIMIT_MAKER and (tif == IOC or
                                                                          tif == FOK)):
            reason = BAD_TIF
        else:
            own = &self.sides[side]
            opp = &self.sides[1 - side]
            if side == BUY:  # fills at asks <= px; MARKET up to the worst ask
                bound_px = px if kind != MARKET else (opp.lv[0].px if opp.n > 0 else 0)
            else:  # fills at bids >= px, so at most the best bid
                bound_px = o.px
                if opp.n > 0 and opp.lv[opp.n - 1].px > bound_px:
                    bound_px = opp.lv[opp.n - 1].px
            if bound_px > 0 and not _fits(bound_px, qty):
                reason = OVERFLOW
            elif kind != MARKET:
                j = _lower(own.lv, own.n, px, side == BUY)
                if j < own.n and own.lv[j].px == px and own.lv[j].qty > INT64_MAX - qty:
                    reason = OVERFLOW
        if reason != NO_REASON:
            o.closed = qty
            o.status = REJECTED
            o.reason = reason
            self._emit(EV_REJECTED, slot + 1, 0, px, qty, 0, 0, -1, reason, ts_ns)
            return slot + 1
        o.left = qty
        self._emit(EV_NEW, slot + 1, 0, o.px, qty, 0, 0, -1, NO_REASON, ts_ns)
        is_post_only = kind == LIMIT_MAKER or tif == GTX
        if is_post_only:
            if _crosses(&self.sides[1 - side], side == BUY, False, px):
                self._close(slot, EXPIRED, POST_ONLY_WOULD_TAKE, EV_EXPIRED, ts_ns)
            else:
                self._rest(slot)
            return slot + 1
        if tif == FOK and not self._fok_fillable(slot):
            self._close(slot, EXPIRED, FOK_NOT_FILLABLE, EV_EXPIRED, ts_ns)
            return slot + 1
        self._match(slot, ts_ns)
        o = &self.orders[slot]
        if o.left > 0:
            if kind == LIMIT and tif == GTC:
                self._rest(slot)
            else:
                self._close(slot, EXPIRED, MARKET_REMAINDER if kind == MARKET else IOC_REMAINDER,
                            EV_EXPIRED, ts_ns)
        return slot + 1

    cpdef bint cancel(self, int64_t order_id, ns_t ts_ns=0) except -1:
        """Cancel a resting order; return False if the id is unknown or not resting.

        Emits CANCELED with the remaining qty, stamped ``ts_ns``. O(log n) to find the level,
        plus a memmove when the level empties.
        """
        cdef Py_ssize_t slot
        cdef int status
        if order_id < 1 or order_id > self.n_orders:
            return False
        slot = <Py_ssize_t>(order_id - 1)
        status = self.orders[slot].status
        if status != NEW and status != PARTIALLY_FILLED:
            return False
        self._unlink(slot)
        self._close(slot, CANCELED, NO_REASON, EV_CANCELED, ts_ns)
        return True

    cdef Py_ssize_t _collect(self, int64_t account, Py_ssize_t** out) except -1:
        # Slots of the account's resting orders, ascending, in a PyMem buffer the caller frees.
        # O(resting orders + k log k).
        cdef Py_ssize_t n = 0
        cdef Py_ssize_t k = 0
        cdef Py_ssize_t i
        cdef Py_ssize_t ms
        cdef int side
        cdef Py_ssize_t* buf
        for side in range(2):
            for i in range(self.sides[side].n):
                ms = self.sides[side].lv[i].head
                while ms != -1:
                    n += self.orders[ms].account == account
                    ms = self.orders[ms].next
        buf = <Py_ssize_t*>PyMem_Malloc(max(n, 1) * sizeof(Py_ssize_t))
        if buf == NULL:
            raise MemoryError("open order buffer")
        for side in range(2):
            for i in range(self.sides[side].n):
                ms = self.sides[side].lv[i].head
                while ms != -1:
                    if self.orders[ms].account == account:
                        buf[k] = ms
                        k += 1
                    ms = self.orders[ms].next
        _sort(buf, n)
        out[0] = buf
        return n

    cpdef Py_ssize_t cancel_all(self, int64_t account, ns_t ts_ns=0) except -1:
        """Cancel every resting order of ``account`` in order-id order; return how many.

        O(resting orders + k log n) for k canceled.
        """
        cdef Py_ssize_t* buf = NULL
        cdef Py_ssize_t n = self._collect(account, &buf)
        cdef Py_ssize_t i
        try:
            for i in range(n):
                self._unlink(buf[i])
                self._close(buf[i], CANCELED, NO_REASON, EV_CANCELED, ts_ns)
        finally:
            PyMem_Free(buf)
        return n

    cpdef list drain(self):
        """Return the undrained events, oldest first, and empty the buffer.

        Each event is ``(kind, order_id, maker_id, px, qty, taker_fee, maker_fee, maker_side,
        reason, ts_ns)``: see ``Ev`` in ``matching.pxd`` for what each field holds per kind.
        O(events).
        """
        cdef Py_ssize_t i
        cdef const Ev* e
        out = []
        for i in range(self.n_events):  # one tuple per event: the Python caller asked for it
            e = &self.events[i]
            out.append((e.kind, e.order_id, e.maker_id, e.px, e.qty, e.taker_fee, e.maker_fee,
                        e.maker_side, e.reason, e.ts_ns))
        self.n_events = 0
        return out

    cpdef dict order(self, int64_t order_id):
        """Return the state of an order as a dict.

        Keys: order_id, status (``OrdStatus``), reason (``Reason``), side, kind, tif, stp,
        account, client_id, px, orig_qty, executed_qty, left_qty, closed_qty, cum_quote and
        cum_fee (raw at ``price_dp + qty_dp``), ts_ns (submit time).

        Raises
        ------
        KeyError
            If no order has this id. O(1).
        """
        cdef const Ord* o
        if order_id < 1 or order_id > self.n_orders:
            raise KeyError(order_id)
        o = &self.orders[order_id - 1]
        return {
            "order_id": order_id,
            "status": OrdStatus(o.status),
            "reason": Reason(o.reason),
            "side": o.side,
            "kind": o.kind,
            "tif": o.tif,
            "stp": o.stp,
            "account": o.account,
            "client_id": o.client_id,
            "px": o.px,
            "orig_qty": o.orig,
            "executed_qty": o.exec,
            "left_qty": o.left,
            "closed_qty": o.closed,
            "cum_quote": o.quote,
            "cum_fee": o.fee,
            "ts_ns": o.ts_ns,
        }

    cpdef object best_bid(self):
        """Return the best bid as ``(px, total qty)`` raws, or None. O(1)."""
        cdef const LvlSide* s = &self.sides[<int>BUY]
        if s.n == 0:
            return None
        return (s.lv[s.n - 1].px, s.lv[s.n - 1].qty)

    cpdef object best_ask(self):
        """Return the best ask as ``(px, total qty)`` raws, or None. O(1)."""
        cdef const LvlSide* s = &self.sides[<int>SELL]
        if s.n == 0:
            return None
        return (s.lv[s.n - 1].px, s.lv[s.n - 1].qty)

    cpdef list depth(self, int side, Py_ssize_t n):
        """Return the best ``min(n, levels)`` levels of ``side`` (BUY = bids, SELL = asks),
        best first, as ``(px, total qty)`` raws.

        Raises
        ------
        ValueError
            If side is not BUY or SELL, or n < 0. O(n).
        """
        cdef const LvlSide* s
        cdef Py_ssize_t i
        if side != BUY and side != SELL:
            raise ValueError(f"side must be BUY (0) or SELL (1), got {side}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        s = &self.sides[side]
        return [(s.lv[s.n - 1 - i].px, s.lv[s.n - 1 - i].qty) for i in range(min(n, s.n))]

    cpdef list open_orders(self, int64_t account):
        """Return the ids of ``account``'s resting orders, ascending.

        O(resting orders + k log k).
        """
        cdef Py_ssize_t* buf = NULL
        cdef Py_ssize_t n = self._collect(account, &buf)
        cdef Py_ssize_t i
        out = [buf[i] + 1 for i in range(n)]
        PyMem_Free(buf)
        return out

    cpdef int check_invariants(self) except -1:
        """Check book and order state; return 0 or raise InvariantError naming the fault.

        Checks: levels strictly sorted per side, best bid < best ask, no empty level, every
        level's qty equals the sum of its orders' remaining qty, list links consistent, every
        resting order live (NEW or PARTIALLY_FILLED) on its level's side and px with qty > 0,
        every live order resting, and for every order ``orig == executed + left + closed``
        with status matching the quantities.

        Raises
        ------
        InvariantError
            On the first broken rule. O(orders ever submitted).
        """
        cdef int side
        cdef const LvlSide* s
        cdef const Lvl* lv
        cdef const Ord* o
        cdef Py_ssize_t i
        cdef Py_ssize_t ms
        cdef Py_ssize_t prev
        cdef Py_ssize_t n_resting = 0
        cdef Py_ssize_t n_live = 0
        cdef veloz_i128 total
        cdef bint is_bid
        for side in range(2):
            s = &self.sides[side]
            is_bid = side == BUY
            name = _SIDE_NAMES[side]
            if s.n < 0 or s.n > s.cap:
                raise InvariantError(f"{name} side: n={s.n} outside 0..cap={s.cap}")
            for i in range(s.n):
                lv = &s.lv[i]
                if i > 0 and ((lv.px <= s.lv[i - 1].px) if is_bid else (lv.px >= s.lv[i - 1].px)):
                    raise InvariantError(f"{name} levels unsorted at index {i}: "
                                         f"px {s.lv[i - 1].px} then {lv.px}")
                if lv.head == -1 or lv.qty <= 0:
                    raise InvariantError(f"{name} level px {lv.px} is empty (qty {lv.qty})")
                total = 0
                prev = -1
                ms = lv.head
                while ms != -1:
                    if ms < 0 or ms >= self.n_orders:
                        raise InvariantError(f"{name} level px {lv.px}: bad slot {ms}")
                    o = &self.orders[ms]
                    if o.prev != prev:
                        raise InvariantError(f"order {ms + 1}: prev link {o.prev} != {prev}")
                    if o.status != NEW and o.status != PARTIALLY_FILLED:
                        raise InvariantError(f"order {ms + 1} rests with status {o.status}")
                    if o.side != side or o.px != lv.px or o.left <= 0:
                        raise InvariantError(
                            f"order {ms + 1} (side {o.side} px {o.px} left {o.left}) at {name} "
                            f"level px {lv.px}")
                    total += o.left
                    n_resting += 1
                    if n_resting > self.n_orders:
                        raise InvariantError(f"{name} level px {lv.px}: order list has a cycle")
                    prev = ms
                    ms = o.next
                if prev != lv.tail:
                    raise InvariantError(f"{name} level px {lv.px}: tail {lv.tail} != {prev}")
                if total != lv.qty:
                    raise InvariantError(f"{name} level px {lv.px}: qty {lv.qty} != sum of "
                                         f"orders {<object>(<int64_t>total)}")
        if (self.sides[0].n > 0 and self.sides[1].n > 0
                and self.sides[0].lv[self.sides[0].n - 1].px
                >= self.sides[1].lv[self.sides[1].n - 1].px):
            raise InvariantError(f"book crossed: bid {self.best_bid()} >= ask {self.best_ask()}")
        for i in range(self.n_orders):
            o = &self.orders[i]
            if o.status == REJECTED:
                if o.closed != o.orig or o.exec != 0 or o.left != 0:
                    raise InvariantError(f"rejected order {i + 1} has quantities")
                continue
            if (o.left < 0 or o.exec < 0 or o.closed < 0
                    or <veloz_i128>o.exec + o.left + o.closed != o.orig):
                raise InvariantError(
                    f"order {i + 1}: orig {o.orig} != executed {o.exec} + left {o.left} "
                    f"+ closed {o.closed}")
            if o.status == NEW or o.status == PARTIALLY_FILLED:
                n_live += 1
                if o.left <= 0 or (o.exec > 0) != (o.status == PARTIALLY_FILLED):
                    raise InvariantError(f"order {i + 1}: status {_STATUS_NAMES[o.status]} "
                                         f"with executed {o.exec} left {o.left}")
            elif o.status == FILLED:
                if o.exec != o.orig:
                    raise InvariantError(f"order {i + 1}: FILLED with executed {o.exec}")
            elif o.left != 0 or o.closed <= 0:
                raise InvariantError(f"order {i + 1}: closed status {o.status} with left "
                                     f"{o.left} closed {o.closed}")
        if n_live != n_resting:
            raise InvariantError(f"{n_live} live orders but {n_resting} rest in the book")
        return 0

    def __repr__(self):
        return (f"MatchingEngine(bid={self.best_bid()} ask={self.best_ask()} "
                f"orders={self.n_orders} trades={self.n_trades} "
                f"price_dp={self.price_dp} qty_dp={self.qty_dp})")
