"""`veloz up --duration 8` leaves one intact audit file per process, each started and stopped.

Runs the default config (sim, feed, gateway, market maker) as a subprocess in a short /tmp
run dir, kills the feed with SIGKILL once it publishes, then checks ``<run>/audit/``: ``up``,
``feed.binance-spot.BTCUSDT``, ``gateway`` and ``strategy.main`` files that
`veloz.audit.verify` (and ``veloz audit verify``) accept, with the process's own proc_start
and proc_stop, the supervisor's child records in ``up.jsonl`` (the kill as signal 9 and a
restart), and no trace of the run's generated secret.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from veloz.audit import verify

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent.parent
FEED = "feed.binance-spot.BTCUSDT"
PROCS = ("up", FEED, "gateway", "strategy.main")
CHILDREN = ("sim", FEED, "gateway", "strategy")


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vzau"))  # ipc paths must stay under 107 bytes
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _feed_pid(run_dir: Path, proc: subprocess.Popen[str], timeout_s: float) -> int:
    """Wait (checked every 50 ms) for the feed's endpoint file; return the feed's pid."""
    path = run_dir / "bus" / "md.binance-spot.BTCUSDT.json"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            return int(json.loads(path.read_text())["pid"])
        except (OSError, ValueError, KeyError):
            time.sleep(0.05)
    raise AssertionError(f"no feed endpoint file {path} (up rc={proc.poll()})")


def _up_killing_the_feed(run_dir: Path, *args: str) -> tuple[int, str, str]:
    cmd = [sys.executable, "-m", "procs.cli", "up", "--run-dir", str(run_dir), *args]
    proc = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        os.kill(_feed_pid(run_dir, proc, 30), signal.SIGKILL)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    return proc.returncode, out, err


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def test_veloz_up_leaves_a_verified_audit_file_per_process_with_start_and_stop(
    run_dir: Path,
) -> None:
    rc, out, err = _up_killing_the_feed(run_dir, "--duration", "8")
    assert rc == 0, f"stdout:\n{out}\nstderr:\n{err[-4000:]}"
    audit = run_dir / "audit"
    for proc in PROCS:
        path = audit / f"{proc}.jsonl"
        report = verify(path)
        assert report.is_intact, [str(f) for f in report.findings]
        own = [r for r in _records(path) if "child" not in r["data"]]
        kinds = [r["kind"] for r in own]
        assert kinds[0] == "proc_start" and kinds[-1] == "proc_stop", (proc, kinds)
        start, stop = own[0]["data"], own[-1]["data"]
        assert len(start["config_sha256"]) == 64 and start["config_keys"], proc
        assert stop["rc"] == 0, (proc, stop)
        assert {r["proc"] for r in own} == {proc}
    gateway = _records(audit / "gateway.jsonl")
    key_use = next(r["data"] for r in gateway if r["kind"] == "key_use")
    assert key_use["key"] == "env" and key_use["result"] == "loaded"
    assert gateway[-1]["data"]["reason"] == "SIGTERM"
    assert _records(audit / "strategy.main.jsonl")[-1]["data"]["strategies"] == {"mm": "STOPPED"}

    feed = [r for r in _records(audit / f"{FEED}.jsonl") if r["kind"] == "proc_start"]
    assert [r["data"]["previous_stop"] for r in feed] == ["none", "missing"]  # killed: no stop

    up = _records(audit / "up.jsonl")
    started = [r["data"]["child"] for r in up if r["kind"] == "proc_start" and "child" in r["data"]]
    assert started == [*CHILDREN, FEED]  # the killed feed was started again
    kill = next(r["data"] for r in up if r["kind"] == "proc_stop" and r["data"]["reason"] == "exit")
    assert (kill["child"], kill["rc"], kill["signal"], kill["signal_name"]) == (
        FEED,
        -9,
        9,
        "SIGKILL",
    )
    assert kill["action"] == "restart"
    stopped = [r["data"] for r in up if r["kind"] == "proc_stop" and r["data"]["reason"] == "stop"]
    assert [s["child"] for s in stopped] == list(reversed(CHILDREN))  # the stop sequence
    assert all(s["stop_reason"] == "duration" and s["rc"] == 0 for s in stopped)
    assert up[-1]["kind"] == "proc_stop" and up[-1]["data"]["reason"] == "duration"

    files = sorted(str(p) for p in audit.glob("*.jsonl"))
    cli = subprocess.run(
        [sys.executable, "-m", "procs.cli", "audit", "verify", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    assert cli.stdout.count(": intact:") == len(files) == len(PROCS)
    secret = json.loads((run_dir / "keys" / "sim-accounts.json").read_text())[0]["secret"]
    for path in audit.iterdir():
        assert secret.encode() not in path.read_bytes(), path
