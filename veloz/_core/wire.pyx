# Bus wire format: a 48-byte little-endian header plus one fixed-offset payload per message
# type; docs/wire.md documents every byte. Owns encoding (Encoder, one preallocated buffer and
# one bytes allocation per message) and total, strict decoding (WireError on any malformed
# body, never a crash). Never sends, never logs, never imports above _core.
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.bytes cimport PyBytes_CheckExact
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free
from cpython.mem cimport PyMem_Malloc
from cpython.mem cimport PyMem_Realloc
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New
from cpython.tuple cimport PyTuple_SET_ITEM
from libc.stdint cimport int32_t
from libc.stdint cimport int64_t
from libc.stdint cimport uint8_t
from libc.stdint cimport uint16_t
from libc.stdint cimport uint32_t
from libc.stdint cimport uint64_t
from libc.string cimport memcpy

from veloz._core.book cimport Book
from veloz._core.book cimport BookSide
from veloz._core.defs cimport inst_t
from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.defs cimport seq_t

from veloz._core.errors import WireError
from veloz._core.fixed import to_text

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object o, Py_ssize_t* size) except NULL
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)

cdef extern from "<time.h>" nogil:
    ctypedef long time_t
    ctypedef int clockid_t
    cdef struct timespec:
        time_t tv_sec
        long tv_nsec
    enum: CLOCK_MONOTONIC
    int clock_gettime(clockid_t clk, timespec* ts)

cdef uint16_t _ONE = 1
if (<unsigned char*>&_ONE)[0] != 1:  # pragma: no cover - the codec copies native integers
    raise ImportError("veloz._core.wire needs a little-endian machine")

HEADER_SIZE = 48
VERSION = 1
MAGIC = b"VZ"
ASSET_DP = 8  # decimal places of FILL fee and realized_pnl raws

cdef enum:
    HEAD = 48
    WIRE_VERSION = 1
    MAX_DP = 18
    MAX_STR = 255          # strings carry a u8 length
    MIN_BUF = 1024         # bytes preallocated by an Encoder besides its book levels
    # message types (MsgType)
    T_BOOK = 1
    T_BBO = 2
    T_TRADE = 3
    T_KLINE = 4
    T_STATUS = 5
    T_INSTRUMENT = 6
    T_ORDER_CMD = 16
    T_ORDER_EVENT = 17
    T_FILL = 18
    T_LATENCY = 32
    # fixed payload parts in bytes (variable parts follow them)
    P_BOOK = 16
    P_BBO = 48
    P_TRADE = 32
    P_KLINE = 72
    P_STATUS = 8
    P_INSTRUMENT = 48
    P_ORDER_CMD = 24
    P_ORDER_EVENT = 48
    P_FILL = 56
    P_LATENCY = 48
    # parse_head_c status codes
    H_OK = 0
    H_SHORT = -1
    H_MAGIC = -2
    H_VERSION = -3
    H_TYPE = -4
    H_LENGTH = -5


# MsgType, Side, OrdType, Tif and Status are cpdef enums (wire.pxd). Action cannot be one:
# its NEW would clash with Status.NEW in this module's C scope, so it is built from the same
# IntEnum base that Cython gives the cpdef enums.
_IntEnum = [c for c in globals()["Status"].__mro__ if c.__name__ == "IntEnum"][0]
Action = _IntEnum("Action", [("NEW", 1), ("CANCEL", 2), ("CANCEL_ALL", 3)], module=__name__,
                  qualname="Action")


# value -> member (index 0 = "none" where the field allows it); decode indexes these tuples
# instead of calling the enum class, which costs ~10x more.
_ACTIONS = (None, Action.NEW, Action.CANCEL, Action.CANCEL_ALL)
_SIDES = (None, Side.BUY, Side.SELL)
_ORD_TYPES = (None, OrdType.LIMIT, OrdType.MARKET, OrdType.LIMIT_MAKER)
_TIFS = (None, Tif.GTC, Tif.IOC, Tif.FOK, Tif.GTX)
_STATUSES = (None, Status.NEW, Status.PARTIALLY_FILLED, Status.FILLED, Status.CANCELED,
             Status.REJECTED, Status.EXPIRED)

_VENUES = ("none", "binance-spot", "binance-usdm", "okx-spot", "okx-swap", "bybit-spot",
           "bybit-linear")
_VENUE_IDS = {name: i for i, name in enumerate(_VENUES)}
_TYPE_NAMES = {int(t): t.name.lower() for t in globals()["MsgType"]}


