"""AuditLog: round trip, fsync per append, reopen, torn tail, writer lock, refused data."""

import json
import logging
import os
from pathlib import Path

import pytest

from tests.unit.audit.conftest import write_log
from veloz.audit import AuditConfig
from veloz.audit import AuditLog
from veloz.audit import Kind
from veloz.audit import audit_path
from veloz.audit import verify
from veloz.audit.record import GENESIS_PREV
from veloz.audit.record import record_hash
from veloz.errors import ConfigError
from veloz.errors import WireError


def _records(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_audit_append_round_trip_writes_header_and_chained_records(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog(path, "gateway", clock_ns=lambda: 123) as audit:
        assert audit.append(Kind.PROC_START, {"version": "0.1"}) == 1
        assert audit.append("order_sent", {"client_order_id": "x1", "px": 10050}) == 2
    recs = _records(path)
    assert [r["seq"] for r in recs] == [0, 1, 2]
    assert recs[0]["kind"] == "genesis" and recs[0]["prev"] == GENESIS_PREV
    assert recs[1]["prev"] == recs[0]["hash"] and recs[2]["prev"] == recs[1]["hash"]
    assert recs[2] == {
        "seq": 2,
        "wall_ns": 123,
        "proc": "gateway",
        "pid": os.getpid(),
        "kind": "order_sent",
        "data": {"client_order_id": "x1", "px": 10050},
        "prev": recs[1]["hash"],
        "hash": record_hash(recs[2]),
    }
    assert verify(path).is_intact


def test_audit_append_fsyncs_once_per_record_before_returning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = AuditLog(tmp_path / "a.jsonl", "gateway")
    synced_sizes: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced_sizes.append(os.fstat(fd).st_size))
    sizes = []
    for i in range(3):
        audit.append(Kind.CANCEL, {"i": i})
        sizes.append((tmp_path / "a.jsonl").stat().st_size)
    assert synced_sizes == sizes  # one fsync per append, covering that append's line
    audit.close()


def test_audit_group_commit_fsyncs_every_n_and_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audit = AuditLog(tmp_path / "a.jsonl", "gateway", fsync_every=3)
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    for i in range(4):
        audit.append(Kind.CANCEL, {"i": i})
    assert len(calls) == 1
    audit.close()
    assert len(calls) == 2


def test_audit_reopen_continues_seq_and_chain(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, 3)
    with AuditLog(path, "gateway") as audit:
        assert audit.seq == 3
        assert audit.append(Kind.PROC_START) == 4
    recs = _records(path)
    assert recs[4]["prev"] == recs[3]["hash"]
    assert verify(path).is_intact


def test_audit_reopen_cuts_torn_tail_counts_and_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, 3)
    intact = path.read_bytes()
    with path.open("ab") as f:
        f.write(b'{"data":{"client_order_id":"c3"')  # crash mid-write
    assert not verify(path).is_intact
    with caplog.at_level(logging.WARNING), AuditLog(path, "gateway") as audit:
        assert audit.n_torn_tail_cut == 1
        assert path.read_bytes() == intact
        assert audit.append(Kind.PROC_START) == 4
    assert "audit_torn_tail_cut" in caplog.text
    assert verify(path).is_intact


def test_audit_reopen_refuses_edited_last_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, 3)
    path.write_bytes(path.read_bytes().replace(b'"px":"102"', b'"px":"103"'))
    with pytest.raises(WireError, match="chain is broken"):
        AuditLog(path, "gateway")


def test_audit_reopen_refuses_file_without_genesis_header(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    write_log(path, 3)
    path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[1:]))
    with pytest.raises(WireError, match="bad header"):
        AuditLog(path, "gateway")


def test_audit_second_writer_on_same_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog(path, "gateway"), pytest.raises(ConfigError, match="held by another writer"):
        AuditLog(path, "gateway")
    AuditLog(path, "gateway").close()  # free again once the first closed


@pytest.mark.parametrize(
    "data",
    [
        {"api_secret": "x"},
        {"req": {"signature": "ab"}},
        {"Password": "x"},
        {"px": 1.5},
        {"blob": b"raw"},
        {"big": "x" * 5000},
    ],
    ids=["secret", "nested-signature", "password", "float", "bytes", "too-big"],
)
def test_audit_append_refuses_bad_data_and_writes_nothing(
    tmp_path: Path, data: dict[str, object]
) -> None:
    path = tmp_path / "a.jsonl"
    with AuditLog(path, "gateway") as audit:
        size = path.stat().st_size
        with pytest.raises(ValueError, match="audit data"):
            audit.append(Kind.KEY_USE, data)
        assert path.stat().st_size == size and audit.seq == 0


def test_audit_append_unknown_kind_raises_value_error(tmp_path: Path) -> None:
    with AuditLog(tmp_path / "a.jsonl", "gateway") as audit:
        with pytest.raises(ValueError, match="genesis"):
            audit.append("genesis")
        with pytest.raises(ValueError, match="order_filled"):
            audit.append("order_filled")


def test_audit_path_defaults_under_run_dir_and_honours_config_dir(tmp_path: Path) -> None:
    assert audit_path(tmp_path, "gateway") == tmp_path / "audit" / "gateway.jsonl"
    cfg = AuditConfig(dir=tmp_path / "elsewhere")
    assert audit_path(tmp_path, "feed-1", cfg) == tmp_path / "elsewhere" / "feed-1.jsonl"
    with pytest.raises(ConfigError, match="proc name"):
        audit_path(tmp_path, "../etc/x")


def test_audit_in_run_dir_creates_private_file(tmp_path: Path) -> None:
    with AuditLog.in_run_dir(tmp_path, "gateway") as audit:
        audit.append(Kind.PROC_START)
    path = tmp_path / "audit" / "gateway.jsonl"
    assert path.stat().st_mode & 0o777 == 0o600
    assert verify(path).n_records == 1


def test_audit_config_rejects_zero_fsync_every() -> None:
    with pytest.raises(ConfigError, match="fsync_every must be >= 1, got 0"):
        AuditConfig(fsync_every=0)


def test_audit_reopen_of_torn_header_starts_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"data":{"file_id":"ab')  # crash while writing the header
    with AuditLog(path, "gateway") as audit:
        assert audit.n_torn_tail_cut == 1 and audit.seq == 0
        audit.append(Kind.PROC_START)
    assert verify(path).is_intact


def test_audit_fsync_ms_syncs_when_due(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audit = AuditLog(tmp_path / "a.jsonl", "gateway", fsync_every=1000, fsync_ms=1)
    calls: list[int] = []
    monkeypatch.setattr(os, "fsync", calls.append)
    audit.append(Kind.CANCEL)
    audit._last_sync_ns -= 2_000_000  # 2 ms ago, without sleeping
    assert audit.sync_if_due() is True and len(calls) == 1
    assert audit.sync_if_due() is False
    audit.close()


def test_audit_append_after_close_raises(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "a.jsonl", "gateway")
    audit.close()
    audit.close()
    with pytest.raises(ValueError, match="closed"):
        audit.append(Kind.PROC_STOP)
