"""Key audit records: `veloz keys add|remove` operator commands and `load`'s key_use."""

import io
import json
from pathlib import Path
from typing import Any

import pytest

from procs import cli
from tests.unit.keys.test_store import MemoryKeyring
from veloz.audit import AuditLog
from veloz.audit import verify
from veloz.errors import ConfigError
from veloz.keys.sealed import Argon2idParams
from veloz.keys.store import FileStore
from veloz.keys.store import KeyringStore
from veloz.keys.store import audit_dir
from veloz.keys.store import load
from veloz.keys.store import make_key

FAST = Argon2idParams(memory_kib=64, iterations=2, lanes=1)
SECRET = "auditUnitHmacSecret000000000000000000000000000000000000000000A1"  # noqa: S105 (test)
API_KEY = "auditUnitApiKey00000000000000000000000000000000000000000000000B2"
ADD = ["add", "main", "--venue", "binance-spot", "--scope", "trade", "--api-key-stdin"]


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cfg" / "keys.enc"
    monkeypatch.setenv("VELOZ_KEYS_FILE", str(path))
    monkeypatch.setenv("VELOZ_KEYS_PASSPHRASE", "audit test passphrase")
    monkeypatch.setenv("VELOZ_KEYS_BACKEND", "file")
    return path


def _keys(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["keys", *argv])


def _records(path: Path) -> list[dict[str, Any]]:
    assert verify(path).is_intact
    text = path.read_text()
    assert SECRET not in text and API_KEY not in text
    return [json.loads(line) for line in text.splitlines()[1:]]


def test_keys_cli_add_and_remove_are_audited_beside_the_key_file(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _keys(monkeypatch, [*ADD, "--secret-stdin"], f"{API_KEY}\n{SECRET}\n") == 0
    assert _keys(monkeypatch, ["list"]) == 0
    assert _keys(monkeypatch, ["remove", "main"]) == 0
    path = key_file.parent / "audit" / "keys.jsonl"
    assert audit_dir({"VELOZ_KEYS_FILE": str(key_file)}) == path.parent
    recs = _records(path)
    assert [r["kind"] for r in recs] == ["operator_command", "operator_command"]  # no list
    add, remove = (r["data"] for r in recs)
    assert add == {
        "command": "keys add",
        "key": "main",
        "venue": "binance-spot",
        "scope": "trade",
        "kind": "hmac",
        "replace": False,
        "backend": f"file:{key_file}",
        "result": "ok",
    }
    assert remove["command"] == "keys remove" and remove["scope"] == "trade"
    assert remove["result"] == "ok" and remove["venue"] == "binance-spot"


def test_keys_cli_refused_add_is_audited_with_its_reason_under_run_dir(
    key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = ["--run-dir", str(tmp_path / "run")]
    assert _keys(monkeypatch, [*run, *ADD, "--secret-stdin"], f"{API_KEY}\n{SECRET}\n") == 0
    assert _keys(monkeypatch, [*run, *ADD, "--secret-stdin"], f"{API_KEY}\n{SECRET}\n") == 1
    assert _keys(monkeypatch, [*run, "remove", "ghost"]) == 1
    recs = _records(tmp_path / "run" / "audit" / "keys.jsonl")
    assert [r["data"]["result"] for r in recs] == ["ok", "refused", "refused"]
    assert "already exists" in recs[1]["data"]["error"]
    assert recs[2]["data"]["key"] == "ghost" and "no key named" in recs[2]["data"]["error"]
    assert not (key_file.parent / "audit").exists()


def test_keys_cli_unusable_audit_file_refuses_the_change(
    key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    with AuditLog.in_run_dir(run, "keys"):  # another writer holds the file
        code = _keys(
            monkeypatch,
            ["--run-dir", str(run), *ADD, "--secret-stdin"],
            f"{API_KEY}\n{SECRET}\n",
        )
    assert code == 1
    assert not key_file.exists()  # no key change happens unaudited


class _Sink:
    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def append(self, kind: str, data: Any) -> int:
        self.records.append((kind, dict(data)))
        return len(self.records)


def test_load_records_key_use_with_hint_never_the_secret(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "keys.enc", lambda creating: "pw", FAST)
    store.add(make_key("gw", "binance-spot", "trade", "hmac", API_KEY, SECRET))
    sink = _Sink()
    load("gw", scope="trade", for_process="gateway", store=store, audit=sink)
    ((kind, data),) = sink.records
    assert kind == "key_use"
    assert data == {
        "key": "gw",
        "scope": "trade",
        "process": "gateway",
        "result": "loaded",
        "venue": "binance-spot",
        "kind": "hmac",
        "api_key_hint": "audi...00B2",
        "backend": store.backend,
    }
    assert SECRET not in repr(sink.records) and API_KEY not in repr(sink.records)


def test_load_refused_key_is_recorded_as_refused(tmp_path: Path) -> None:
    store = KeyringStore(MemoryKeyring())
    store.add(make_key("r", "binance-spot", "read", "hmac", API_KEY, SECRET))
    sink = _Sink()
    with pytest.raises(ConfigError, match="cannot be loaded as trade"):
        load("r", scope="trade", for_process="gateway", store=store, audit=sink)
    with pytest.raises(ConfigError, match="may not load trade keys"):
        load("r", scope="trade", for_process="strategy", store=store, audit=sink)
    assert [d["result"] for _, d in sink.records] == ["refused", "refused"]
    assert "has scope read" in sink.records[0][1]["error"]
    assert sink.records[1][1]["process"] == "strategy"


def test_keyring_remove_returns_what_the_key_was() -> None:
    store = KeyringStore(MemoryKeyring())
    store.add(make_key("a", "binance-usdm", "read", "hmac", API_KEY, SECRET))
    info = store.remove("a")
    assert (info.name, info.venue, info.scope, info.api_key_hint) == (
        "a",
        "binance-usdm",
        "read",
        "audi...00B2",
    )
