"""Turn an `UpConfig` and a run directory into the `ChildSpec` s ``veloz up`` supervises.

Owns the run-dir preparation (layout, clearing the previous run's latency files), the
simulator's generated trading account (key and secret in a 0600 file under ``<run>/keys/``,
handed to the gateway by environment only), each child's command line
(``python -m procs.cli <proc> --config <run>/conf/<child>.toml --run-dir <run>``) and config
file, and the end-of-run latency and strategies reports. Must not start processes
(`supervisor` does) and never writes a secret into a config file, a command line or a log line.
"""

import json
import logging
import os
import secrets
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from veloz.bus.endpoints import ensure_run_dir
from veloz.config.emit import dumps
from veloz.up.config import UpConfig
from veloz.up.config import feed_child_name
from veloz.up.summary import strategies_report
from veloz.up.supervisor import ChildSpec
from veloz.up.supervisor import RestartPolicy

__all__ = [
    "API_ENV",
    "SIM_ACCOUNTS",
    "SIM_READY",
    "build_children",
    "latency_report",
    "prepare_run_dir",
    "restart_policy",
    "strategies_report",
    "strategy_procs",
]

log = logging.getLogger(__name__)

API_ENV = ("VELOZ_API_KEY", "VELOZ_API_SECRET", "VELOZ_API_ED25519_KEY_FILE")
SIM_READY = "conf/sim.ready.json"
SIM_ACCOUNTS = "keys/sim-accounts.json"


def restart_policy(cfg: UpConfig) -> RestartPolicy:
    """The supervisor's restart policy from the up.toml keys."""
    return RestartPolicy(cfg.restart_min_s, cfg.restart_max_s, cfg.max_restarts)


def prepare_run_dir(cfg: UpConfig) -> Path:
    """Create the run dir layout (0700); remove the previous run's latency and state files.

    Raises
    ------
    ConfigError
        A directory cannot be created.
    """
    run_dir = ensure_run_dir(cfg.bus)
    for sub, pattern in (("latency", "*.json"), ("state", "strategy.*.json")):
        stale = sorted((run_dir / sub).glob(pattern))
        for path in stale:
            path.unlink(missing_ok=True)
        if stale:
            log.info("up.%s_cleared n=%d dir=%s", sub, len(stale), run_dir / sub)
    return run_dir


def strategy_procs(cfg: UpConfig) -> list[str]:
    """The strategy process names of this run (their state files are expected at the end)."""
    if cfg.strategy is None:
        return []
    return [str(cfg.strategy.get("proc", "main"))]  # "main": StrategyProcessConfig's default


def build_children(cfg: UpConfig, python: str = sys.executable) -> list[ChildSpec]:
    """The children of this run in start order: sim, feeds, gateway, strategy.

    With ``[sim] enabled`` this writes the generated account file (0600) now; child config
    files are written right before each start (``ChildSpec.prepare``), once the simulator's
    URLs are known.
    """
    run_dir = cfg.bus.run_dir
    base_env = {k: v for k, v in os.environ.items() if k not in API_ENV}
    children: list[ChildSpec] = []
    gateway_env = dict(os.environ)
    ready = run_dir / SIM_READY
    ready.unlink(missing_ok=True)  # a previous run's port is not ours
    if cfg.sim.enabled:
        key, secret = _write_sim_account(cfg, run_dir / SIM_ACCOUNTS)
        gateway_env = base_env | {"VELOZ_API_KEY": key, "VELOZ_API_SECRET": secret}
        children.append(
            ChildSpec(
                "sim",
                lambda: _sim_argv(cfg, python, ready),
                run_dir / "log" / "sim.log",
                cpu=cfg.sim.cpu,
                env=base_env,
                ready_file=ready,
                ready_timeout_s=cfg.ready_timeout_s,
            )
        )

    def urls() -> dict[str, str] | None:
        if not cfg.sim.enabled:
            return None
        doc = json.loads(ready.read_text())
        return {"ws": str(doc["ws"]), "rest": str(doc["rest"])}

    for inst, entry in enumerate(cfg.feed):  # one instrument id per feed, in config order
        name = feed_child_name(entry.feed)
        conf = run_dir / "conf" / f"{name}.toml"
        children.append(
            ChildSpec(
                name,
                [*_argv(python, "feed", conf, run_dir), "--inst", str(inst)],
                run_dir / "log" / f"{name}.log",
                cpu=entry.cpu,
                env=base_env,
                prepare=_writer(conf, partial(cfg.feed_config, entry), urls),
            )
        )
    if cfg.gateway is not None:
        conf = run_dir / "conf" / "gateway.toml"
        children.append(
            ChildSpec(
                "gateway",
                _argv(python, "gateway", conf, run_dir),
                run_dir / "log" / "gateway.log",
                cpu=cfg.gateway_cpu(),
                env=gateway_env,
                prepare=_writer(conf, cfg.gateway_config, urls),
            )
        )
    if cfg.strategy is not None:
        conf = run_dir / "conf" / "strategy.toml"
        children.append(
            ChildSpec(
                "strategy",
                _argv(python, "strategy", conf, run_dir),
                run_dir / "log" / "strategy.log",
                cpu=cfg.strategy_cpu(),
                env=base_env,
                prepare=_writer(conf, lambda _urls: cfg.strategy_config(), urls),
            )
        )
    return children


def latency_report(run_dir: Path) -> str:
    """The latency report of the run's ``<run>/latency/*.json`` files (`veloz.metrics`)."""
    from veloz import metrics  # lazily: only the end of a run needs hdrhistogram

    hists = metrics.read_latency_dir(run_dir)
    return metrics.report(hists)


def _argv(python: str, proc: str, conf: Path, run_dir: Path) -> list[str]:
    return [python, "-m", "procs.cli", proc, "--config", str(conf), "--run-dir", str(run_dir)]


def _writer(
    path: Path,
    table: Callable[[dict[str, str] | None], dict[str, Any]],
    urls: Callable[[], dict[str, str] | None],
) -> Callable[[], None]:
    def write() -> None:
        _write_private(path, dumps(table(urls())).encode())

    return write


def _sim_argv(cfg: UpConfig, python: str, ready: Path) -> list[str]:
    # A restarted simulator takes the port of the one before, so the running feeds and
    # gateway find it again at the URLs in their configs.
    port = 0
    if ready.exists():  # the previous start's (the supervisor removes it after this call)
        port = int(str(json.loads(ready.read_text())["rest"]).rsplit(":", 1)[1])
    sim = cfg.sim
    argv = [python, "-m", "procs.cli", "sim", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--venue", sim.venue, "--symbols", ",".join(sim.symbols)]
    argv += ["--seed", str(sim.seed), "--rate", str(sim.rate), "--log-level", cfg.log_level]
    argv += ["--accounts", str(cfg.bus.run_dir / SIM_ACCOUNTS), "--ready-file", str(ready)]
    if sim.no_rate_limits:
        argv.append("--no-rate-limits")
    return argv


def _write_sim_account(cfg: UpConfig, path: Path) -> tuple[str, str]:
    key, secret = secrets.token_hex(32), secrets.token_hex(32)
    account = {
        "key": key,
        "secret": secret,
        "kind": "HMAC",
        "scopes": ["read", "trade"],
        "balances": dict(cfg.sim.balances),
    }
    _write_private(path, json.dumps([account]).encode())
    return key, secret


def _write_private(path: Path, data: bytes) -> None:
    # Mode 0600 from the start (no window with a wider mode), replaced atomically.
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)
