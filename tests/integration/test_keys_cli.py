"""`veloz keys` as a real process: secrets on stdin never reach argv, output, logs or disk."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.sim_load import SimProc
from veloz.audit import verify
from veloz.bus.endpoints import BusConfig
from veloz.bus.endpoints import bind_name
from veloz.bus.sockets import SubSocket
from veloz.keys.sealed import Argon2idParams
from veloz.keys.store import FileStore
from veloz.keys.store import load
from veloz.keys.store import make_key
from veloz.keys.store import open_store

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SECRET = "integrationHmacSecret00000000000000000000000000000000000000000Q1"  # noqa: S105 (test)
API_KEY = "integrationApiKey000000000000000000000000000000000000000000000Z5"
PASSPHRASE = "integration passphrase"  # noqa: S105 (test)
FAST = Argon2idParams(memory_kib=64, iterations=2, lanes=1)


def _veloz(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procs.cli", "keys", "--log-level", "DEBUG", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_keys_cli_process_never_writes_plaintext_anywhere(tmp_path: Path) -> None:
    key_file = tmp_path / "cfg" / "keys.enc"
    env = {
        **os.environ,
        "VELOZ_KEYS_FILE": str(key_file),
        "VELOZ_KEYS_PASSPHRASE": PASSPHRASE,
        "VELOZ_KEYS_BACKEND": "file",
        "HOME": str(tmp_path),
    }
    runs = [
        _veloz(
            env,
            *("add", "gw", "--venue", "binance-usdm", "--scope", "trade"),
            *("--api-key-stdin", "--secret-stdin"),
            stdin=f"{API_KEY}\n{SECRET}\n",
        ),
        _veloz(env, "list"),
    ]
    assert [r.returncode for r in runs] == [0, 0], [r.stderr for r in runs]
    assert "gw" in runs[1].stdout and "inte...00Z5" in runs[1].stdout
    written = "".join(r.stdout + r.stderr for r in runs)
    assert "keys_file_written" in written  # DEBUG logging was on, and still no secret
    assert SECRET not in written and API_KEY not in written
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and API_KEY.encode() not in data, path
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"

    store = open_store({k: v for k, v in env.items() if k.startswith("VELOZ_KEYS_")})
    got = load("gw", scope="trade", for_process="gateway", store=store)
    assert got.secret.reveal() == SECRET and got.api_key == API_KEY

    removed = _veloz(env, "remove", "gw")
    assert removed.returncode == 0 and SECRET not in removed.stdout + removed.stderr
    assert "no keys" in _veloz(env, "list").stdout
    # add and remove are operator commands, audited beside the key file (list is not)
    audit = key_file.parent / "audit" / "keys.jsonl"
    assert verify(audit).is_intact
    recs = [json.loads(line) for line in audit.read_text().splitlines()[1:]]
    assert [(r["kind"], r["data"]["command"], r["data"]["result"]) for r in recs] == [
        ("operator_command", "keys add", "ok"),
        ("operator_command", "keys remove", "ok"),
    ]
    assert {r["data"]["scope"] for r in recs} == {"trade"} and recs[0]["data"]["key"] == "gw"


def test_keys_cli_process_without_passphrase_or_tty_exits_1(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VELOZ_KEYS_PASSPHRASE"}
    env |= {"VELOZ_KEYS_FILE": str(tmp_path / "k.enc"), "VELOZ_KEYS_BACKEND": "file"}
    r = subprocess.run(
        [
            *(sys.executable, "-m", "procs.cli", "keys", "add", "k", "--venue", "binance-spot"),
            *("--scope", "read", "--api-key-stdin", "--secret-stdin"),
        ],
        input=f"{API_KEY}\n{SECRET}\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
        start_new_session=True,  # no controlling terminal: /dev/tty cannot be opened
    )
    assert r.returncode == 1, r.stderr
    assert "set VELOZ_KEYS_PASSPHRASE" in r.stderr and SECRET not in r.stderr
    assert not (tmp_path / "k.enc").exists()


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(5, seed=3, venue="spot", symbols="BTCUSDT", start_timeout_s=30) as proc:
        assert proc.key, "the sim printed no trade account"
        yield proc


@pytest.fixture
def gateway_rig(sim: SimProc) -> Iterator[tuple[Path, dict[str, str], Path]]:
    run_dir = Path(tempfile.mkdtemp(prefix="vz"))  # short: AF_UNIX paths max 107 bytes
    conf = run_dir / "gateway.toml"
    conf.write_text(
        f'log_level = "DEBUG"\nvenue = "binance-spot"\nrest_url = "{sim.rest}"\n'
        f'ws_url = "{sim.ws}"\nsymbols = ["BTCUSDT"]\nlatency_interval_s = 0.2\n'
        f'[bus]\nrun_dir = "{run_dir}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VELOZ_API_", "VELOZ_KEYS"))}
    env |= {
        "VELOZ_KEYS_FILE": str(run_dir / "keys" / "keys.enc"),
        "VELOZ_KEYS_PASSPHRASE": PASSPHRASE,
        "VELOZ_KEYS_BACKEND": "file",
    }
    store = FileStore(run_dir / "keys" / "keys.enc", lambda creating: PASSPHRASE, FAST)
    secret = sim.secret.decode()
    store.add(make_key("sim-trade", "binance-spot", "trade", "hmac", sim.key, secret))
    store.add(make_key("sim-read", "binance-spot", "read", "hmac", sim.key, secret))
    store.add(make_key("usdm-trade", "binance-usdm", "trade", "hmac", sim.key, secret))
    try:
        yield run_dir, env, conf
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _start_gateway(
    run_dir: Path, env: dict[str, str], conf: Path, key: str
) -> subprocess.Popen[bytes]:
    with (run_dir / "gateway.log").open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "procs.cli", "gateway", "--config", str(conf), "--key", key],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_gateway_with_stored_trade_key_runs_and_writes_no_secret(
    sim: SimProc, gateway_rig: tuple[Path, dict[str, str], Path]
) -> None:
    run_dir, env, conf = gateway_rig
    cfg = BusConfig(run_dir=run_dir)
    sub = SubSocket(cfg, prefixes=(b"lat.gateway",))
    sub.connect(bind_name(cfg, "exec"))  # ipc: connects once the gateway binds
    proc = _start_gateway(run_dir, env, conf, "sim-trade")
    try:
        got = sub.recv(20_000)
        log_text = (run_dir / "gateway.log").read_text()
        assert got is not None, f"no lat.gateway snapshot; gateway log tail:\n{log_text[-2000:]}"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        sub.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert (
        "keys_loaded name=sim-trade scope=trade process=gateway"
        in (run_dir / "gateway.log").read_text()
    )
    audit = run_dir / "audit" / "gateway.jsonl"
    assert verify(audit).is_intact
    recs = [json.loads(line) for line in audit.read_text().splitlines()[1:]]
    (use,) = [r["data"] for r in recs if r["kind"] == "key_use"]
    assert (use["key"], use["scope"], use["result"]) == ("sim-trade", "trade", "loaded")
    assert recs[0]["kind"] == "proc_start" and recs[-1]["kind"] == "proc_stop"
    secret = sim.secret
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert secret.decode() not in " ".join(proc.args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("sim-read", "has scope read; it cannot be loaded as trade"),
        ("usdm-trade", "the key is for binance-usdm, this gateway is binance-spot"),
        ("missing", "no key named 'missing'"),
    ],
)
def test_gateway_with_unusable_stored_key_exits_2(
    gateway_rig: tuple[Path, dict[str, str], Path], key: str, message: str
) -> None:
    run_dir, env, conf = gateway_rig
    proc = _start_gateway(run_dir, env, conf, key)
    assert proc.wait(30) == 2
    assert message in (run_dir / "gateway.log").read_text()
    audit = run_dir / "audit" / "gateway.jsonl"
    recs = [json.loads(line) for line in audit.read_text().splitlines()[1:]]
    assert [r["kind"] for r in recs] == ["proc_start", "key_use", "proc_stop"]
    assert recs[1]["data"]["key"] == key and recs[2]["data"]["rc"] == 2
