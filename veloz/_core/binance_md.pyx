# Binance spot / USD-M market data: websocket frames (raw or combined) and REST depth
# snapshots into int64 fields and one reused DepthMsg, parsing orjson's strings in C.
# Never raises on bad input and never logs: it returns MALFORMED, bumps n_malformed and sets
# last_error; the caller logs. Knows nothing of books or sequencing (that is DepthSync).
cimport cython
from cpython.object cimport PyObject
from libc.stdint cimport INT64_MAX
from libc.stdint cimport int64_t
from libc.string cimport memcmp

from orjson import loads as _loads

from veloz._core.defs cimport ns_t
from veloz._core.defs cimport px_t
from veloz._core.defs cimport qty_t
from veloz._core.depth cimport DepthMsg
from veloz._core.fixed cimport FX_BAD_DP
from veloz._core.fixed cimport FX_EMPTY
from veloz._core.fixed cimport FX_JUNK
from veloz._core.fixed cimport FX_OK
from veloz._core.fixed cimport FX_OVERFLOW
from veloz._core.fixed cimport FX_SIGN
from veloz._core.fixed cimport FX_TOO_PRECISE
from veloz._core.fixed cimport parse_c

from veloz._core.errors import VelozError

# Borrowed-reference C-API calls on PyObject*: no reference counting and no exception on the
# fast path. Extern functions are noexcept; every caller checks the result itself.
cdef extern from "Python.h":
    PyObject* _dget "PyDict_GetItem"(PyObject* d, PyObject* key)
    bint _is_str "PyUnicode_CheckExact"(PyObject* o)
    bint _is_int "PyLong_CheckExact"(PyObject* o)
    bint _is_list "PyList_CheckExact"(PyObject* o)
    bint _is_dict "PyDict_CheckExact"(PyObject* o)
    Py_ssize_t _lsize "PyList_GET_SIZE"(PyObject* o)
    PyObject* _litem "PyList_GET_ITEM"(PyObject* o, Py_ssize_t i)
    long long _as_ll "PyLong_AsLongLongAndOverflow"(PyObject* o, int* overflow)
    const char* PyUnicode_AsUTF8AndSize(PyObject* o, Py_ssize_t* size)
    void PyErr_Clear()
    PyObject* _py_true "Py_True"
    PyObject* _py_false "Py_False"


# Statuses of the field readers below; FX_* (-1..-6) from parse_c pass through unchanged.
cdef enum:
    _ST_MISSING = -10    # key absent
    _ST_TYPE = -11       # present but of the wrong JSON type
    _ST_RANGE = -12      # an integer outside the allowed range
    _ST_PAIR = -13       # a depth level that is not a two-element list
    _ST_ORDER = -14      # first update id above last update id
    _GO = 100            # "carry on" from the symbol check (not an MdKind)

# Largest ms timestamp whose ns value fits int64 (year 2262).
cdef int64_t _MAX_MS = INT64_MAX // 1000000

_REASONS = {
    FX_EMPTY: "empty number",
    FX_JUNK: "not a plain decimal number",
    FX_TOO_PRECISE: "more decimals than dp",
    FX_OVERFLOW: "does not fit int64 at dp",
    FX_SIGN: "sign not allowed",
    FX_BAD_DP: "dp outside 0..18",
    _ST_MISSING: "missing",
    _ST_TYPE: "wrong type",
    _ST_RANGE: "out of range",
    _ST_PAIR: "level is not a [price, qty] pair of strings",
    _ST_ORDER: "first update id U is above last update id u",
}

# Keys as module constants: lookups hash them once and compare against orjson's key objects.
cdef str K_e = "e"
cdef str K_E = "E"
cdef str K_T = "T"
cdef str K_s = "s"
cdef str K_U = "U"
cdef str K_u = "u"
cdef str K_pu = "pu"
cdef str K_b = "b"
cdef str K_a = "a"
cdef str K_B = "B"
cdef str K_A = "A"
cdef str K_p = "p"
cdef str K_q = "q"
cdef str K_t = "t"
cdef str K_m = "m"
cdef str K_f = "f"
cdef str K_l = "l"
cdef str K_k = "k"
cdef str K_i = "i"
cdef str K_o = "o"
cdef str K_h = "h"
cdef str K_c = "c"
cdef str K_v = "v"
cdef str K_V = "V"
cdef str K_n = "n"
cdef str K_x = "x"
cdef str K_r = "r"
cdef str K_stream = "stream"
cdef str K_data = "data"
cdef str K_last_update_id = "lastUpdateId"
cdef str K_bids = "bids"
cdef str K_asks = "asks"
cdef str K_result = "result"
cdef str K_id = "id"
cdef str K_code = "code"
cdef str K_msg = "msg"
cdef str K_error = "error"


