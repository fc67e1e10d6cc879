"""Bus run directory, `[bus]` config, endpoint names and the endpoint discovery files.

Owns where every bus socket lives (``<run>/bus/<name>.sock`` over ipc, ``tcp://host:port``
over tcp) and the ``<run>/bus/<name>.json`` files binders write so connectors find them by
name. Must not open sockets (`veloz.bus.sockets` does) or hold key material (`curve`).
"""

import contextlib
import dataclasses
import errno
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Literal

import orjson

from veloz.errors import ConfigError

__all__ = [
    "IPC_PATH_MAX",
    "BusConfig",
    "Endpoint",
    "bind_name",
    "claim",
    "default_run_dir",
    "endpoint_file",
    "ensure_run_dir",
    "find",
    "list_names",
    "lookup",
    "remove_endpoint",
    "write_endpoint",
]

log = logging.getLogger(__name__)

# sun_path is 108 bytes with the terminating NUL: libzmq refuses longer ipc paths.
IPC_PATH_MAX = 107

_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_SUBDIRS = ("bus", "log", "latency", "state", "conf", "keys")


def default_run_dir() -> Path:
    """Return ``$VELOZ_RUN_DIR``, else ``$XDG_RUNTIME_DIR/veloz``, else ``/tmp/veloz-<uid>``.

    Read when called (a `BusConfig` built without ``run_dir``), never at import time.
    """
    env = os.environ.get("VELOZ_RUN_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / "veloz"
    return Path(tempfile.gettempdir()) / f"veloz-{os.getuid()}"


@dataclass(frozen=True, slots=True)
class BusConfig:
    """The strict ``[bus]`` TOML table every process has.

    Defaults: ``run_dir`` = `default_run_dir()`, ``transport="ipc"``, ``host="127.0.0.1"``
    (tcp bind and connect address), ``ports={}`` (tcp port per endpoint name; absent or 0 =
    any free port, the real one goes in the endpoint file), ``curve=False`` (CurveZMQ
    encryption and client-key authentication; tcp only), ``sndhwm=10000`` (PUB),
    ``rcvhwm=10000`` (SUB, PULL).

    ``run_dir`` may be given as a string (TOML); it is stored as a `Path`.
    """

    run_dir: Path = field(default_factory=default_run_dir)
    transport: Literal["ipc", "tcp"] = "ipc"
    host: str = "127.0.0.1"
    ports: dict[str, int] = field(default_factory=dict)
    curve: bool = False
    sndhwm: int = 10000
    rcvhwm: int = 10000

    def __post_init__(self) -> None:
        run_dir: object = self.run_dir
        if isinstance(run_dir, str):
            if not run_dir:
                raise ConfigError("run_dir='': must be a directory path")
            object.__setattr__(self, "run_dir", Path(run_dir))
        if self.transport not in ("ipc", "tcp"):
            raise ConfigError(f"transport={self.transport!r}: must be 'ipc' or 'tcp'")
        if self.curve and self.transport != "tcp":
            raise ConfigError("curve=true: needs transport='tcp' (ipc is guarded by file modes)")
        if not self.host:
            raise ConfigError("host='': must be an address, e.g. '127.0.0.1'")
        for name, port in self.ports.items():
            if not 0 <= port <= 65535:
                raise ConfigError(f"ports.{name}={port}: must be 0..65535")
        if self.sndhwm < 1:
            raise ConfigError(f"sndhwm={self.sndhwm}: must be >= 1")
        if self.rcvhwm < 1:
            raise ConfigError(f"rcvhwm={self.rcvhwm}: must be >= 1")

    @property
    def bus_dir(self) -> Path:
        """``<run>/bus``: sockets and endpoint files."""
        return self.run_dir / "bus"

    @property
    def keys_dir(self) -> Path:
        """``<run>/keys``: Curve keys (0700)."""
        return self.run_dir / "keys"

    def with_run_dir(self, run_dir: str | Path) -> "BusConfig":
        """Return a copy with ``run_dir`` replaced (the ``--run-dir`` flag)."""
        return dataclasses.replace(self, run_dir=Path(run_dir))


# The strict loader only knows TOML types, so it must see `run_dir` as a string;
# __post_init__ turns it into the Path that code (and mypy) sees.
BusConfig.__annotations__["run_dir"] = str


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One discovery file's content: where a binder is and its Curve public key (or None)."""

    name: str
    endpoint: str
    server_key: str | None
    pid: int


def _check_name(name: str) -> None:
    if not _NAME_RE.match(name) or ".." in name:
        raise ConfigError(f"bus name {name!r}: use letters, digits, '_', '-', '.'")


def ensure_run_dir(cfg: BusConfig) -> Path:
    """Create ``<run>`` and its ``bus log latency state conf keys`` subdirectories, 0700.

    Returns
    -------
    Path
        The run directory.

    Raises
    ------
    ConfigError
        A directory cannot be created (the message names it).
    """
    for path in (cfg.run_dir, *(cfg.run_dir / sub for sub in _SUBDIRS)):
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"run dir {path}: cannot create: {exc.strerror or exc}") from None
    with contextlib.suppress(OSError):  # not ours to fix when another user owns it
        cfg.keys_dir.chmod(0o700)
    return cfg.run_dir


