# Which build is loaded: checked (bounds/wraparound/initialized checks, line tracing) or release.
import cython

cdef extern from *:
    """
    #ifndef VELOZ_CHECKED
    #define VELOZ_CHECKED 0
    #endif
    """
    int VELOZ_CHECKED


def build_info():
    """Return ``{"checked": bool, "cython": version}`` for the loaded extension build."""
    return {"checked": bool(VELOZ_CHECKED), "cython": cython.__version__}
