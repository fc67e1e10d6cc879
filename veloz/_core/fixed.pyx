# Fixed-point numbers: exact decimal text <-> int64 raw (value = raw / 10**dp).
# Parses digit by digit from the wire bytes: never float, never Decimal on this path.
# Overflow and malformed text are NumberError naming the input, never a silent wrap.
from cpython.bytes cimport PyBytes_AS_STRING
from cpython.bytes cimport PyBytes_GET_SIZE
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport INT64_MAX
from libc.stdint cimport int64_t
from libc.stdint cimport uint64_t

from veloz._core.errors import NumberError

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object o, Py_ssize_t* size) except NULL

cdef extern from *:
    """
    typedef __int128 veloz_i128;
    """
    ctypedef long long veloz_i128  # really __int128; Cython only needs the name

cdef uint64_t[19] POW10
POW10[0] = 1
for _i in range(1, 19):
    POW10[_i] = POW10[_i - 1] * 10

_REASONS = {
    FX_EMPTY: "empty text",
    FX_JUNK: "not a plain decimal number",
    FX_TOO_PRECISE: "more significant decimals than dp",
    FX_OVERFLOW: "does not fit int64 at this dp",
    FX_SIGN: "sign not allowed here",
    FX_BAD_DP: "dp must be 0..18",
}


cdef int parse_c(const char* s, Py_ssize_t n, int dp, bint is_signed, int64_t* out) noexcept nogil:
    """Parse ``s[:n]`` as a decimal at ``dp`` places into ``*out``; return an FX_ status.

    Trailing zeros past ``dp`` are accepted ("65000.01000000" at dp 2). O(n), no allocation.
    """
    cdef Py_ssize_t i = 0
    cdef bint neg = False
    cdef uint64_t limit = <uint64_t>INT64_MAX
    cdef uint64_t int_part = 0
    cdef uint64_t frac = 0
    cdef uint64_t int_limit
    cdef uint64_t total
    cdef uint64_t d
    cdef int n_frac = 0
    cdef int n_digits = 0
    cdef char c
    if dp < 0 or dp > 18:
        return FX_BAD_DP
    if n <= 0:
        return FX_EMPTY
    c = s[0]
    if c == c'-' or c == c'+':
        if not is_signed:
            return FX_SIGN
        neg = c == c'-'
        i = 1
        if neg:
            limit += 1  # INT64_MIN's magnitude
    int_limit = limit // POW10[dp]
    while i < n:
        c = s[i]
        if c < c'0' or c > c'9':
            break
        d = <uint64_t>(c - c'0')
        if int_part > (int_limit - d) // 10:  # exact: int_part * 10 + d > int_limit
            return FX_OVERFLOW
        int_part = int_part * 10 + d
        n_digits += 1
        i += 1
    if i < n and s[i] == c'.':
        i += 1
        while i < n:
            c = s[i]
            if c < c'0' or c > c'9':
                return FX_JUNK
            n_digits += 1
            if n_frac < dp:
                frac = frac * 10 + <uint64_t>(c - c'0')
                n_frac += 1
            elif c != c'0':
                return FX_TOO_PRECISE
            i += 1
    if i != n or n_digits == 0:
        return FX_JUNK
    total = int_part * POW10[dp]
    frac *= POW10[dp - n_frac]
    if total > limit - frac:
        return FX_OVERFLOW
    total += frac
    if neg:
        out[0] = <int64_t>(0 - total)  # two's complement; total <= 2**63 here
    else:
        out[0] = <int64_t>total
    return FX_OK


cdef int parse_obj_c(object text, int dp, bint is_signed, int64_t* out) except -1:
    """Parse a str, bytes or bytearray; raise NumberError naming the input on failure."""
    cdef const char* p
    cdef Py_ssize_t n
    cdef int status
    if isinstance(text, str):
        p = PyUnicode_AsUTF8AndSize(text, &n)
    elif isinstance(text, bytes):
        p = PyBytes_AS_STRING(text)
        n = PyBytes_GET_SIZE(text)
    elif isinstance(text, bytearray):
        return parse_obj_c(bytes(text), dp, is_signed, out)
    else:
        raise NumberError(f"expected decimal text, got {type(text).__name__}: {text!r:.64}")
    status = parse_c(p, n, dp, is_signed, out)
    if status != FX_OK:
        raise NumberError(f"{text!r:.64} at dp={dp}: {_REASONS[status]}")
    return 0


cpdef int64_t parse(object text, int dp, bint signed=False) except? -1:
    """Parse decimal text (str or bytes) to an int64 raw at ``dp`` decimal places.

    Parameters
    ----------
    text : str | bytes
        Plain decimal text as the wire carries it ("0.35210000"); no exponent, no spaces.
    dp : int
        Decimal places of the scale, 0..18: the result is ``value * 10**dp``.
    signed : bool
        Whether a leading ``-`` or ``+`` is allowed.

    Raises
    ------
    NumberError
        Empty text, junk, a sign where none is allowed, more significant decimals than
        ``dp``, or a magnitude that does not fit int64. The message names the input.
    """
    cdef int64_t out = 0
    parse_obj_c(text, dp, signed, &out)
    return out


