"""Config loading: strict TOML into frozen, slotted dataclasses (STYLE §8).

Owns reading, type checking and error reporting; each component defines its own config
dataclass beside itself. Must not hold defaults or any global config.
"""

from veloz.config.loader import build
from veloz.config.loader import load
from veloz.config.loader import load_toml

__all__ = ["build", "load", "load_toml"]
