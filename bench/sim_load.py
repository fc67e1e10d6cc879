"""Load generators against a `veloz sim` subprocess on 127.0.0.1: depth throughput, WS-API RTT.

Owns the sim process (start from this checkout, read its URL and demo accounts, stop it),
its CPU time from /proc, and two clients: one raw ``<symbol>@depth@100ms`` subscriber that
counts update ids, and one persistent ``/ws-api/v3`` connection that times request frames
to their responses. Client: aiohttp on uvloop (picows is not a dependency; `ws_client_name`
says which one ran).

An *unthrottled* sim is the stock `veloz sim` with ``--no-rate-limits``: the REQUEST_WEIGHT
and ORDERS windows would otherwise stop a 2000-order round-trip benchmark.
"""

import asyncio
import dataclasses
import hashlib
import hmac
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any
from typing import TypeVar

import aiohttp
import numpy as np
import orjson

__all__ = [
    "DepthResult",
    "RttResult",
    "SimProc",
    "measure_depth",
    "measure_ws_api",
    "run_async",
    "ws_client_name",
]

REPO = Path(__file__).resolve().parent.parent
_CLK_TCK = os.sysconf("SC_CLK_TCK")
T = TypeVar("T")


def ws_client_name() -> str:
    """The websocket client these benchmarks use."""
    return f"aiohttp {aiohttp.__version__}"


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on uvloop when installed (as the sim does), else the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid`, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime, stime


@dataclasses.dataclass
class SimProc:
    """A running sim: ``python -m procs.cli sim`` (or the unthrottled launcher) from `REPO`.

    The one place that starts, waits for and stops a `veloz sim` process (benchmarks and
    integration tests alike). stdout and stderr go to files in a private directory, so the
    sim never blocks on a pipe; their text stays readable (`stdout`, `stderr`) after `stop`.

    Parameters
    ----------
    rate : float or None
        ``--rate`` (background updates per second); None leaves the sim's default.
    unthrottled : bool
        Start the sim with ``--no-rate-limits`` (see the module notes).
    seed : int or None
        ``--seed`` (market and demo accounts); None leaves the sim's default.
    venue : str
        ``--venue``: ``"spot"``, ``"usdm"`` or ``"both"``.
    symbols : str
        ``--symbols``, comma separated.
    accounts_file : Path or None
        ``--accounts`` (the sim then prints no demo accounts).
    log_level : str or None
        ``--log-level``; None leaves the sim's default.
    extra_args : tuple of str
        More command-line arguments, appended last.
    start_timeout_s : float
        How long `start` waits for the ready file by default.

    As a context manager it starts on entry (unless started) and stops on exit.
    """

    rate: float | None
    unthrottled: bool = False
    seed: int | None = 7
    venue: str = "spot"
    symbols: str = "BTCUSDT"
    accounts_file: Path | None = None
    log_level: str | None = "WARNING"
    extra_args: tuple[str, ...] = ()
    start_timeout_s: float = 20.0
    proc: subprocess.Popen[bytes] | None = None
    urls: dict[str, str] = dataclasses.field(default_factory=dict)  # rest, ws, admin
    accounts: list[dict[str, str]] = dataclasses.field(default_factory=list)
    rest: str = ""
    ws: str = ""
    admin: str = ""
    key: str = ""  # the first demo account with the trade scope
    secret: bytes = b""
    tmp: Path | None = None
    _stdout: str = dataclasses.field(default="", init=False, repr=False)
    _stderr: str = dataclasses.field(default="", init=False, repr=False)

    def command(self, ready: Path) -> list[str]:
        """The sim's command line, writing its ready file to `ready`."""
        cmd = [sys.executable, "-m", "procs.cli", "sim", "--host", "127.0.0.1", "--port", "0"]
        if self.unthrottled:
            cmd.append("--no-rate-limits")
        cmd += ["--venue", self.venue, "--symbols", self.symbols]
        if self.seed is not None:
            cmd += ["--seed", str(self.seed)]
        if self.rate is not None:
            cmd += ["--rate", str(self.rate)]
        if self.accounts_file is not None:
            cmd += ["--accounts", str(self.accounts_file)]
        cmd += ["--ready-file", str(ready)]
        if self.log_level is not None:
            cmd += ["--log-level", self.log_level]
        return cmd + list(self.extra_args)

    def __enter__(self) -> "SimProc":
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, timeout_s: float | None = None) -> "SimProc":
        """Start the process and wait for its ready file; raise RuntimeError on failure.

        `timeout_s` defaults to `start_timeout_s`.
        """
        tmp = Path(tempfile.mkdtemp(prefix="veloz-simbench-"))
        self.tmp = tmp
        ready = tmp / "ready.json"
        cmd = self.command(ready)
        path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path}
        with self.stdout_path.open("wb") as fh, self.stderr_path.open("wb") as fe:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=fe)  # noqa: S603
        deadline = time.monotonic() + (self.start_timeout_s if timeout_s is None else timeout_s)
        doc = None
        while doc is None:
            if ready.exists() and ready.stat().st_size:
                try:
                    doc = orjson.loads(ready.read_bytes())
                    continue
                except orjson.JSONDecodeError:
                    pass  # written but not complete yet
            if self.proc.poll() is not None or time.monotonic() > deadline:
                rc = self.proc.poll()
                self.stop()
                text = self.stderr_tail()
                raise RuntimeError(f"sim did not start (rc={rc}, {' '.join(cmd)}): {text}")
            time.sleep(0.02)
        self.urls = {k: str(v) for k, v in doc.items()}
        self.rest, self.ws, self.admin = doc["rest"], doc["ws"], doc["admin"]
        if not self.rest.startswith("http://127.0.0.1:"):
            self.stop()
            raise RuntimeError(f"sim is not on loopback: {self.rest}")
        for line in self.stdout.splitlines():  # printed before the ready file is written
            if line.startswith("account "):
                self.accounts.append(dict(part.split("=", 1) for part in line.split()[1:]))
        trade = [a for a in self.accounts if "trade" in a.get("scopes", "").split("+")]
        if trade:
            self.key, self.secret = trade[0]["key"], trade[0]["secret"].encode()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def stdout_path(self) -> Path:
        """The file the sim's stdout goes to (removed by `stop`)."""
        assert self.tmp is not None
        return self.tmp / "stdout.txt"

    @property
    def stderr_path(self) -> Path:
        """The file the sim's stderr goes to (removed by `stop`)."""
        assert self.tmp is not None
        return self.tmp / "stderr.txt"

    @property
    def stdout(self) -> str:
        """All the sim wrote to stdout so far (all of it, once stopped)."""
        return self._read("stdout.txt", self._stdout)

    @property
    def stderr(self) -> str:
        """All the sim wrote to stderr so far (all of it, once stopped)."""
        return self._read("stderr.txt", self._stderr)

    def _read(self, name: str, kept: str) -> str:
        path = self.tmp / name if self.tmp is not None else None
        if path is None or not path.exists():
            return kept
        return path.read_text(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM (clean shutdown), then SIGKILL after 5 s; return the exit code.

        The output is kept in memory (`stdout`, `stderr`) and the private directory removed.
        """
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5.0)
        if self.tmp is not None:
            self._stdout, self._stderr = self.stdout, self.stderr
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        return proc.returncode

    def stderr_tail(self, n: int = 2000) -> str:
        """The last `n` characters the sim wrote to stderr."""
        return self.stderr[-n:]


# ---- depth throughput ------------------------------------------------------------------


@dataclasses.dataclass
class DepthResult:
    """What one subscriber received in a fixed window."""

    window_s: float
    frames: int
    update_ids: int  # sum of u - U + 1
    levels: int  # bid + ask entries
    bytes: int
    sim_cpu_pct: float
    client_cpu_pct: float
    gaps: int  # U != previous u + 1

    @property
    def updates_per_s(self) -> float:
        return self.update_ids / self.window_s


async def _depth(ws_base: str, window_s: float, pid: int) -> DepthResult:
    url = ws_base + "/ws/btcusdt@depth@100ms"
    async with aiohttp.ClientSession() as session, session.ws_connect(url, max_msg_size=0) as ws:
        first = orjson.loads((await ws.receive(timeout=5)).data)  # the window opens here
        last_u = first["u"]
        t0, c0, p0 = time.perf_counter(), cpu_seconds(pid), time.process_time()
        frames = ids = levels = nbytes = gaps = 0
        deadline = t0 + window_s
        while (now := time.perf_counter()) < deadline:
            try:
                msg = await ws.receive(timeout=max(deadline - now, 0.001))
            except TimeoutError:
                break
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"depth stream ended: {msg.type} {msg.data!r}")
            d = orjson.loads(msg.data)
            frames += 1
            ids += d["u"] - d["U"] + 1
            levels += len(d["b"]) + len(d["a"])
            nbytes += len(msg.data)
            gaps += d["U"] != last_u + 1
            last_u = d["u"]
        wall = time.perf_counter() - t0
        sim_cpu = (cpu_seconds(pid) - c0) / wall * 100
        client_cpu = (time.process_time() - p0) / wall * 100
    return DepthResult(wall, frames, ids, levels, nbytes, sim_cpu, client_cpu, gaps)


def measure_depth(sim: SimProc, window_s: float) -> DepthResult:
    """Subscribe to ``btcusdt@depth@100ms`` and count what arrives in `window_s` seconds."""
    return run_async(_depth(sim.ws, window_s, sim.pid))


# ---- WS-API round trips ----------------------------------------------------------------


@dataclasses.dataclass
class RttResult:
    """Round-trip samples, ns, and the sim's CPU over the run."""

    samples_ns: np.ndarray
    sim_cpu_pct: float
    errors: int

    def pct_us(self) -> dict[str, float]:
        s = self.samples_ns
        return {f"p{q}_us": float(np.percentile(s, q)) / 1e3 for q in (50, 90, 99)} | {
            "max_us": float(s.max()) / 1e3,
            "n": int(s.size),
        }


def _signed(key: str, secret: bytes, params: dict[str, Any]) -> dict[str, Any]:
    params = {**params, "apiKey": key, "timestamp": time.time_ns() // 1_000_000}
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    params["signature"] = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    return params


async def _ws_api(sim: SimProc, n: int, kind: str, warmup: int) -> RttResult:
    clock = time.perf_counter_ns
    samples = np.empty(n, dtype=np.int64)
    errors = 0
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    order |= {"price": "30000.00", "quantity": "0.00100"}  # half the 60000 start: rests
    async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws + "/ws-api/v3") as ws:
        req_id = 0

        async def call(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            nonlocal req_id
            req_id += 1
            frame = orjson.dumps({"id": req_id, "method": method, "params": params}).decode()
            t0 = clock()
            await ws.send_str(frame)
            msg = await ws.receive(timeout=5)
            dt = clock() - t0
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"ws-api closed: {msg.type} {msg.data!r} {msg.extra!r}")
            reply = orjson.loads(msg.data)
            if reply.get("id") != req_id:
                raise RuntimeError(f"ws-api reply out of order: {reply}")
            return dt, reply

        def place() -> dict[str, Any]:
            return _signed(sim.key, sim.secret, order)

        c0 = None
        for i in range(warmup + n):
            if i == warmup:
                c0, t_start = cpu_seconds(sim.pid), time.perf_counter()
            if kind == "ping":
                dt, reply = await call("ping", {})
            else:
                dt, reply = await call("order.place", place())
                if reply.get("status") == 200:
                    cancel = {"symbol": "BTCUSDT", "orderId": reply["result"]["orderId"]}
                    _, creply = await call("order.cancel", _signed(sim.key, sim.secret, cancel))
                    errors += creply.get("status") != 200
            if reply.get("status") != 200:
                errors += 1
                if errors == 1:
                    print(f"sim_load: ws-api error reply: {reply}", file=sys.stderr)
            if i >= warmup:
                samples[i - warmup] = dt
        assert c0 is not None
        cpu = (cpu_seconds(sim.pid) - c0) / (time.perf_counter() - t_start) * 100
    return RttResult(samples, cpu, errors)


def measure_ws_api(sim: SimProc, n: int, kind: str, warmup: int = 50) -> RttResult:
    """Time `n` request->response round trips on one ``/ws-api/v3`` connection.

    ``kind="ping"`` times the ``ping`` method; ``kind="order"`` times ``order.place`` of a
    resting LIMIT GTC buy, each followed by an (untimed) ``order.cancel`` of it.
    """
    return run_async(_ws_api(sim, n, kind, warmup))
