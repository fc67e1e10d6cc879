"""`Secret`: a string that never shows itself in a repr, str, f-string, log line or pickle.

Owns only the wrapper. Must not log, persist or compare secrets in a way that leaks timing;
the one way out is `Secret.reveal()`, called where the bytes are really needed (signing).
"""

import hmac
from typing import Any
from typing import NoReturn
from typing import final

__all__ = ["REDACTED", "Secret"]

REDACTED = "Secret('***')"


@final
class Secret:
    """Hold secret text (an HMAC secret, a PEM private key) behind a redacted face.

    ``repr``, ``str`` and any ``format`` spec give ``Secret('***')``; pickling and copying
    into JSON raise ``TypeError``; equality is constant-time; instances are unhashable.

    Parameters
    ----------
    value : str
        The secret text; must not be empty.

    Raises
    ------
    ValueError
        Empty `value`.
    TypeError
        `value` is not a ``str``.
    """

    __slots__ = ("_value",)

    _value: str

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds str only")
        if not value:
            raise ValueError("a secret must not be empty")
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the secret text; call only where it is handed to a signer or cipher."""
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("Secret is immutable")

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled")

    def __copy__(self) -> "Secret":
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> "Secret":
        return self