cpdef str to_text(int64_t raw, int dp):
    """Format a raw as decimal text with exactly ``dp`` decimals ("65000.01" at dp 2)."""
    cdef char buf[48]
    cdef int pos = 47
    cdef uint64_t mag
    cdef int k = 0
    cdef bint neg = raw < 0
    if dp < 0 or dp > 18:
        raise NumberError(f"dp must be 0..18, got {dp}")
    mag = (0 - <uint64_t>raw) if neg else <uint64_t>raw
    while k < dp:
        buf[pos] = <char>(c'0' + mag % 10)
        mag //= 10
        pos -= 1
        k += 1
    if dp > 0:
        buf[pos] = c'.'
        pos -= 1
    while True:
        buf[pos] = <char>(c'0' + mag % 10)
        mag //= 10
        pos -= 1
        if mag == 0:
            break
    if neg:
        buf[pos] = c'-'
        pos -= 1
    return PyUnicode_DecodeASCII(&buf[pos + 1], 47 - pos, NULL)


cpdef double to_float(int64_t raw, int dp) except? -1.0:
    """Return the raw as a float, for UI and analytics only; nothing flows back from it."""
    if dp < 0 or dp > 18:
        raise NumberError(f"dp must be 0..18, got {dp}")
    return <double>raw / <double>POW10[dp]


def from_float(double x, int dp):
    """Round a float half-even to ``dp`` places and return the raw; tests and config only."""
    from decimal import ROUND_HALF_EVEN
    from decimal import Decimal
    if dp < 0 or dp > 18:
        raise NumberError(f"dp must be 0..18, got {dp}")
    if x != x or x in (float("inf"), float("-inf")):
        raise NumberError(f"{x!r} is not a finite number")
    raw = int(Decimal(repr(x)).scaleb(dp).to_integral_value(rounding=ROUND_HALF_EVEN))
    if raw > INT64_MAX or raw < -INT64_MAX - 1:
        raise NumberError(f"{x!r} at dp={dp}: does not fit int64 at this dp")
    return raw


cpdef int64_t mul_div(int64_t a, int64_t b, int64_t d) except? -1:
    """Return ``a * b / d`` truncated toward zero, through a 128-bit intermediate.

    Use it for every product of two raws (notional, PnL): ``mul_div(px, qty, 10**k)``
    moves the product to the wanted scale. Raises NumberError on ``d == 0`` or when the
    result does not fit int64.
    """
    cdef veloz_i128 prod
    cdef veloz_i128 q
    if d == 0:
        raise NumberError(f"mul_div({a}, {b}, 0): division by zero")
    prod = <veloz_i128>a * <veloz_i128>b
    q = prod / <veloz_i128>d  # C division truncates toward zero
    if q > <veloz_i128>INT64_MAX or q < -<veloz_i128>INT64_MAX - 1:
        raise NumberError(f"mul_div({a}, {b}, {d}): result does not fit int64")
    return <int64_t>q


cpdef int64_t rescale(int64_t raw, int from_dp, int to_dp) except? -1:
    """Move a raw from ``from_dp`` to ``to_dp`` places exactly; raise NumberError if it
    would lose a non-zero digit or overflow."""
    cdef uint64_t p
    if from_dp < 0 or from_dp > 18 or to_dp < 0 or to_dp > 18:
        raise NumberError(f"dp must be 0..18, got {from_dp} -> {to_dp}")
    if to_dp >= from_dp:
        p = POW10[to_dp - from_dp]
        if raw > <int64_t>(<uint64_t>INT64_MAX // p) or raw < -<int64_t>(<uint64_t>INT64_MAX // p):
            raise NumberError(f"{raw} at dp={from_dp}: does not fit int64 at dp={to_dp}")
        return raw * <int64_t>p
    p = POW10[from_dp - to_dp]
    if raw % <int64_t>p != 0:
        raise NumberError(f"{raw} at dp={from_dp}: more significant decimals than dp={to_dp}")
    return raw // <int64_t>p


cpdef int dp_of(object text) except -1:
    """Return the decimal places a tick or step size needs ("0.01000000" -> 2, "1.0" -> 0).

    Raises NumberError if the text is not a plain non-negative decimal that fits int64.
    """
    cdef int64_t raw = 0
    cdef str s = text.decode("ascii", "replace") if isinstance(text, bytes) else text
    cdef int dp = 0
    if "." in s:
        dp = len(s.split(".", 1)[1].rstrip("0"))
    parse_obj_c(s, min(dp, 18), False, &raw)
    return dp
