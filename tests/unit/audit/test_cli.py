"""`veloz audit verify|show` exit codes and output, called in-process."""

from collections.abc import Callable
from pathlib import Path

import pytest

from procs import audit as audit_cli
from procs import cli
from veloz.audit import AuditLog
from veloz.audit import Kind


def test_audit_verify_intact_file_exits_0(
    make_log: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_log(3)
    assert cli.main(["audit", "verify", str(path)]) == 0
    assert f"{path}: intact: 3 records, last seq 3" in capsys.readouterr().out


def test_audit_verify_tampered_file_exits_1_and_prints_each_finding(
    make_log: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_log(5)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b'"px":"101"', b'"px":"199"')
    del lines[4]
    path.write_bytes(b"".join(lines))
    assert audit_cli.main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}: TAMPERED: 2 finding(s)" in out
    assert "line 3 seq 2: edited" in out and "line 5 seq 5: deleted" in out


def test_audit_verify_unreadable_file_exits_2_even_with_intact_ones(
    make_log: Callable[[int], Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_log(1)
    assert audit_cli.main(["verify", str(path), str(tmp_path / "missing.jsonl")]) == 2
    captured = capsys.readouterr()
    assert "intact" in captured.out and "missing.jsonl: unreadable" in captured.err


def test_audit_bad_usage_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert audit_cli.main(["verify"]) == 2
    assert audit_cli.main(["frob"]) == 2
    assert "usage: veloz audit" in capsys.readouterr().err


def test_audit_show_filters_by_kind_and_prints_json_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "g.jsonl"
    with AuditLog(path, "gateway", clock_ns=lambda: 1_700_000_000_123_456_789) as audit:
        audit.append(Kind.PROC_START, {"version": "0.1"})
        audit.append(Kind.CANCEL, {"client_order_id": "c1"})
    assert audit_cli.main(["show", str(path), "--kind", "cancel"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith("2 2023-11-14T22:13:20.123456Z gateway[")
    assert out[0].endswith('cancel client_order_id="c1"')
    assert audit_cli.main(["show", str(path), "--json"]) == 0
    assert capsys.readouterr().out.encode() == path.read_bytes()


def test_audit_show_tampered_file_warns_on_stderr(
    make_log: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path = make_log(3)
    path.write_bytes(path.read_bytes().replace(b'"px":"100"', b'"px":"1"'))
    assert audit_cli.main(["show", str(path)]) == 0
    assert "fails verification" in capsys.readouterr().err