def venue_id(str name) -> int:
    """Return the wire venue id of a venue name ("binance-spot" -> 1, "none" -> 0).

    Raises
    ------
    WireError
        If the name is not a known venue.
    """
    try:
        return _VENUE_IDS[name]
    except KeyError:
        raise WireError(f"unknown venue name {name!r}; known: {', '.join(_VENUES)}") from None


def venue_name(int vid) -> str:
    """Return the venue name of a wire venue id (1 -> "binance-spot", 0 -> "none").

    Raises
    ------
    WireError
        If the id is not a known venue.
    """
    if 0 <= vid < len(_VENUES):
        return _VENUES[vid]
    raise WireError(f"unknown venue id {vid}")


# ---- byte access: native copies, valid because the module refuses big-endian machines --------

cdef inline void _w8(unsigned char* p, uint8_t v) noexcept nogil:
    p[0] = v


cdef inline void _w16(unsigned char* p, uint16_t v) noexcept nogil:
    memcpy(p, &v, 2)


cdef inline void _w32(unsigned char* p, uint32_t v) noexcept nogil:
    memcpy(p, &v, 4)


cdef inline void _w64(unsigned char* p, int64_t v) noexcept nogil:
    memcpy(p, &v, 8)


cdef inline uint16_t _r16(const unsigned char* p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


cdef inline uint32_t _r32(const unsigned char* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline int64_t _r64(const unsigned char* p) noexcept nogil:
    cdef int64_t v
    memcpy(&v, p, 8)
    return v


cdef inline int64_t _mono_ns() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <int64_t>ts.tv_sec * 1_000_000_000 + ts.tv_nsec


cdef inline bint _is_type(int t) noexcept nogil:
    return (1 <= t <= 6) or (16 <= t <= 18) or t == 32


cdef int parse_head_c(const unsigned char* p, Py_ssize_t n, Head* h) noexcept nogil:
    """Read the header of ``p[:n]`` into ``*h``; return H_OK or a negative H_ status. O(1)."""
    if n < HEAD:
        return H_SHORT
    if p[0] != c'V' or p[1] != c'Z':
        return H_MAGIC
    h.version = p[2]
    if h.version != WIRE_VERSION:
        return H_VERSION
    h.msg_type = p[3]
    if not _is_type(h.msg_type):
        return H_TYPE
    h.venue = _r16(p + 4)
    h.flags = _r16(p + 6)
    h.inst = _r32(p + 8)
    h.payload_len = _r32(p + 12)
    if <Py_ssize_t>h.payload_len != n - HEAD:
        return H_LENGTH
    h.seq = <uint64_t>_r64(p + 16)
    h.exch_ns = _r64(p + 24)
    h.ingest_ns = _r64(p + 32)
    h.publish_ns = _r64(p + 40)
    return H_OK


cdef int _raise_head(int status, const unsigned char* p, Py_ssize_t n) except -1:
    if status == H_SHORT:
        raise WireError(f"short message: {n} bytes, the header alone is {HEAD}")
    if status == H_MAGIC:
        raise WireError(f"bad magic {bytes(p[:2])!r}, expected b'VZ'")
    if status == H_VERSION:
        raise WireError(f"unknown wire version {p[2]}, this decoder reads {WIRE_VERSION}")
    if status == H_TYPE:
        raise WireError(f"unknown message type {p[3]}")
    raise WireError(f"payload length {_r32(p + 12)} in the header disagrees with the body: "
                    f"{n - HEAD} bytes after the header")


cdef object _as_bytes(object body):
    # The bus hands bytes; bytearray, memoryview and zmq frames are copied once.
    if PyBytes_CheckExact(body):
        return body
    if isinstance(body, (str, int)) or body is None:  # bytes(5) would make 5 zero bytes
        raise TypeError(f"a wire message is bytes, got {type(body).__name__}")
    try:
        return bytes(memoryview(body))
    except TypeError:
        raise TypeError(f"a wire message is bytes, got {type(body).__name__}") from None


cdef const unsigned char* _head_of(object body, Head* h, Py_ssize_t* n) except NULL:
    # Validate the header of a bytes body; raise WireError naming what is wrong.
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef int status
    n[0] = PyBytes_GET_SIZE(body)
    status = parse_head_c(p, n[0], h)
    if status != H_OK:
        _raise_head(status, p, n[0])
    return p


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
            says which symbol; client_order_id may be "").
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
        _check_enum("action", action, 1, 3)
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


# ---- decoding ---------------------------------------------------------------------------------

cdef Header _header_obj(const Head* h):
    cdef Header o = Header.__new__(Header)
    o.version = h.version
    o.msg_type = h.msg_type
    o.venue = h.venue
    o.flags = h.flags
    o.inst = h.inst
    o.payload_len = h.payload_len
    o.seq = h.seq
    o.exch_ns = h.exch_ns
    o.ingest_ns = h.ingest_ns
    o.publish_ns = h.publish_ns
    return o


@cython.final
cdef class Header:
    """The 48-byte header of one message (see docs/wire.md); built by ``header()``."""

    def __repr__(self):
        return (f"Header(type={_TYPE_NAMES.get(self.msg_type, self.msg_type)}, "
                f"venue={self.venue}, inst={self.inst}, seq={self.seq}, "
                f"payload_len={self.payload_len})")

    def to_dict(self):
        """Return the header as a JSON-able dict (venue as its name when known)."""
        return {
            "version": self.version,
            "type": _TYPE_NAMES[self.msg_type],
            "venue": _VENUES[self.venue] if self.venue < len(_VENUES) else str(self.venue),
            "flags": self.flags,
            "inst": self.inst,
            "payload_len": self.payload_len,
            "seq": self.seq,
            "exch_ns": self.exch_ns,
            "ingest_ns": self.ingest_ns,
            "publish_ns": self.publish_ns,
        }


def header(body):
    """Decode and check the header of a message.

    Parameters
    ----------
    body : bytes
        A whole message (bytearray and memoryview are copied first).

    Returns
    -------
    Header

    Raises
    ------
    WireError
        If the body is shorter than 48 bytes, has a bad magic, an unknown version or type,
        or a payload length that disagrees with the body.
    TypeError
        If body is not bytes-like.
    """
    cdef Head h
    cdef Py_ssize_t n
    body = _as_bytes(body)
    _head_of(body, &h, &n)
    return _header_obj(&h)


def msg_type(body):
    """Return the message type of a valid header without building objects, else -1. O(1)."""
    cdef Head h
    if not PyBytes_CheckExact(body):
        try:
            body = _as_bytes(body)
        except TypeError:
            return -1
    if parse_head_c(<const unsigned char*>PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body),
                    &h) != H_OK:
        return -1
    return h.msg_type


