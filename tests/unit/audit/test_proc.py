"""ProcAudit: proc_start / config_change / proc_stop, secret-free values, exception exits."""

import dataclasses
import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import pytest

from veloz import __version__
from veloz.audit import AuditLog
from veloz.audit import Kind
from veloz.audit import ProcAudit
from veloz.audit import proc as proc_mod
from veloz.audit import verify
from veloz.audit.proc import last_start
from veloz.audit.proc import redact_argv

SECRET = "s3cr3t-value-that-must-never-appear"  # noqa: S105 (test)
HOOK = "https://hooks.example/T000/B000/tokenpart"


@dataclass(frozen=True, slots=True)
class Risk:
    max_notional: str = "50000"
    price_band_bps: int = 500
    max_orders_per_s: float = 5.0
    webhook_url: str = ""


@dataclass(frozen=True, slots=True)
class Conf:
    log_level: str = "INFO"
    symbols: list[str] = field(default_factory=lambda: ["BTCUSDT"])
    risk: Risk = field(default_factory=Risk)
    api_secret: str = ""
    run_dir: Path = Path("/srv/veloz/run")


def _records(run_dir: Path, proc: str = "gw") -> list[dict[str, Any]]:
    path = run_dir / "audit" / f"{proc}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()[1:]]


def _run(run_dir: Path, cfg: object, argv: list[str] | None = None, rc: int = 0) -> None:
    with ProcAudit.start(run_dir, "gw", cfg, argv=argv or []) as audit:
        audit.exit(rc, "test")


def test_proc_start_first_run_records_version_argv_digest_and_per_key_values(
    tmp_path: Path,
) -> None:
    _run(tmp_path, Conf(), argv=["--config", "gw.toml"])
    start, stop = _records(tmp_path)
    assert start["kind"] == "proc_start" and stop["kind"] == "proc_stop"
    data = start["data"]
    assert data["version"] == __version__ and data["argv"] == ["--config", "gw.toml"]
    assert len(data["config_sha256"]) == 64 and data["previous_stop"] == "none"
    keys = {e[0]: e for e in data["config_keys"]}
    assert keys["risk.price_band_bps"][2] == 500
    assert keys["risk.max_orders_per_s"][2] == "5.0"  # floats as text: the format has none
    assert keys["symbols"][2] == ["BTCUSDT"] and keys["run_dir"][2] == "/srv/veloz/run"
    assert stop["data"] == {"rc": 0, "reason": "test"}
    assert verify(tmp_path / "audit" / "gw.jsonl").is_intact


def test_proc_start_same_config_twice_writes_no_config_change(tmp_path: Path) -> None:
    _run(tmp_path, Conf())
    _run(tmp_path, Conf())
    kinds = [r["kind"] for r in _records(tmp_path)]
    assert kinds == ["proc_start", "proc_stop", "proc_start", "proc_stop"]
    assert _records(tmp_path)[2]["data"]["previous_stop"] == "clean"


def test_proc_start_changed_config_writes_config_change_naming_only_changed_keys(
    tmp_path: Path,
) -> None:
    _run(tmp_path, Conf())
    changed = Conf(risk=Risk(max_notional="100", price_band_bps=50), symbols=["ETHUSDT"])
    _run(tmp_path, changed)
    recs = _records(tmp_path)
    assert [r["kind"] for r in recs] == [
        "proc_start",
        "proc_stop",
        "proc_start",
        "config_change",
        "proc_stop",
    ]
    change = recs[3]["data"]
    assert change["since_seq"] == recs[0]["seq"]
    assert change["old_config_sha256"] == recs[0]["data"]["config_sha256"]
    assert change["new_config_sha256"] == recs[2]["data"]["config_sha256"]
    by_key = {c["key"]: c for c in change["changed"]}
    assert set(by_key) == {"risk.max_notional", "risk.price_band_bps", "symbols"}
    assert (by_key["risk.max_notional"]["old_value"], by_key["risk.max_notional"]["new_value"]) == (
        "50000",
        "100",
    )
    assert by_key["symbols"]["new_value"] == ["ETHUSDT"]
    assert by_key["risk.price_band_bps"]["old"] != by_key["risk.price_band_bps"]["new"]
    assert verify(tmp_path / "audit" / "gw.jsonl").is_intact


def test_proc_audit_secret_named_and_webhook_values_are_never_written(tmp_path: Path) -> None:
    _run(tmp_path, Conf())
    _run(tmp_path, Conf(api_secret=SECRET, risk=Risk(webhook_url=HOOK)))
    text = (tmp_path / "audit" / "gw.jsonl").read_text()
    assert SECRET not in text and "tokenpart" not in text
    change = _records(tmp_path)[3]["data"]["changed"]
    by_key = {c["key"]: c for c in change}
    assert set(by_key) == {"api_secret", "risk.webhook_url"}  # seen as changed, by digest
    for item in change:
        assert set(item) == {"key", "old", "new"}, item


def test_proc_audit_url_with_credentials_is_digest_only(tmp_path: Path) -> None:
    @dataclass(frozen=True)
    class WithUrl:
        rest_url: str = "http://user:pw@127.0.0.1:1"

    _run(tmp_path, WithUrl())
    (entry,) = _records(tmp_path)[0]["data"]["config_keys"]
    assert entry[0] == "rest_url" and len(entry) == 2


def test_proc_audit_exception_leaving_the_block_writes_proc_stop_and_propagates(
    tmp_path: Path,
) -> None:
    with pytest.raises(RuntimeError, match="boom"), ProcAudit.start(tmp_path, "gw", Conf()):
        raise RuntimeError("boom")
    stop = _records(tmp_path)[-1]
    assert stop["kind"] == "proc_stop"
    assert stop["data"] == {
        "rc": 1,
        "reason": "exception",
        "error": "RuntimeError",
        "message": "boom",
    }
    assert verify(tmp_path / "audit" / "gw.jsonl").is_intact


