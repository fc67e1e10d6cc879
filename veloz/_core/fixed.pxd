# Fixed-point numbers: exact decimal text <-> int64 raw at a given number of decimal places.
from libc.stdint cimport int64_t

# Status codes of parse_c (0 is success; every failure is negative).
cdef enum:
    FX_OK = 0
    FX_EMPTY = -1        # no characters at all
    FX_JUNK = -2         # a character that is not part of a plain decimal number
    FX_TOO_PRECISE = -3  # a non-zero digit beyond dp decimal places
    FX_OVERFLOW = -4     # magnitude does not fit int64 at dp
    FX_SIGN = -5         # a sign where the caller allows none
    FX_BAD_DP = -6       # dp outside 0..18

cdef int parse_c(const char* s, Py_ssize_t n, int dp, bint is_signed, int64_t* out) noexcept nogil
cdef int parse_obj_c(object text, int dp, bint is_signed, int64_t* out) except -1
cpdef int64_t parse(object text, int dp, bint signed=*) except? -1
cpdef str to_text(int64_t raw, int dp)
cpdef double to_float(int64_t raw, int dp) except? -1.0
cpdef int64_t mul_div(int64_t a, int64_t b, int64_t d) except? -1
cpdef int64_t rescale(int64_t raw, int from_dp, int to_dp) except? -1
cpdef int dp_of(object text) except -1
