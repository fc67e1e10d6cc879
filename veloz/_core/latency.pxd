# Latency samples on the hot path: a preallocated buffer of raw durations (ns) that a caller
# drains off the hot path into HDR histograms (veloz.metrics). Never allocates per sample.
cimport cython
from libc.stdint cimport int64_t

from veloz._core.defs cimport ns_t


cdef ns_t mono_ns_c() noexcept nogil


@cython.final
cdef class LatencyRecorder:
    cdef:
        ns_t* _buf                   # samples (ns) since the last drain, _n of them
        Py_ssize_t _n                # samples held now
        readonly Py_ssize_t capacity  # samples the buffer holds before it drops
        readonly int64_t n_recorded   # samples stored, lifetime
        readonly int64_t n_dropped    # samples lost because the buffer was full, lifetime
        readonly int64_t n_negative   # negative durations refused (clock misuse), lifetime

    cpdef void record(self, ns_t ns) noexcept nogil
    cpdef ns_t record_since(self, ns_t start_mono_ns) noexcept nogil
