# Bus wire format, the decoder side: the typed message objects decode() builds and BookView, a
# strategy's reusable view of one symbol's book (layout in wire_layout.pxd, docs/wire.md
# documents every byte). Decodes only: never sends, never logs.
cimport cython
from libc.stdint cimport int64_t
from libc.stdint cimport uint32_t
from libc.stdint cimport uint64_t

from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.wire_layout cimport Header


cdef struct Pair:
    px_t px     # price raw at the message's price_dp
    qty_t qty   # quantity raw at the message's qty_dp


cdef class Msg:
    cdef:
        readonly Header header     # the message's header


@cython.final
cdef class BookMsg(Msg):
    cdef:
        readonly int64_t update_id  # venue update id of the book state
        readonly int price_dp       # decimal places of every px
        readonly int qty_dp         # decimal places of every qty
        readonly tuple bids         # ((px, qty), ...) raws, best first
        readonly tuple asks         # ((px, qty), ...) raws, best first


@cython.final
cdef class BboMsg(Msg):
    cdef:
        readonly int64_t update_id  # venue update id
        readonly int price_dp       # decimal places of px
        readonly int qty_dp         # decimal places of qty
        readonly int64_t bid_px     # price raw (0 with bid_qty 0: no bid)
        readonly int64_t bid_qty    # quantity raw
        readonly int64_t ask_px     # price raw (0 with ask_qty 0: no ask)
        readonly int64_t ask_qty    # quantity raw


@cython.final
cdef class TradeMsg(Msg):
    cdef:
        readonly int64_t trade_id   # venue trade id
        readonly int price_dp       # decimal places of px
        readonly int qty_dp         # decimal places of qty
        readonly int64_t px         # price raw
        readonly int64_t qty        # quantity raw
        readonly bint is_buyer_maker  # True: the aggressor sold


@cython.final
cdef class KlineMsg(Msg):
    cdef:
        readonly int64_t open_ns    # candle open, ns since epoch
        readonly int64_t close_ns   # candle close, ns since epoch
        readonly int64_t interval_s  # candle length in seconds
        readonly int price_dp       # decimal places of the prices
        readonly int qty_dp         # decimal places of volume
        readonly int64_t open_px    # price raw
        readonly int64_t high_px    # price raw
        readonly int64_t low_px     # price raw
        readonly int64_t close_px   # price raw
        readonly int64_t volume     # base quantity raw at qty_dp
        readonly int64_t n_trades   # trades in the candle
        readonly bint is_closed     # True once the candle is final


@cython.final
cdef class StatusMsg(Msg):
    cdef:
        readonly bint is_live       # True: the feed's book is in sync
        readonly str reason         # why the status changed


@cython.final
cdef class InstrumentMsg(Msg):
    cdef:
        readonly str symbol         # venue symbol, upper case
        readonly str base           # base asset
        readonly str quote          # quote asset
        readonly int price_dp       # decimal places of prices
        readonly int qty_dp         # decimal places of quantities
        readonly int64_t tick_raw   # tick size at price_dp
        readonly int64_t step_raw   # step size at qty_dp
        readonly int64_t min_qty_raw  # at qty_dp
        readonly int64_t max_qty_raw  # at qty_dp
        readonly int64_t min_notional_raw  # at price_dp


@cython.final
cdef class OrderCmdMsg(Msg):
    cdef:
        readonly object action      # Action
        readonly str strategy       # strategy name
        readonly str client_order_id  # the order (for CANCEL: the order to cancel)
        readonly object side        # Side or None
        readonly object ord_type    # OrdType or None
        readonly object tif         # Tif or None
        readonly int price_dp       # decimal places of px
        readonly int qty_dp         # decimal places of qty
        readonly int64_t px         # price raw (0 for market and cancels)
        readonly int64_t qty        # quantity raw
        readonly bint reduce_only   # futures reduce-only flag


@cython.final
cdef class OrderEventMsg(Msg):
    cdef:
        readonly str strategy       # owning strategy ("_" none)
        readonly str client_order_id  # client order id
        readonly int64_t venue_order_id  # venue order id (0 unknown)
        readonly object status      # Status
        readonly object side        # Side or None
        readonly object ord_type    # OrdType or None
        readonly object tif         # Tif or None
        readonly int price_dp       # decimal places of px
        readonly int qty_dp         # decimal places of qty and filled_qty
        readonly int64_t px         # price raw
        readonly int64_t qty        # quantity raw
        readonly int64_t filled_qty  # cumulative filled quantity raw
        readonly int error_code     # venue error code (0 none)
        readonly str reason         # rejection reason text ("" none)


@cython.final
cdef class FillMsg(Msg):
    cdef:
        readonly str strategy       # owning strategy ("_" none)
        readonly str client_order_id  # client order id
        readonly int64_t venue_order_id  # venue order id
        readonly int64_t trade_id   # venue trade id
        readonly object side        # Side or None
        readonly int price_dp       # decimal places of px
        readonly int qty_dp         # decimal places of qty
        readonly int64_t px         # price raw
        readonly int64_t qty        # quantity raw
        readonly int64_t fee        # fee raw at ASSET_DP
        readonly str fee_asset      # fee asset
        readonly bint is_maker      # True: we were the maker
        readonly int64_t realized_pnl  # raw at ASSET_DP


@cython.final
cdef class RiskStateMsg(Msg):
    cdef:
        readonly int old_state      # risk state before (0 ACTIVE .. 3 HALTED)
        readonly int new_state      # risk state after
        readonly str scope          # symbol ("" = every symbol)
        readonly str trigger        # condition, "recovered" or "resume"
        readonly str detail         # figures behind it


@cython.final
cdef class LatencyMsg(Msg):
    cdef:
        readonly str name           # figure name
        readonly int64_t count      # samples in the histogram
        readonly int64_t p50_ns     # percentiles in ns
        readonly int64_t p90_ns
        readonly int64_t p99_ns
        readonly int64_t p999_ns
        readonly int64_t max_ns
        readonly bytes hdr          # hdrhistogram encode() output


@cython.final
cdef class BookView:
    cdef:
        Pair* lv                    # bids [0, n_bids) then asks, each side best first
        Py_ssize_t cap              # pairs allocated at lv
        readonly int64_t update_id  # venue update id of the view's book
        readonly uint32_t inst      # publisher's instrument id
        readonly int venue          # venue id
        readonly uint64_t seq       # header seq of the last message applied
        readonly int price_dp       # decimal places of px
        readonly int qty_dp         # decimal places of qty
        readonly Py_ssize_t n_bids  # bid levels held
        readonly Py_ssize_t n_asks  # ask levels held
        readonly int64_t exch_ns    # venue time of the last message
        readonly int64_t ingest_ns  # CLOCK_MONOTONIC ns the feed received it
        readonly int64_t publish_ns  # CLOCK_MONOTONIC ns the feed encoded it
        readonly uint64_t n_updates  # messages applied, lifetime

    cdef int update_c(self, const unsigned char* p, Py_ssize_t n) except -1
    cpdef void update(self, object body)
    cpdef tuple bid(self, Py_ssize_t i)
    cpdef tuple ask(self, Py_ssize_t i)
    cpdef object best_bid(self)
    cpdef object best_ask(self)
    cpdef object mid_x2(self)
