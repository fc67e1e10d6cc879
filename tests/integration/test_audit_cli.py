"""`veloz audit verify` as a real process: exit codes 0 intact, 1 tampered, 2 unreadable."""

import subprocess
import sys
from pathlib import Path

import pytest

from veloz.audit import AuditLog
from veloz.audit import Kind

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _veloz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procs.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_audit_cli_verify_exit_codes_follow_file_state(tmp_path: Path) -> None:
    path = tmp_path / "audit" / "gateway.jsonl"
    with AuditLog.in_run_dir(tmp_path, "gateway") as audit:
        audit.append(Kind.PROC_START, {"version": "0.1"})
        audit.append(Kind.ORDER_SENT, {"client_order_id": "a1", "px": 1000})
        audit.append(Kind.PROC_STOP, {"reason": "test"})
    intact = _veloz("audit", "verify", str(path))
    assert intact.returncode == 0, intact.stderr
    assert "intact: 3 records" in intact.stdout

    lines = path.read_bytes().splitlines(keepends=True)
    lines[1], lines[2] = lines[2], lines[1]
    path.write_bytes(b"".join(lines))
    tampered = _veloz("audit", "verify", str(path))
    assert tampered.returncode == 1
    assert "line 2 seq 2: reordered" in tampered.stdout

    missing = _veloz("audit", "verify", str(tmp_path / "none.jsonl"))
    assert missing.returncode == 2
    assert "unreadable" in missing.stderr


def test_audit_cli_show_into_a_reader_that_leaves_exits_141_without_a_traceback(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.jsonl"
    with AuditLog(path, "gateway") as log:
        for i in range(5000):  # more than a pipe buffer holds
            log.append(Kind.CANCEL, {"cid": f"c{i}", "symbol": "BTCUSDT"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "procs.cli", "audit", "show", str(path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline()  # `| head -1`
    proc.stdout.close()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 141, err
    assert b"Traceback" not in err and b"BrokenPipe" not in err
