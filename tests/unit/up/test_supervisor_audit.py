"""Supervisor audit records (``up.jsonl``) with fake children: no real processes, no sleeps.

`asyncio.create_subprocess_exec` is replaced by a factory of `FakeProc` s the test drives:
``exit(rc)`` is a crash (negative rc = killed by that signal), SIGTERM makes a well-behaved
child exit 0, ``kill()`` gives -9.
"""

import asyncio
import json
import os
import signal
from collections import defaultdict
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.sim_load import run_async
from veloz.audit import AuditLog
from veloz.audit import verify
from veloz.up.supervisor import ChildSpec
from veloz.up.supervisor import RestartPolicy
from veloz.up.supervisor import Supervisor

FAST = RestartPolicy(min_s=0.001, max_s=0.002, max_restarts=2)


class FakeProc:
    """Stands in for `asyncio.subprocess.Process`: the test decides when it exits."""

    def __init__(self, pid: int, *, is_stubborn: bool = False) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.is_stubborn = is_stubborn
        self.signals: list[int] = []
        self._done = asyncio.Event()

    async def wait(self) -> int:
        await self._done.wait()
        assert self.returncode is not None
        return self.returncode

    def exit(self, rc: int) -> None:
        if self.returncode is None:
            self.returncode = rc
            self._done.set()

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        if sig == signal.SIGTERM and not self.is_stubborn:
            self.exit(0)

    def kill(self) -> None:
        self.exit(-signal.SIGKILL)


class Children:
    """The fake process factory: one queue of spawned `FakeProc` s per child name."""

    def __init__(self, stubborn: frozenset[str] = frozenset()) -> None:
        self.queues: defaultdict[str, asyncio.Queue[FakeProc]] = defaultdict(asyncio.Queue)
        self.stubborn = stubborn
        self.next_pid = 1000

    async def exec(self, *argv: str, **kwargs: Any) -> FakeProc:
        self.next_pid += 1
        name = argv[1]
        proc = FakeProc(self.next_pid, is_stubborn=name in self.stubborn)
        self.queues[name].put_nowait(proc)
        return proc

    async def spawned(self, name: str) -> FakeProc:
        return await asyncio.wait_for(self.queues[name].get(), 10)


@pytest.fixture
def children(monkeypatch: pytest.MonkeyPatch) -> Children:
    kids = Children()
    monkeypatch.setattr(asyncio, "create_subprocess_exec", kids.exec)
    return kids


def _spec(tmp_path: Path, name: str) -> ChildSpec:
    return ChildSpec(name, ["fake", name, "--config", f"{name}.toml"], tmp_path / f"{name}.log")


def _drive(sup: Supervisor, action: Callable[[], Awaitable[None]] | None = None) -> int:
    async def main() -> int:
        task = asyncio.create_task(sup.run())
        try:
            if action is not None:
                await action()
            return await asyncio.wait_for(task, 10)
        finally:
            if not task.done():
                sup.request_stop("test_cleanup")
                await asyncio.wait_for(task, 10)

    return run_async(main())


def _records(path: Path) -> list[dict[str, Any]]:
    assert verify(path).is_intact
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def _child(recs: list[dict[str, Any]], name: str) -> list[tuple[str, dict[str, Any]]]:
    return [(r["kind"], r["data"]) for r in recs if r["data"].get("child") == name]


def test_supervisor_audit_kill_9_records_signal_9_restart_and_stop(
    tmp_path: Path, children: Children
) -> None:
    path = tmp_path / "audit" / "up.jsonl"
    with AuditLog(path, "up") as audit:
        sup = Supervisor([_spec(tmp_path, "a")], FAST, stop_timeout_s=5, audit=audit)

        async def action() -> None:
            first = await children.spawned("a")
            first.exit(-signal.SIGKILL)
            await children.spawned("a")
            sup.request_stop("test")

        assert _drive(sup, action) == 0
    events = _child(_records(path), "a")
    assert [k for k, _ in events] == ["proc_start", "proc_stop", "proc_start", "proc_stop"]
    start1, crash, start2, stop = (d for _, d in events)
    assert start1["start"] == 1 and start1["restart"] == 0
    assert start1["argv"] == ["fake", "a", "--config", "a.toml"]
    assert crash["rc"] == -9 and crash["signal"] == 9 and crash["signal_name"] == "SIGKILL"
    assert crash["reason"] == "exit" and crash["action"] == "restart"
    assert crash["restart_in_ms"] >= 0 and crash["pid"] == start1["pid"]
    assert start2["start"] == 2 and start2["restart"] == 1 and start2["pid"] != start1["pid"]
    assert stop["reason"] == "stop" and stop["rc"] == 0 and stop["sent"] == "SIGTERM"
    assert stop["stop_reason"] == "test" and stop["killed"] is False and "signal" not in stop