cdef inline const char* _chars(PyObject* s, Py_ssize_t* n) noexcept:
    # UTF-8 view of an exact str: the object's own buffer for ASCII, so no allocation.
    cdef const char* p = PyUnicode_AsUTF8AndSize(s, n)
    if p == NULL:
        PyErr_Clear()  # lone surrogate: not encodable, so not a number either
    return p


cdef inline int _parse_obj(PyObject* v, int dp, bint is_signed, int64_t* out) noexcept:
    # Decimal text object -> raw at dp; 0 or a negative status.
    cdef Py_ssize_t n
    cdef const char* p
    if not _is_str(v):
        return _ST_TYPE
    p = _chars(v, &n)
    if p == NULL:
        return FX_JUNK
    return parse_c(p, n, dp, is_signed, out)


cdef inline int _get_dec(PyObject* d, str key, int dp, bint is_signed, int64_t* out) noexcept:
    cdef PyObject* v = _dget(d, <PyObject*>key)
    if v == NULL:
        return _ST_MISSING
    return _parse_obj(v, dp, is_signed, out)


cdef inline int _get_int(PyObject* d, str key, int64_t lo, int64_t* out) noexcept:
    # JSON integer in [lo, INT64_MAX]; bools and floats are wrong types.
    cdef PyObject* v = _dget(d, <PyObject*>key)
    cdef int overflow = 0
    cdef long long x
    if v == NULL:
        return _ST_MISSING
    if not _is_int(v):
        return _ST_TYPE
    x = _as_ll(v, &overflow)
    if overflow != 0 or x < lo:
        return _ST_RANGE
    out[0] = x
    return FX_OK


cdef inline int _get_ms(PyObject* d, str key, ns_t* out) noexcept:
    # Millisecond timestamp -> ns since epoch.
    cdef int64_t ms = 0
    cdef int st = _get_int(d, key, 0, &ms)
    if st != FX_OK:
        return st
    if ms > _MAX_MS:
        return _ST_RANGE
    out[0] = ms * 1000000
    return FX_OK


cdef inline int _get_bool(PyObject* d, str key, bint* out) noexcept:
    cdef PyObject* v = _dget(d, <PyObject*>key)
    if v == NULL:
        return _ST_MISSING
    if v == _py_true:
        out[0] = True
    elif v == _py_false:
        out[0] = False
    else:
        return _ST_TYPE
    return FX_OK


cdef inline int _fill_side(PyObject* side, int pdp, int qdp, px_t* px, qty_t* qty,
                           Py_ssize_t* where) noexcept:
    # Parse a list of [px, qty] string pairs straight into the arrays (sized by the caller).
    # On failure *where = 2 * level + (0 for px, 1 for qty).
    cdef Py_ssize_t i
    cdef Py_ssize_t n = _lsize(side)
    cdef PyObject* lv
    cdef int st
    for i in range(n):
        lv = _litem(side, i)
        if not _is_list(lv) or _lsize(lv) != 2:
            where[0] = 2 * i
            return _ST_PAIR
        st = _parse_obj(_litem(lv, 0), pdp, False, &px[i])
        if st != FX_OK:
            where[0] = 2 * i
            return st
        st = _parse_obj(_litem(lv, 1), qdp, False, &qty[i])
        if st != FX_OK:
            where[0] = 2 * i + 1
            return st
    return FX_OK


cdef inline bint _eq(const char* p, Py_ssize_t n, const char* lit, Py_ssize_t m) noexcept nogil:
    return n == m and memcmp(p, lit, m) == 0


cdef inline char _lower(char c) noexcept nogil:
    return c + 32 if c'A' <= c <= c'Z' else c


# What a combined stream name says about an e-less payload.
cdef enum:
    _STREAM_OTHER = 0
    _STREAM_BOOK_TICKER = 1
    _STREAM_PARTIAL_DEPTH = 2


cdef int _stream_kind(const char* p, Py_ssize_t n, Py_ssize_t* at) noexcept nogil:
    # "<sym>@bookTicker" or "<sym>@depth<N>[@<speed>]"; *at = index of the first '@' (-1 none).
    cdef Py_ssize_t k = 0
    cdef Py_ssize_t rest
    while k < n and p[k] != c'@':
        k += 1
    at[0] = k if k < n else -1
    if k >= n:
        return _STREAM_OTHER
    k += 1
    rest = n - k
    if rest >= 10 and memcmp(p + k, b"bookTicker", 10) == 0 and (rest == 10 or p[k + 10] == c'@'):
        return _STREAM_BOOK_TICKER
    if rest >= 6 and memcmp(p + k, b"depth", 5) == 0 and c'0' <= p[k + 5] <= c'9':
        return _STREAM_PARTIAL_DEPTH
    return _STREAM_OTHER


