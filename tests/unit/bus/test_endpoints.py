"""Unit tests for veloz.bus.endpoints: run dir, [bus] config, names, discovery files."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from veloz import config as vconfig
from veloz.bus import endpoints as ep
from veloz.bus.endpoints import BusConfig
from veloz.errors import ConfigError


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def cfg(tmp_path: Path) -> BusConfig:
    return BusConfig(run_dir=tmp_path / "run")


def test_default_run_dir_env_var_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VELOZ_RUN_DIR", "/srv/vz-a")
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1")
    assert ep.default_run_dir() == Path("/srv/vz-a")


def test_default_run_dir_xdg_then_tmp_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VELOZ_RUN_DIR", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1")
    assert ep.default_run_dir() == Path("/run/user/1/veloz")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert ep.default_run_dir().name == f"veloz-{os.getuid()}"


def test_busconfig_build_from_toml_table_gives_path_and_fields() -> None:
    cfg = vconfig.build(
        BusConfig,
        {"run_dir": "/srv/vz-x", "transport": "tcp", "ports": {"orders": 5555}, "curve": True},
        "bus.",
    )
    assert cfg.run_dir == Path("/srv/vz-x")
    assert isinstance(cfg.run_dir, Path)
    assert (cfg.transport, cfg.ports, cfg.curve) == ("tcp", {"orders": 5555}, True)


def test_busconfig_unknown_key_is_config_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"bus\.sndhmw: unknown key"):
        vconfig.build(BusConfig, {"sndhmw": 5}, "bus.")


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"transport": "udp"}, r"bus\.transport"),
        ({"curve": True}, r"curve=true: needs transport='tcp'"),
        ({"sndhwm": 0}, r"sndhwm=0"),
        ({"transport": "tcp", "ports": {"exec": 70000}}, r"ports\.exec=70000"),
        ({"run_dir": 5}, r"bus\.run_dir: expected string"),
    ],
)
def test_busconfig_bad_value_is_config_error_naming_key(
    table: dict[str, object], match: str
) -> None:
    with pytest.raises(ConfigError, match=match):
        vconfig.build(BusConfig, table, "bus.")


def test_ensure_run_dir_creates_layout_mode_0700(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    for sub in ("", "bus", "log", "latency", "conf", "keys", "state"):
        mode = stat.S_IMODE((cfg.run_dir / sub).stat().st_mode)
        assert mode == 0o700, sub


def test_bind_name_ipc_path_under_bus_dir(cfg: BusConfig) -> None:
    assert ep.bind_name(cfg, "md.binance-spot.BTCUSDT") == (
        f"ipc://{cfg.run_dir}/bus/md.binance-spot.BTCUSDT.sock"
    )


def test_bind_name_tcp_configured_port_or_any(tmp_path: Path) -> None:
    cfg = BusConfig(run_dir=tmp_path, transport="tcp", ports={"orders": 7001})
    assert ep.bind_name(cfg, "orders") == "tcp://127.0.0.1:7001"
    assert ep.bind_name(cfg, "exec") == "tcp://127.0.0.1:*"


def test_bind_name_ipc_path_too_long_is_config_error() -> None:
    cfg = BusConfig(run_dir=Path("/srv/" + "d" * 100))
    with pytest.raises(ConfigError, match="107-byte"):
        ep.bind_name(cfg, "exec")


def test_bind_name_bad_name_is_config_error(cfg: BusConfig) -> None:
    with pytest.raises(ConfigError, match="bus name"):
        ep.bind_name(cfg, "../x")


def test_write_then_lookup_returns_endpoint_and_key(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    ep.write_endpoint(cfg, "exec", "tcp://127.0.0.1:4000", "k" * 40)
    assert ep.lookup(cfg, "exec") == ("tcp://127.0.0.1:4000", "k" * 40)
    obj = orjson.loads((cfg.run_dir / "bus" / "exec.json").read_bytes())
    assert obj == {"endpoint": "tcp://127.0.0.1:4000", "server_key": "k" * 40, "pid": os.getpid()}


def test_lookup_missing_name_times_out_with_config_error(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    with pytest.raises(ConfigError, match="no process publishes exec"):
        ep.lookup(cfg, "exec", timeout_s=0.05)


def test_lookup_dead_pid_file_is_not_found(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    body = {"endpoint": "ipc:///x", "server_key": None, "pid": _dead_pid()}
    ep.endpoint_file(cfg, "exec").write_bytes(orjson.dumps(body))
    assert ep.find(cfg, "exec") is None
    assert ep.list_names(cfg) == []


def test_find_malformed_file_is_none_and_logged(
    cfg: BusConfig, caplog: pytest.LogCaptureFixture
) -> None:
    ep.ensure_run_dir(cfg)
    ep.endpoint_file(cfg, "exec").write_bytes(b'{"endpoint": 5}')
    assert ep.find(cfg, "exec") is None
    assert "bus.endpoint_malformed" in caplog.text


def test_claim_stale_file_from_dead_pid_is_removed(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    body = {"endpoint": "ipc:///x", "server_key": None, "pid": _dead_pid()}
    ep.endpoint_file(cfg, "exec").write_bytes(orjson.dumps(body))
    ep.claim(cfg, "exec")
    assert not ep.endpoint_file(cfg, "exec").exists()


def test_claim_live_other_pid_is_config_error_naming_name_and_pid(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    other = os.getppid()
    body = {"endpoint": "ipc:///x", "server_key": None, "pid": other}
    ep.endpoint_file(cfg, "md.binance-spot.BTCUSDT").write_bytes(orjson.dumps(body))
    with pytest.raises(
        ConfigError,
        match=rf"another process already publishes md\.binance-spot\.BTCUSDT \(pid {other}\)",
    ):
        ep.claim(cfg, "md.binance-spot.BTCUSDT")


def test_remove_endpoint_leaves_other_pids_file(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    body = {"endpoint": "ipc:///x", "server_key": None, "pid": os.getppid()}
    ep.endpoint_file(cfg, "exec").write_bytes(orjson.dumps(body))
    ep.remove_endpoint(cfg, "exec")
    assert ep.endpoint_file(cfg, "exec").exists()
    ep.write_endpoint(cfg, "exec", "ipc:///y", None)
    ep.remove_endpoint(cfg, "exec")
    assert not ep.endpoint_file(cfg, "exec").exists()


def test_list_names_filters_prefix_and_sorts(cfg: BusConfig) -> None:
    ep.ensure_run_dir(cfg)
    for name in ("md.binance-usdm.ETHUSDT", "exec", "md.binance-spot.BTCUSDT", "orders"):
        ep.write_endpoint(cfg, name, f"ipc:///{name}", None)
    assert ep.list_names(cfg, "md.") == ["md.binance-spot.BTCUSDT", "md.binance-usdm.ETHUSDT"]
    assert len(ep.list_names(cfg)) == 4


def test_list_names_missing_run_dir_is_empty(tmp_path: Path) -> None:
    assert ep.list_names(BusConfig(run_dir=tmp_path / "nope")) == []
