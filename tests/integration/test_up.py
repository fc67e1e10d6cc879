"""`veloz up` end to end: the default config on the simulator, a kill -9 mid-run, the report.

Runs ``veloz up --duration`` as a subprocess in a short /tmp run dir (ipc paths must stay
under 107 bytes), kills the feed child with SIGKILL once the pipeline trades, and checks
the exit code, the log lines of the restart and the latency report's three figures.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent.parent
FIGURES = ("ingest_to_dispatch", "trigger_to_send", "receipt_to_strategy")
DURATION_S = float(os.environ.get("VELOZ_UP_SECONDS", "20"))


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vzup"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _up(run_dir: Path, *args: str) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "procs.cli", "up", "--run-dir", str(run_dir), *args]
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _wait_for(path: Path, pattern: str, proc: subprocess.Popen[str], timeout_s: float) -> str:
    """Wait until `path` has a line matching `pattern` (checked every 50 ms); return it."""
    deadline = time.monotonic() + timeout_s
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                if rx.search(line):
                    return line
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no line matching {pattern!r} in {path} (up rc={proc.poll()})")


def test_veloz_up_default_config_runs_restarts_a_killed_feed_and_reports_three_figures(
    run_dir: Path,
) -> None:
    proc = _up(run_dir, "--duration", str(DURATION_S))
    try:
        feed_log = run_dir / "log" / "feed.binance-spot.BTCUSDT.log"
        _wait_for(feed_log, r"feed\.live ", proc, 30)
        # every binder is up: gateway (orders, exec), strategy process, feed
        for name in ("orders", "exec", "strategy.main"):
            _wait_for(run_dir / "bus" / f"{name}.json", r'"pid"', proc, 30)
        pid_file = run_dir / "bus" / "md.binance-spot.BTCUSDT.json"
        _wait_for(pid_file, r'"pid"', proc, 30)
        feed_pid = json.loads(pid_file.read_text())["pid"]
        os.kill(feed_pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=DURATION_S + 60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, f"stdout:\n{out}\nstderr:\n{err[-4000:]}"
    assert re.search(r"child\.exit name=feed\.binance-spot\.BTCUSDT pid=\d+ rc=-9", err), err
    assert "child.restart name=feed.binance-spot.BTCUSDT" in err
    assert len(re.findall(r"child\.start name=feed\.binance-spot\.BTCUSDT", err)) == 2
    for figure in FIGURES:
        row = next((ln for ln in out.splitlines() if ln.startswith(figure)), None)
        assert row is not None, out
        count = int(row.split()[1].replace(",", ""))
        assert count > 0, row
    for child in ("sim", "feed.binance-spot.BTCUSDT", "gateway", "strategy"):
        assert (run_dir / "log" / f"{child}.log").stat().st_size > 0, child
        summary = next(ln for ln in out.splitlines() if ln.startswith(child + " "))
        # the last exit code is the final stop's (the feed's first is its kill: -9)
        assert summary.split()[-1].split(",")[-1] == "0", summary
    # the generated trading key never left the keys dir and the gateway's environment: not in
    # the output, nor in any file the run wrote (logs, configs, journal, audit, state, bus)
    secret = json.loads((run_dir / "keys" / "sim-accounts.json").read_text())[0]["secret"]
    assert secret not in out and secret not in err
    written = [p for p in run_dir.rglob("*") if p.is_file() and p.parent.name != "keys"]
    assert any(p.parent.name == "journal" for p in written), written
    assert any(p.parent.name == "audit" for p in written), written
    for path in written:
        if path.suffix != ".sock":
            assert secret.encode() not in path.read_bytes(), path


def test_veloz_up_sigterm_during_startup_stops_cleanly(run_dir: Path, tmp_path: Path) -> None:
    # Only the simulator and one feed (no gateway or strategy needed): SIGTERM once the feed
    # runs -> every child stopped in reverse order, exit 0, a report without samples.
    cfg = tmp_path / "up.toml"
    cfg.write_text(
        '[sim]\nsymbols = ["BTCUSDT"]\n\n[[feed]]\nsymbol = "BTCUSDT"\n'
        "[bus]\n"  # an empty [bus] table is every default
    )
    proc = _up(run_dir, "--config", str(cfg))
    try:
        _wait_for(run_dir / "log" / "feed.binance-spot.BTCUSDT.log", r"feed\.", proc, 30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-4000:]
    assert "up.stop reason=SIGTERM" in err
    stopped = re.findall(r"child\.stopped name=(\S+) pid=\d+ rc=0", err)
    assert stopped == ["feed.binance-spot.BTCUSDT", "sim"], err[-4000:]
    assert "feed.binance-spot.BTCUSDT" in out and "sim" in out
    assert not any((run_dir / "bus").glob("md.*.json"))  # the feed removed its endpoint file
