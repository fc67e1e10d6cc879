"""TOML text from plain data: the writer for the child configs `veloz up` hands its processes.

Owns turning a mapping of str / int / float / bool / lists / nested tables (and `Path`, written
as its text) into TOML that `tomllib` reads back to the same data. Must not read files, apply
defaults or validate a schema: the strict loader (`veloz.config.loader`) and each process's
config dataclass do. TOML has no null, so a ``None`` value is a `ConfigError` naming its key
path (leave the key out instead).
"""

import math
import re
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from veloz.errors import ConfigError

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def dumps(data: Mapping[str, Any]) -> str:
    """Return TOML text for `data`; ``tomllib.loads(dumps(d)) == d`` for TOML-able data.

    Parameters
    ----------
    data : mapping
        Keys are strings. Values: str, int, float (``inf``/``nan`` allowed), bool, `Path`
        (written as a string), lists/tuples of values, and mappings (tables). A non-empty list
        whose items are all mappings becomes an array of tables (``[[name]]``); mappings
        inside other arrays are written inline.

    Returns
    -------
    str
        The document: plain keys first, then sub-tables, then arrays of tables, each in the
        order given.

    Raises
    ------
    ConfigError
        A value TOML cannot hold (None, bytes, objects) or a non-string key; the message names
        the key path.
    """
    lines: list[str] = []
    _table(data, (), lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(data: Mapping[str, Any], path: tuple[str, ...], lines: list[str]) -> None:
    tables: list[tuple[str, Mapping[str, Any]]] = []
    arrays: list[tuple[str, Sequence[Mapping[str, Any]]]] = []
    for key, value in data.items():
        if not isinstance(key, str):
            raise ConfigError(f"{_dotted(path)}: key {key!r} is not a string")
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif _is_table_array(value):
            arrays.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value, (*path, key))}")
    for key, sub in tables:
        sub_path = (*path, key)
        has_plain = any(not _is_table_like(v) for v in sub.values())
        if has_plain or not sub:
            lines.append("")
            lines.append(f"[{'.'.join(_key(k) for k in sub_path)}]")
        _table(sub, sub_path, lines)
    for key, items in arrays:
        sub_path = (*path, key)
        for item in items:
            lines.append("")
            lines.append(f"[[{'.'.join(_key(k) for k in sub_path)}]]")
            _table(item, sub_path, lines)


def _is_table_array(value: object) -> bool:
    return (
        isinstance(value, (list, tuple))
        and len(value) > 0
        and all(isinstance(v, Mapping) for v in value)
    )


def _is_table_like(value: object) -> bool:
    return isinstance(value, Mapping) or _is_table_array(value)


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path) or "<top>"


def _string(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _value(value: object, path: tuple[str, ...]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)  # shortest text that reads back to the same float; has "." or "e"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Path):
        return _string(str(value))
    if isinstance(value, Mapping):
        bad = [k for k in value if not isinstance(k, str)]
        if bad:
            raise ConfigError(f"{_dotted(path)}: key {bad[0]!r} is not a string")
        items = (f"{_key(k)} = {_value(v, (*path, k))}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v, (*path, str(i))) for i, v in enumerate(value)) + "]"
    raise ConfigError(
        f"{_dotted(path)}: {type(value).__name__} {value!r} cannot be written as TOML"
    )
