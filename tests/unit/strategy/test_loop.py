"""`BusLoop` in-process (real ZMQ sockets in a private run dir), `pin_cpu`, and the lazy
`veloz.Strategy` export."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.strategy.wirefakes import spec
from veloz.bus.endpoints import BusConfig
from veloz.errors import ConfigError
from veloz.strategy.base import Strategy
from veloz.strategy.base import StrategyState
from veloz.strategy.config import StrategyProcessConfig
from veloz.strategy.loop import BusLoop
from veloz.strategy.loop import pin_cpu
from veloz.strategy.runtime import Runtime


@pytest.fixture
def run_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="vz"))  # short: ipc paths must fit 107 bytes
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _loop(run_dir: Path) -> tuple[BusLoop, Strategy]:
    s = Strategy("s1")
    cfg = StrategyProcessConfig(strategies=[spec("s1")], bus=BusConfig(run_dir=run_dir))
    return BusLoop(cfg, lambda send: Runtime(cfg.proc, [(spec("s1"), s)], send)), s


def test_loop_duration_ends_run_writes_latency_and_removes_endpoint(run_dir: Path) -> None:
    loop, s = _loop(run_dir)
    assert (run_dir / "bus" / "strategy.main.json").exists()
    loop.run(duration_s=0.2)
    figures = json.loads((run_dir / "latency" / "strategy.main.json").read_text())["figures"]
    assert set(figures) == {"ingest_to_dispatch", "receipt_to_strategy"}
    assert not (run_dir / "bus" / "strategy.main.json").exists()
    assert s._ctx is not None and s._ctx.state == StrategyState.STOPPED


def test_loop_stop_requested_before_run_returns_at_once(run_dir: Path) -> None:
    loop, _ = _loop(run_dir)
    loop.request_stop()
    loop.run()  # would block for ever without the flag
    assert (run_dir / "latency" / "strategy.main.json").exists()


def test_pin_cpu_to_allowed_core_then_restore() -> None:
    allowed = os.sched_getaffinity(0)
    try:
        pin_cpu(min(allowed))
        assert os.sched_getaffinity(0) == {min(allowed)}
    finally:
        os.sched_setaffinity(0, allowed)


def test_pin_cpu_to_missing_core_is_config_error() -> None:
    with pytest.raises(ConfigError, match="cpu=9999: not a core"):
        pin_cpu(9999)


def test_import_veloz_does_not_load_the_strategy_runtime() -> None:
    code = (
        "import sys, veloz\n"
        "assert 'veloz.strategy' not in sys.modules and 'zmq' not in sys.modules\n"
        "assert veloz.Strategy.__module__ == 'veloz.strategy.base'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