cdef str _show(object v):
    # A bad value for last_error: repr cut to ~80 chars; long containers by size only.
    cdef str r
    if isinstance(v, (list, dict)) and len(v) > 4:
        r = f"<{type(v).__name__} of {len(v)}>"
    else:
        r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


@cython.final
cdef class BinanceMdDecoder:
    """Decode Binance spot or USD-M market-data frames for one symbol into int64 fields.

    One decoder per symbol and connection. ``decode`` returns an ``MdKind`` and fills the
    fields of that kind (see the ``.pxd``); depth kinds refill ``self.depth`` in place, so
    copy it (``depth.copy()``) before the next call if it must be kept. Fields are written
    only once the whole payload has parsed, so MALFORMED, UNKNOWN and WRONG_SYMBOL leave
    every decoded field as it was; the one exception is a depth frame failing inside its
    levels, which leaves ``self.depth`` cleared rather than half written.

    A raw (``/ws``) partial-depth payload carries no symbol and a raw USD-M partial depth
    looks like a diff: only the combined form's stream name tells them apart, so subscribe
    to partial depth on combined streams.

    Parameters
    ----------
    symbol : str
        Venue symbol ("btcusdt" or "BTCUSDT"); stored upper-case.
    price_dp : int
        Decimal places of prices (from the tick size), 0..18.
    qty_dp : int
        Decimal places of quantities (from the step size), 0..18.
    is_usdm : bool
        True for USD-M futures payloads (depth carries ``pu`` and ``T``), False for spot.

    Raises
    ------
    ValueError
        Empty symbol, or a dp outside 0..18.
    """

    def __init__(self, str symbol not None, int price_dp, int qty_dp, bint is_usdm):
        cdef Py_ssize_t n = 0
        if not symbol or not symbol.isascii() or not symbol.isprintable():
            raise ValueError(f"symbol must be non-empty printable ASCII, got {symbol!r}")
        if not 0 <= price_dp <= 18:
            raise ValueError(f"price_dp must be 0..18, got {price_dp}")
        if not 0 <= qty_dp <= 18:
            raise ValueError(f"qty_dp must be 0..18, got {qty_dp}")
        self.symbol = symbol.upper()
        PyUnicode_AsUTF8AndSize(<PyObject*>self.symbol, &n)  # cache the UTF-8 view once
        self.price_dp = price_dp
        self.qty_dp = qty_dp
        self.is_usdm = is_usdm
        self.depth = DepthMsg()
        self.depth.reserve_c(1024, 1024)
        self.kline_interval = ""
        self.kline_quote_volume = ""
        self.last_error = ""
        self.first_trade_id = 0
        self.last_trade_id = 0

    # -- entry points -------------------------------------------------------------------

    cpdef int decode(self, object frame) except -2:
        """Decode one websocket frame and return its ``MdKind``.

        Parameters
        ----------
        frame : bytes | bytearray | memoryview | str
            The frame as received, raw (``/ws``) or combined (``/stream``) form.

        Returns
        -------
        int
            An ``MdKind``; the fields of that kind hold the frame's values. MALFORMED,
            UNKNOWN and WRONG_SYMBOL change nothing but counters (and ``last_error`` for
            MALFORMED / VENUE_ERROR). O(levels).
        """
        cdef object msg
        self.n_frames += 1
        try:
            msg = _loads(frame)
        except (ValueError, TypeError) as exc:  # orjson.JSONDecodeError is a ValueError
            return _fail_json(self, "frame", exc)
        if type(msg) is not dict:
            return _fail(self, f"frame: not a JSON object but a {type(msg).__name__}")
        try:
            return _route(self, <PyObject*>msg)
        except (KeyError, TypeError, IndexError, ValueError, VelozError) as exc:
            return _fail(self, f"frame: {type(exc).__name__}: {_show(str(exc))}")

    cpdef int decode_snapshot(self, object body) except -2:
        """Decode a REST depth snapshot body into ``self.depth`` and return SNAPSHOT.

        ``first_id == last_id == lastUpdateId``, ``prev_id = -1``, ``is_snapshot`` True;
        USD-M bodies must also carry ``E`` and ``T`` (into ``exch_ns`` / ``txn_ns``).

        Parameters
        ----------
        body : bytes | bytearray | memoryview | str
            The HTTP response body of ``GET /api/v3/depth`` or ``GET /fapi/v1/depth``.

        Returns
        -------
        int
            SNAPSHOT, or MALFORMED (n_malformed and last_error set). O(levels).
        """
        cdef object msg
        try:
            msg = _loads(body)
        except (ValueError, TypeError) as exc:
            return _fail_json(self, "snapshot", exc)
        if type(msg) is not dict:
            return _fail(self, f"snapshot: not a JSON object but a {type(msg).__name__}")
        try:
            return _book_picture(self, <PyObject*>msg, SNAPSHOT)
        except (KeyError, TypeError, IndexError, ValueError, VelozError) as exc:
            return _fail(self, f"snapshot: {type(exc).__name__}: {_show(str(exc))}")

    def __repr__(self):
        kind = "usdm" if self.is_usdm else "spot"
        return (f"BinanceMdDecoder({self.symbol} {kind} price_dp={self.price_dp} "
                f"qty_dp={self.qty_dp} frames={self.n_frames} malformed={self.n_malformed})")


