"""Shared helpers for the audit tests: a small intact audit file and line surgery."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from veloz.audit import AuditLog
from veloz.audit import Kind
from veloz.audit.record import canonical
from veloz.audit.record import record_hash


def write_log(path: Path, n: int, proc: str = "gateway") -> None:
    """Write a header and `n` records with a fake, increasing clock."""
    ticks = iter(range(10**18, 10**18 + 10 * (n + 2), 10))
    with AuditLog(path, proc, clock_ns=lambda: next(ticks)) as audit:
        for i in range(n):
            audit.append(Kind.ORDER_SENT, {"client_order_id": f"c{i}", "px": str(100 + i)})


def reseal(line: bytes, **changes: object) -> bytes:
    """Return `line` with fields changed and its hash recomputed (a forger's edit)."""
    obj = json.loads(line)
    obj.update(changes)
    obj["hash"] = record_hash(obj)
    return canonical(obj)


@pytest.fixture
def make_log(tmp_path: Path) -> Callable[[int], Path]:
    def make(n: int) -> Path:
        path = tmp_path / "audit" / "gateway.jsonl"
        write_log(path, n)
        return path

    return make
