# Bus wire format, decoding. Owns total, strict decoding of every message type into its Msg
# object (decode: WireError on any malformed body, never a crash) and BookView, a strategy's
# reusable view of one symbol's latest BOOK (no Python object per level). The layout and
# header check live in wire_layout, encoding in wire; docs/wire.md documents every byte.
# Never sends, never logs, never imports above _core.
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
from libc.string cimport memcpy

from veloz._core.wire_layout cimport as_bytes
from veloz._core.wire_layout cimport H_OK
from veloz._core.wire_layout cimport Head
from veloz._core.wire_layout cimport HEAD
from veloz._core.wire_layout cimport head_of
from veloz._core.wire_layout cimport header_obj
from veloz._core.wire_layout cimport MAX_DP
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
from veloz._core.wire_layout cimport parse_head_c
from veloz._core.wire_layout cimport r16
from veloz._core.wire_layout cimport r32
from veloz._core.wire_layout cimport r64
from veloz._core.wire_layout cimport raise_head
from veloz._core.wire_layout cimport T_BBO
from veloz._core.wire_layout cimport T_BOOK
from veloz._core.wire_layout cimport T_FILL
from veloz._core.wire_layout cimport T_INSTRUMENT
from veloz._core.wire_layout cimport T_KLINE
from veloz._core.wire_layout cimport T_ORDER_CMD
from veloz._core.wire_layout cimport T_ORDER_EVENT
from veloz._core.wire_layout cimport T_RISK_STATE
from veloz._core.wire_layout cimport T_STATUS
from veloz._core.wire_layout cimport T_TRADE

from veloz._core.errors import WireError
from veloz._core.fixed import to_text
from veloz._core.wire_layout import Action
from veloz._core.wire_layout import ASSET_DP as _ASSET_DP
from veloz._core.wire_layout import OrdType
from veloz._core.wire_layout import Side
from veloz._core.wire_layout import Status
from veloz._core.wire_layout import Tif

cdef extern from "Python.h":
    object PyUnicode_DecodeUTF8(const char* s, Py_ssize_t size, const char* errors)


# value -> member (index 0 = "none" where the field allows it); decode indexes these tuples
# instead of calling the enum class, which costs ~10x more.
_ACTIONS = (None, Action.NEW, Action.CANCEL, Action.CANCEL_ALL, Action.SYNC)
_RISK_STATES = ("ACTIVE", "REDUCE_ONLY", "CANCEL_ONLY", "HALTED")
_SIDES = (None, Side.BUY, Side.SELL)
_ORD_TYPES = (None, OrdType.LIMIT, OrdType.MARKET, OrdType.LIMIT_MAKER)
_TIFS = (None, Tif.GTC, Tif.IOC, Tif.FOK, Tif.GTX)
_STATUSES = (None, Status.NEW, Status.PARTIALLY_FILLED, Status.FILLED, Status.CANCELED,
             Status.REJECTED, Status.EXPIRED)


# ---- message objects --------------------------------------------------------------------------

cdef class Msg:
    """Base of the decoded messages: ``.header`` plus the payload fields of its type."""

    def to_dict(self):
        """Return a JSON-able dict: type, header, payload fields (prices as text plus raws)."""
        head = self.header.to_dict()
        d = {"type": head["type"], "header": head}
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
        d.update(_num("fee", self.fee, _ASSET_DP))
        d.update(_num("realized_pnl", self.realized_pnl, _ASSET_DP))
        return d


@cython.final
cdef class RiskStateMsg(Msg):
    """A RISK_STATE message: the gateway's risk state changed (header ingest_ns = when)."""

    def _fields(self):
        return {"old_state": _RISK_STATES[self.old_state],
                "new_state": _RISK_STATES[self.new_state], "scope": self.scope,
                "trigger": self.trigger, "detail": self.detail}


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
        lv = (r64(p + 16 * i), r64(p + 16 * i + 8))
        Py_INCREF(lv)
        PyTuple_SET_ITEM(out, i, lv)
    return out


cdef Msg _decode_book(const Head* h, Cur* c):
    cdef BookMsg m = BookMsg.__new__(BookMsg)
    cdef Py_ssize_t nb
    cdef Py_ssize_t na
    _need(c, P_BOOK, "BOOK")
    nb = r16(c.p + 10)
    na = r16(c.p + 12)
    if P_BOOK + 16 * (nb + na) > c.n:
        raise WireError(f"BOOK counts {nb} bids + {na} asks need {P_BOOK + 16 * (nb + na)} "
                        f"payload bytes, the payload has {c.n}")
    m.update_id = r64(c.p)
    m.price_dp = _dp(c.p[8], "BOOK price_dp")
    m.qty_dp = _dp(c.p[9], "BOOK qty_dp")
    m.bids = _levels(c.p + P_BOOK, nb)
    m.asks = _levels(c.p + P_BOOK + 16 * nb, na)
    return m


cdef Msg _decode_bbo(const Head* h, Cur* c):
    cdef BboMsg m = BboMsg.__new__(BboMsg)
    _need(c, P_BBO, "BBO")
    m.update_id = r64(c.p)
    m.price_dp = _dp(c.p[8], "BBO price_dp")
    m.qty_dp = _dp(c.p[9], "BBO qty_dp")
    m.bid_px = r64(c.p + 16)
    m.bid_qty = r64(c.p + 24)
    m.ask_px = r64(c.p + 32)
    m.ask_qty = r64(c.p + 40)
    return m


