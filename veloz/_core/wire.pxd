# Bus wire format, the encoder: Encoder writes a 48-byte little-endian header plus one
# fixed-offset payload per message type (layout in wire_layout.pxd, docs/wire.md documents
# every byte). Encodes only: never sends, never logs.
cimport cython
from libc.stdint cimport int64_t
from libc.stdint cimport uint16_t
from libc.stdint cimport uint64_t

from veloz._core.book cimport Book
from veloz._core.defs cimport inst_t
from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.defs cimport seq_t


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
    cpdef bytes risk_state(self, int old_state, int new_state, str scope, str trigger,
                           str detail, ns_t mono_ns)
    cpdef bytes latency(self, str name, int64_t count, int64_t p50_ns, int64_t p90_ns,
                        int64_t p99_ns, int64_t p999_ns, int64_t max_ns, bytes hdr,
                        ns_t mono_ns)
