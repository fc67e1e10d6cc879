# Bus wire format, the public face: `from veloz._core import wire` gives the whole codec.
# Owns the Encoder: one preallocated buffer and one bytes allocation per message, seq
# per publisher, publish_ns stamped last. The layout, enums, venue ids and header live in
# wire_layout, decoding (Msg types, decode, BookView) in wire_decode; this module re-exports
# their public names so callers import one module. docs/wire.md documents every byte. Never
# sends, never logs, never imports above _core.
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free
from cpython.mem cimport PyMem_Realloc
from libc.stdint cimport int32_t
from libc.stdint cimport int64_t
from libc.stdint cimport uint8_t
from libc.stdint cimport uint16_t
from libc.stdint cimport uint32_t
from libc.string cimport memcpy

from veloz._core.book cimport Book
from veloz._core.book cimport BookSide
from veloz._core.defs cimport inst_t
from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.defs cimport seq_t
from veloz._core.wire_layout cimport HEAD
from veloz._core.wire_layout cimport MAX_DP
from veloz._core.wire_layout cimport MAX_STR
from veloz._core.wire_layout cimport P_BBO
from veloz._core.wire_layout cimport P_BOOK
from veloz._core.wire_layout cimport P_FILL
from veloz._core.wire_layout cimport P_INSTRUMENT
from veloz._core.wire_layout cimport P_KLINE
from veloz._core.wire_layout cimport P_LATENCY
from veloz._core.wire_layout cimport P_ORDER_CMD
from veloz._core.wire_layout cimport P_ORDER_EVENT
from veloz._core.wire_layout cimport P_RISK_STATE
from veloz._core.wire_layout cimport P_STATUS
from veloz._core.wire_layout cimport P_TRADE
from veloz._core.wire_layout cimport T_BBO
from veloz._core.wire_layout cimport T_BOOK
from veloz._core.wire_layout cimport T_FILL
from veloz._core.wire_layout cimport T_INSTRUMENT
from veloz._core.wire_layout cimport T_KLINE
from veloz._core.wire_layout cimport T_LATENCY
from veloz._core.wire_layout cimport T_ORDER_CMD
from veloz._core.wire_layout cimport T_ORDER_EVENT
from veloz._core.wire_layout cimport T_RISK_STATE
from veloz._core.wire_layout cimport T_STATUS
from veloz._core.wire_layout cimport T_TRADE
from veloz._core.wire_layout cimport WIRE_VERSION

# The public names of the layout and decoding modules, re-exported so callers import one
# module (wire.pyi lists them). Assigned, not imported by name: Encoder's arguments reuse
# the names msg_type and ingest_ns.
from veloz._core import wire_decode as _decode
from veloz._core import wire_layout as _layout

ASSET_DP = _layout.ASSET_DP
HEADER_SIZE = _layout.HEADER_SIZE
MAGIC = _layout.MAGIC
VERSION = _layout.VERSION
Action = _layout.Action
MsgType = _layout.MsgType
OrdType = _layout.OrdType
Side = _layout.Side
Status = _layout.Status
Tif = _layout.Tif
venue_id = _layout.venue_id
venue_name = _layout.venue_name
Header = _layout.Header
header = _layout.header
msg_type = _layout.msg_type
ingest_ns = _layout.ingest_ns
Msg = _decode.Msg
BookMsg = _decode.BookMsg
BboMsg = _decode.BboMsg
TradeMsg = _decode.TradeMsg
KlineMsg = _decode.KlineMsg
StatusMsg = _decode.StatusMsg
InstrumentMsg = _decode.InstrumentMsg
OrderCmdMsg = _decode.OrderCmdMsg
OrderEventMsg = _decode.OrderEventMsg
FillMsg = _decode.FillMsg
LatencyMsg = _decode.LatencyMsg
RiskStateMsg = _decode.RiskStateMsg
decode = _decode.decode
BookView = _decode.BookView

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object o, Py_ssize_t* size) except NULL

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    ctypedef int clockid_t
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    enum: CLOCK_MONOTONIC
    int clock_gettime(clockid_t clk, timespec* ts)

