"""`veloz.up.config` (UpConfig), `veloz.up.plan` (child specs, secrets) and `veloz up` flags."""

import json
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from procs import up as up_proc
from veloz.errors import ConfigError
from veloz.up.config import DEFAULT_CONFIG
from veloz.up.config import UpConfig
from veloz.up.config import load_up_config
from veloz.up.config import parse_up_config
from veloz.up.plan import SIM_ACCOUNTS
from veloz.up.plan import SIM_READY
from veloz.up.plan import build_children
from veloz.up.plan import prepare_run_dir

URLS = {"ws": "ws://127.0.0.1:9", "rest": "http://127.0.0.1:9"}


def default_data() -> dict[str, Any]:
    return tomllib.loads(DEFAULT_CONFIG.read_text())


def with_run_dir(cfg: UpConfig, run_dir: Path) -> UpConfig:
    import dataclasses

    return dataclasses.replace(cfg, bus=cfg.bus.with_run_dir(run_dir))


def test_up_config_default_file_loads_with_sim_feed_gateway_and_strategy() -> None:
    cfg = load_up_config(DEFAULT_CONFIG)
    assert cfg.sim.enabled and cfg.sim.symbols == ["BTCUSDT"]
    assert [e.feed.symbol for e in cfg.feed] == ["BTCUSDT"]
    assert cfg.gateway is not None and cfg.strategy is not None
    assert cfg.duration_s == 0.0


def test_up_config_empty_file_is_the_dataclass_defaults() -> None:
    cfg = parse_up_config({})
    assert cfg == UpConfig()
    assert (cfg.max_restarts, cfg.gateway, cfg.strategy, cfg.feed) == (5, None, None, ())


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(colour="red"), r"^colour: unknown key"),
        (lambda d: d["sim"].update(speed=1), r"^sim\.speed: unknown key"),
        (lambda d: d["bus"].update(hwm=1), r"^bus\.hwm: unknown key"),
        (lambda d: d["feed"][0].update(symbl="X"), r"^feed\[0\]\.symbl: unknown key"),
        (lambda d: d["feed"][0].update(depth_speed_ms=7), r"^feed\[0\]\.depth_speed_ms=7"),
        (lambda d: d["feed"][0].update(cpu="one"), r"^feed\[0\]\.cpu: expected integer"),
        (lambda d: d.update(max_restarts="5"), r"^max_restarts: expected integer"),
        (lambda d: d.update(log_level="LOUD"), r"^log_level='LOUD'"),
        (lambda d: d.update(restart_min_s=5.0, restart_max_s=1.0), r"^restart_max_s=1.0"),
        (lambda d: d.update(gateway=3), r"^gateway: expected a table"),
        (lambda d: d.update(feed={"symbol": "X"}), r"^feed: expected an array of tables"),
        (lambda d: d["feed"].append(dict(d["feed"][0])), r"feed\.binance-spot\.BTCUSDT is conf"),
        (lambda d: d["feed"][0].update(symbol="ETHUSDT"), r"^feed\[0\]: symbol 'ETHUSDT' is not"),
        (lambda d: d["sim"].update(venue="usdm"), r"^feed\[0\]\.venue='binance-spot': the sim"),
        (lambda d: d["feed"][0].update(ws_url="ws://x:1"), r"^feed\[0\]\.ws_url: leave it out"),
        (lambda d: d["gateway"].update(rest_url="http://x:1"), r"^gateway\.rest_url: leave it"),
        (lambda d: d["gateway"].update(symbols=["XRPUSDT"]), r"^gateway: symbol 'XRPUSDT'"),
        (lambda d: d["strategy"].update(cpu=-1), r"^strategy\.cpu=-1: must be >= 0"),
        (lambda d: d["sim"].update(symbols=["btcusdt"]), r"^sim\.symbols: 'btcusdt' is not"),
    ],
)
def test_up_config_bad_key_or_value_names_its_path(edit: Any, message: str) -> None:
    data = default_data()
    edit(data)
    with pytest.raises(ConfigError, match=message):
        parse_up_config(data)


def test_up_config_without_sim_takes_the_urls_given() -> None:
    data = default_data()
    data["sim"]["enabled"] = False
    data["feed"][0]["ws_url"] = "ws://127.0.0.1:1"
    cfg = parse_up_config(data)
    assert cfg.feed_config(cfg.feed[0], None)["feed"]["ws_url"] == "ws://127.0.0.1:1"


def test_up_config_child_tables_are_what_each_process_reads() -> None:
    data = default_data()
    data["gateway"]["cpu"] = 0
    cfg = parse_up_config(data)
    feed = cfg.feed_config(cfg.feed[0], URLS)
    assert feed["feed"]["ws_url"] == URLS["ws"] and feed["feed"]["rest_url"] == URLS["rest"]
    assert set(feed) == {"log_level", "feed", "bus"} and "cpu" not in feed["feed"]
    assert "run_dir" not in feed["bus"]
    gateway = cfg.gateway_config(URLS)
    assert gateway["ws_url"] == URLS["ws"] and "cpu" not in gateway
    assert gateway["risk"] == data["gateway"]["risk"] and cfg.gateway_cpu() == 0
    strategy = cfg.strategy_config()
    assert strategy["strategies"][0]["name"] == "mm" and "bus" in strategy


