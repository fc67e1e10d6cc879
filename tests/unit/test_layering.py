"""Import rules for Cython files, which import-linter does not read (STYLE §1).

`veloz/_core` may import libc, libcpp, cpython, numpy, orjson, picows `.pxd` and other
`_core` modules; never the rest of veloz, logging or asyncio.
"""

import re
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "veloz" / "_core"
IMPORT_RE = re.compile(r"^\s*(?:from\s+([\w.]+)\s+c?import|c?import\s+([\w.]+))", re.M)
ALLOWED_ROOTS = {"libc", "libcpp", "cpython", "cython", "numpy", "orjson", "picows", "decimal"}
FORBIDDEN = {"logging", "asyncio"}


def _modules(path: Path) -> list[str]:
    return [a or b for a, b in IMPORT_RE.findall(path.read_text())]


@pytest.mark.parametrize(
    "path", sorted([*CORE.glob("*.pyx"), *CORE.glob("*.pxd")]), ids=lambda p: p.name
)
def test_core_cython_file_imports_only_allowed_modules(path: Path) -> None:
    for module in _modules(path):
        root = module.split(".")[0]
        assert root not in FORBIDDEN, f"{path.name} imports {module}: _core never logs or awaits"
        if root == "veloz":
            assert module.startswith("veloz._core"), f"{path.name} imports {module} (upward)"
        else:
            assert root in ALLOWED_ROOTS, f"{path.name} imports {module}: not allowed in _core"


def test_layering_regex_sees_cimports() -> None:
    text = "from veloz.model cimport x\ncimport numpy\nfrom libc.stdint cimport int64_t\n"
    assert [a or b for a, b in IMPORT_RE.findall(text)] == ["veloz.model", "numpy", "libc.stdint"]
