"""Cython hot paths: fixed point, L2 book, depth sync, Binance market-data decoding.

Imports nothing from the rest of veloz. Imported unbuilt, it says how to build.
"""

from types import ModuleType
from typing import Any


def _load_buildinfo() -> ModuleType:
    try:
        from veloz._core import buildinfo
    except ImportError as exc:  # pragma: no cover - only on an unbuilt checkout
        raise ImportError(
            "veloz._core is not built: run `make build` (or `pip install -e .`) first"
        ) from exc
    return buildinfo


_buildinfo = _load_buildinfo()


def build_info() -> dict[str, Any]:
    """Say which build of the Cython modules is loaded (checked or release)."""
    info: dict[str, Any] = _buildinfo.build_info()
    return info