# -- routing (module functions: the .pxd declares no private methods) -----------------


cdef int _route(BinanceMdDecoder dec, PyObject* msg) except -2:
    cdef PyObject* e = _dget(msg, <PyObject*>K_e)
    cdef PyObject* data
    cdef PyObject* stream
    if e != NULL:
        return _event(dec, msg, e, NULL)
    data = _dget(msg, <PyObject*>K_data)
    if data != NULL:
        stream = _dget(msg, <PyObject*>K_stream)
        if stream != NULL:
            return _combined(dec, stream, data)
    return _no_event(dec, msg, NULL)


cdef int _combined(BinanceMdDecoder dec, PyObject* stream, PyObject* data) except -2:
    cdef PyObject* e
    if not _is_str(stream):
        return _fail(dec, f"stream: wrong type: {_show(<object>stream)}")
    if _is_dict(data):
        e = _dget(data, <PyObject*>K_e)
        if e != NULL:
            return _event(dec, data, e, stream)
        return _no_event(dec, data, stream)
    if _is_list(data):  # "!miniTicker@arr" style streams: well-formed, not ours
        dec.n_unknown += 1
        return UNKNOWN
    return _fail(dec, f"data: wrong type: {_show(<object>data)}")


cdef int _event(BinanceMdDecoder dec, PyObject* d, PyObject* e, PyObject* stream) except -2:
    cdef Py_ssize_t n = 0
    cdef Py_ssize_t at = 0
    cdef const char* p
    cdef const char* sp
    cdef Py_ssize_t sn = 0
    if not _is_str(e):
        return _fail(dec, f"e: wrong type: {_show(<object>e)}")
    p = _chars(e, &n)
    if p == NULL:
        return _fail(dec, f"e: not UTF-8: {_show(<object>e)}")
    if _eq(p, n, b"depthUpdate", 11):
        if stream != NULL:  # USD-M partial depth shares the diff shape; its name tells
            sp = _chars(stream, &sn)
            if sp != NULL and _stream_kind(sp, sn, &at) == _STREAM_PARTIAL_DEPTH:
                return _depth_update(dec, d, PARTIAL_DEPTH)
        return _depth_update(dec, d, DEPTH)
    if _eq(p, n, b"bookTicker", 10):
        return _book_ticker(dec, d, True)
    if _eq(p, n, b"aggTrade", 8):
        return _trade(dec, d, AGG_TRADE)
    if _eq(p, n, b"trade", 5):
        return _trade(dec, d, TRADE)
    if _eq(p, n, b"kline", 5):
        return _kline(dec, d)
    if _eq(p, n, b"markPriceUpdate", 15):
        return _mark_price(dec, d)
    if _eq(p, n, b"serverShutdown", 14):
        return _server_shutdown(dec, d)
    dec.n_unknown += 1
    return UNKNOWN


