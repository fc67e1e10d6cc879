"""Start, watch, restart and stop child processes in order: the engine of ``veloz up``.

Owns the children's lifecycle: start in the given order (waiting for a child's ready file
when it has one), CPU pinning of each child pid, stdout+stderr to a log file per child,
restart with exponential backoff after an unexpected exit, giving up (and stopping the run,
exit 1) after too many restarts in a minute, and the stop sequence (reverse order, SIGTERM,
then SIGKILL after a timeout), and the audit records of all of it (``<run>/audit/up.jsonl``:
proc_start / proc_stop with a ``child`` field, operator_command for signals). Must not know
what the children are: `veloz.up.plan` turns the up.toml into `ChildSpec` s, and never holds
secrets beyond the environment it is handed (the environment is never audited).
"""

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import orjson

from veloz.audit import AuditLog
from veloz.audit import Kind
from veloz.audit.proc import redact_argv
from veloz.errors import VelozError

__all__ = ["ChildSpec", "ChildState", "RestartPolicy", "Supervisor"]

log = logging.getLogger(__name__)

_READY_POLL_S = 0.02
_CONFIG_ERROR_RC = 2  # every veloz process: bad flags or config
_CONFIG_ERROR_WINDOW_S = 5.0


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """When a dead child is started again.

    The n-th restart within `window_s` waits ``min(max_s, min_s * 2**(n-1))``; restart
    number ``max_restarts + 1`` within `window_s` gives up instead and stops the run. A child
    that exits with code 2 (bad config) within 5 s of starting is given up at once.
    """

    min_s: float = 0.5
    max_s: float = 10.0
    max_restarts: int = 5
    window_s: float = 60.0


@dataclass(frozen=True, slots=True)
class ChildSpec:
    """One supervised process.

    Parameters
    ----------
    name : str
        Its name in logs and the summary (``sim``, ``feed.binance-spot.BTCUSDT`` ...).
    argv : sequence of str, or callable returning one
        The command; a callable is asked again before every start.
    log_path : Path
        stdout and stderr go here: truncated at the run's first start, appended after.
    cpu : int or None
        Core to pin the child to (``os.sched_setaffinity`` on its pid); a core this host
        does not offer is ignored with a warning.
    env : mapping or None
        The child's whole environment; None inherits the supervisor's.
    ready_file : Path or None
        The child is ready once this file holds valid JSON (removed before each start, after
        `prepare` and `argv` ran, so they may read the previous start's);
        the next child starts only then. None: ready once spawned.
    ready_timeout_s : float
        How long to wait for `ready_file`; past it the child is killed and the run stops.
    prepare : callable or None
        Called before every start (e.g. to write the child's config file).
    """

    name: str
    argv: Sequence[str] | Callable[[], Sequence[str]]
    log_path: Path
    cpu: int | None = None
    env: Mapping[str, str] | None = None
    ready_file: Path | None = None
    ready_timeout_s: float = 30.0
    prepare: Callable[[], None] | None = None


@dataclass(slots=True)
class ChildState:
    """What happened to one child: read it after `Supervisor.run` for the summary."""

    name: str
    pid: int = 0
    n_starts: int = 0
    n_restarts: int = 0
    n_killed: int = 0  # SIGKILLed at stop after the timeout
    exit_codes: list[int] = field(default_factory=list)
    gave_up: bool = False

    @property
    def last_rc(self) -> int | None:
        """The exit code of its last run (negative = killed by that signal), or None."""
        return self.exit_codes[-1] if self.exit_codes else None