def ingest_ns(body):
    """Return the header's ingest_ns (CLOCK_MONOTONIC ns). O(1).

    Raises
    ------
    WireError
        If the header is not valid (as ``header()``).
    """
    cdef Head h
    cdef Py_ssize_t n
    body = _as_bytes(body)
    _head_of(body, &h, &n)
    return h.ingest_ns


cdef class Msg:
    """Base of the decoded messages: ``.header`` plus the payload fields of its type."""

    def to_dict(self):
        """Return a JSON-able dict: type, header, payload fields (prices as text plus raws)."""
        d = {"type": _TYPE_NAMES[self.header.msg_type], "header": self.header.to_dict()}
        d.update(self._fields())
        return d

    def _fields(self):  # pragma: no cover - every concrete message overrides it
        return {}

    def __repr__(self):
        return f"{type(self).__name__}({self.to_dict()!r})"


cdef inline dict _num(str key, int64_t raw, int dp):
    return {key: to_text(raw, dp), key + "_raw": raw}


def _enum_name(v):
    return None if v is None else v.name


@cython.final
cdef class BookMsg(Msg):
    """A BOOK message: top levels of both sides, best first."""

    def _fields(self):
        return {
            "update_id": self.update_id,
            "price_dp": self.price_dp,
            "qty_dp": self.qty_dp,
            "bids": [[to_text(px, self.price_dp), to_text(q, self.qty_dp)]
                     for px, q in self.bids],
            "asks": [[to_text(px, self.price_dp), to_text(q, self.qty_dp)]
                     for px, q in self.asks],
            "bids_raw": [list(lv) for lv in self.bids],
            "asks_raw": [list(lv) for lv in self.asks],
        }


@cython.final
cdef class BboMsg(Msg):
    """A BBO message: best bid and ask (px 0 and qty 0 for a missing side)."""

    def _fields(self):
        d = {"update_id": self.update_id, "price_dp": self.price_dp, "qty_dp": self.qty_dp}
        d.update(_num("bid_px", self.bid_px, self.price_dp))
        d.update(_num("bid_qty", self.bid_qty, self.qty_dp))
        d.update(_num("ask_px", self.ask_px, self.price_dp))
        d.update(_num("ask_qty", self.ask_qty, self.qty_dp))
        return d