cdef int _no_event(BinanceMdDecoder dec, PyObject* d, PyObject* stream) except -2:
    # Payloads without "e": spot bookTicker, partial depth, control replies, errors.
    cdef Py_ssize_t n = 0
    cdef Py_ssize_t at = -1
    cdef const char* p
    cdef int kind
    cdef PyObject* err
    if stream != NULL:
        p = _chars(stream, &n)
        if p != NULL:
            kind = _stream_kind(p, n, &at)
            if kind == _STREAM_BOOK_TICKER:
                return _book_ticker(dec, d, False)
            if kind == _STREAM_PARTIAL_DEPTH:
                if not _stream_symbol_is_ours(dec, p, at):
                    dec.n_wrong_symbol += 1
                    return WRONG_SYMBOL
                return _book_picture(dec, d, PARTIAL_DEPTH)
    if _dget(d, <PyObject*>K_last_update_id) != NULL:
        return _book_picture(dec, d, PARTIAL_DEPTH)
    if _dget(d, <PyObject*>K_u) != NULL and _dget(d, <PyObject*>K_b) != NULL:
        return _book_ticker(dec, d, False)
    if _dget(d, <PyObject*>K_result) != NULL and _dget(d, <PyObject*>K_id) != NULL:
        dec.n_control += 1
        return CONTROL
    if _dget(d, <PyObject*>K_code) != NULL and _dget(d, <PyObject*>K_msg) != NULL:
        return _venue_error(dec, d)
    err = _dget(d, <PyObject*>K_error)
    if err != NULL and _is_dict(err) and _dget(d, <PyObject*>K_id) != NULL:
        if _dget(err, <PyObject*>K_code) != NULL and _dget(err, <PyObject*>K_msg) != NULL:
            return _venue_error(dec, err)
    return _fail(dec, f"frame: no 'e' and not a known payload; keys {_show(list(<object>d))}")


cdef bint _stream_symbol_is_ours(BinanceMdDecoder dec, const char* p, Py_ssize_t at) noexcept:
    # Stream names carry the symbol lower-case: compare p[:at] with dec.symbol.
    cdef Py_ssize_t n = 0
    cdef const char* s = PyUnicode_AsUTF8AndSize(<PyObject*>dec.symbol, &n)
    cdef Py_ssize_t i
    if s == NULL or at != n:
        return False
    for i in range(n):
        if _lower(p[i]) != _lower(s[i]):
            return False
    return True


cdef int _symbol(BinanceMdDecoder dec, PyObject* d, str what) except -2:
    # _GO when "s" is this decoder's symbol; WRONG_SYMBOL (counted) or MALFORMED otherwise.
    cdef PyObject* s = _dget(d, <PyObject*>K_s)
    if s == NULL or not _is_str(s):
        return _fail_field(dec, what, d, K_s, _ST_MISSING if s == NULL else _ST_TYPE)
    if <str>s == dec.symbol:
        return _GO
    dec.n_wrong_symbol += 1
    return WRONG_SYMBOL


# -- payloads --------------------------------------------------------------------------
# The _need_* readers return 0, or MALFORMED after recording which field failed and why.

cdef inline int _need_int(BinanceMdDecoder dec, str what, PyObject* d, str key, int64_t lo,
                          int64_t* out) except -2:
    cdef int st = _get_int(d, key, lo, out)
    return 0 if st == FX_OK else _fail_field(dec, what, d, key, st)


cdef inline int _need_ms(BinanceMdDecoder dec, str what, PyObject* d, str key,
                         ns_t* out) except -2:
    cdef int st = _get_ms(d, key, out)
    return 0 if st == FX_OK else _fail_field(dec, what, d, key, st)


cdef inline int _need_dec(BinanceMdDecoder dec, str what, PyObject* d, str key, int dp,
                          int64_t* out) except -2:
    cdef int st = _get_dec(d, key, dp, False, out)
    return 0 if st == FX_OK else _fail_field(dec, what, d, key, st)


cdef inline int _need_bool(BinanceMdDecoder dec, str what, PyObject* d, str key,
                           bint* out) except -2:
    cdef int st = _get_bool(d, key, out)
    return 0 if st == FX_OK else _fail_field(dec, what, d, key, st)


cdef inline int _need_str(BinanceMdDecoder dec, str what, PyObject* d, str key,
                          PyObject** out) except -2:
    cdef PyObject* v = _dget(d, <PyObject*>key)
    if v != NULL and _is_str(v):
        out[0] = v
        return 0
    return _fail_field(dec, what, d, key, _ST_MISSING if v == NULL else _ST_TYPE)


