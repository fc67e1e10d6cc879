"""The one exception tree. Callers import errors from here only.

Roots come from `veloz._core.errors` (plain Python, so Cython can raise them); this module
adds the errors of the pure-Python layers.
"""

from veloz._core.errors import InvariantError
from veloz._core.errors import NumberError
from veloz._core.errors import SequenceGap
from veloz._core.errors import VelozError
from veloz._core.errors import WireError

__all__ = [
    "ConfigError",
    "InvariantError",
    "NumberError",
    "SequenceGap",
    "VelozError",
    "WireError",
]


class ConfigError(VelozError):
    """A bad flag or config value: names the key path, the value and the rule."""
