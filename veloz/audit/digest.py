"""Config digests for the audit log: what a process ran with, per key, and what changed.

Owns flattening an effective config (frozen dataclasses, mappings, lists of those) into
dotted keys, the per-key digest, the rule for which values are plain enough to write, and
the diff of two starts. Must not do I/O, and must never write a value whose key names a
secret (`veloz.audit.record.is_secret_key`) or looks sensitive (tokens, webhooks, URLs with
credentials): those keys get a digest only.
"""

import dataclasses
import enum
import hashlib
import json
import re
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from veloz.audit.record import is_secret_key

__all__ = [
    "DIGEST_HEX",
    "ConfigEntry",
    "config_digest",
    "config_entries",
    "diff_entries",
    "flatten_config",
    "is_plain_key",
]

DIGEST_HEX = 16  # 64 bits of sha256 per key: enough to see a change, short enough to fit
_VALUE_MAX = 64  # longer strings are digested, not written
# Beyond the record's secret regex: keys whose values may carry a credential.
_SENSITIVE_KEY_RE = re.compile(r"token|credential|auth|cookie|webhook|api_key|dsn", re.I)

# One entry: [key, digest] or [key, digest, value] (value only when plain, see is_plain_key).
ConfigEntry = list[Any]


def flatten_config(config: object) -> dict[str, Any]:
    """Return the leaves of `config` by dotted key (``risk.max_notional``, ``feed.0.symbol``).

    Dataclasses and mappings are walked by field / key; a list or tuple is walked by index
    when it holds dataclasses or mappings, and is one leaf otherwise (``symbols``). O(n) in
    the number of leaves.
    """
    out: dict[str, Any] = {}
    _walk(config, "", out)
    return out


def config_digest(config: object) -> str:
    """Return the hex sha256 of the whole flattened `config` (its canonical JSON)."""
    flat = {k: _normal(v) for k, v in flatten_config(config).items()}
    return hashlib.sha256(_canonical(flat)).hexdigest()


def is_plain_key(key: str) -> bool:
    """Return True when the value under dotted `key` may be written (not secret-like)."""
    return not is_secret_key(key) and _SENSITIVE_KEY_RE.search(key) is None


def config_entries(config: object, *, with_values: bool = True) -> list[ConfigEntry]:
    """Return ``[key, digest]`` / ``[key, digest, value]`` for every leaf, sorted by key.

    The value is added (when `with_values`) only for plain keys holding a bool, int, None,
    a float (as its text), a str up to 64 chars without ``://user@`` credentials, or a short
    list of those; every other value is represented by its digest alone.
    """
    entries: list[ConfigEntry] = []
    for key, value in sorted(flatten_config(config).items()):
        entry: ConfigEntry = [key, _digest(value)]
        if with_values and is_plain_key(key):
            plain = _plain_value(value)
            if plain is not _NOT_PLAIN:
                entry.append(plain)
        entries.append(entry)
    return entries


def diff_entries(
    old: Sequence[Sequence[Any]], new: Sequence[Sequence[Any]]
) -> list[dict[str, Any]]:
    """Return the changed keys between two `config_entries` lists, sorted by key.

    Each item is ``{"key", "old", "new"}`` (digests; None for an added or removed key) plus
    ``old_value`` / ``new_value`` when that side's entry carried a plain value.
    """
    before = {str(e[0]): e for e in old if len(e) >= 2}
    after = {str(e[0]): e for e in new if len(e) >= 2}
    changed: list[dict[str, Any]] = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is not None and b is not None and a[1] == b[1]:
            continue
        item: dict[str, Any] = {
            "key": key,
            "old": None if a is None else a[1],
            "new": None if b is None else b[1],
        }
        if is_plain_key(key):  # the old file may predate a stricter rule: check again
            if a is not None and len(a) > 2:
                item["old_value"] = a[2]
            if b is not None and len(b) > 2:
                item["new_value"] = b[2]
        changed.append(item)
    return changed


# ---- internals ----------------------------------------------------------------------------

_NOT_PLAIN = object()


def _walk(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _walk(getattr(value, f.name), f"{prefix}{f.name}.", out)
    elif isinstance(value, Mapping):
        if not value and prefix:
            out[prefix[:-1]] = {}
        for key, item in value.items():
            _walk(item, f"{prefix}{key}.", out)
    elif isinstance(value, list | tuple) and any(
        isinstance(v, Mapping) or dataclasses.is_dataclass(v) for v in value
    ):
        for i, item in enumerate(value):
            _walk(item, f"{prefix}{i}.", out)
    else:
        out[prefix[:-1] if prefix else "value"] = value


def _normal(value: Any) -> Any:
    # A JSON-able form for digests: paths and enums as their text, tuples as lists.
    if isinstance(value, enum.Enum):
        return _normal(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _normal(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _normal(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def _canonical(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=repr
    ).encode("ascii")


def _digest(value: Any) -> str:
    return hashlib.sha256(_canonical(_normal(value))).hexdigest()[:DIGEST_HEX]


def _plain_scalar(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return repr(value)  # the audit format has no floats
    if isinstance(value, enum.Enum):
        return _plain_scalar(value.value)
    if isinstance(value, str | PurePath):
        text = str(value)
        if len(text) > _VALUE_MAX or ("://" in text and "@" in text):
            return _NOT_PLAIN
        return text
    return _NOT_PLAIN


def _plain_value(value: Any) -> Any:
    if isinstance(value, list | tuple):
        items = [_plain_scalar(v) for v in value]
        if len(items) > 8 or any(v is _NOT_PLAIN for v in items):
            return _NOT_PLAIN
        return items
    return _plain_scalar(value)
