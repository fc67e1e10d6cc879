# Bus wire layout: the parts every message shares. Owns the layout constants and message
# types (wire_layout.pxd), the enums of the order fields, venue ids, and the 48-byte header:
# its strict check (parse_head_c, WireError naming what is wrong) and its Python view
# (Header, header(), msg_type(), ingest_ns()). Encoding lives in wire, payload decoding in
# wire_decode; docs/wire.md documents every byte. Never sends, never logs, never imports
# above _core.
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.bytes cimport PyBytes_CheckExact
from cpython.bytes cimport PyBytes_GET_SIZE
from libc.stdint cimport uint16_t
from libc.stdint cimport uint64_t

from veloz._core.errors import WireError

cdef uint16_t _ONE = 1
if (<unsigned char*>&_ONE)[0] != 1:  # pragma: no cover - the codec copies native integers
    raise ImportError("veloz._core.wire needs a little-endian machine")

HEADER_SIZE = 48
VERSION = 1
MAGIC = b"VZ"
ASSET_DP = 8  # decimal places of FILL fee and realized_pnl raws


# MsgType, Side, OrdType, Tif and Status are cpdef enums (wire_layout.pxd). Action cannot be
# one: its NEW would clash with Status.NEW in this module's C scope, so it is built from the
# same IntEnum base that Cython gives the cpdef enums.
_IntEnum = [c for c in globals()["Status"].__mro__ if c.__name__ == "IntEnum"][0]
Action = _IntEnum(
    "Action",
    [("NEW", 1), ("CANCEL", 2), ("CANCEL_ALL", 3), ("SYNC", 4)],
    module=__name__,
    qualname="Action",
)

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


# ---- the header -------------------------------------------------------------------------------

cdef inline bint _is_type(int t) noexcept nogil:
    return (1 <= t <= 6) or (16 <= t <= 19) or t == 32


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
    h.venue = r16(p + 4)
    h.flags = r16(p + 6)
    h.inst = r32(p + 8)
    h.payload_len = r32(p + 12)
    if <Py_ssize_t>h.payload_len != n - HEAD:
        return H_LENGTH
    h.seq = <uint64_t>r64(p + 16)
    h.exch_ns = r64(p + 24)
    h.ingest_ns = r64(p + 32)
    h.publish_ns = r64(p + 40)
    return H_OK


cdef int raise_head(int status, const unsigned char* p, Py_ssize_t n) except -1:
    if status == H_SHORT:
        raise WireError(f"short message: {n} bytes, the header alone is {HEAD}")
    if status == H_MAGIC:
        raise WireError(f"bad magic {bytes(p[:2])!r}, expected b'VZ'")
    if status == H_VERSION:
        raise WireError(f"unknown wire version {p[2]}, this decoder reads {WIRE_VERSION}")
    if status == H_TYPE:
        raise WireError(f"unknown message type {p[3]}")
    raise WireError(f"payload length {r32(p + 12)} in the header disagrees with the body: "
                    f"{n - HEAD} bytes after the header")


cdef object as_bytes(object body):
    # The bus hands bytes; bytearray, memoryview and zmq frames are copied once.
    if PyBytes_CheckExact(body):
        return body
    if isinstance(body, (str, int)) or body is None:  # bytes(5) would make 5 zero bytes
        raise TypeError(f"a wire message is bytes, got {type(body).__name__}")
    try:
        return bytes(memoryview(body))
    except TypeError:
        raise TypeError(f"a wire message is bytes, got {type(body).__name__}") from None


cdef const unsigned char* head_of(object body, Head* h, Py_ssize_t* n) except NULL:
    # Validate the header of a bytes body; raise WireError naming what is wrong.
    cdef const unsigned char* p = <const unsigned char*>PyBytes_AS_STRING(body)
    cdef int status
    n[0] = PyBytes_GET_SIZE(body)
    status = parse_head_c(p, n[0], h)
    if status != H_OK:
        raise_head(status, p, n[0])
    return p


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


cdef Header header_obj(const Head* h):
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
    body = as_bytes(body)
    head_of(body, &h, &n)
    return header_obj(&h)


def msg_type(body):
    """Return the message type of a valid header without building objects, else -1. O(1)."""
    cdef Head h
    if not PyBytes_CheckExact(body):
        try:
            body = as_bytes(body)
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
    body = as_bytes(body)
    head_of(body, &h, &n)
    return h.ingest_ns
