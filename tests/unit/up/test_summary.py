"""The strategies table of ``veloz up``: rows from state files, notes, and one clear line for
a missing, unreadable or damaged file (never an exception)."""

import copy
import json
from pathlib import Path
from typing import Any

from veloz.bus.endpoints import BusConfig
from veloz.up.config import UpConfig
from veloz.up.plan import prepare_run_dir
from veloz.up.plan import strategy_procs
from veloz.up.summary import format_state
from veloz.up.summary import strategies_report


def _sym(qty: str, entry: str, realized: str, unrealized: str, n_fills: int) -> dict[str, Any]:
    return {
        "quote": "USDT",
        "qty": qty,
        "entry_px": entry,
        "realized_pnl": realized,
        "unrealized_pnl": unrealized,
        "fees": {"USDT": "0.00007500"} if n_fills else {},
        "n_fills": n_fills,
    }


def _strategy(state: str, symbols: dict[str, Any], **counters: Any) -> dict[str, Any]:
    c = {
        "n_orders_sent": 4,
        "n_cancels_sent": 2,
        "n_open": 0,
        "n_fills": 2,
        "n_rejected": {"gateway": 1, "venue": 0, "bus": 0},
        "n_duplicate_events": 0,
        "n_duplicate_fills": 0,
        "n_stale_events": 0,
        "n_unknown_orders": 0,
        "n_errors": 0,
        "n_timers": 0,
    } | counters
    return {
        "state": state,
        "error": "",
        "venue": "binance-spot",
        "counters": c,
        "symbols": symbols,
        "totals": {
            "quotes": ["USDT"],
            "realized_pnl": "0.0050000",
            "unrealized_pnl": "-0.0050000",
            "fees": {"USDT": "0.00007500"},
        },
    }


DOC: dict[str, Any] = {
    "format": 1,
    "proc": "main",
    "pid": 1,
    "wall_ns": 0,
    "is_final": True,
    "runtime": {"n_messages": 9, "n_malformed": 0, "n_unknown_topic": 0, "n_bad_fills": 0},
    "strategies": {
        "mm": _strategy(
            "stopped",
            {
                "BTCUSDT": _sym("0.00050", "50000.00", "0.0050000", "-0.0050000", 2),
                "ETHUSDT": _sym("0.0000", "0.00", "0.000000", "0.000000", 0),
            },
        ),
    },
}


def _write(run_dir: Path, name: str, text: str) -> Path:
    path = run_dir / "state" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_format_state_one_row_per_symbol_with_total_and_reject_note() -> None:
    assert format_state(DOC, "strategy.main").splitlines() == [
        "strategies (strategy.main, at exit)",
        "  strategy  symbol   state    orders  fills  rejects  errors  position             "
        "realized  unrealized  quote  fees",
        "  mm        BTCUSDT  stopped       4      2        1       0  0.00050 @ 50000.00  "
        "0.0050000  -0.0050000  USDT   USDT 0.00007500",
        "            ETHUSDT                       0                   flat                 "
        "0.000000    0.000000  USDT   -",
        "            (total)                       2                                       "
        "0.0050000  -0.0050000  USDT   USDT 0.00007500",
        "    mm: rejected by gateway=1 venue=0 bus=0",
    ]


def test_format_state_failed_and_never_started_show_state_and_reason() -> None:
    doc = copy.deepcopy(DOC)
    doc["is_final"] = False
    bad = _strategy("failed", {"BTCUSDT": _sym("0.00000", "0.00", "0", "0", 0)}, n_errors=1)
    bad["error"] = "on_book raised RuntimeError: boom"
    never = _strategy("never_started", {"BTCUSDT": None}, n_orders_sent=0)
    never["counters"]["n_rejected"] = {"gateway": 0, "venue": 0, "bus": 0}
    never["error"] = "start timeout: no instrument for BTCUSDT"
    doc["strategies"] = {"bad": bad, "never": never}
    lines = format_state(doc, "strategy.main").splitlines()
    assert lines[0] == "strategies (strategy.main, last periodic snapshot: no clean exit)"
    assert lines[2].split()[:7] == ["bad", "BTCUSDT", "failed", "4", "0", "1", "1"]
    assert lines[3].split() == [
        "never",
        "BTCUSDT",
        "never_started",
        "0",
        "0",
        "0",
        "no",
        "instrument",
    ]
    assert "    bad: failed: on_book raised RuntimeError: boom" in lines
    assert "    never: never_started: start timeout: no instrument for BTCUSDT" in lines


def test_strategies_report_reads_state_dir(tmp_path: Path) -> None:
    _write(tmp_path, "strategy.main.json", json.dumps(DOC))
    out = strategies_report(tmp_path, ["main"])
    assert out == format_state(DOC, "strategy.main") + "\n"


def test_strategies_report_missing_file_gives_one_line(tmp_path: Path) -> None:
    out = strategies_report(tmp_path, ["main"])
    assert out.count("\n") == 1
    assert out.startswith("strategies (main): no state file ")
    assert str(tmp_path / "state" / "strategy.main.json") in out


def test_strategies_report_no_files_and_no_procs_says_so(tmp_path: Path) -> None:
    assert strategies_report(tmp_path) == f"strategies: no state file in {tmp_path / 'state'}\n"


def test_strategies_report_bad_json_gives_one_line_not_a_crash(tmp_path: Path) -> None:
    path = _write(tmp_path, "strategy.main.json", '{"format": 1, "strat')
    out = strategies_report(tmp_path, ["main"])
    assert out.startswith(f"strategies (strategy.main): {path}: bad content: JSONDecodeError")
    assert out.count("\n") == 1


def test_strategies_report_wrong_format_or_missing_key_gives_one_line(tmp_path: Path) -> None:
    _write(tmp_path, "strategy.a.json", json.dumps(DOC | {"format": 99}))
    broken = copy.deepcopy(DOC)
    del broken["strategies"]["mm"]["counters"]["n_errors"]
    _write(tmp_path, "strategy.b.json", json.dumps(broken))
    lines = strategies_report(tmp_path).strip().split("\n\n")
    assert "format 99, this reader knows 1" in lines[0]
    assert "bad content: KeyError('n_errors')" in lines[1]


def test_strategies_report_unreadable_file_gives_one_line(tmp_path: Path) -> None:
    (tmp_path / "state" / "strategy.main.json").mkdir(parents=True)  # a dir: read fails
    out = strategies_report(tmp_path, ["main"])
    assert out.startswith("strategies (strategy.main): ")
    assert ": unreadable: " in out


def test_prepare_run_dir_clears_previous_state_files(tmp_path: Path) -> None:
    old = _write(tmp_path, "strategy.main.json", json.dumps(DOC))
    keep = _write(tmp_path, "notes.txt", "not a state file")
    prepare_run_dir(UpConfig(bus=BusConfig(run_dir=tmp_path)))
    assert not old.exists() and keep.exists()


def test_strategy_procs_default_main_and_none_without_strategy(tmp_path: Path) -> None:
    bus = BusConfig(run_dir=tmp_path)
    assert strategy_procs(UpConfig(bus=bus)) == []
    assert strategy_procs(UpConfig(bus=bus, strategy={"strategies": []})) == ["main"]
    assert strategy_procs(UpConfig(bus=bus, strategy={"proc": "p2"})) == ["p2"]