cdef enum:
    MIN_BUF = 1024         # bytes preallocated by an Encoder besides its book levels


# ---- byte writes: native copies, valid because wire_layout refuses big-endian machines --------

cdef inline void _w16(unsigned char* p, uint16_t v) noexcept nogil:
    memcpy(p, &v, 2)


cdef inline void _w32(unsigned char* p, uint32_t v) noexcept nogil:
    memcpy(p, &v, 4)


cdef inline void _w64(unsigned char* p, int64_t v) noexcept nogil:
    memcpy(p, &v, 8)


cdef inline int64_t _mono_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1_000_000_000 + ts.tv_nsec


# ---- Encoder ----------------------------------------------------------------------------------

cdef int _check_dp(str what, int dp) except -1:
    if dp < 0 or dp > MAX_DP:
        raise ValueError(f"{what} must be 0..{MAX_DP}, got {dp}")
    return 0


cdef int _check_enum(str what, int v, int lo, int hi) except -1:
    if v < lo or v > hi:
        raise ValueError(f"{what} must be {lo}..{hi}, got {v}")
    return 0


cdef const char* _utf8(str what, str s, Py_ssize_t* n) except NULL:
    # UTF-8 bytes of s without a copy (CPython caches them on the str); at most 255 bytes.
    cdef const char* b
    if s is None:
        raise TypeError(f"{what} must be str, got None")
    try:
        b = PyUnicode_AsUTF8AndSize(s, n)
    except UnicodeEncodeError as exc:
        raise ValueError(f"{what} is not encodable as UTF-8: {exc}") from None
    if n[0] > MAX_STR:
        raise ValueError(f"{what} is {n[0]} UTF-8 bytes, at most {MAX_STR}")
    return b


cdef inline Py_ssize_t _wstr(unsigned char* p, const char* s, Py_ssize_t n) noexcept nogil:
    # Write a u8 length and the bytes; return the bytes written.
    p[0] = <uint8_t>n
    memcpy(p + 1, s, n)
    return n + 1


