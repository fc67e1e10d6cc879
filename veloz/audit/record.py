"""Audit record format: kinds, canonical bytes, hashing and the file header.

Owns the byte layout of one audit line and the rules a record's fields must follow. Must not
do I/O, and must not accept secrets: callers pass no secrets in ``data``, and keys that name
one (secret, signature, password, ...) are refused.
"""

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

__all__ = [
    "FORMAT_VERSION",
    "GENESIS_KIND",
    "GENESIS_PREV",
    "MAX_DATA_BYTES",
    "RECORD_KEYS",
    "Kind",
    "canonical",
    "check_data",
    "encode_record",
    "is_secret_key",
    "record_hash",
]

FORMAT_VERSION = 1
# The header record (line 1, seq 0) has this kind and this `prev`; its own hash, which covers
# a random file id, is the `prev` of record 1, so records cannot be moved between files.
GENESIS_KIND = "genesis"
GENESIS_PREV = "0" * 64
MAX_DATA_BYTES = 4096
RECORD_KEYS = frozenset(("seq", "wall_ns", "proc", "pid", "kind", "data", "prev", "hash"))

_SECRET_KEY_RE = re.compile(r"secret|signature|password|passphrase|private_key", re.IGNORECASE)


class Kind(StrEnum):
    """What a record is about. The header's ``genesis`` is deliberately not a member."""

    ORDER_SENT = "order_sent"
    CANCEL = "cancel"
    RISK_STATE = "risk_state"
    CONFIG_CHANGE = "config_change"
    KEY_USE = "key_use"
    PROC_START = "proc_start"
    PROC_STOP = "proc_stop"
    OPERATOR_COMMAND = "operator_command"


def canonical(obj: Mapping[str, Any]) -> bytes:
    """Return the canonical JSON bytes of `obj`: sorted keys, no spaces, ASCII only.

    Raises
    ------
    ValueError
        When `obj` holds a float NaN/inf (json refuses it).
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def record_hash(record: Mapping[str, Any]) -> str:
    """Return the hex SHA-256 of the canonical bytes of `record` without its ``hash`` key."""
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(canonical(body)).hexdigest()


def check_data(data: Mapping[str, Any]) -> bytes:
    """Check that `data` is a small JSON object with no secret-named keys and no floats.

    Values may be str, int, bool, None, lists and nested objects with str keys. Floats are
    refused: prices and quantities are fixed-point ints (or their text) everywhere in VeloZ.

    Returns
    -------
    bytes
        The canonical JSON bytes of `data`.

    Raises
    ------
    ValueError
        Naming the offending key path and the rule it breaks.
    """
    _check_value(data, "data")
    blob = canonical(data)
    if len(blob) > MAX_DATA_BYTES:
        raise ValueError(f"audit data is {len(blob)} bytes, limit {MAX_DATA_BYTES}")
    return blob


def encode_record(
    seq: int, wall_ns: int, proc_json: bytes, pid: int, kind: str, data_json: bytes, prev: str
) -> tuple[bytes, str]:
    """Return (canonical line with its newline, hash) of one record, built from its parts.

    Equal to ``canonical(record) + b"\\n"`` and ``record_hash(record)`` (a test holds it to
    that) but encodes `data` once: keys in sorted order are data, hash, kind, pid, prev,
    proc, seq, wall_ns. `proc_json` and `data_json` are already canonical JSON; `kind` is a
    `Kind` value (plain ASCII, no quoting needed); `prev` is 64 hex digits.
    """
    rest = b'"kind":"%s","pid":%d,"prev":"%s","proc":%s,"seq":%d,"wall_ns":%d}' % (
        kind.encode("ascii"),
        pid,
        prev.encode("ascii"),
        proc_json,
        seq,
        wall_ns,
    )
    digest = hashlib.sha256(b'{"data":%s,%s' % (data_json, rest)).hexdigest()
    return b'{"data":%s,"hash":"%s",%s\n' % (data_json, digest.encode("ascii"), rest), digest


@functools.lru_cache(maxsize=1024)
def is_secret_key(key: str) -> bool:
    """Return True when `key` names a secret (secret, signature, password, passphrase, ...).

    Such keys are refused in record data, and their values are never written anywhere in an
    audit file (config digests write only a digest for them).
    """
    return _SECRET_KEY_RE.search(key) is not None


def _check_value(value: Any, where: str) -> None:
    # Exact type checks first (isinstance against the Mapping ABC costs ~1 µs); `where` is
    # the key holding `value`, so an error names it without building paths on the way down.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return
    if kind is dict or isinstance(value, Mapping):
        for key, item in value.items():
            if type(key) is not str:
                raise ValueError(f"audit data key {key!r} under {where!r} is not a str")
            if is_secret_key(key):
                raise ValueError(f"audit data key {key!r} names a secret: callers pass none")
            _check_value(item, key)
    elif kind is list or kind is tuple:
        for item in value:
            _check_value(item, where)
    elif isinstance(value, float):
        raise ValueError(f"audit data {where!r} is a float: pass fixed-point ints or text")
    elif not isinstance(value, str | int):
        raise ValueError(f"audit data {where!r} has type {type(value).__name__}, not JSON")