def test_proc_audit_system_exit_records_its_code(tmp_path: Path) -> None:
    with pytest.raises(SystemExit), ProcAudit.start(tmp_path, "gw", Conf()):
        raise SystemExit(3)
    assert _records(tmp_path)[-1]["data"] == {"rc": 3, "reason": "system_exit"}


def test_proc_audit_exit_is_idempotent_and_merges_stop_data(tmp_path: Path) -> None:
    audit = ProcAudit.start(tmp_path, "gw", Conf())
    audit.reason = "SIGTERM"
    audit.stop_data["risk_state"] = "ACTIVE"
    assert audit.exit(0) == 0
    assert audit.exit(5, "again") == 5
    assert audit.append(Kind.CANCEL, {"cid": "x"}) == 0  # closed: nothing more is written
    recs = _records(tmp_path)
    assert [r["kind"] for r in recs] == ["proc_start", "proc_stop"]
    assert recs[1]["data"] == {"rc": 0, "reason": "SIGTERM", "risk_state": "ACTIVE"}


def test_proc_audit_previous_run_without_proc_stop_is_reported_missing(tmp_path: Path) -> None:
    audit = ProcAudit.start(tmp_path, "gw", Conf())
    assert audit.log is not None
    audit.log.close()  # as if killed: no proc_stop
    _run(tmp_path, Conf())
    assert _records(tmp_path)[1]["data"]["previous_stop"] == "missing"


def test_proc_audit_disabled_writes_nothing(tmp_path: Path) -> None:
    with ProcAudit.disabled() as audit:
        assert audit.append(Kind.PROC_START, {}) == 0
        assert audit.exit(0) == 0
    assert not (tmp_path / "audit").exists()


def test_proc_audit_previous_start_without_key_map_gives_changed_none(tmp_path: Path) -> None:
    # A file written before per-key maps existed (the old gateway's proc_start).
    with AuditLog.in_run_dir(tmp_path, "gw") as log:
        log.append(Kind.PROC_START, {"version": "0.0", "config_sha256": "ab" * 32})
        log.append(Kind.PROC_STOP, {})
    _run(tmp_path, Conf())
    change = _records(tmp_path)[3]
    assert change["kind"] == "config_change" and change["data"]["changed"] is None
    assert change["data"]["old_config_sha256"] == "ab" * 32


def test_proc_audit_supervisor_child_records_are_not_the_previous_start(tmp_path: Path) -> None:
    _run(tmp_path, Conf())
    with AuditLog.in_run_dir(tmp_path, "gw") as log:
        log.append(Kind.PROC_START, {"child": "feed", "config_sha256": "cd" * 32})
    _run(tmp_path, Conf())
    kinds = [r["kind"] for r in _records(tmp_path)]
    assert "config_change" not in kinds


def test_proc_audit_large_config_drops_values_then_the_key_map(tmp_path: Path) -> None:
    many = {f"k{i:03d}": "v" * 40 for i in range(60)}
    _run(tmp_path, many)  # with values this exceeds one record: digests only
    entries = _records(tmp_path)[0]["data"]["config_keys"]
    assert len(entries) == 60 and all(len(e) == 2 for e in entries)
    huge = {f"key_number_{i:04d}": i for i in range(400)}
    _run(tmp_path, huge)
    start = _records(tmp_path)[2]["data"]
    assert "config_keys" not in start and start["config_keys_omitted"] == 400


def test_last_start_scans_back_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proc_mod, "_CHUNK", 97)  # lines straddle many chunk edges
    _run(tmp_path, Conf())
    with AuditLog.in_run_dir(tmp_path, "gw") as log:
        for i in range(50):
            log.append(Kind.ORDER_SENT, {"client_order_id": f"c{i}", "px": i})
    rec, last_kind = last_start(tmp_path / "audit" / "gw.jsonl")
    assert rec is not None and rec["seq"] == 1 and last_kind == "order_sent"
    assert last_start(tmp_path / "audit" / "none.jsonl") == (None, "")


def test_redact_argv_hides_values_of_secret_named_flags() -> None:
    argv = ["--config", "a.toml", "--api-secret", "xyz", "--password=hunter2", "--run-dir", "r"]
    assert redact_argv(argv) == [
        "--config",
        "a.toml",
        "--api-secret",
        "***",
        "--password=***",
        "--run-dir",
        "r",
    ]


def test_proc_audit_second_writer_of_the_same_file_is_refused(tmp_path: Path) -> None:
    from veloz.errors import ConfigError

    with ProcAudit.start(tmp_path, "gw", Conf()), pytest.raises(ConfigError, match="held"):
        ProcAudit.start(tmp_path, "gw", Conf())


def test_proc_audit_config_digest_ignores_nothing_a_replace_changes(tmp_path: Path) -> None:
    base = Conf()
    _run(tmp_path, base)
    _run(tmp_path, dataclasses.replace(base, log_level="DEBUG"))
    change = _records(tmp_path)[3]["data"]["changed"]
    assert change == [
        {
            "key": "log_level",
            "old": change[0]["old"],
            "new": change[0]["new"],
            "old_value": "INFO",
            "new_value": "DEBUG",
        }
    ]


def test_proc_audit_env_dir_moves_the_file_out_of_the_run_dir(tmp_path: Path) -> None:
    elsewhere = tmp_path / "var" / "audit"
    audit = ProcAudit.start(tmp_path / "run", "gw", Conf(), env={"VELOZ_AUDIT_DIR": str(elsewhere)})
    audit.exit(0)
    assert (elsewhere / "gw.jsonl").exists() and not (tmp_path / "run" / "audit").exists()