def endpoint_file(cfg: BusConfig, name: str) -> Path:
    """Return ``<run>/bus/<name>.json``."""
    _check_name(name)
    return cfg.bus_dir / f"{name}.json"


def bind_name(cfg: BusConfig, name: str) -> str:
    """Return the address a binder of `name` binds.

    ipc: ``ipc://<run>/bus/<name>.sock``; tcp: ``tcp://<host>:<port>`` with the port from
    ``cfg.ports[name]``, ``*`` (any free port) when absent or 0.

    Raises
    ------
    ConfigError
        A bad name, or an ipc path longer than the 107 bytes a Unix socket allows.
    """
    _check_name(name)
    if cfg.transport == "tcp":
        port = cfg.ports.get(name, 0)
        return f"tcp://{cfg.host}:{port if port else '*'}"
    path = str(cfg.bus_dir / f"{name}.sock")
    if len(path.encode()) > IPC_PATH_MAX:
        raise ConfigError(
            f"run_dir {cfg.run_dir}: ipc path {path!r} is {len(path.encode())} bytes, "
            f"over the {IPC_PATH_MAX}-byte Unix socket limit; use a shorter run dir"
        )
    return f"ipc://{path}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, belongs to another user
    return True


def _read(cfg: BusConfig, name: str) -> Endpoint | None:
    # The file's content, or None when absent or unreadable (a binder mid-rename never
    # shows a partial file: files are written by rename).
    path = endpoint_file(cfg, name)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("bus.endpoint_unreadable file=%s error=%s", path, exc)
        return None
    try:
        obj = orjson.loads(raw)
        endpoint = obj["endpoint"]
        server_key = obj["server_key"]
        pid = obj["pid"]
        if not isinstance(endpoint, str) or not isinstance(pid, int):
            raise TypeError("endpoint must be a string and pid an integer")
        if server_key is not None and not isinstance(server_key, str):
            raise TypeError("server_key must be a string or null")
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        log.warning("bus.endpoint_malformed file=%s error=%s", path, exc)
        return None
    return Endpoint(name, endpoint, server_key, pid)


def find(cfg: BusConfig, name: str) -> Endpoint | None:
    """Return the live binder of `name`, or None (no file, malformed, or its pid is dead)."""
    ep = _read(cfg, name)
    if ep is None or not _pid_alive(ep.pid):
        return None
    return ep


def claim(cfg: BusConfig, name: str) -> None:
    """Check nobody live binds `name`; remove a stale file left by a dead process.

    Raises
    ------
    ConfigError
        Another live process (or this one, through another socket) holds `name`.
    """
    ep = _read(cfg, name)
    if ep is None:
        return
    if _pid_alive(ep.pid):
        raise ConfigError(f"another process already publishes {name} (pid {ep.pid})")
    log.info("bus.endpoint_stale name=%s pid=%d", name, ep.pid)
    with contextlib.suppress(FileNotFoundError):
        endpoint_file(cfg, name).unlink()


def write_endpoint(cfg: BusConfig, name: str, endpoint: str, server_key: str | None) -> Path:
    """Write ``<run>/bus/<name>.json`` atomically (temp file + rename) with this pid."""
    path = endpoint_file(cfg, name)
    body = orjson.dumps({"endpoint": endpoint, "server_key": server_key, "pid": os.getpid()})
    tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
    tmp.write_bytes(body)
    os.replace(tmp, path)
    return path


def remove_endpoint(cfg: BusConfig, name: str) -> None:
    """Remove `name`'s file if this process wrote it (a successor's file is left alone)."""
    ep = _read(cfg, name)
    if ep is not None and ep.pid == os.getpid():
        try:
            endpoint_file(cfg, name).unlink()
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                log.warning("bus.endpoint_remove_failed name=%s error=%s", name, exc)


def lookup(cfg: BusConfig, name: str, timeout_s: float = 0.0) -> tuple[str, str | None]:
    """Return ``(endpoint, server_key)`` of the live binder of `name`.

    Parameters
    ----------
    timeout_s : float
        Seconds to wait for the binder to appear (checked every 20 ms); 0 = look once.

    Raises
    ------
    ConfigError
        No live binder of `name` in the run dir within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        ep = find(cfg, name)
        if ep is not None:
            return ep.endpoint, ep.server_key
        if time.monotonic() >= deadline:
            raise ConfigError(
                f"no process publishes {name} in {cfg.bus_dir} (waited {timeout_s:g} s)"
            )
        time.sleep(0.02)


def list_names(cfg: BusConfig, prefix: str = "") -> list[str]:
    """Return the sorted names of live binders whose name starts with `prefix`."""
    try:
        entries = os.listdir(cfg.bus_dir)
    except FileNotFoundError:
        return []
    names = []
    for entry in entries:
        if entry.endswith(".json") and not entry.startswith("."):
            name = entry[: -len(".json")]
            if name.startswith(prefix) and _NAME_RE.match(name) and find(cfg, name) is not None:
                names.append(name)
    return sorted(names)