cdef int _depth_update(BinanceMdDecoder dec, PyObject* d, int kind) except -2:
    cdef DepthMsg depth = dec.depth
    cdef int64_t first_id = 0
    cdef int64_t last_id = 0
    cdef int64_t prev_id = -1
    cdef ns_t exch_ns = 0
    cdef ns_t txn_ns = 0
    cdef str w = "depthUpdate"
    cdef int st = _symbol(dec, d, w)
    if st != _GO:
        return st
    if (_need_int(dec, w, d, K_U, 0, &first_id) or _need_int(dec, w, d, K_u, 0, &last_id)):
        return MALFORMED
    if first_id > last_id:
        return _fail_field(dec, w, d, K_U, _ST_ORDER)
    if _need_ms(dec, w, d, K_E, &exch_ns):
        return MALFORMED
    if dec.is_usdm and (_need_int(dec, w, d, K_pu, -1, &prev_id)
                        or _need_ms(dec, w, d, K_T, &txn_ns)):
        return MALFORMED
    st = _levels(dec, w, d, K_b, K_a)
    if st != _GO:
        return st
    depth.first_id = first_id
    depth.last_id = last_id
    depth.prev_id = prev_id
    depth.exch_ns = exch_ns
    depth.txn_ns = txn_ns
    depth.is_snapshot = kind == PARTIAL_DEPTH
    dec.exch_ns = exch_ns
    return kind


cdef int _book_picture(BinanceMdDecoder dec, PyObject* d, int kind) except -2:
    # {"lastUpdateId","bids","asks"} (+ "E","T" on USD-M REST): a full top-N picture.
    cdef DepthMsg depth = dec.depth
    cdef int64_t last_id = 0
    cdef ns_t exch_ns = 0
    cdef ns_t txn_ns = 0
    cdef int st
    cdef str w = "snapshot" if kind == SNAPSHOT else "partialDepth"
    if kind == SNAPSHOT and _dget(d, <PyObject*>K_code) != NULL:
        if _dget(d, <PyObject*>K_msg) != NULL:
            return _fail(dec, f"snapshot: venue error reply: {_venue_text(d)}")
    if _need_int(dec, w, d, K_last_update_id, 0, &last_id):
        return MALFORMED
    if kind == SNAPSHOT and dec.is_usdm and (_need_ms(dec, w, d, K_E, &exch_ns)
                                             or _need_ms(dec, w, d, K_T, &txn_ns)):
        return MALFORMED
    st = _levels(dec, w, d, K_bids, K_asks)
    if st != _GO:
        return st
    depth.first_id = last_id
    depth.last_id = last_id
    depth.prev_id = -1
    depth.exch_ns = exch_ns
    depth.txn_ns = txn_ns
    depth.is_snapshot = True
    dec.exch_ns = exch_ns
    return kind


cdef int _levels(BinanceMdDecoder dec, str what, PyObject* d, str bkey, str akey) except -2:
    # Fill dec.depth's arrays from both sides; _GO, or MALFORMED with the depth cleared.
    cdef DepthMsg depth = dec.depth
    cdef PyObject* bids = _dget(d, <PyObject*>bkey)
    cdef PyObject* asks = _dget(d, <PyObject*>akey)
    cdef Py_ssize_t where = 0
    cdef int st
    if bids == NULL or not _is_list(bids):
        return _fail_field(dec, what, d, bkey, _ST_MISSING if bids == NULL else _ST_TYPE)
    if asks == NULL or not _is_list(asks):
        return _fail_field(dec, what, d, akey, _ST_MISSING if asks == NULL else _ST_TYPE)
    depth.reserve_c(_lsize(bids), _lsize(asks))
    st = _fill_side(bids, dec.price_dp, dec.qty_dp, depth.bid_px, depth.bid_qty, &where)
    if st != FX_OK:
        depth.clear()
        return _fail_level(dec, what, bkey, bids, where, st)
    st = _fill_side(asks, dec.price_dp, dec.qty_dp, depth.ask_px, depth.ask_qty, &where)
    if st != FX_OK:
        depth.clear()
        return _fail_level(dec, what, akey, asks, where, st)
    depth.set_counts_c(_lsize(bids), _lsize(asks))
    return _GO


cdef int _book_ticker(BinanceMdDecoder dec, PyObject* d, bint has_e) except -2:
    # Spot: u,s,b,B,a,A (E optional, undocumented); USD-M: e,E,T as well (E required).
    cdef int64_t bbo_id = 0
    cdef int64_t bid_px = 0
    cdef int64_t bid_qty = 0
    cdef int64_t ask_px = 0
    cdef int64_t ask_qty = 0
    cdef ns_t exch_ns = 0
    cdef int pdp = dec.price_dp
    cdef int qdp = dec.qty_dp
    cdef str w = "bookTicker"
    cdef int st = _symbol(dec, d, w)
    if st != _GO:
        return st
    if (_need_int(dec, w, d, K_u, 0, &bbo_id)
            or _need_dec(dec, w, d, K_b, pdp, &bid_px)
            or _need_dec(dec, w, d, K_B, qdp, &bid_qty)
            or _need_dec(dec, w, d, K_a, pdp, &ask_px)
            or _need_dec(dec, w, d, K_A, qdp, &ask_qty)):
        return MALFORMED
    if (has_e or _dget(d, <PyObject*>K_E) != NULL) and _need_ms(dec, w, d, K_E, &exch_ns):
        return MALFORMED
    dec.bbo_id = bbo_id
    dec.bid_px = bid_px
    dec.bid_qty = bid_qty
    dec.ask_px = ask_px
    dec.ask_qty = ask_qty
    dec.exch_ns = exch_ns
    return BOOK_TICKER