cdef Msg _decode_trade(const Head* h, Cur* c):
    cdef TradeMsg m = TradeMsg.__new__(TradeMsg)
    _need(c, P_TRADE, "TRADE")
    m.trade_id = r64(c.p)
    m.price_dp = _dp(c.p[8], "TRADE price_dp")
    m.qty_dp = _dp(c.p[9], "TRADE qty_dp")
    m.is_buyer_maker = _flag(c.p[10], "TRADE is_buyer_maker")
    m.px = r64(c.p + 16)
    m.qty = r64(c.p + 24)
    return m


cdef Msg _decode_kline(const Head* h, Cur* c):
    cdef KlineMsg m = KlineMsg.__new__(KlineMsg)
    _need(c, P_KLINE, "KLINE")
    m.open_ns = r64(c.p)
    m.close_ns = r64(c.p + 8)
    m.interval_s = r32(c.p + 16)
    m.price_dp = _dp(c.p[20], "KLINE price_dp")
    m.qty_dp = _dp(c.p[21], "KLINE qty_dp")
    m.is_closed = _flag(c.p[22], "KLINE is_closed")
    m.open_px = r64(c.p + 24)
    m.high_px = r64(c.p + 32)
    m.low_px = r64(c.p + 40)
    m.close_px = r64(c.p + 48)
    m.volume = r64(c.p + 56)
    m.n_trades = r64(c.p + 64)
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
    m.tick_raw = r64(c.p + 8)
    m.step_raw = r64(c.p + 16)
    m.min_qty_raw = r64(c.p + 24)
    m.max_qty_raw = r64(c.p + 32)
    m.min_notional_raw = r64(c.p + 40)
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
    m.px = r64(c.p + 8)
    m.qty = r64(c.p + 16)
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
    m.px = r64(c.p + 8)
    m.qty = r64(c.p + 16)
    m.filled_qty = r64(c.p + 24)
    m.venue_order_id = r64(c.p + 32)
    m.error_code = <int32_t>r32(c.p + 40)
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
    m.px = r64(c.p + 8)
    m.qty = r64(c.p + 16)
    m.fee = r64(c.p + 24)
    m.realized_pnl = r64(c.p + 32)
    m.venue_order_id = r64(c.p + 40)
    m.trade_id = r64(c.p + 48)
    c.off = P_FILL
    m.strategy = _rstr(c, "FILL strategy")
    m.client_order_id = _rstr(c, "FILL client_order_id")
    m.fee_asset = _rstr(c, "FILL fee_asset")
    return m


cdef Msg _decode_risk_state(const Head* h, Cur* c):
    cdef RiskStateMsg m = RiskStateMsg.__new__(RiskStateMsg)
    _need(c, P_RISK_STATE, "RISK_STATE")
    if c.p[0] > 3:
        raise WireError(f"RISK_STATE old_state value {c.p[0]} is not valid")
    if c.p[1] > 3:
        raise WireError(f"RISK_STATE new_state value {c.p[1]} is not valid")
    m.old_state = c.p[0]
    m.new_state = c.p[1]
    c.off = P_RISK_STATE
    m.scope = _rstr(c, "RISK_STATE scope")
    m.trigger = _rstr(c, "RISK_STATE trigger")
    m.detail = _rstr(c, "RISK_STATE detail")
    return m


cdef Msg _decode_latency(const Head* h, Cur* c):
    cdef LatencyMsg m = LatencyMsg.__new__(LatencyMsg)
    cdef Py_ssize_t nh
    _need(c, P_LATENCY, "LATENCY")
    m.count = r64(c.p)
    m.p50_ns = r64(c.p + 8)
    m.p90_ns = r64(c.p + 16)
    m.p99_ns = r64(c.p + 24)
    m.p999_ns = r64(c.p + 32)
    m.max_ns = r64(c.p + 40)
    c.off = P_LATENCY
    m.name = _rstr(c, "LATENCY name")
    if c.off + 4 > c.n:
        raise WireError(f"LATENCY hdr length at payload offset {c.off} is past the end "
                        f"({c.n} bytes)")
    nh = r32(c.p + c.off)
    if c.off + 4 + nh > c.n:
        raise WireError(f"LATENCY hdr of {nh} bytes at payload offset {c.off} runs past the "
                        f"end ({c.n} bytes)")
    m.hdr = PyBytes_FromStringAndSize(<const char*>(c.p + c.off + 4), nh)
    return m


def decode(body):
    """Decode a whole message into its Msg object (BookMsg, BboMsg, ... RiskStateMsg, LatencyMsg).

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
    body = as_bytes(body)
    c.p = head_of(body, &h, &n) + HEAD
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
    elif t == T_RISK_STATE:
        m = _decode_risk_state(&h, &c)
    else:
        m = _decode_latency(&h, &c)
    m.header = header_obj(&h)
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
            return raise_head(status, p, n)
        if h.msg_type != T_BOOK:
            raise WireError(f"BookView needs a BOOK message, got type {h.msg_type}")
        plen = h.payload_len
        if plen < P_BOOK:
            raise WireError(f"BOOK payload is {plen} bytes, its fixed part needs {P_BOOK}")
        p += HEAD
        nb = r16(p + 10)
        na = r16(p + 12)
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
        self.update_id = r64(p)
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
            body = as_bytes(body)
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