class Supervisor:
    """Run `specs` until `request_stop`, SIGINT/SIGTERM, `duration_s` or a give-up.

    Parameters
    ----------
    specs : sequence of ChildSpec
        In start order; stopped in reverse. Names must be unique.
    policy : RestartPolicy
        Restart backoff and the give-up rule.
    stop_timeout_s : float
        SIGTERM -> this long -> SIGKILL, per child.
    duration_s : float
        Stop the run after this many seconds (counted from the call to `run`); 0 = never.
    audit : AuditLog or None
        Gets one record per child event: ``proc_start`` (child, pid, start, restart, cpu,
        argv) at each spawn; ``proc_stop`` (child, pid, rc, ``signal`` when killed by one,
        ran_ms, reason ``exit`` / ``ready_timeout`` / ``spawn_failed`` / ``stop``, and for an
        unexpected exit the ``action`` taken: ``restart`` with ``restart_in_ms``, or
        ``give_up`` with ``give_up``); ``operator_command`` for SIGINT/SIGTERM. A failing
        write is counted in ``n_audit_errors`` and logged, never raised.
    """

    def __init__(
        self,
        specs: Sequence[ChildSpec],
        policy: RestartPolicy,
        *,
        stop_timeout_s: float = 10.0,
        duration_s: float = 0.0,
        audit: AuditLog | None = None,
    ) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"child names must be unique: {names}")
        self.specs = list(specs)
        self.policy = policy
        self.stop_timeout_s = stop_timeout_s
        self.duration_s = duration_s
        self.states = {s.name: ChildState(s.name) for s in specs}
        self.stop_reason = ""
        self.n_signals = 0
        self.n_audit_errors = 0
        self._audit = audit
        self._started: dict[str, float] = {}  # child -> monotonic s of its last spawn
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self._stop = asyncio.Event()  # binds to the running loop on first use (3.10+)
        self._failed = False

    def request_stop(self, reason: str) -> None:
        """Begin the stop sequence (idempotent; the first reason is kept)."""
        if not self.stop_reason:
            self.stop_reason = reason
            log.info("up.stop reason=%s", reason)
        self._stop.set()

    async def run(self) -> int:
        """Start, supervise and stop every child; return 0 on a clean run, 1 otherwise.

        A clean run: no child was given up, and every child exited 0 when told to stop.
        """
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal, sig)
        timer = None
        if self.duration_s > 0:
            timer = loop.call_later(self.duration_s, self.request_stop, "duration")
        watchers: list[asyncio.Task[None]] = []
        try:
            for spec in self.specs:
                if self._stop.is_set():
                    break
                ready = asyncio.Event()
                watchers.append(asyncio.create_task(self._watch(spec, ready), name=spec.name))
                await self._wait_either(ready)
            await self._stop.wait()
            await self._stop_all()
            await asyncio.gather(*watchers, return_exceptions=True)
        finally:
            if timer is not None:
                timer.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            for task in watchers:
                task.cancel()
        clean = not self._failed and all(
            st.last_rc in (0, None) and st.n_killed == 0 for st in self.states.values()
        )
        return 0 if clean else 1

    def summary(self) -> str:
        """A table of every child: starts, restarts, kills, exit codes."""
        width = max([len(s) for s in self.states] + [5])
        lines = [f"{'child':{width}s}  starts  restarts  killed  exit codes"]
        for st in self.states.values():
            codes = ",".join(str(c) for c in st.exit_codes) or "-"
            flag = "  GAVE UP" if st.gave_up else ""
            lines.append(
                f"{st.name:{width}s}  {st.n_starts:6d}  {st.n_restarts:8d}  {st.n_killed:6d}  "
                f"{codes}{flag}"
            )
        return "\n".join(lines)

    # ---- internals ------------------------------------------------------------------------

    def _on_signal(self, sig: int) -> None:
        self.n_signals += 1
        name = signal.Signals(sig).name
        command = "stop" if self.n_signals == 1 else "kill_all"
        self._record(Kind.OPERATOR_COMMAND, {"command": command, "signal": name})
        if self.n_signals == 1:
            self.request_stop(name)
            return
        log.warning("up.signal_again signal=%s action=kill_all", name)
        for child, proc in self._procs.items():
            if proc.returncode is None:
                self._kill(child, proc)

    async def _wait_either(self, ready: asyncio.Event) -> None:
        waits = [asyncio.create_task(ready.wait()), asyncio.create_task(self._stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()

    async def _watch(self, spec: ChildSpec, ready: asyncio.Event) -> None:
        # One child's life: start, wait, restart with backoff, until the run stops.
        st = self.states[spec.name]
        restarts: deque[float] = deque()
        while not self._stop.is_set():
            proc = await self._spawn(spec, st)
            if proc is None:
                self._record_stop(spec, 0, None, "spawn_failed", {"action": "give_up"})
                self._give_up(spec, st, "spawn_failed")
                return
            started = time.monotonic()
            is_ready = spec.ready_file is None or await self._wait_ready(spec, proc)
            if is_ready:
                ready.set()
            elif proc.returncode is None and not self._stop.is_set():
                log.error(
                    "child.ready_timeout name=%s after_s=%.1f", spec.name, spec.ready_timeout_s
                )
                self._kill(spec.name, proc)
                await proc.wait()
                st.exit_codes.append(_rc(proc))
                self._record_stop(spec, proc.pid, _rc(proc), "ready_timeout", {"action": "give_up"})
                self._give_up(spec, st, "ready_timeout")
                return
            rc = await proc.wait()
            if self._stop.is_set():
                return  # the stop sequence records the exit code
            st.exit_codes.append(rc)
            ran_s = time.monotonic() - started
            log.warning(
                "child.exit name=%s pid=%d rc=%d ran_s=%.2f restarts=%d log=%s",
                spec.name,
                proc.pid,
                rc,
                ran_s,
                st.n_restarts,
                spec.log_path,
            )
            now = time.monotonic()
            while restarts and now - restarts[0] > self.policy.window_s:
                restarts.popleft()
            why = ""
            if rc == _CONFIG_ERROR_RC and ran_s < _CONFIG_ERROR_WINDOW_S:
                why = "config_error"
            elif len(restarts) >= self.policy.max_restarts:
                why = "too_many_restarts"
            if why:
                self._record_stop(spec, proc.pid, rc, "exit", {"action": "give_up", "give_up": why})
                self._give_up(spec, st, why)
                return
            restarts.append(now)
            delay = min(self.policy.max_s, self.policy.min_s * 2 ** (len(restarts) - 1))
            then = {"action": "restart", "restart_in_ms": int(delay * 1000)}
            self._record_stop(spec, proc.pid, rc, "exit", then)
            log.info("child.restart name=%s in_s=%.2f restart=%d", spec.name, delay, len(restarts))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)
            if not self._stop.is_set():
                st.n_restarts += 1

    def _give_up(self, spec: ChildSpec, st: ChildState, reason: str) -> None:
        st.gave_up = True
        self._failed = True
        log.error(
            "child.giveup name=%s reason=%s restarts=%d log=%s",
            spec.name,
            reason,
            st.n_restarts,
            spec.log_path,
        )
        self.request_stop(f"giveup:{spec.name}")

    async def _spawn(self, spec: ChildSpec, st: ChildState) -> asyncio.subprocess.Process | None:
        try:
            if spec.prepare is not None:
                spec.prepare()
            argv = list(spec.argv() if callable(spec.argv) else spec.argv)
            if spec.ready_file is not None:
                spec.ready_file.unlink(missing_ok=True)
            spec.log_path.parent.mkdir(parents=True, exist_ok=True)
            with spec.log_path.open("ab" if st.n_starts else "wb") as out:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=None if spec.env is None else dict(spec.env),
                    start_new_session=True,  # a terminal's ^C reaches only the supervisor
                    preexec_fn=_die_with_parent,
                )
        except (OSError, ValueError, KeyError, VelozError) as exc:  # prepare(), argv(), exec
            log.error("child.spawn_failed name=%s error=%s", spec.name, exc)
            return None
        self._procs[spec.name] = proc
        self._started[spec.name] = time.monotonic()
        st.pid = proc.pid
        st.n_starts += 1
        cpu = self._pin(spec, proc.pid)
        self._record(
            Kind.PROC_START,
            {
                "child": spec.name,
                "pid": proc.pid,
                "start": st.n_starts,
                "restart": st.n_restarts,
                "cpu": cpu,
                "argv": redact_argv(argv),
            },
        )
        log.info(
            "child.start name=%s pid=%d cpu=%s start=%d log=%s",
            spec.name,
            proc.pid,
            "-" if cpu is None else cpu,
            st.n_starts,
            spec.log_path,
        )
        return proc

    def _pin(self, spec: ChildSpec, pid: int) -> int | None:
        if spec.cpu is None:
            return None
        if spec.cpu not in os.sched_getaffinity(0):
            log.warning("child.cpu_missing name=%s cpu=%d action=not_pinned", spec.name, spec.cpu)
            return None
        try:
            os.sched_setaffinity(pid, {spec.cpu})
        except ProcessLookupError:
            return None  # already gone: its exit is handled by the watcher
        except OSError as exc:
            log.warning("child.pin_failed name=%s cpu=%d error=%s", spec.name, spec.cpu, exc)
            return None
        return spec.cpu

    async def _wait_ready(self, spec: ChildSpec, proc: asyncio.subprocess.Process) -> bool:
        # True once the ready file holds JSON; False if the child died, the run stopped, or
        # the timeout passed (the caller tells these apart).
        if spec.ready_file is None:
            return True
        deadline = time.monotonic() + spec.ready_timeout_s
        while proc.returncode is None and not self._stop.is_set():
            with contextlib.suppress(OSError, orjson.JSONDecodeError):
                orjson.loads(spec.ready_file.read_bytes())
                log.info("child.ready name=%s pid=%d", spec.name, proc.pid)
                return True
            if time.monotonic() > deadline:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), _READY_POLL_S)
        return False

    def _kill(self, name: str, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        log.warning("child.kill name=%s pid=%d", name, proc.pid)

    async def _stop_all(self) -> None:
        for spec in reversed(self.specs):
            proc = self._procs.get(spec.name)
            st = self.states[spec.name]
            if proc is None:
                continue
            if proc.returncode is None:
                t0 = time.monotonic()
                n_killed = st.n_killed
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), self.stop_timeout_s)
                except TimeoutError:
                    log.warning(
                        "child.stop_timeout name=%s pid=%d after_s=%.1f action=SIGKILL",
                        spec.name,
                        proc.pid,
                        self.stop_timeout_s,
                    )
                    self._kill(spec.name, proc)
                    st.n_killed += 1
                    await proc.wait()
                log.info(
                    "child.stopped name=%s pid=%d rc=%d stop_s=%.2f",
                    spec.name,
                    proc.pid,
                    _rc(proc),
                    time.monotonic() - t0,
                )
                st.exit_codes.append(_rc(proc))
                stop: dict[str, Any] = {"stop_reason": self.stop_reason, "sent": "SIGTERM"}
                stop |= {"killed": st.n_killed > n_killed, "stop_ms": _ms(time.monotonic() - t0)}
                self._record_stop(spec, proc.pid, _rc(proc), "stop", stop)
            elif len(st.exit_codes) < st.n_starts:
                st.exit_codes.append(_rc(proc))  # exited while the stop began
                late = {"stop_reason": self.stop_reason, "sent": None, "killed": False}
                self._record_stop(spec, proc.pid, _rc(proc), "stop", late)

    def _record_stop(
        self, spec: ChildSpec, pid: int, rc: int | None, reason: str, extra: Mapping[str, Any]
    ) -> None:
        data: dict[str, Any] = {"child": spec.name, "pid": pid, "rc": rc, "reason": reason}
        if rc is not None and rc < 0:
            data["signal"] = -rc  # killed by a signal: kill -9 shows as 9 (SIGKILL)
            with contextlib.suppress(ValueError):
                data["signal_name"] = signal.Signals(-rc).name
        started = self._started.get(spec.name)
        if started is not None and pid:
            data["ran_ms"] = _ms(time.monotonic() - started)
        self._record(Kind.PROC_STOP, data | dict(extra))

    def _record(self, kind: Kind, data: Mapping[str, Any]) -> None:
        # The audit file must never stop the supervisor: count, log, carry on.
        if self._audit is None:
            return
        try:
            self._audit.append(kind, data)
        except (OSError, ValueError) as exc:
            self.n_audit_errors += 1
            log.error("up.audit_failed kind=%s error=%s n=%d", kind.value, exc, self.n_audit_errors)


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    # In the child between fork and exec: SIGTERM it if the supervisor dies (even by
    # SIGKILL), so no child outlives `veloz up`. Best effort: prctl is Linux-only.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _rc(proc: asyncio.subprocess.Process) -> int:
    # Only called after the process was waited for; -1 would mean "still running".
    return -1 if proc.returncode is None else proc.returncode