cdef int _trade(BinanceMdDecoder dec, PyObject* d, int kind) except -2:
    cdef str w = "trade" if kind == TRADE else "aggTrade"
    cdef int64_t trade_id = 0
    cdef int64_t first_id = 0
    cdef int64_t last_id = 0
    cdef int64_t px = 0
    cdef int64_t qty = 0
    cdef ns_t trade_ns = 0
    cdef ns_t exch_ns = 0
    cdef bint is_buyer_maker = False
    cdef int st = _symbol(dec, d, w)
    if st != _GO:
        return st
    if kind == TRADE:
        if _need_int(dec, w, d, K_t, 0, &trade_id):
            return MALFORMED
        first_id = trade_id
        last_id = trade_id
    elif (_need_int(dec, w, d, K_a, 0, &trade_id)
            or _need_int(dec, w, d, K_f, 0, &first_id)
            or _need_int(dec, w, d, K_l, 0, &last_id)):
        return MALFORMED
    if (_need_dec(dec, w, d, K_p, dec.price_dp, &px)
            or _need_dec(dec, w, d, K_q, dec.qty_dp, &qty)
            or _need_ms(dec, w, d, K_T, &trade_ns)
            or _need_bool(dec, w, d, K_m, &is_buyer_maker)
            or _need_ms(dec, w, d, K_E, &exch_ns)):
        return MALFORMED
    dec.trade_id = trade_id
    dec.first_trade_id = first_id
    dec.last_trade_id = last_id
    dec.trade_px = px
    dec.trade_qty = qty
    dec.trade_ns = trade_ns
    dec.is_buyer_maker = is_buyer_maker
    dec.exch_ns = exch_ns
    return kind


cdef int _kline(BinanceMdDecoder dec, PyObject* d) except -2:
    cdef PyObject* k = _dget(d, <PyObject*>K_k)
    cdef PyObject* interval = NULL
    cdef PyObject* quote_volume = NULL
    cdef ns_t exch_ns = 0
    cdef ns_t open_ns = 0
    cdef ns_t close_ns = 0
    cdef int64_t o = 0
    cdef int64_t h = 0
    cdef int64_t lo = 0
    cdef int64_t c = 0
    cdef int64_t v = 0
    cdef int64_t taker_v = 0
    cdef int64_t n_trades = 0
    cdef bint is_closed = False
    cdef int pdp = dec.price_dp
    cdef int qdp = dec.qty_dp
    cdef str wk = "kline.k"
    cdef int st = _symbol(dec, d, "kline")
    if st != _GO:
        return st
    if _need_ms(dec, "kline", d, K_E, &exch_ns):
        return MALFORMED
    if k == NULL or not _is_dict(k):
        return _fail_field(dec, "kline", d, K_k, _ST_MISSING if k == NULL else _ST_TYPE)
    if (_need_ms(dec, wk, k, K_t, &open_ns)
            or _need_ms(dec, wk, k, K_T, &close_ns)
            or _need_str(dec, wk, k, K_i, &interval)
            or _need_dec(dec, wk, k, K_o, pdp, &o)
            or _need_dec(dec, wk, k, K_h, pdp, &h)
            or _need_dec(dec, wk, k, K_l, pdp, &lo)
            or _need_dec(dec, wk, k, K_c, pdp, &c)
            or _need_dec(dec, wk, k, K_v, qdp, &v)
            or _need_dec(dec, wk, k, K_V, qdp, &taker_v)
            or _need_str(dec, wk, k, K_q, &quote_volume)
            or _need_int(dec, wk, k, K_n, 0, &n_trades)
            or _need_bool(dec, wk, k, K_x, &is_closed)):
        return MALFORMED
    dec.exch_ns = exch_ns
    dec.kline_open_ns = open_ns
    dec.kline_close_ns = close_ns
    dec.kline_interval = <str>interval
    dec.kline_open = o
    dec.kline_high = h
    dec.kline_low = lo
    dec.kline_close = c
    dec.kline_volume = v
    dec.kline_taker_buy_volume = taker_v
    dec.kline_quote_volume = <str>quote_volume
    dec.kline_n_trades = n_trades
    dec.kline_is_closed = is_closed
    return KLINE