def test_up_config_strategy_cpu_not_on_this_host_is_dropped_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = default_data()
    data["strategy"]["cpu"] = 4096
    cfg = parse_up_config(data)
    with caplog.at_level("WARNING"):
        assert "cpu" not in cfg.strategy_config()
    assert "up.cpu_missing child=strategy cpu=4096" in caplog.text


def test_up_config_print_form_round_trips_to_the_same_config() -> None:
    from veloz.config.emit import dumps

    cfg = load_up_config(DEFAULT_CONFIG)
    again = parse_up_config(tomllib.loads(dumps(cfg.as_dict())))
    assert again == with_run_dir(cfg, again.bus.run_dir)


def test_up_plan_children_in_order_with_the_key_only_in_the_gateway_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VELOZ_API_SECRET", "outer-secret-not-for-children")
    cfg = with_run_dir(load_up_config(DEFAULT_CONFIG), tmp_path)
    prepare_run_dir(cfg)
    children = build_children(cfg, python="/usr/bin/python3")
    names = [c.name for c in children]
    assert names == ["sim", "feed.binance-spot.BTCUSDT", "gateway", "strategy"]
    accounts = tmp_path / SIM_ACCOUNTS
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    account = json.loads(accounts.read_text())[0]
    key, secret = account["key"], account["secret"]
    assert len(secret) == 64 and account["scopes"] == ["read", "trade"]
    by_name = {c.name: c for c in children}
    gw_env = by_name["gateway"].env
    assert gw_env is not None
    assert (gw_env["VELOZ_API_KEY"], gw_env["VELOZ_API_SECRET"]) == (key, secret)
    for child in children:
        if child.name != "gateway":
            assert child.env is not None
            assert not any(k.startswith("VELOZ_API_") for k in child.env), child.name
    # the sim is ready: every other child's config gets its URLs and no secret anywhere
    (tmp_path / SIM_READY).write_text(json.dumps(URLS | {"admin": "x"}))
    argv_text = ""
    for child in children:
        if child.prepare is not None:
            child.prepare()
        argv = child.argv() if callable(child.argv) else child.argv
        argv_text += " ".join(argv)
        assert child.log_path == tmp_path / "log" / f"{child.name}.log"
    sim_argv = by_name["sim"].argv
    assert callable(sim_argv) and "--port 9 " in " ".join(sim_argv())  # a restart keeps it
    assert secret not in argv_text and key not in argv_text
    for conf in (tmp_path / "conf").glob("*.toml"):
        text = conf.read_text()
        assert secret not in text and key not in text, conf
        assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    feed_conf = tomllib.loads((tmp_path / "conf/feed.binance-spot.BTCUSDT.toml").read_text())
    assert feed_conf["feed"]["ws_url"] == URLS["ws"]
    gateway = by_name["gateway"]
    assert list(gateway.argv)[2:] == [  # type: ignore[arg-type]
        "procs.cli",
        "gateway",
        "--config",
        str(tmp_path / "conf/gateway.toml"),
        "--run-dir",
        str(tmp_path),
    ]


def test_up_plan_prepare_run_dir_clears_the_previous_runs_latency_files(tmp_path: Path) -> None:
    cfg = with_run_dir(parse_up_config({}), tmp_path)
    (tmp_path / "latency").mkdir(parents=True)
    (tmp_path / "latency" / "gateway.json").write_text("{}")
    prepare_run_dir(cfg)
    assert list((tmp_path / "latency").iterdir()) == []
    for sub in ("bus", "log", "conf", "keys", "latency"):
        assert (tmp_path / sub).is_dir()
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700


def test_veloz_up_unknown_key_exits_2_with_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "up.toml"
    bad.write_text('[sim]\nenabled = true\nsymbls = ["BTCUSDT"]\n')
    assert up_proc.main(["--config", str(bad), "--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"veloz up: {bad}: sim.symbls: unknown key")
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "log").exists()  # nothing started


@pytest.mark.parametrize("flags", [["--duration", "0"], ["--duration", "-1"], ["--bogus"]])
def test_veloz_up_bad_flag_exits_2(flags: list[str], tmp_path: Path) -> None:
    assert up_proc.main([*flags, "--run-dir", str(tmp_path)]) == 2


def test_veloz_up_print_config_shows_the_effective_config_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VELOZ_API_SECRET", "s3cr3t-value")
    assert up_proc.main(["--print-config", "--run-dir", str(tmp_path), "--duration", "7"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"# run_dir = {tmp_path}\n")
    doc = tomllib.loads(out)
    assert doc["duration_s"] == 7.0 and doc["feed"][0]["symbol"] == "BTCUSDT"
    assert "s3cr3t" not in out
    assert not (tmp_path / "keys").exists()  # printing starts nothing, writes no key


def test_veloz_up_relative_run_dir_is_made_absolute(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert up_proc.main(["--print-config", "--run-dir", "run"]) == 0
    assert capsys.readouterr().out.startswith(f"# run_dir = {os.path.join(tmp_path, 'run')}\n")
