"""`veloz.up.supervisor.Supervisor` with tiny python child scripts (real processes)."""

import asyncio
import os
import signal
import sys
import textwrap
import time
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path

import pytest

from bench.sim_load import run_async
from veloz.up.supervisor import ChildSpec
from veloz.up.supervisor import RestartPolicy
from veloz.up.supervisor import Supervisor

pytestmark = pytest.mark.integration

FAST = RestartPolicy(min_s=0.01, max_s=0.05, max_restarts=3)

# A child that appends "start <pid>" to its marker file, then waits; on SIGTERM appends
# "stop <name>" to the shared stops file and exits 0. MODE: "steady", "crash" (exit 3 at
# once), "crash_once" (exit 3 on its first run only), "stubborn" (ignores SIGTERM),
# "bad_config" (exit 2 at once), "ready" (writes READY after starting).
CHILD = textwrap.dedent(
    """
    import json, os, signal, sys, time
    name, mode, marker, stops = sys.argv[1:5]
    ready = sys.argv[5] if len(sys.argv) > 5 else ""
    runs = open(marker).read().count("start") if os.path.exists(marker) else 0
    with open(marker, "a") as f:
        f.write(f"start {os.getpid()}\\n")
    def on_term(signum, frame):
        with open(stops, "a") as f:
            f.write(f"stop {name}\\n")
        sys.exit(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else on_term)
    print(f"child {name} run={runs} pid={os.getpid()}", flush=True)  # handler is set now
    if mode == "crash" or (mode == "crash_once" and runs == 0):
        print("crashing", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "bad_config":
        print("bad config", file=sys.stderr, flush=True)
        sys.exit(2)
    if mode == "ready":
        time.sleep(0.2)  # the supervisor must wait for the file, not for the spawn
        with open(ready + ".tmp", "w") as f:
            json.dump({"ok": True}, f)
        os.replace(ready + ".tmp", ready)
    while True:
        signal.pause()
    """
)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "child.py"
    path.write_text(CHILD)
    return path


def spec(tmp_path: Path, script: Path, name: str, mode: str = "steady", **kw: object) -> ChildSpec:
    argv = [sys.executable, str(script), name, mode, str(tmp_path / f"{name}.marker")]
    argv.append(str(tmp_path / "stops"))
    ready = kw.get("ready_file")
    if ready is not None:
        argv.append(str(ready))
    return ChildSpec(name, argv, tmp_path / "log" / f"{name}.log", **kw)  # type: ignore[arg-type]


def pids(tmp_path: Path, name: str) -> list[int]:
    path = tmp_path / f"{name}.marker"
    if not path.exists():
        return []
    return [int(line.split()[1]) for line in path.read_text().splitlines() if line]