cdef int _mark_price(BinanceMdDecoder dec, PyObject* d) except -2:
    cdef ns_t exch_ns = 0
    cdef ns_t next_funding_ns = 0
    cdef int64_t mark_px = 0
    cdef int64_t index_px = 0
    cdef int64_t funding_rate = 0
    cdef PyObject* r = _dget(d, <PyObject*>K_r)
    cdef str w = "markPriceUpdate"
    cdef int st = _symbol(dec, d, w)
    if st != _GO:
        return st
    if (_need_ms(dec, w, d, K_E, &exch_ns)
            or _need_dec(dec, w, d, K_p, MARK_DP, &mark_px)
            or _need_dec(dec, w, d, K_i, MARK_DP, &index_px)):
        return MALFORMED
    # Delivery contracts have no funding: third-party clients see "r": "" there (and
    # "T": 0), so empty text is a zero rate, not a malformed frame. [unverified upstream]
    st = _parse_obj(r, MARK_DP, True, &funding_rate) if r != NULL else _ST_MISSING
    if st == FX_EMPTY:
        funding_rate = 0
    elif st != FX_OK:
        return _fail_field(dec, w, d, K_r, st)
    if _need_ms(dec, w, d, K_T, &next_funding_ns):
        return MALFORMED
    dec.exch_ns = exch_ns
    dec.mark_px = mark_px
    dec.index_px = index_px
    dec.funding_rate = funding_rate
    dec.next_funding_ns = next_funding_ns
    return MARK_PRICE


cdef int _server_shutdown(BinanceMdDecoder dec, PyObject* d) except -2:
    # The notice matters more than its time: E is read when present, never required.
    cdef ns_t exch_ns = 0
    if _dget(d, <PyObject*>K_E) != NULL and _need_ms(dec, "serverShutdown", d, K_E, &exch_ns):
        return MALFORMED
    dec.exch_ns = exch_ns
    dec.n_control += 1
    return SERVER_SHUTDOWN


cdef int _venue_error(BinanceMdDecoder dec, PyObject* d) except -2:
    dec.n_control += 1
    dec.last_error = f"venue error reply: {_venue_text(d)}"
    return VENUE_ERROR


cdef str _venue_text(PyObject* d):
    cdef object code = <object>_dget(d, <PyObject*>K_code)
    cdef object msg = <object>_dget(d, <PyObject*>K_msg)
    return f"code={_show(code)} msg={_show(msg)}"


# -- failures (cold path) -----------------------------------------------------------


cdef int _fail(BinanceMdDecoder dec, str reason) except -2:
    dec.n_malformed += 1
    dec.last_error = reason
    return MALFORMED


cdef int _fail_json(BinanceMdDecoder dec, str what, object exc) except -2:
    cdef str text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return _fail(dec, f"{what}: not valid JSON: {_show(text)}")


cdef int _fail_field(BinanceMdDecoder dec, str what, PyObject* d, str key, int status) except -2:
    cdef PyObject* v = _dget(d, <PyObject*>key)
    cdef str reason = _REASONS.get(status, f"status {status}")
    if status == FX_TOO_PRECISE or status == FX_OVERFLOW:
        reason = f"{reason} (dp={_dp_for(dec, what, key)})"
    if v == NULL:
        return _fail(dec, f"{what}.{key}: {reason}")
    return _fail(dec, f"{what}.{key}: {reason}: {_show(<object>v)}")


cdef int _fail_level(BinanceMdDecoder dec, str what, str key, PyObject* side,
                     Py_ssize_t where, int status) except -2:
    cdef Py_ssize_t i = where // 2
    cdef object level = <object>_litem(side, i)
    cdef str reason = _REASONS.get(status, f"status {status}")
    cdef int dp = dec.qty_dp if where % 2 else dec.price_dp
    if status == _ST_PAIR:
        return _fail(dec, f"{what}.{key}[{i}]: {reason}: {_show(level)}")
    if status == FX_TOO_PRECISE or status == FX_OVERFLOW:
        reason = f"{reason} (dp={dp})"
    return _fail(dec, f"{what}.{key}[{i}][{where % 2}]: {reason}: {_show(level[where % 2])}")


cdef int _dp_for(BinanceMdDecoder dec, str what, str key):
    # The dp a decimal field was parsed at, for the error text.
    if what == "markPriceUpdate":
        return MARK_DP
    if key in ("B", "A", "q", "v", "V"):
        return dec.qty_dp
    return dec.price_dp