@cython.final
cdef class TradeMsg(Msg):
    """A TRADE message: one public trade."""

    def _fields(self):
        d = {"trade_id": self.trade_id, "price_dp": self.price_dp, "qty_dp": self.qty_dp,
             "is_buyer_maker": self.is_buyer_maker}
        d.update(_num("px", self.px, self.price_dp))
        d.update(_num("qty", self.qty, self.qty_dp))
        return d


@cython.final
cdef class KlineMsg(Msg):
    """A KLINE message: one candle."""

    def _fields(self):
        d = {"open_ns": self.open_ns, "close_ns": self.close_ns, "interval_s": self.interval_s,
             "price_dp": self.price_dp, "qty_dp": self.qty_dp, "n_trades": self.n_trades,
             "is_closed": self.is_closed}
        d.update(_num("open_px", self.open_px, self.price_dp))
        d.update(_num("high_px", self.high_px, self.price_dp))
        d.update(_num("low_px", self.low_px, self.price_dp))
        d.update(_num("close_px", self.close_px, self.price_dp))
        d.update(_num("volume", self.volume, self.qty_dp))
        return d


@cython.final
cdef class StatusMsg(Msg):
    """A STATUS message: the feed went live or stopped being live, and why."""

    def _fields(self):
        return {"is_live": self.is_live, "reason": self.reason}


@cython.final
cdef class InstrumentMsg(Msg):
    """An INSTRUMENT message: symbol, assets and trading rules at their dp."""

    def _fields(self):
        d = {"symbol": self.symbol, "base": self.base, "quote": self.quote,
             "price_dp": self.price_dp, "qty_dp": self.qty_dp}
        d.update(_num("tick", self.tick_raw, self.price_dp))
        d.update(_num("step", self.step_raw, self.qty_dp))
        d.update(_num("min_qty", self.min_qty_raw, self.qty_dp))
        d.update(_num("max_qty", self.max_qty_raw, self.qty_dp))
        d.update(_num("min_notional", self.min_notional_raw, self.price_dp))
        return d


@cython.final
cdef class OrderCmdMsg(Msg):
    """An ORDER_CMD message; the strategy's trigger time is ``header.ingest_ns``."""

    def _fields(self):
        d = {"action": self.action.name, "strategy": self.strategy,
             "client_order_id": self.client_order_id, "side": _enum_name(self.side),
             "ord_type": _enum_name(self.ord_type), "tif": _enum_name(self.tif),
             "price_dp": self.price_dp, "qty_dp": self.qty_dp,
             "reduce_only": self.reduce_only}
        d.update(_num("px", self.px, self.price_dp))
        d.update(_num("qty", self.qty, self.qty_dp))
        return d


@cython.final
cdef class OrderEventMsg(Msg):
    """An ORDER_EVENT message; the gateway's receive time is ``header.ingest_ns``."""

    def _fields(self):
        d = {"strategy": self.strategy, "client_order_id": self.client_order_id,
             "venue_order_id": self.venue_order_id, "status": self.status.name,
             "side": _enum_name(self.side), "ord_type": _enum_name(self.ord_type),
             "tif": _enum_name(self.tif), "price_dp": self.price_dp, "qty_dp": self.qty_dp,
             "error_code": self.error_code, "reason": self.reason}
        d.update(_num("px", self.px, self.price_dp))
        d.update(_num("qty", self.qty, self.qty_dp))
        d.update(_num("filled_qty", self.filled_qty, self.qty_dp))
        return d


@cython.final
cdef class FillMsg(Msg):
    """A FILL message; fee and realized_pnl are at ASSET_DP (8)."""

    def _fields(self):
        d = {"strategy": self.strategy, "client_order_id": self.client_order_id,
             "venue_order_id": self.venue_order_id, "trade_id": self.trade_id,
             "side": _enum_name(self.side), "price_dp": self.price_dp, "qty_dp": self.qty_dp,
             "fee_asset": self.fee_asset, "is_maker": self.is_maker}
        d.update(_num("px", self.px, self.price_dp))
        d.update(_num("qty", self.qty, self.qty_dp))
        d.update(_num("fee", self.fee, ASSET_DP))
        d.update(_num("realized_pnl", self.realized_pnl, ASSET_DP))
        return d


@cython.final
cdef class LatencyMsg(Msg):
    """A LATENCY message: one figure's percentiles in ns and its encoded histogram."""

    def _fields(self):
        return {"name": self.name, "count": self.count, "p50_ns": self.p50_ns,
                "p90_ns": self.p90_ns, "p99_ns": self.p99_ns, "p999_ns": self.p999_ns,
                "max_ns": self.max_ns, "hdr": self.hdr.decode("ascii", "backslashreplace")}


