"""Build the Cython extensions under veloz/_core.

Directives live here and nowhere else (STYLE §2). VELOZ_CYTHON_CHECKS=1 turns bounds,
wraparound and initialized checks on and adds line tracing; `make test` builds that way,
`make build`, `make demo` and the benchmarks without. VELOZ_MODULES=a,b limits the build to
those modules (a developer's shortcut while another module does not compile yet).
"""

import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension
from setuptools import setup

CORE = Path("veloz") / "_core"


def _is_checked() -> bool:
    return os.environ.get("VELOZ_CYTHON_CHECKS", "0") == "1"


def _extensions() -> list[Extension]:
    checked = _is_checked()
    wanted = {m for m in os.environ.get("VELOZ_MODULES", "").split(",") if m}
    macros = [
        ("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"),
        ("VELOZ_CHECKED", "1" if checked else "0"),
    ]
    if checked:
        macros.append(("CYTHON_TRACE_NOGIL", "1"))
    exts = []
    for pyx in sorted(CORE.glob("*.pyx")):
        if wanted and pyx.stem not in wanted:
            continue
        exts.append(
            Extension(
                f"veloz._core.{pyx.stem}",
                [str(pyx)],
                include_dirs=[numpy.get_include()],
                define_macros=macros,
                extra_compile_args=["-O2"] if checked else ["-O3"],
            )
        )
    directives = {
        "language_level": 3,
        "boundscheck": checked,
        "wraparound": checked,
        "initializedcheck": checked,
        "cdivision": True,
        "embedsignature": True,
        "linetrace": checked,
    }
    return cythonize(
        exts,
        compiler_directives=directives,
        build_dir=str(Path("build") / ("cython-checked" if checked else "cython-release")),
        nthreads=os.cpu_count() or 1,
    )


setup(ext_modules=_extensions())
