# Bus wire format: a 48-byte little-endian header plus one fixed-offset payload per message
# type (docs/wire.md documents every byte). Encodes and decodes only: never sends, never logs.
cimport cython
from libc.stdint cimport int64_t
from libc.stdint cimport uint8_t
from libc.stdint cimport uint16_t
from libc.stdint cimport uint32_t
from libc.stdint cimport uint64_t

from veloz._core.book cimport Book
from veloz._core.defs cimport inst_t
from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.defs cimport seq_t


cpdef enum MsgType:
    BOOK = 1
    BBO = 2
    TRADE = 3
    KLINE = 4
    STATUS = 5
    INSTRUMENT = 6
    ORDER_CMD = 16
    ORDER_EVENT = 17
    FILL = 18
    LATENCY = 32


cpdef enum Side:
    BUY = 1
    SELL = 2


cpdef enum OrdType:
    LIMIT = 1
    MARKET = 2
    LIMIT_MAKER = 3


cpdef enum Tif:
    GTC = 1
    IOC = 2
    FOK = 3
    GTX = 4


cpdef enum Status:
    NEW = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 4
    REJECTED = 5
    EXPIRED = 6


cdef struct Head:
    uint8_t version       # wire version (1)
    uint8_t msg_type      # MsgType value
    uint16_t venue        # venue id (0 none)
    uint16_t flags        # reserved, 0
    uint32_t inst         # publisher's instrument id
    uint32_t payload_len  # bytes after the header
    uint64_t seq          # per-encoder message counter, from 1
    int64_t exch_ns       # venue time, ns since epoch (0 none)
    int64_t ingest_ns     # CLOCK_MONOTONIC ns where the latency clock starts
    int64_t publish_ns    # CLOCK_MONOTONIC ns at encode


cdef struct Pair:
    px_t px     # price raw at the message's price_dp
    qty_t qty   # quantity raw at the message's qty_dp


cdef int parse_head_c(const unsigned char* p, Py_ssize_t n, Head* h) noexcept nogil


@cython.final
cdef class Encoder:
    cdef:
        unsigned char* buf         # preallocated message buffer, grown only for big latency msgs
        Py_ssize_t cap             # bytes allocated at buf
        readonly uint16_t venue    # venue id written into every header
        readonly int max_levels    # most levels per side a BOOK message may carry
        readonly uint64_t seq      # last seq written (0 before the first message)

    cdef int _reserve(self, Py_ssize_t n) except -1
    cdef void _head(self, int msg_type, inst_t inst, Py_ssize_t payload_len, ns_t exch_ns,
                    ns_t ingest_ns) noexcept nogil
    cdef bytes _finish(self, Py_ssize_t payload_len)
    cpdef bytes book(self, inst_t inst, Book book, int n_levels, seq_t update_id, ns_t exch_ns,
                     ns_t ingest_ns)
    cpdef bytes bbo(self, inst_t inst, seq_t update_id, int price_dp, int qty_dp, px_t bid_px,
                    qty_t bid_qty, px_t ask_px, qty_t ask_qty, ns_t exch_ns, ns_t ingest_ns)
    cpdef bytes trade(self, inst_t inst, int64_t trade_id, int price_dp, int qty_dp, px_t px,
                      qty_t qty, bint is_buyer_maker, ns_t exch_ns, ns_t ingest_ns)
    cpdef bytes kline(self, inst_t inst, ns_t open_ns, ns_t close_ns, int64_t interval_s,
                      int price_dp, int qty_dp, px_t open_px, px_t high_px, px_t low_px,
                      px_t close_px, qty_t volume, int64_t n_trades, bint is_closed,
                      ns_t exch_ns, ns_t ingest_ns)
    cpdef bytes status(self, inst_t inst, bint is_live, str reason, ns_t mono_ns)
    cpdef bytes instrument(self, inst_t inst, str symbol, str base, str quote, int price_dp,
                           int qty_dp, px_t tick_raw, qty_t step_raw, qty_t min_qty_raw,
                           qty_t max_qty_raw, px_t min_notional_raw)
    cpdef bytes order_cmd(self, inst_t inst, int action, str strategy, str client_order_id,
                          int side, int ord_type, int tif, int price_dp, int qty_dp, px_t px,
                          qty_t qty, bint reduce_only, ns_t trigger_ns)
    cpdef bytes order_event(self, inst_t inst, str strategy, str client_order_id,
                            int64_t venue_order_id, int status, int side, int ord_type, int tif,
                            int price_dp, int qty_dp, px_t px, qty_t qty, qty_t filled_qty,
                            int error_code, str reason, ns_t exch_ns, ns_t recv_ns)
    cpdef bytes fill(self, inst_t inst, str strategy, str client_order_id,
                     int64_t venue_order_id, int64_t trade_id, int side, int price_dp,
                     int qty_dp, px_t px, qty_t qty, int64_t fee, str fee_asset, bint is_maker,
                     int64_t realized_pnl, ns_t exch_ns, ns_t recv_ns)
    cpdef bytes latency(self, str name, int64_t count, int64_t p50_ns, int64_t p90_ns,
                        int64_t p99_ns, int64_t p999_ns, int64_t max_ns, bytes hdr,
                        ns_t mono_ns)


@cython.final
cdef class Header:
    cdef:
        readonly int version       # wire version
        readonly int msg_type      # MsgType value
        readonly int venue         # venue id
        readonly int flags         # reserved
        readonly uint32_t inst     # publisher's instrument id
        readonly uint32_t payload_len  # bytes after the header
        readonly uint64_t seq      # per-encoder counter
        readonly int64_t exch_ns   # venue ns since epoch (0 none)
        readonly int64_t ingest_ns   # CLOCK_MONOTONIC ns, latency start
        readonly int64_t publish_ns  # CLOCK_MONOTONIC ns at encode


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