# A cursor over one payload: every read checks bounds and names the field on failure.
cdef struct Cur:
    const unsigned char* p   # payload start
    Py_ssize_t n             # payload length
    Py_ssize_t off           # next variable-part byte


cdef int _need(const Cur* c, Py_ssize_t fixed, str what) except -1:
    if c.n < fixed:
        raise WireError(f"{what} payload is {c.n} bytes, its fixed part needs {fixed}")
    return 0


cdef int _dp(int v, str what) except -1:
    if v > MAX_DP:
        raise WireError(f"{what} {v} is outside 0..{MAX_DP}")
    return v


cdef bint _flag(int v, str what) except -1:
    if v > 1:
        raise WireError(f"{what} must be 0 or 1, got {v}")
    return v


cdef object _enum(tuple members, int v, str what, bint may_be_none):
    if v >= len(members) or (v == 0 and not may_be_none):
        raise WireError(f"{what} value {v} is not valid")
    return members[v]


cdef str _rstr(Cur* c, str what):
    cdef Py_ssize_t k
    if c.off >= c.n:
        raise WireError(f"{what}: string length at payload offset {c.off} is past the end "
                        f"({c.n} bytes)")
    k = c.p[c.off]
    if c.off + 1 + k > c.n:
        raise WireError(f"{what}: string of {k} bytes at payload offset {c.off} runs past "
                        f"the end ({c.n} bytes)")
    try:
        s = PyUnicode_DecodeUTF8(<const char*>(c.p + c.off + 1), k, "strict")
    except UnicodeDecodeError as exc:
        raise WireError(f"{what} is not valid UTF-8: {exc}") from None
    c.off += 1 + k
    return s


cdef tuple _levels(const unsigned char* p, Py_ssize_t n):
    cdef Py_ssize_t i
    cdef tuple out = PyTuple_New(n)
    cdef tuple lv
    for i in range(n):  # Python objects per level: decode() is the convenience path
        lv = (_r64(p + 16 * i), _r64(p + 16 * i + 8))
        Py_INCREF(lv)
        PyTuple_SET_ITEM(out, i, lv)
    return out


cdef Msg _decode_book(const Head* h, Cur* c):
    cdef BookMsg m = BookMsg.__new__(BookMsg)
    cdef Py_ssize_t nb
    cdef Py_ssize_t na
    _need(c, P_BOOK, "BOOK")
    nb = _r16(c.p + 10)
    na = _r16(c.p + 12)
    if P_BOOK + 16 * (nb + na) > c.n:
        raise WireError(f"BOOK counts {nb} bids + {na} asks need {P_BOOK + 16 * (nb + na)} "
                        f"payload bytes, the payload has {c.n}")
    m.update_id = _r64(c.p)
    m.price_dp = _dp(c.p[8], "BOOK price_dp")
    m.qty_dp = _dp(c.p[9], "BOOK qty_dp")
    m.bids = _levels(c.p + P_BOOK, nb)
    m.asks = _levels(c.p + P_BOOK + 16 * nb, na)
    return m


cdef Msg _decode_bbo(const Head* h, Cur* c):
    cdef BboMsg m = BboMsg.__new__(BboMsg)
    _need(c, P_BBO, "BBO")
    m.update_id = _r64(c.p)
    m.price_dp = _dp(c.p[8], "BBO price_dp")
    m.qty_dp = _dp(c.p[9], "BBO qty_dp")
    m.bid_px = _r64(c.p + 16)
    m.bid_qty = _r64(c.p + 24)
    m.ask_px = _r64(c.p + 32)
    m.ask_qty = _r64(c.p + 40)
    return m


cdef Msg _decode_trade(const Head* h, Cur* c):
    cdef TradeMsg m = TradeMsg.__new__(TradeMsg)
    _need(c, P_TRADE, "TRADE")
    m.trade_id = _r64(c.p)
    m.price_dp = _dp(c.p[8], "TRADE price_dp")
    m.qty_dp = _dp(c.p[9], "TRADE qty_dp")
    m.is_buyer_maker = _flag(c.p[10], "TRADE is_buyer_maker")
    m.px = _r64(c.p + 16)
    m.qty = _r64(c.p + 24)
    return m


