# Binance spot / USD-M market-data decoding of raw or combined-stream frames and REST depth
# snapshots into int64 fields and arrays, straight from orjson's strings. Bad input is a
# MALFORMED kind plus a counter and last_error; this module never raises on input and never logs.
cimport cython
from libc.stdint cimport uint64_t

from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.defs cimport seq_t
from veloz._core.depth cimport DepthMsg


cpdef enum MdKind:
    MALFORMED = -1      # not JSON, a required field missing or of the wrong type, a bad number
    CONTROL = 0         # SUBSCRIBE / LIST_SUBSCRIPTIONS replies ({"result":..,"id":..})
    DEPTH = 1           # depthUpdate diff -> self.depth
    TRADE = 2           # trade -> trade_* fields
    AGG_TRADE = 3       # aggTrade -> trade_* fields (+ first/last trade id)
    BOOK_TICKER = 4     # bookTicker -> bbo_* fields
    KLINE = 5           # kline -> kline_* fields
    MARK_PRICE = 6      # markPriceUpdate (USD-M) -> mark_* fields
    PARTIAL_DEPTH = 7   # depth5/10/20 top-N picture -> self.depth (is_snapshot=True); never a diff
    SNAPSHOT = 8        # REST depth snapshot (decode_snapshot) -> self.depth (is_snapshot=True)
    SERVER_SHUTDOWN = 9  # serverShutdown notice: open a new connection now
    VENUE_ERROR = 10    # {"code":..,"msg":..} reply to a control request -> last_error
    UNKNOWN = 11        # well-formed event of a type this decoder does not handle: counted, skipped
    WRONG_SYMBOL = 12   # well-formed event for another symbol: counted, skipped


cdef enum:
    MARK_DP = 8         # decimal places of mark / index / funding fields (finer than the tick)


@cython.final
cdef class BinanceMdDecoder:
    cdef:
        readonly str symbol           # upper-case symbol this decoder accepts ("BTCUSDT")
        readonly bint is_usdm         # True for USD-M futures, False for spot
        readonly int price_dp         # decimal places of prices (from tickSize)
        readonly int qty_dp           # decimal places of quantities (from stepSize)
        readonly DepthMsg depth       # filled by DEPTH, PARTIAL_DEPTH and SNAPSHOT
        readonly ns_t exch_ns         # event time E of the last event, ns since epoch; 0 if none
        # TRADE / AGG_TRADE
        readonly seq_t trade_id       # t (trade) or a (aggTrade)
        readonly seq_t first_trade_id  # f (aggTrade), else trade_id
        readonly seq_t last_trade_id  # l (aggTrade), else trade_id
        readonly px_t trade_px        # p, raw at price_dp
        readonly qty_t trade_qty      # q, raw at qty_dp
        readonly ns_t trade_ns        # T, ns since epoch
        readonly bint is_buyer_maker  # m: True means the aggressor sold
        # BOOK_TICKER
        readonly seq_t bbo_id         # u: depth update id at which this top of book was valid
        readonly px_t bid_px          # b, raw at price_dp
        readonly qty_t bid_qty        # B, raw at qty_dp
        readonly px_t ask_px          # a
        readonly qty_t ask_qty        # A
        # KLINE
        readonly ns_t kline_open_ns   # k.t, ns since epoch
        readonly ns_t kline_close_ns  # k.T, ns since epoch
        readonly str kline_interval   # k.i ("1m")
        readonly px_t kline_open      # k.o, raw at price_dp
        readonly px_t kline_high      # k.h
        readonly px_t kline_low       # k.l
        readonly px_t kline_close     # k.c
        readonly qty_t kline_volume   # k.v, base volume raw at qty_dp
        readonly qty_t kline_taker_buy_volume  # k.V, raw at qty_dp
        readonly str kline_quote_volume        # k.q as sent (quote precision is not the tick's)
        readonly seq_t kline_n_trades  # k.n
        readonly bint kline_is_closed  # k.x
        # MARK_PRICE (raws at MARK_DP = 8)
        readonly long long mark_px            # p
        readonly long long index_px           # i
        readonly long long funding_rate       # r, signed
        readonly ns_t next_funding_ns         # T, ns since epoch
        # counters
        readonly uint64_t n_frames    # frames offered to decode()
        readonly uint64_t n_malformed  # frames that were MALFORMED
        readonly uint64_t n_unknown   # UNKNOWN events
        readonly uint64_t n_wrong_symbol  # WRONG_SYMBOL events
        readonly uint64_t n_control   # CONTROL, VENUE_ERROR and SERVER_SHUTDOWN frames
        readonly str last_error       # why the last MALFORMED / VENUE_ERROR happened

    cpdef int decode(self, object frame) except -2
    cpdef int decode_snapshot(self, object body) except -2
