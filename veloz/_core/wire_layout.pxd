# Bus wire layout: the byte offsets and sizes every message shares (header, payload fixed
# parts, message types, enums) and the header check. Shared by wire (encoding) and
# wire_decode (decoding); docs/wire.md documents every byte. Never sends, never logs.
cimport cython
from libc.stdint cimport int64_t
from libc.stdint cimport uint8_t
from libc.stdint cimport uint16_t
from libc.stdint cimport uint32_t
from libc.stdint cimport uint64_t
from libc.string cimport memcpy


cdef enum:
    HEAD = 48              # header bytes
    WIRE_VERSION = 1       # the version this codec writes and reads
    MAX_DP = 18            # largest decimal places of a raw
    MAX_STR = 255          # strings carry a u8 length
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
    T_RISK_STATE = 19
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
    P_RISK_STATE = 8
    P_LATENCY = 48
    # parse_head_c status codes
    H_OK = 0
    H_SHORT = -1
    H_MAGIC = -2
    H_VERSION = -3
    H_TYPE = -4
    H_LENGTH = -5


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
    RISK_STATE = 19
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


# Byte reads: native copies, valid because wire_layout refuses big-endian machines at import.
cdef inline uint16_t r16(const unsigned char* p) noexcept nogil:
    cdef uint16_t v
    memcpy(&v, p, 2)
    return v


cdef inline uint32_t r32(const unsigned char* p) noexcept nogil:
    cdef uint32_t v
    memcpy(&v, p, 4)
    return v


cdef inline int64_t r64(const unsigned char* p) noexcept nogil:
    cdef int64_t v
    memcpy(&v, p, 8)
    return v


cdef int parse_head_c(const unsigned char* p, Py_ssize_t n, Head* h) noexcept nogil
cdef int raise_head(int status, const unsigned char* p, Py_ssize_t n) except -1
cdef object as_bytes(object body)
cdef const unsigned char* head_of(object body, Head* h, Py_ssize_t* n) except NULL


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


cdef Header header_obj(const Head* h)