cdef Msg _decode_kline(const Head* h, Cur* c):
    cdef KlineMsg m = KlineMsg.__new__(KlineMsg)
    _need(c, P_KLINE, "KLINE")
    m.open_ns = _r64(c.p)
    m.close_ns = _r64(c.p + 8)
    m.interval_s = _r32(c.p + 16)
    m.price_dp = _dp(c.p[20], "KLINE price_dp")
    m.qty_dp = _dp(c.p[21], "KLINE qty_dp")
    m.is_closed = _flag(c.p[22], "KLINE is_closed")
    m.open_px = _r64(c.p + 24)
    m.high_px = _r64(c.p + 32)
    m.low_px = _r64(c.p + 40)
    m.close_px = _r64(c.p + 48)
    m.volume = _r64(c.p + 56)
    m.n_trades = _r64(c.p + 64)
    return m


cdef Msg _decode_status(const Head* h, Cur* c):
    cdef StatusMsg m = StatusMsg.__new__(StatusMsg)
    _need(c, P_STATUS, "STATUS")
    m.is_live = _flag(c.p[0], "STATUS is_live")
    c.off = P_STATUS
    m.reason = _rstr(c, "STATUS reason")
    return m


cdef Msg _decode_instrument(const Head* h, Cur* c):
    cdef InstrumentMsg m = InstrumentMsg.__new__(InstrumentMsg)
    _need(c, P_INSTRUMENT, "INSTRUMENT")
    m.price_dp = _dp(c.p[0], "INSTRUMENT price_dp")
    m.qty_dp = _dp(c.p[1], "INSTRUMENT qty_dp")
    m.tick_raw = _r64(c.p + 8)
    m.step_raw = _r64(c.p + 16)
    m.min_qty_raw = _r64(c.p + 24)
    m.max_qty_raw = _r64(c.p + 32)
    m.min_notional_raw = _r64(c.p + 40)
    c.off = P_INSTRUMENT
    m.symbol = _rstr(c, "INSTRUMENT symbol")
    m.base = _rstr(c, "INSTRUMENT base")
    m.quote = _rstr(c, "INSTRUMENT quote")
    return m


cdef Msg _decode_order_cmd(const Head* h, Cur* c):
    cdef OrderCmdMsg m = OrderCmdMsg.__new__(OrderCmdMsg)
    _need(c, P_ORDER_CMD, "ORDER_CMD")
    m.action = _enum(_ACTIONS, c.p[0], "ORDER_CMD action", False)
    m.side = _enum(_SIDES, c.p[1], "ORDER_CMD side", True)
    m.ord_type = _enum(_ORD_TYPES, c.p[2], "ORDER_CMD ord_type", True)
    m.tif = _enum(_TIFS, c.p[3], "ORDER_CMD tif", True)
    m.price_dp = _dp(c.p[4], "ORDER_CMD price_dp")
    m.qty_dp = _dp(c.p[5], "ORDER_CMD qty_dp")
    m.reduce_only = _flag(c.p[6], "ORDER_CMD reduce_only")
    m.px = _r64(c.p + 8)
    m.qty = _r64(c.p + 16)
    c.off = P_ORDER_CMD
    m.strategy = _rstr(c, "ORDER_CMD strategy")
    m.client_order_id = _rstr(c, "ORDER_CMD client_order_id")
    return m


cdef Msg _decode_order_event(const Head* h, Cur* c):
    cdef OrderEventMsg m = OrderEventMsg.__new__(OrderEventMsg)
    _need(c, P_ORDER_EVENT, "ORDER_EVENT")
    m.status = _enum(_STATUSES, c.p[0], "ORDER_EVENT status", False)
    m.side = _enum(_SIDES, c.p[1], "ORDER_EVENT side", True)
    m.ord_type = _enum(_ORD_TYPES, c.p[2], "ORDER_EVENT ord_type", True)
    m.tif = _enum(_TIFS, c.p[3], "ORDER_EVENT tif", True)
    m.price_dp = _dp(c.p[4], "ORDER_EVENT price_dp")
    m.qty_dp = _dp(c.p[5], "ORDER_EVENT qty_dp")
    m.px = _r64(c.p + 8)
    m.qty = _r64(c.p + 16)
    m.filled_qty = _r64(c.p + 24)
    m.venue_order_id = _r64(c.p + 32)
    m.error_code = <int32_t>_r32(c.p + 40)
    c.off = P_ORDER_EVENT
    m.strategy = _rstr(c, "ORDER_EVENT strategy")
    m.client_order_id = _rstr(c, "ORDER_EVENT client_order_id")
    m.reason = _rstr(c, "ORDER_EVENT reason")
    return m


