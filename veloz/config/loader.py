"""Strict TOML -> frozen dataclass loading: unknown keys and wrong types are errors.

Owns the file reading (`tomllib`), the type checks against a dataclass's annotations
(nested dataclasses, ``X | None``, ``Literal``, ``list``/``tuple``/``dict``) and error
messages naming the key path. Must not supply defaults (they live on the dataclasses) or
validate value ranges (the dataclass's ``__post_init__`` does; its errors get the key path).
"""

import dataclasses
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from typing import TypeVar

from veloz.errors import ConfigError

__all__ = ["build", "load", "load_toml"]

T = TypeVar("T")


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read one TOML file into a dict.

    Raises
    ------
    ConfigError
        The file cannot be read or is not valid TOML; the message names the file.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config: {exc.strerror or exc}") from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: config is not UTF-8 text: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML: {exc}") from None


def load(cls: type[T], path: str | Path, section: str | None = None) -> T:
    """Load `path` and build `cls` from the whole document or from table `section`.

    Raises
    ------
    ConfigError
        As `load_toml` and `build`; messages start with the file name.
    """
    data: Any = load_toml(path)
    prefix = ""
    if section is not None:
        if section not in data:
            raise ConfigError(f"{path}: missing table [{section}]")
        data = data[section]
        prefix = section + "."
    try:
        return build(cls, data, prefix)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def build(cls: type[T], data: Mapping[str, Any], path_prefix: str = "") -> T:
    """Build the frozen dataclass `cls` from `data`, checking every key and type.

    Parameters
    ----------
    cls : type
        A dataclass; fields with ``init=False`` cannot be set.
    data : mapping
        Decoded TOML (a table). Keys missing here take the dataclass defaults.
    path_prefix : str
        Prepended to key names in messages (``"feed."`` gives ``feed.symbol``).

    Returns
    -------
    cls
        The instance. An ``int`` is accepted where a ``float`` is declared (TOML writes
        ``10`` for ten seconds); a ``bool`` is never an ``int``.

    Raises
    ------
    ConfigError
        An unknown key (named with the known ones), a value of the wrong type (key, value
        and expected type named), a missing required key, or a ``ValueError`` /
        ``ConfigError`` from the dataclass's own checks (prefixed with the key path).
    TypeError
        `cls` is not a dataclass or declares a type this loader does not support (a bug in
        the dataclass, not in the config).
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"build() needs a dataclass type, got {cls!r}")
    where = path_prefix.rstrip(".") or cls.__name__
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a table, got {_describe(data)}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [key for key in data if key not in fields]
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise ConfigError(f"{path_prefix}{unknown[0]}: unknown key (known keys: {known})")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        key_path = path_prefix + name
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], key_path)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{key_path}: missing (required)")
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{path_prefix}{exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{path_prefix}{exc}" if path_prefix else f"{where}: {exc}") from None


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{_toml_type(value)} {text}"


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, Mapping):
        return "table"
    return type(value).__name__


def _type_name(tp: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float (or integer)", str: "string"}
    if tp in names:
        return names[tp]
    if tp is type(None):
        return "none (leave the key out)"
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin in (list, tuple):
        return "array"
    if origin is dict or (isinstance(tp, type) and dataclasses.is_dataclass(tp)):
        return "table"
    return getattr(tp, "__name__", repr(tp))


def _wrong(value: object, tp: Any, key_path: str) -> ConfigError:
    return ConfigError(f"{key_path}: expected {_type_name(tp)}, got {_describe(value)}")


def _convert(value: Any, tp: Any, key_path: str) -> Any:
    # Check `value` against annotation `tp`; return it (converted where TOML is looser).
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _wrong(value, tp, key_path)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _wrong(value, tp, key_path)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, float) and math.isnan(value):
                raise ConfigError(f"{key_path}: nan is not a usable number")
            return float(value)
        raise _wrong(value, tp, key_path)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _wrong(value, tp, key_path)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _wrong(value, tp, key_path)
        return build(tp, value, key_path + ".")
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        for arm in args:
            if arm is type(None):
                continue
            try:
                return _convert(value, arm, key_path)
            except ConfigError:
                continue
        raise _wrong(value, tp, key_path)
    if origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise _wrong(value, tp, key_path)
    if origin is list:
        if not isinstance(value, list):
            raise _wrong(value, tp, key_path)
        item = args[0] if args else Any
        return [_convert(v, item, f"{key_path}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _wrong(value, tp, key_path)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{key_path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ConfigError(
                f"{key_path}: expected an array of {len(args)} items, got {_describe(value)}"
            )
        return tuple(
            _convert(v, a, f"{key_path}[{i}]")
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _wrong(value, tp, key_path)
        vt = args[1] if args else Any
        return {str(k): _convert(v, vt, f"{key_path}.{k}") for k, v in value.items()}
    raise TypeError(f"{key_path}: the config loader does not support type {tp!r}")
