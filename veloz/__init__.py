"""VeloZ: a low-latency crypto trading engine with Cython hot paths.

``veloz.Strategy`` is loaded on first use (module ``__getattr__``), so ``import veloz``
stays cheap for processes that never host a strategy.
"""

from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = ["Strategy", "__version__"]

if TYPE_CHECKING:
    from veloz.strategy.base import Strategy


def __getattr__(name: str) -> object:
    if name == "Strategy":
        from veloz.strategy.base import Strategy

        return Strategy
    raise AttributeError(f"module 'veloz' has no attribute {name!r}")
