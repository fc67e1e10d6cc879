# Typedefs every _core signature uses, so each argument says what it is (STYLE §2).
from libc.stdint cimport int32_t
from libc.stdint cimport int64_t

ctypedef int64_t px_t      # price raw: value = raw / 10**price_dp
ctypedef int64_t qty_t     # quantity raw: value = raw / 10**qty_dp
ctypedef int64_t ns_t      # nanoseconds; the unit of every timestamp
ctypedef int64_t seq_t     # venue sequence / update id
ctypedef int32_t inst_t    # instrument id inside one process
