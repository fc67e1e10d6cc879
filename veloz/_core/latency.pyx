# Latency samples on the hot path: a preallocated buffer of raw durations (ns) that a caller
# drains off the hot path into HDR histograms (veloz.metrics). A record is a clock read, a
# compare and a store: no allocation, no Python object, no histogram math. Never logs; a full
# buffer or a negative duration bumps a counter the caller reads.
cimport cython
from cpython.mem cimport PyMem_Free
from cpython.mem cimport PyMem_Malloc
from libc.stdint cimport int64_t
from libc.string cimport memcpy

import numpy as np

from veloz._core.defs cimport ns_t

cdef extern from "<time.h>" nogil:
    ctypedef int clockid_t
    cdef struct timespec:
        long tv_sec
        long tv_nsec
    int clock_gettime(clockid_t clk_id, timespec* tp)
    clockid_t CLOCK_MONOTONIC


cdef ns_t mono_ns_c() noexcept nogil:
    """Return CLOCK_MONOTONIC in ns (the clock of ``time.monotonic_ns``)."""
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return <ns_t>ts.tv_sec * 1_000_000_000 + ts.tv_nsec


def now_ns():
    """Return CLOCK_MONOTONIC in ns, the clock of every latency figure.

    Returns
    -------
    int
        Nanoseconds; the same clock as ``time.monotonic_ns()``.
    """
    return mono_ns_c()


@cython.final
cdef class LatencyRecorder:
    """Preallocated buffer of latency samples (ns) for one figure in one process.

    ``record`` costs a compare and a store; ``drain`` hands the samples to the caller as an
    int64 numpy array and empties the buffer. When the buffer is full a sample is dropped and
    counted (``n_dropped``), never blocks or grows. Not thread-safe: one thread records and
    drains (under the GIL, so a drain from another Python thread is also safe).

    Parameters
    ----------
    capacity : int
        Samples held between two drains (default 65536, 512 KiB); must be >= 1.
    """

    def __cinit__(self, Py_ssize_t capacity=65536):
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        self._buf = <ns_t*>PyMem_Malloc(capacity * sizeof(ns_t))
        if self._buf == NULL:
            raise MemoryError()
        self.capacity = capacity
        self._n = 0
        self.n_recorded = 0
        self.n_dropped = 0
        self.n_negative = 0

    def __init__(self, Py_ssize_t capacity=65536):
        pass

    def __dealloc__(self):
        PyMem_Free(self._buf)

    @property
    def n_pending(self):
        """Samples held now, waiting for a drain."""
        return self._n

    cpdef void record(self, ns_t ns) noexcept nogil:
        """Store one duration in ns; a negative one is counted in n_negative, not stored.

        Parameters
        ----------
        ns : int
            A duration in nanoseconds. O(1).
        """
        if ns < 0:
            self.n_negative += 1
        elif self._n < self.capacity:
            self._buf[self._n] = ns
            self._n += 1
            self.n_recorded += 1
        else:
            self.n_dropped += 1

    cpdef ns_t record_since(self, ns_t start_mono_ns) noexcept nogil:
        """Read CLOCK_MONOTONIC, record ``now - start_mono_ns`` and return now.

        Parameters
        ----------
        start_mono_ns : int
            Where the latency clock started (CLOCK_MONOTONIC ns, e.g. a header's ingest_ns).

        Returns
        -------
        int
            The CLOCK_MONOTONIC ns read, so a caller can chain the next measurement.
        """
        cdef ns_t now = mono_ns_c()
        self.record(now - start_mono_ns)
        return now

    def drain(self):
        """Return the samples since the last drain (int64 copy, record order) and empty.

        Returns
        -------
        numpy.ndarray
            int64 durations in ns; length 0 when nothing was recorded. O(n).
        """
        cdef Py_ssize_t n = self._n
        out = np.empty(n, dtype=np.int64)
        cdef int64_t[::1] view = out
        if n:
            memcpy(&view[0], self._buf, n * sizeof(ns_t))
        self._n = 0
        return out
