"""Root of the exception tree; plain Python so Cython modules can raise without importing
upward. Callers import these from `veloz.errors`, never from here."""


class VelozError(Exception):
    """Base of every error VeloZ raises on purpose."""


class NumberError(VelozError, ValueError):
    """Decimal text that is not an exact fixed-point number at the wanted scale."""


class WireError(VelozError, ValueError):
    """A frame or message that does not have the shape its protocol defines."""


class SequenceGap(VelozError):
    """Update ids broke their continuity rule: the book must resync."""


class InvariantError(VelozError, AssertionError):
    """A data structure's check_invariants() found it inconsistent (a bug, never input)."""