cdef Msg _decode_fill(const Head* h, Cur* c):
    cdef FillMsg m = FillMsg.__new__(FillMsg)
    _need(c, P_FILL, "FILL")
    m.side = _enum(_SIDES, c.p[0], "FILL side", True)
    m.price_dp = _dp(c.p[1], "FILL price_dp")
    m.qty_dp = _dp(c.p[2], "FILL qty_dp")
    m.is_maker = _flag(c.p[3], "FILL is_maker")
    m.px = _r64(c.p + 8)
    m.qty = _r64(c.p + 16)
    m.fee = _r64(c.p + 24)
    m.realized_pnl = _r64(c.p + 32)
    m.venue_order_id = _r64(c.p + 40)
    m.trade_id = _r64(c.p + 48)
    c.off = P_FILL
    m.strategy = _rstr(c, "FILL strategy")
    m.client_order_id = _rstr(c, "FILL client_order_id")
    m.fee_asset = _rstr(c, "FILL fee_asset")
    return m


cdef Msg _decode_latency(const Head* h, Cur* c):
    cdef LatencyMsg m = LatencyMsg.__new__(LatencyMsg)
    cdef Py_ssize_t nh
    _need(c, P_LATENCY, "LATENCY")
    m.count = _r64(c.p)
    m.p50_ns = _r64(c.p + 8)
    m.p90_ns = _r64(c.p + 16)
    m.p99_ns = _r64(c.p + 24)
    m.p999_ns = _r64(c.p + 32)
    m.max_ns = _r64(c.p + 40)
    c.off = P_LATENCY
    m.name = _rstr(c, "LATENCY name")
    if c.off + 4 > c.n:
        raise WireError(f"LATENCY hdr length at payload offset {c.off} is past the end "
                        f"({c.n} bytes)")
    nh = _r32(c.p + c.off)
    if c.off + 4 + nh > c.n:
        raise WireError(f"LATENCY hdr of {nh} bytes at payload offset {c.off} runs past the "
                        f"end ({c.n} bytes)")
    m.hdr = PyBytes_FromStringAndSize(<const char*>(c.p + c.off + 4), nh)
    return m


def decode(body):
    """Decode a whole message into its Msg object (BookMsg, BboMsg, ... LatencyMsg).

    Parameters
    ----------
    body : bytes
        One message (bytearray and memoryview are copied first).

    Returns
    -------
    Msg
        The typed message; ``.header`` holds the header, ``.to_dict()`` a JSON-able form.

    Raises
    ------
    WireError
        On any malformed body: short, bad magic, unknown version or type, payload length
        disagreeing with the body, a fixed part longer than the payload, level counts or
        strings running past the payload, bad UTF-8, a dp over 18, a flag not 0/1, or an
        enum value out of range. Bytes after the known fields are ignored (appended fields
        of a later minor revision; docs/wire.md "Versioning").
    TypeError
        If body is not bytes-like.
    """
    cdef Head h
    cdef Py_ssize_t n
    cdef Cur c
    cdef Msg m
    cdef int t
    body = _as_bytes(body)
    c.p = _head_of(body, &h, &n) + HEAD
    c.n = n - HEAD
    c.off = 0
    t = h.msg_type
    if t == T_BBO:
        m = _decode_bbo(&h, &c)
    elif t == T_BOOK:
        m = _decode_book(&h, &c)
    elif t == T_TRADE:
        m = _decode_trade(&h, &c)
    elif t == T_KLINE:
        m = _decode_kline(&h, &c)
    elif t == T_STATUS:
        m = _decode_status(&h, &c)
    elif t == T_INSTRUMENT:
        m = _decode_instrument(&h, &c)
    elif t == T_ORDER_CMD:
        m = _decode_order_cmd(&h, &c)
    elif t == T_ORDER_EVENT:
        m = _decode_order_event(&h, &c)
    elif t == T_FILL:
        m = _decode_fill(&h, &c)
    else:
        m = _decode_latency(&h, &c)
    m.header = _header_obj(&h)
    return m


# ---- BookView ---------------------------------------------------------------------------------