async def until(cond: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait for `cond` (checked every 10 ms); fail the test after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def drive(sup: Supervisor, action: Callable[[], Awaitable[None]] | None = None) -> int:
    """Run the supervisor and `action` together; return the supervisor's exit code."""

    async def main() -> int:
        task = asyncio.create_task(sup.run())
        try:
            if action is not None:
                await action()
            return await asyncio.wait_for(task, 30)
        finally:
            if not task.done():
                sup.request_stop("test_cleanup")
                await asyncio.wait_for(task, 30)

    return run_async(main())


def test_supervisor_crashed_child_is_restarted_and_both_runs_logged(
    tmp_path: Path, script: Path
) -> None:
    sup = Supervisor([spec(tmp_path, script, "a", "crash_once")], FAST, stop_timeout_s=5)

    async def action() -> None:
        await until(lambda: "child a run=1" in _log(tmp_path, "a"))
        sup.request_stop("test")

    assert drive(sup, action) == 0
    st = sup.states["a"]
    assert (st.n_starts, st.n_restarts, st.exit_codes) == (2, 1, [3, 0])
    text = (tmp_path / "log" / "a.log").read_text()
    assert "child a run=0" in text and "crashing" in text and "child a run=1" in text


def test_supervisor_kill_9_of_a_child_restarts_it(tmp_path: Path, script: Path) -> None:
    sup = Supervisor([spec(tmp_path, script, "a")], FAST, stop_timeout_s=5)

    async def action() -> None:
        await until(lambda: "child a run=0" in _log(tmp_path, "a"))
        os.kill(pids(tmp_path, "a")[0], signal.SIGKILL)
        await until(lambda: "child a run=1" in _log(tmp_path, "a"))
        sup.request_stop("test")

    assert drive(sup, action) == 0
    assert sup.states["a"].exit_codes == [-signal.SIGKILL, 0]
    assert sup.states["a"].n_restarts == 1


def test_supervisor_too_many_restarts_gives_up_and_exits_1(tmp_path: Path, script: Path) -> None:
    other = spec(tmp_path, script, "b")
    sup = Supervisor([other, spec(tmp_path, script, "a", "crash")], FAST, stop_timeout_s=5)
    assert drive(sup) == 1
    st = sup.states["a"]
    assert st.gave_up and st.n_starts == FAST.max_restarts + 1
    assert st.exit_codes == [3] * (FAST.max_restarts + 1)
    assert sup.stop_reason == "giveup:a"
    assert sup.states["b"].exit_codes == [0]  # the others were stopped cleanly
    assert (tmp_path / "stops").read_text() == "stop b\n"


def test_supervisor_child_exiting_2_at_start_is_given_up_without_restarts(
    tmp_path: Path, script: Path
) -> None:
    sup = Supervisor([spec(tmp_path, script, "a", "bad_config")], FAST, stop_timeout_s=5)
    assert drive(sup) == 1
    st = sup.states["a"]
    assert st.gave_up and (st.n_starts, st.exit_codes) == (1, [2])


def test_supervisor_sigterm_stops_all_in_reverse_order_and_exits_0(
    tmp_path: Path, script: Path
) -> None:
    names = ["a", "b", "c"]
    sup = Supervisor([spec(tmp_path, script, n) for n in names], FAST, stop_timeout_s=5)

    async def action() -> None:
        await until(lambda: all(f"child {n}" in _log(tmp_path, n) for n in names))
        os.kill(os.getpid(), signal.SIGTERM)

    assert drive(sup, action) == 0
    assert sup.stop_reason == "SIGTERM"
    assert (tmp_path / "stops").read_text().split("\n")[:3] == ["stop c", "stop b", "stop a"]
    assert all(sup.states[n].exit_codes == [0] for n in names)
    for n in names:
        with pytest.raises(ProcessLookupError):
            os.kill(pids(tmp_path, n)[0], 0)


def test_supervisor_duration_ends_the_run(tmp_path: Path, script: Path) -> None:
    sup = Supervisor([spec(tmp_path, script, "a")], FAST, stop_timeout_s=5, duration_s=0.5)
    t0 = time.monotonic()
    assert drive(sup) == 0
    assert 0.5 <= time.monotonic() - t0 < 10
    assert sup.stop_reason == "duration"
    assert sup.states["a"].exit_codes == [0]


def test_supervisor_child_ignoring_sigterm_is_killed_after_the_timeout(
    tmp_path: Path, script: Path
) -> None:
    sup = Supervisor([spec(tmp_path, script, "a", "stubborn")], FAST, stop_timeout_s=0.3)

    async def action() -> None:
        await until(lambda: "child a" in _log(tmp_path, "a"))
        sup.request_stop("test")

    assert drive(sup, action) == 1
    st = sup.states["a"]
    assert st.n_killed == 1 and st.exit_codes == [-signal.SIGKILL]
    assert "killed" in sup.summary()


def test_supervisor_next_child_starts_only_after_the_ready_file(
    tmp_path: Path, script: Path
) -> None:
    ready = tmp_path / "a.ready"
    ready.write_text('{"stale": true}')  # a previous run's: removed before the start
    first = spec(tmp_path, script, "a", "ready", ready_file=ready, ready_timeout_s=10)
    sup = Supervisor([first, spec(tmp_path, script, "b")], FAST, stop_timeout_s=5)

    async def action() -> None:
        await until(lambda: "child b" in _log(tmp_path, "b"))
        sup.request_stop("test")

    assert drive(sup, action) == 0
    a_start = (tmp_path / "a.marker").stat().st_mtime
    assert ready.stat().st_mtime >= a_start
    assert (tmp_path / "b.marker").stat().st_mtime >= ready.stat().st_mtime


def test_supervisor_ready_timeout_kills_the_child_and_exits_1(tmp_path: Path, script: Path) -> None:
    never = spec(tmp_path, script, "a", ready_file=tmp_path / "never", ready_timeout_s=0.5)
    sup = Supervisor([never, spec(tmp_path, script, "b")], FAST, stop_timeout_s=5)
    assert drive(sup) == 1
    assert sup.states["a"].gave_up and sup.states["a"].exit_codes == [-signal.SIGKILL]
    assert sup.states["b"].n_starts == 0


def test_supervisor_pins_the_child_and_ignores_a_missing_core(
    tmp_path: Path, script: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cpu = min(os.sched_getaffinity(0))
    pinned = spec(tmp_path, script, "a", cpu=cpu)
    missing = spec(tmp_path, script, "b", cpu=4096)
    sup = Supervisor([pinned, missing], FAST, stop_timeout_s=5)
    affinity: dict[str, set[int]] = {}

    async def action() -> None:
        await until(lambda: "child a" in _log(tmp_path, "a") and "child b" in _log(tmp_path, "b"))
        affinity["a"] = os.sched_getaffinity(pids(tmp_path, "a")[0])
        affinity["b"] = os.sched_getaffinity(pids(tmp_path, "b")[0])
        sup.request_stop("test")

    with caplog.at_level("INFO", logger="veloz.up.supervisor"):
        assert drive(sup, action) == 0
    assert affinity["a"] == {cpu}
    assert affinity["b"] == os.sched_getaffinity(0)
    assert "child.cpu_missing name=b cpu=4096" in caplog.text


def test_supervisor_summary_names_every_child_with_its_exit_codes(
    tmp_path: Path, script: Path
) -> None:
    sup = Supervisor([spec(tmp_path, script, "alpha")], FAST, stop_timeout_s=5, duration_s=0.2)
    assert drive(sup) == 0
    lines = sup.summary().splitlines()
    assert lines[0].split() == ["child", "starts", "restarts", "killed", "exit", "codes"]
    assert lines[1].split() == ["alpha", "1", "0", "0", "0"]


def _log(tmp_path: Path, name: str) -> str:
    path = tmp_path / "log" / f"{name}.log"
    return path.read_text() if path.exists() else ""
