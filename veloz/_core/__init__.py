"""Cython hot paths: fixed point, L2 book, depth sync, Binance market-data decoding.

Imports nothing from the rest of veloz. Imported unbuilt, it says how to build.
"""

from typing import Any

try:
    from veloz._core import buildinfo as _buildinfo
except ImportError as exc:  # pragma: no cover - exercised only on an unbuilt checkout
    raise ImportError(
        "veloz._core is not built: run `make build` (or `pip install -e .`) first"
    ) from exc


def build_info() -> dict[str, Any]:
    """Say which build of the Cython modules is loaded (checked or release)."""
    return _buildinfo.build_info()
