"""Record encoding: the hand-built line equals the canonical JSON and hash of the record."""

import json

import pytest

from veloz.audit.record import canonical
from veloz.audit.record import check_data
from veloz.audit.record import encode_record
from veloz.audit.record import record_hash


@pytest.mark.parametrize(
    ("proc", "data"),
    [
        ("gateway", {}),
        ("feed-1.btc", {"kind": "x", "z": [1, None, True], "a": {"hash": "h", "seq": -5}}),
        ('we"ird\\é', {"note": 'quote " and , "kind": inside', "ü": "ß"}),
    ],
    ids=["empty", "nested-keys", "escapes"],
)
def test_encode_record_equals_canonical_line_and_hash(proc: str, data: dict[str, object]) -> None:
    record = {
        "seq": 7,
        "wall_ns": 1_700_000_000_000_000_001,
        "proc": proc,
        "pid": 4242,
        "kind": "order_sent",
        "data": data,
        "prev": "ab" * 32,
    }
    line, digest = encode_record(
        7,
        1_700_000_000_000_000_001,
        json.dumps(proc).encode(),
        4242,
        "order_sent",
        check_data(data),
        "ab" * 32,
    )
    assert digest == record_hash(record)
    assert line == canonical({**record, "hash": digest}) + b"\n"


def test_check_data_returns_canonical_bytes() -> None:
    assert check_data({"b": 1, "a": "x"}) == b'{"a":"x","b":1}'
