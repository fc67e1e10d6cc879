# Pre-trade risk checks on int64 raws: per-slot limits, gross notional, token buckets, mode.
cimport cython
from libc.stdint cimport int64_t

from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t

cdef extern from *:
    """
    typedef __int128 veloz_i128;
    typedef unsigned __int128 veloz_u128;
    """
    ctypedef long long veloz_i128            # really __int128; Cython only needs the name
    ctypedef unsigned long long veloz_u128   # really unsigned __int128


cpdef enum RiskMode:
    MODE_ACTIVE = 0        # every check applies
    MODE_REDUCE_ONLY = 1   # new orders only when they shrink |position|
    MODE_CANCEL_ONLY = 2   # no new orders; cancels pass
    MODE_HALTED = 3        # no new orders; cancels pass (the operator's kill)


cpdef enum Reason:
    R_OK = 0
    R_BAD_SLOT = 1         # slot not configured
    R_BAD_INPUT = 2        # qty <= 0, limit px <= 0, side not 0/1
    R_HALTED = 3
    R_CANCEL_ONLY = 4
    R_REDUCE_ONLY = 5      # the order would not shrink |position|
    R_NO_MARKET_DATA = 6   # no mid: market orders always, limit orders when it is required
    R_TICK = 7
    R_STEP = 8
    R_MIN_QTY = 9
    R_MAX_ORDER_QTY = 10
    R_MIN_NOTIONAL = 11
    R_MAX_NOTIONAL = 12
    R_PRICE_BAND = 13
    R_POSITION_LIMIT = 14
    R_GROSS_LIMIT = 15
    R_ORDER_RATE = 16
    R_CANCEL_RATE = 17
    R_N_REASONS = 18


cdef struct SlotLimits:
    int price_dp           # decimals of px, 0..18
    int qty_dp             # decimals of qty, 0..18
    px_t tick              # raw at price_dp, > 0
    qty_t step             # raw at qty_dp, > 0
    qty_t min_qty          # raw at qty_dp; 0 = none
    qty_t max_qty          # raw at qty_dp; 0 = none
    int64_t min_notional   # raw at min_notional_dp (as configured, for texts); 0 = none
    int min_notional_dp    # decimals of min_notional, 0..18
    int64_t max_notional   # raw at max_notional_dp (as configured, for texts); 0 = none
    int max_notional_dp    # decimals of max_notional, 0..18
    veloz_i128 min_thr2    # 2 * smallest px*qty allowed, raw at price_dp + qty_dp; 0 = none
    veloz_i128 max_thr2    # 2 * largest px*qty allowed, raw at price_dp + qty_dp (capped)
    qty_t max_position     # |position| bound, raw at qty_dp; 0 = none
    int64_t band_bps       # price band around the mid, bps; 0 = none
    int64_t gross_unit2    # 2 * 10**(price_dp + qty_dp - gross_dp): notional x2 -> gross
    int64_t mid_x2         # best bid + best ask, raw at price_dp (2 * mid); 0 = unknown
    qty_t position         # signed position, raw at qty_dp
    int64_t gross          # |position| * mid at gross_dp (rounded up, saturated)
    int mode               # RiskMode of this slot alone
    bint is_configured     # set by configure()


cdef struct Bucket:
    int64_t level          # nano-tokens (1 token = 10**9)
    int64_t burst          # nano-tokens
    int64_t rate_milli     # tokens per 1000 s (= milli-tokens per s)
    ns_t last_ns           # last refill time; -1 = never (bucket full)


cdef struct Refusal:
    int code               # Reason of the last refusal (R_OK before any)
    int slot               # its slot (-1 for a cancel)
    int side               # 0 BUY, 1 SELL
    bint is_market         # MARKET order
    px_t px                # limit price raw at price_dp
    qty_t qty              # quantity raw at qty_dp
    int64_t mid_x2         # the slot's mid_x2 at the refusal, raw at price_dp
    qty_t position         # the slot's position at the refusal, raw at qty_dp
    int64_t value          # bucket level (nano-tokens) or gross (gross_dp, saturated)


@cython.final
cdef class PreTradeRisk:
    cdef:
        SlotLimits* _slots     # n_slots entries
        readonly int n_slots   # slots 0..n_slots-1
        readonly int gross_dp  # decimals of gross notional figures
        readonly int64_t max_gross         # raw at gross_dp; 0 = none
        veloz_i128 _gross_sum  # sum of the slot gross figures, raw at gross_dp (exact)
        readonly int mode                  # global RiskMode
        readonly bint require_ref_px       # refuse every order of a slot without a mid
        Bucket _orders
        Bucket _cancels
        int64_t[R_N_REASONS] _n_reasons    # checks ending with each code (R_OK = passed)
        Refusal _last          # what the last refusal saw, for reason_text

    cdef int _refuse(self, int code, int slot, int side, bint is_market, px_t px, qty_t qty,
                     int64_t value) noexcept
    cpdef int configure(self, int slot, int price_dp, int qty_dp, px_t tick, qty_t step,
                        qty_t min_qty, qty_t max_qty, int64_t min_notional,
                        int min_notional_dp, int64_t max_notional, int max_notional_dp,
                        qty_t max_position, int64_t band_bps) except -1
    cdef void _set_gross(self, SlotLimits* s) noexcept
    cdef SlotLimits* _slot(self, int slot) except NULL
    cpdef int set_mid(self, int slot, px_t bid_px, px_t ask_px) except -1
    cpdef int set_ref_px(self, int slot, px_t px) except -1
    cpdef int set_position(self, int slot, qty_t qty) except -1
    cpdef int set_mode(self, int mode) except -1
    cpdef int set_slot_mode(self, int slot, int mode) except -1
    cpdef int check_new(self, int slot, int side, bint is_market, px_t px, qty_t qty,
                        ns_t now_ns) except -1
    cpdef int check_cancel(self, ns_t now_ns) except -1
    cpdef int64_t n_reason(self, int code) except -1