@cython.final
cdef class Encoder:
    """Encode bus messages of one publisher: owns the seq counter and a preallocated buffer.

    Parameters
    ----------
    venue : int
        Venue id written into every header (``venue_id("binance-spot")``); 0..65535.
    max_levels : int
        Most levels per side a BOOK message may carry (sizes the buffer).

    Notes
    -----
    Every method writes header and payload into the buffer, stamps ``publish_ns`` with
    CLOCK_MONOTONIC last, and returns one new ``bytes``. Bad arguments (dp outside 0..18, an
    enum value out of range, a string over 255 UTF-8 bytes, a negative inst) raise ValueError
    before seq moves; integers outside int64 raise OverflowError.
    """

    def __cinit__(self):
        self.buf = NULL
        self.cap = 0

    def __init__(self, int venue, int max_levels=20):
        if venue < 0 or venue > 0xFFFF:
            raise ValueError(f"venue must be 0..65535, got {venue}")
        if max_levels < 0 or max_levels > 0xFFFF:
            raise ValueError(f"max_levels must be 0..65535, got {max_levels}")
        self.venue = <uint16_t>venue
        self.max_levels = max_levels
        self.seq = 0
        self._reserve(HEAD + P_BOOK + 32 * <Py_ssize_t>max_levels + MIN_BUF)

    def __dealloc__(self):
        PyMem_Free(self.buf)

    cdef int _reserve(self, Py_ssize_t n) except -1:
        cdef void* p
        if n <= self.cap:
            return 0
        p = PyMem_Realloc(self.buf, n)
        if p == NULL:
            raise MemoryError(f"wire encoder buffer of {n} bytes")
        self.buf = <unsigned char*>p
        self.cap = n
        return 0

    cdef void _head(self, int msg_type, inst_t inst, Py_ssize_t payload_len, ns_t exch_ns,
                    ns_t ingest_ns) noexcept nogil:
        cdef unsigned char* p = self.buf
        self.seq += 1
        p[0] = c'V'
        p[1] = c'Z'
        p[2] = WIRE_VERSION
        p[3] = <uint8_t>msg_type
        _w16(p + 4, self.venue)
        _w16(p + 6, 0)
        _w32(p + 8, <uint32_t>inst)
        _w32(p + 12, <uint32_t>payload_len)
        _w64(p + 16, <int64_t>self.seq)
        _w64(p + 24, exch_ns)
        _w64(p + 32, ingest_ns)

    cdef bytes _finish(self, Py_ssize_t payload_len):
        _w64(self.buf + 40, _mono_ns())
        return PyBytes_FromStringAndSize(<const char*>self.buf, HEAD + payload_len)

    cpdef bytes book(self, inst_t inst, Book book, int n_levels, seq_t update_id, ns_t exch_ns,
                     ns_t ingest_ns):
        """Encode the top ``n_levels`` of each side of ``book`` (fewer if the side is shorter).

        Parameters
        ----------
        inst : int
            Publisher's instrument id (>= 0).
        book : Book
            Read through its C arrays, best level first; never copied into Python objects.
        n_levels : int
            0..max_levels levels per side.
        update_id : int
            Venue update id of this book state.
        exch_ns, ingest_ns : int
            Venue time (ns since epoch, 0 none); CLOCK_MONOTONIC ns the frame was received.

        Returns
        -------
        bytes
            Header plus ``16 + 16 * (n_bids + n_asks)`` payload bytes. O(n_levels).

        Raises
        ------
        ValueError
            If n_levels is outside 0..max_levels or inst < 0.
        """
        cdef const BookSide* s
        cdef unsigned char* p
        cdef Py_ssize_t nb
        cdef Py_ssize_t na
        cdef Py_ssize_t i
        cdef Py_ssize_t plen
        if book is None:
            raise TypeError("book must be a Book, got None")
        if n_levels < 0 or n_levels > self.max_levels:
            raise ValueError(f"n_levels must be 0..{self.max_levels} (max_levels), "
                             f"got {n_levels}")
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        nb = min(<Py_ssize_t>n_levels, book.sides[0].n)
        na = min(<Py_ssize_t>n_levels, book.sides[1].n)
        plen = P_BOOK + 16 * (nb + na)
        self._head(T_BOOK, inst, plen, exch_ns, ingest_ns)
        p = self.buf + HEAD
        _w64(p, update_id)
        p[8] = <uint8_t>book.price_dp
        p[9] = <uint8_t>book.qty_dp
        _w16(p + 10, <uint16_t>nb)
        _w16(p + 12, <uint16_t>na)
        _w16(p + 14, 0)
        p += P_BOOK
        s = &book.sides[0]  # levels stored worst -> best: walk from the end
        for i in range(nb):
            _w64(p, s.lv[s.n - 1 - i].px)
            _w64(p + 8, s.lv[s.n - 1 - i].qty)
            p += 16
        s = &book.sides[1]
        for i in range(na):
            _w64(p, s.lv[s.n - 1 - i].px)
            _w64(p + 8, s.lv[s.n - 1 - i].qty)
            p += 16
        return self._finish(plen)

    cpdef bytes bbo(self, inst_t inst, seq_t update_id, int price_dp, int qty_dp, px_t bid_px,
                    qty_t bid_qty, px_t ask_px, qty_t ask_qty, ns_t exch_ns, ns_t ingest_ns):
        """Encode a best bid/offer (a missing side: px 0, qty 0). O(1).

        Raises
        ------
        ValueError
            If a dp is outside 0..18 or inst < 0.
        """
        cdef unsigned char* p
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        if <unsigned int>price_dp > MAX_DP or <unsigned int>qty_dp > MAX_DP:
            _check_dp("price_dp", price_dp)
            _check_dp("qty_dp", qty_dp)
        self._head(T_BBO, inst, P_BBO, exch_ns, ingest_ns)
        p = self.buf + HEAD
        _w64(p, update_id)
        _w64(p + 8, 0)
        p[8] = <uint8_t>price_dp
        p[9] = <uint8_t>qty_dp
        _w64(p + 16, bid_px)
        _w64(p + 24, bid_qty)
        _w64(p + 32, ask_px)
        _w64(p + 40, ask_qty)
        return self._finish(P_BBO)

    cpdef bytes trade(self, inst_t inst, int64_t trade_id, int price_dp, int qty_dp, px_t px,
                      qty_t qty, bint is_buyer_maker, ns_t exch_ns, ns_t ingest_ns):
        """Encode one public trade. O(1).

        Raises
        ------
        ValueError
            If a dp is outside 0..18 or inst < 0.
        """
        cdef unsigned char* p
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        _check_dp("price_dp", price_dp)
        _check_dp("qty_dp", qty_dp)
        self._head(T_TRADE, inst, P_TRADE, exch_ns, ingest_ns)
        p = self.buf + HEAD
        _w64(p, trade_id)
        _w64(p + 8, 0)
        p[8] = <uint8_t>price_dp
        p[9] = <uint8_t>qty_dp
        p[10] = is_buyer_maker
        _w64(p + 16, px)
        _w64(p + 24, qty)
        return self._finish(P_TRADE)

    cpdef bytes kline(self, inst_t inst, ns_t open_ns, ns_t close_ns, int64_t interval_s,
                      int price_dp, int qty_dp, px_t open_px, px_t high_px, px_t low_px,
                      px_t close_px, qty_t volume, int64_t n_trades, bint is_closed,
                      ns_t exch_ns, ns_t ingest_ns):
        """Encode one candle; ``volume`` is base quantity at qty_dp. O(1).

        Raises
        ------
        ValueError
            If a dp is outside 0..18, interval_s outside 0..2**32-1, or inst < 0.
        """
        cdef unsigned char* p
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        _check_dp("price_dp", price_dp)
        _check_dp("qty_dp", qty_dp)
        if interval_s < 0 or interval_s > 0xFFFFFFFF:
            raise ValueError(f"interval_s must be 0..4294967295, got {interval_s}")
        self._head(T_KLINE, inst, P_KLINE, exch_ns, ingest_ns)
        p = self.buf + HEAD
        _w64(p, open_ns)
        _w64(p + 8, close_ns)
        _w32(p + 16, <uint32_t>interval_s)
        p[20] = <uint8_t>price_dp
        p[21] = <uint8_t>qty_dp
        p[22] = is_closed
        p[23] = 0
        _w64(p + 24, open_px)
        _w64(p + 32, high_px)
        _w64(p + 40, low_px)
        _w64(p + 48, close_px)
        _w64(p + 56, volume)
        _w64(p + 64, n_trades)
        return self._finish(P_KLINE)

    cpdef bytes status(self, inst_t inst, bint is_live, str reason, ns_t mono_ns):
        """Encode a feed status change; ``mono_ns`` goes to the header's ingest_ns. O(1).

        Raises
        ------
        ValueError
            If reason is over 255 UTF-8 bytes or inst < 0.
        """
        cdef unsigned char* p
        cdef const char* r
        cdef Py_ssize_t nr
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        r = _utf8("reason", reason, &nr)
        self._head(T_STATUS, inst, P_STATUS + 1 + nr, 0, mono_ns)
        p = self.buf + HEAD
        _w64(p, 0)
        p[0] = is_live
        _wstr(p + P_STATUS, r, nr)
        return self._finish(P_STATUS + 1 + nr)

    cpdef bytes instrument(self, inst_t inst, str symbol, str base, str quote, int price_dp,
                           int qty_dp, px_t tick_raw, qty_t step_raw, qty_t min_qty_raw,
                           qty_t max_qty_raw, px_t min_notional_raw):
        """Encode an instrument definition; min_notional_raw is at price_dp. O(1).

        Raises
        ------
        ValueError
            If a dp is outside 0..18, a string is over 255 UTF-8 bytes, or inst < 0.
        """
        cdef unsigned char* p
        cdef const char* s1
        cdef const char* s2
        cdef const char* s3
        cdef Py_ssize_t n1
        cdef Py_ssize_t n2
        cdef Py_ssize_t n3
        cdef Py_ssize_t plen
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        _check_dp("price_dp", price_dp)
        _check_dp("qty_dp", qty_dp)
        s1 = _utf8("symbol", symbol, &n1)
        s2 = _utf8("base", base, &n2)
        s3 = _utf8("quote", quote, &n3)
        plen = P_INSTRUMENT + 3 + n1 + n2 + n3
        self._head(T_INSTRUMENT, inst, plen, 0, 0)
        p = self.buf + HEAD
        _w64(p, 0)
        p[0] = <uint8_t>price_dp
        p[1] = <uint8_t>qty_dp
        _w64(p + 8, tick_raw)
        _w64(p + 16, step_raw)
        _w64(p + 24, min_qty_raw)
        _w64(p + 32, max_qty_raw)
        _w64(p + 40, min_notional_raw)
        p += P_INSTRUMENT
        p += _wstr(p, s1, n1)
        p += _wstr(p, s2, n2)
        _wstr(p, s3, n3)
        return self._finish(plen)

    cpdef bytes order_cmd(self, inst_t inst, int action, str strategy, str client_order_id,
                          int side, int ord_type, int tif, int price_dp, int qty_dp, px_t px,
                          qty_t qty, bint reduce_only, ns_t trigger_ns):
        """Encode an order command; ``trigger_ns`` goes to the header's ingest_ns. O(1).

        Parameters
        ----------
        action : int
            Action: NEW, CANCEL (client_order_id = the order to cancel), CANCEL_ALL (inst
            says which symbol; client_order_id may be ""), SYNC (republish the state of
            the strategy's live orders; the other fields are unused).
        side, ord_type, tif : int
            Side, OrdType, Tif; 0 means none (cancels).

        Raises
        ------
        ValueError
            If an enum value is out of range, a dp outside 0..18, a string over 255 UTF-8
            bytes, or inst < 0.
        """
        cdef unsigned char* p
        cdef const char* s1
        cdef const char* s2
        cdef Py_ssize_t n1
        cdef Py_ssize_t n2
        cdef Py_ssize_t plen
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        _check_enum("action", action, 1, 4)
        _check_enum("side", side, 0, 2)
        _check_enum("ord_type", ord_type, 0, 3)
        _check_enum("tif", tif, 0, 4)
        _check_dp("price_dp", price_dp)
        _check_dp("qty_dp", qty_dp)
        s1 = _utf8("strategy", strategy, &n1)
        s2 = _utf8("client_order_id", client_order_id, &n2)
        plen = P_ORDER_CMD + 2 + n1 + n2
        self._head(T_ORDER_CMD, inst, plen, 0, trigger_ns)
        p = self.buf + HEAD
        p[0] = <uint8_t>action
        p[1] = <uint8_t>side
        p[2] = <uint8_t>ord_type
        p[3] = <uint8_t>tif
        p[4] = <uint8_t>price_dp
        p[5] = <uint8_t>qty_dp
        p[6] = reduce_only
        p[7] = 0
        _w64(p + 8, px)
        _w64(p + 16, qty)
        p += P_ORDER_CMD
        p += _wstr(p, s1, n1)
        _wstr(p, s2, n2)
        return self._finish(plen)

    cpdef bytes order_event(self, inst_t inst, str strategy, str client_order_id,
                            int64_t venue_order_id, int status, int side, int ord_type, int tif,
                            int price_dp, int qty_dp, px_t px, qty_t qty, qty_t filled_qty,
                            int error_code, str reason, ns_t exch_ns, ns_t recv_ns):
        """Encode an order state change; ``recv_ns`` goes to the header's ingest_ns. O(1).

        Parameters
        ----------
        status : int
            Status (1..6).
        side, ord_type, tif : int
            0 when unknown.
        error_code : int
            Venue error code (int32; 0 none).

        Raises
        ------
        ValueError
            If an enum value is out of range, a dp outside 0..18, a string over 255 UTF-8
            bytes, or inst < 0.
        """
        cdef unsigned char* p
        cdef const char* s1
        cdef const char* s2
        cdef const char* s3
        cdef Py_ssize_t n1
        cdef Py_ssize_t n2
        cdef Py_ssize_t n3
        cdef Py_ssize_t plen
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        _check_enum("status", status, 1, 6)
        _check_enum("side", side, 0, 2)
        _check_enum("ord_type", ord_type, 0, 3)
        _check_enum("tif", tif, 0, 4)
        _check_dp("price_dp", price_dp)
        _check_dp("qty_dp", qty_dp)
        s1 = _utf8("strategy", strategy, &n1)
        s2 = _utf8("client_order_id", client_order_id, &n2)
        s3 = _utf8("reason", reason, &n3)
        plen = P_ORDER_EVENT + 3 + n1 + n2 + n3
        self._head(T_ORDER_EVENT, inst, plen, exch_ns, recv_ns)
        p = self.buf + HEAD
        p[0] = <uint8_t>status
        p[1] = <uint8_t>side
        p[2] = <uint8_t>ord_type
        p[3] = <uint8_t>tif
        p[4] = <uint8_t>price_dp
        p[5] = <uint8_t>qty_dp
        _w16(p + 6, 0)
        _w64(p + 8, px)
        _w64(p + 16, qty)
        _w64(p + 24, filled_qty)
        _w64(p + 32, venue_order_id)
        _w32(p + 40, <uint32_t><int32_t>error_code)
        _w32(p + 44, 0)
        p += P_ORDER_EVENT
        p += _wstr(p, s1, n1)
        p += _wstr(p, s2, n2)
        _wstr(p, s3, n3)
        return self._finish(plen)

    cpdef bytes fill(self, inst_t inst, str strategy, str client_order_id,
                     int64_t venue_order_id, int64_t trade_id, int side, int price_dp,
                     int qty_dp, px_t px, qty_t qty, int64_t fee, str fee_asset, bint is_maker,
                     int64_t realized_pnl, ns_t exch_ns, ns_t recv_ns):
        """Encode one fill; fee and realized_pnl are raws at ASSET_DP (8). O(1).

        Raises
        ------
        ValueError
            If side is out of range, a dp outside 0..18, a string over 255 UTF-8 bytes, or
            inst < 0.
        """
        cdef unsigned char* p
        cdef const char* s1
        cdef const char* s2
        cdef const char* s3
        cdef Py_ssize_t n1
        cdef Py_ssize_t n2
        cdef Py_ssize_t n3
        cdef Py_ssize_t plen
        if inst < 0:
            raise ValueError(f"inst must be >= 0, got {inst}")
        _check_enum("side", side, 0, 2)
        _check_dp("price_dp", price_dp)
        _check_dp("qty_dp", qty_dp)
        s1 = _utf8("strategy", strategy, &n1)
        s2 = _utf8("client_order_id", client_order_id, &n2)
        s3 = _utf8("fee_asset", fee_asset, &n3)
        plen = P_FILL + 3 + n1 + n2 + n3
        self._head(T_FILL, inst, plen, exch_ns, recv_ns)
        p = self.buf + HEAD
        _w64(p, 0)
        p[0] = <uint8_t>side
        p[1] = <uint8_t>price_dp
        p[2] = <uint8_t>qty_dp
        p[3] = is_maker
        _w64(p + 8, px)
        _w64(p + 16, qty)
        _w64(p + 24, fee)
        _w64(p + 32, realized_pnl)
        _w64(p + 40, venue_order_id)
        _w64(p + 48, trade_id)
        p += P_FILL
        p += _wstr(p, s1, n1)
        p += _wstr(p, s2, n2)
        _wstr(p, s3, n3)
        return self._finish(plen)

    cpdef bytes risk_state(self, int old_state, int new_state, str scope, str trigger,
                           str detail, ns_t mono_ns):
        """Encode a risk state change; ``mono_ns`` goes to the header's ingest_ns. O(1).

        Parameters
        ----------
        old_state, new_state : int
            Risk states (0 ACTIVE, 1 REDUCE_ONLY, 2 CANCEL_ONLY, 3 HALTED).
        scope : str
            The symbol the change applies to; "" means every symbol.
        trigger, detail : str
            The condition that caused the change and its figures, one line.

        Raises
        ------
        ValueError
            If a state is outside 0..3 or a string is over 255 UTF-8 bytes.
        """
        cdef unsigned char* p
        cdef const char* s1
        cdef const char* s2
        cdef const char* s3
        cdef Py_ssize_t n1
        cdef Py_ssize_t n2
        cdef Py_ssize_t n3
        cdef Py_ssize_t plen
        _check_enum("old_state", old_state, 0, 3)
        _check_enum("new_state", new_state, 0, 3)
        s1 = _utf8("scope", scope, &n1)
        s2 = _utf8("trigger", trigger, &n2)
        s3 = _utf8("detail", detail, &n3)
        plen = P_RISK_STATE + 3 + n1 + n2 + n3
        self._head(T_RISK_STATE, 0, plen, 0, mono_ns)
        p = self.buf + HEAD
        _w64(p, 0)
        p[0] = <uint8_t>old_state
        p[1] = <uint8_t>new_state
        p += P_RISK_STATE
        p += _wstr(p, s1, n1)
        p += _wstr(p, s2, n2)
        _wstr(p, s3, n3)
        return self._finish(plen)

    cpdef bytes latency(self, str name, int64_t count, int64_t p50_ns, int64_t p90_ns,
                        int64_t p99_ns, int64_t p999_ns, int64_t max_ns, bytes hdr,
                        ns_t mono_ns):
        """Encode one latency figure's snapshot; ``mono_ns`` goes to the header's ingest_ns.

        Parameters
        ----------
        hdr : bytes
            hdrhistogram ``encode()`` output (any bytes; at most 2**32 - 1).

        Raises
        ------
        ValueError
            If name is over 255 UTF-8 bytes or hdr too long.
        """
        cdef unsigned char* p
        cdef const char* s1
        cdef Py_ssize_t n1
        cdef Py_ssize_t nh
        cdef Py_ssize_t plen
        if hdr is None:
            raise TypeError("hdr must be bytes, got None")
        s1 = _utf8("name", name, &n1)
        nh = PyBytes_GET_SIZE(hdr)
        if nh > 0xFFFFFFFF - P_LATENCY - 1 - MAX_STR - 4:
            raise ValueError(f"hdr of {nh} bytes is too long")
        plen = P_LATENCY + 1 + n1 + 4 + nh
        self._reserve(HEAD + plen)
        self._head(T_LATENCY, 0, plen, 0, mono_ns)
        p = self.buf + HEAD
        _w64(p, count)
        _w64(p + 8, p50_ns)
        _w64(p + 16, p90_ns)
        _w64(p + 24, p99_ns)
        _w64(p + 32, p999_ns)
        _w64(p + 40, max_ns)
        p += P_LATENCY
        p += _wstr(p, s1, n1)
        _w32(p, <uint32_t>nh)
        memcpy(p + 4, PyBytes_AS_STRING(hdr), nh)
        return self._finish(plen)