def test_supervisor_audit_too_many_restarts_records_give_up_and_stops_the_others(
    tmp_path: Path, children: Children
) -> None:
    path = tmp_path / "audit" / "up.jsonl"
    with AuditLog(path, "up") as audit:
        specs = [_spec(tmp_path, "b"), _spec(tmp_path, "a")]
        sup = Supervisor(specs, FAST, stop_timeout_s=5, audit=audit)

        async def action() -> None:
            await children.spawned("b")
            for _ in range(FAST.max_restarts + 1):
                (await children.spawned("a")).exit(3)

        assert _drive(sup, action) == 1
    recs = _records(path)
    stops = [d for k, d in _child(recs, "a") if k == "proc_stop"]
    assert [s["action"] for s in stops] == ["restart", "restart", "give_up"]
    assert stops[-1]["give_up"] == "too_many_restarts" and stops[-1]["rc"] == 3
    (b_stop,) = [d for k, d in _child(recs, "b") if k == "proc_stop"]
    assert b_stop["reason"] == "stop" and b_stop["stop_reason"] == "giveup:a"


def test_supervisor_audit_exit_2_at_start_is_a_config_error_give_up(
    tmp_path: Path, children: Children
) -> None:
    path = tmp_path / "audit" / "up.jsonl"
    with AuditLog(path, "up") as audit:
        sup = Supervisor([_spec(tmp_path, "a")], FAST, stop_timeout_s=5, audit=audit)

        async def action() -> None:
            (await children.spawned("a")).exit(2)

        assert _drive(sup, action) == 1
    (_, stop) = _child(_records(path), "a")[-1]
    assert (stop["rc"], stop["action"], stop["give_up"]) == (2, "give_up", "config_error")


def test_supervisor_audit_stubborn_child_is_recorded_killed_with_signal_9(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kids = Children(stubborn=frozenset({"a"}))
    monkeypatch.setattr(asyncio, "create_subprocess_exec", kids.exec)
    path = tmp_path / "audit" / "up.jsonl"
    with AuditLog(path, "up") as audit:
        sup = Supervisor([_spec(tmp_path, "a")], FAST, stop_timeout_s=0.05, audit=audit)

        async def action() -> None:
            await kids.spawned("a")
            sup.request_stop("test")

        assert _drive(sup, action) == 1
    (_, stop) = _child(_records(path), "a")[-1]
    assert stop["killed"] is True and stop["rc"] == -9 and stop["signal"] == 9


def test_supervisor_audit_sigterm_is_an_operator_command(
    tmp_path: Path, children: Children
) -> None:
    path = tmp_path / "audit" / "up.jsonl"
    with AuditLog(path, "up") as audit:
        sup = Supervisor([_spec(tmp_path, "a")], FAST, stop_timeout_s=5, audit=audit)

        async def action() -> None:
            await children.spawned("a")  # the handlers are installed before the first spawn
            os.kill(os.getpid(), signal.SIGTERM)

        assert _drive(sup, action) == 0
    recs = _records(path)
    commands = [r["data"] for r in recs if r["kind"] == "operator_command"]
    assert commands == [{"command": "stop", "signal": "SIGTERM"}]
    assert _child(recs, "a")[-1][1]["stop_reason"] == "SIGTERM"


class _BrokenAudit:
    def __init__(self) -> None:
        self.n_calls = 0

    def append(self, kind: object, data: object = None) -> int:
        self.n_calls += 1
        raise OSError(28, "No space left on device")


def test_supervisor_audit_write_failure_is_counted_and_the_run_goes_on(
    tmp_path: Path, children: Children
) -> None:
    broken = _BrokenAudit()
    sup = Supervisor(
        [_spec(tmp_path, "a")],
        FAST,
        stop_timeout_s=5,
        audit=broken,  # type: ignore[arg-type]
    )

    async def action() -> None:
        (await children.spawned("a")).exit(1)
        await children.spawned("a")
        sup.request_stop("test")

    assert _drive(sup, action) == 0
    assert sup.n_audit_errors == broken.n_calls == 4  # start, exit, start, stop
    assert sup.states["a"].exit_codes == [1, 0]
