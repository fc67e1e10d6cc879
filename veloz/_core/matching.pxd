# Price-time-priority matching engine for one symbol: order pool, sorted price levels with
# FIFO order lists, events into a preallocated buffer. Deterministic: no clock, no randomness.
cimport cython
from libc.stdint cimport int32_t
from libc.stdint cimport int64_t

from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t


cpdef enum OrdSide:
    BUY = 0
    SELL = 1


cpdef enum OrdKind:
    LIMIT = 0
    MARKET = 1
    LIMIT_MAKER = 2   # post-only (Binance spot); futures post-only is LIMIT with tif GTX


cpdef enum Tif:
    GTC = 0
    IOC = 1
    FOK = 2
    GTX = 3   # post-only, good till crossing


cpdef enum Stp:
    NONE = 0
    EXPIRE_TAKER = 1
    EXPIRE_MAKER = 2
    EXPIRE_BOTH = 3


cpdef enum OrdStatus:
    NEW = 0
    PARTIALLY_FILLED = 1
    FILLED = 2
    CANCELED = 3
    EXPIRED = 4
    REJECTED = 5


cpdef enum EvKind:
    # EV_ prefix: a cpdef enum's members share one C namespace and OrdStatus has NEW, ...
    EV_NEW = 0
    EV_TRADE = 1
    EV_CANCELED = 2
    EV_EXPIRED = 3
    EV_REJECTED = 4


cpdef enum Reason:
    NO_REASON = 0
    IOC_REMAINDER = 1          # LIMIT IOC: unfilled remainder expired
    MARKET_REMAINDER = 2       # MARKET: unfilled remainder expired (book ran out)
    FOK_NOT_FILLABLE = 3       # FOK: not enough crossing qty; nothing happened
    POST_ONLY_WOULD_TAKE = 4   # LIMIT_MAKER or GTX would have crossed
    STP_EXPIRED = 5            # self-trade prevention expired this order's remainder
    BAD_SIDE = 6
    BAD_KIND = 7
    BAD_TIF = 8                # e.g. MARKET with GTX, LIMIT_MAKER with IOC/FOK
    BAD_STP = 9
    BAD_QTY = 10               # qty <= 0
    BAD_PX = 11                # px <= 0 on a limit kind
    OVERFLOW = 12              # notional or level total would not fit int64


cdef struct Ord:
    px_t px            # limit price raw at price_dp; 0 for MARKET
    qty_t orig         # ordered qty raw at qty_dp
    qty_t left         # remaining (resting or still matching) qty raw at qty_dp
    qty_t exec         # filled qty raw at qty_dp
    qty_t closed       # canceled or expired qty raw at qty_dp: orig == exec + left + closed
    int64_t quote      # cumulative filled notional raw at price_dp + qty_dp
    int64_t fee        # cumulative fee raw at price_dp + qty_dp (signed: maker rebates < 0)
    int64_t account    # owner id (STP compares it)
    int64_t client_id  # caller's id, echoed back
    ns_t ts_ns         # submit time, ns, from the caller
    Py_ssize_t prev    # slot of the previous order at the same level, -1 at the head
    Py_ssize_t next    # slot of the next order at the same level, -1 at the tail
    int32_t side       # OrdSide (raw input kept on REJECTED orders)
    int32_t kind       # OrdKind
    int32_t tif        # Tif
    int32_t stp        # Stp
    int32_t status     # OrdStatus
    int32_t reason     # Reason of the terminal EXPIRED / REJECTED, else NO_REASON


cdef struct Lvl:
    px_t px            # price raw at price_dp
    qty_t qty          # sum of `left` of the orders at this level, raw at qty_dp, > 0
    Py_ssize_t head    # slot of the oldest order (matched first)
    Py_ssize_t tail    # slot of the newest order


cdef struct LvlSide:
    Lvl* lv            # levels sorted worst -> best (bids ascending, asks descending)
    Py_ssize_t n       # levels in use
    Py_ssize_t cap     # levels allocated


cdef struct Ev:
    int32_t kind       # EvKind
    int32_t reason     # Reason (EXPIRED, REJECTED), else NO_REASON
    int32_t maker_side  # OrdSide of the maker (TRADE), else -1
    int64_t order_id   # the order (TRADE: the taker)
    int64_t maker_id   # TRADE: the maker order id, else 0
    px_t px            # NEW: limit px; TRADE: fill px (the maker's); else the order's px
    qty_t qty          # NEW: orig; TRADE: fill; CANCELED/EXPIRED: closed; REJECTED: asked
    int64_t taker_fee  # TRADE: fee raw at price_dp + qty_dp (toward zero), else 0
    int64_t maker_fee  # TRADE: fee raw at price_dp + qty_dp (toward zero), else 0
    ns_t ts_ns         # the caller's time of the call that produced it, ns


@cython.final
cdef class MatchingEngine:
    cdef:
        Ord* orders                 # pool: the order with id k lives in slot k - 1, forever
        Py_ssize_t n_orders         # slots in use == last order id assigned
        Py_ssize_t cap_orders       # slots allocated
        LvlSide sides[2]            # resting levels, indexed by OrdSide
        Ev* events                  # undrained events, oldest first
        Py_ssize_t n_events         # events in use
        Py_ssize_t cap_events       # events allocated
        readonly int price_dp       # decimal places of every px
        readonly int qty_dp         # decimal places of every qty
        readonly int64_t maker_fee_ppm  # maker fee, parts per million of notional (signed)
        readonly int64_t taker_fee_ppm  # taker fee, parts per million of notional (signed)
        readonly int64_t n_trades   # TRADE events emitted, lifetime

    cdef const Ev* events_c(self, Py_ssize_t* n) noexcept
    cdef void clear_events_c(self) noexcept
    cdef int _emit(self, int kind, int64_t order_id, int64_t maker_id, px_t px, qty_t qty,
                   int64_t taker_fee, int64_t maker_fee, int maker_side, int reason,
                   ns_t ts_ns) except -1
    cdef int _close(self, Py_ssize_t slot, int status, int reason, int ev_kind,
                    ns_t ts_ns) except -1
    cdef int _unlink(self, Py_ssize_t slot) except -1
    cdef int _rest(self, Py_ssize_t slot) except -1
    cdef int _fok_fillable(self, Py_ssize_t slot) except -1
    cdef int _match(self, Py_ssize_t slot, ns_t ts_ns) except -1
    cpdef int64_t submit(self, int64_t account, int64_t client_id, int side, int kind, int tif,
                         px_t px, qty_t qty, int stp, ns_t ts_ns) except -1
    cpdef bint cancel(self, int64_t order_id, ns_t ts_ns=*) except -1
    cdef Py_ssize_t _collect(self, int64_t account, Py_ssize_t** out) except -1
    cpdef Py_ssize_t cancel_all(self, int64_t account, ns_t ts_ns=*) except -1
    cpdef list drain(self)
    cpdef dict order(self, int64_t order_id)
    cpdef object best_bid(self)
    cpdef object best_ask(self)
    cpdef list depth(self, int side, Py_ssize_t n)
    cpdef list open_orders(self, int64_t account)
    cpdef int check_invariants(self) except -1