@cython.final
cdef class BookView:
    """A strategy's reusable view of the latest BOOK message of one symbol.

    Parameters
    ----------
    capacity : int
        Levels (both sides together) preallocated; a bigger message grows the view once.

    Notes
    -----
    ``update`` copies the levels of a BOOK message into the view's own array: no Python
    object per level, no allocation unless the message has more levels than ever before.
    A body that fails validation leaves the view unchanged.
    """

    def __cinit__(self):
        self.lv = NULL
        self.cap = 0

    def __init__(self, Py_ssize_t capacity=64):
        cdef void* p
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        p = PyMem_Malloc(max(capacity, <Py_ssize_t>1) * sizeof(Pair))
        if p == NULL:
            raise MemoryError(f"book view of {capacity} levels")
        self.lv = <Pair*>p
        self.cap = max(capacity, <Py_ssize_t>1)

    def __dealloc__(self):
        PyMem_Free(self.lv)

    cdef int update_c(self, const unsigned char* p, Py_ssize_t n) except -1:
        """Apply the BOOK message ``p[:n]``; WireError (view unchanged) if it is not one. O(n)."""
        cdef Head h
        cdef int status = parse_head_c(p, n, &h)
        cdef Py_ssize_t plen
        cdef Py_ssize_t nb
        cdef Py_ssize_t na
        cdef void* q
        if status != H_OK:
            return _raise_head(status, p, n)
        if h.msg_type != T_BOOK:
            raise WireError(f"BookView needs a BOOK message, got type {h.msg_type}")
        plen = h.payload_len
        if plen < P_BOOK:
            raise WireError(f"BOOK payload is {plen} bytes, its fixed part needs {P_BOOK}")
        p += HEAD
        nb = _r16(p + 10)
        na = _r16(p + 12)
        if P_BOOK + 16 * (nb + na) > plen:
            raise WireError(f"BOOK counts {nb} bids + {na} asks need "
                            f"{P_BOOK + 16 * (nb + na)} payload bytes, the payload has {plen}")
        if p[8] > MAX_DP or p[9] > MAX_DP:
            raise WireError(f"BOOK dp outside 0..{MAX_DP}: price_dp {p[8]}, qty_dp {p[9]}")
        if nb + na > self.cap:
            q = PyMem_Realloc(self.lv, (nb + na) * sizeof(Pair))
            if q == NULL:
                raise MemoryError(f"book view of {nb + na} levels")
            self.lv = <Pair*>q
            self.cap = nb + na
        memcpy(self.lv, p + P_BOOK, 16 * (nb + na))  # wire pairs are Pair{px, qty} LE
        self.update_id = _r64(p)
        self.price_dp = p[8]
        self.qty_dp = p[9]
        self.n_bids = nb
        self.n_asks = na
        self.inst = h.inst
        self.venue = h.venue
        self.seq = h.seq
        self.exch_ns = h.exch_ns
        self.ingest_ns = h.ingest_ns
        self.publish_ns = h.publish_ns
        self.n_updates += 1
        return 0

    cpdef void update(self, object body):
        """Replace the view with the BOOK message ``body``. O(levels), no allocation.

        Raises
        ------
        WireError
            If body is not a valid BOOK message; the view is unchanged.
        TypeError
            If body is not bytes-like.
        """
        if not PyBytes_CheckExact(body):
            body = _as_bytes(body)
        self.update_c(<const unsigned char*>PyBytes_AS_STRING(body), PyBytes_GET_SIZE(body))

    cpdef tuple bid(self, Py_ssize_t i):
        """Return the i-th best bid as ``(px, qty)`` raws; IndexError past n_bids. O(1)."""
        if i < 0 or i >= self.n_bids:
            raise IndexError(f"bid level {i} out of range 0..{self.n_bids - 1}")
        return (self.lv[i].px, self.lv[i].qty)

    cpdef tuple ask(self, Py_ssize_t i):
        """Return the i-th best ask as ``(px, qty)`` raws; IndexError past n_asks. O(1)."""
        if i < 0 or i >= self.n_asks:
            raise IndexError(f"ask level {i} out of range 0..{self.n_asks - 1}")
        return (self.lv[self.n_bids + i].px, self.lv[self.n_bids + i].qty)

    cpdef object best_bid(self):
        """Return the best bid ``(px, qty)`` or None when there are no bids. O(1)."""
        if self.n_bids == 0:
            return None
        return (self.lv[0].px, self.lv[0].qty)

    cpdef object best_ask(self):
        """Return the best ask ``(px, qty)`` or None when there are no asks. O(1)."""
        if self.n_asks == 0:
            return None
        return (self.lv[self.n_bids].px, self.lv[self.n_bids].qty)

    cpdef object mid_x2(self):
        """Return best bid px + best ask px (twice the mid, exact), or None if a side is empty."""
        if self.n_bids == 0 or self.n_asks == 0:
            return None
        return <object>self.lv[0].px + <object>self.lv[self.n_bids].px
