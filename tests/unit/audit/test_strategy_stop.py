"""`veloz strategy` stop records: a FAILED strategy gets its own proc_stop when it fails, and
the process's proc_stop lists every strategy's final state."""

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from procs import strategy as strategy_proc
from veloz.audit import ProcAudit
from veloz.strategy.base import StrategyState


def _slot(name: str, state: int, error: str = "", n_errors: int = 0) -> SimpleNamespace:
    ctx = SimpleNamespace(name=name, state=state, n_errors=n_errors)
    return SimpleNamespace(ctx=ctx, tally=SimpleNamespace(error=error))


def test_strategy_stop_records_each_failed_strategy_and_every_final_state(tmp_path: Path) -> None:
    runtime: Any = SimpleNamespace(
        slots=[
            _slot("ok", StrategyState.STOPPED),
            _slot("bad", StrategyState.FAILED, "on_book raised ValueError: x" * 20, 1),
        ]
    )
    audit = ProcAudit.start(tmp_path, "strategy.main", {"proc": "main"}, argv=[])
    strategy_proc._audit_failed(audit, runtime.slots[1])  # the runtime's on_failed hook
    strategy_proc._audit_strategies(audit, runtime)
    audit.exit(0, "SIGTERM")
    lines = (tmp_path / "audit" / "strategy.main.jsonl").read_text().splitlines()[1:]
    recs = [json.loads(line) for line in lines]
    assert [r["kind"] for r in recs] == ["proc_start", "proc_stop", "proc_stop"]
    failed, own = recs[1]["data"], recs[2]["data"]
    assert (failed["strategy"], failed["state"], failed["n_errors"]) == ("bad", "FAILED", 1)
    assert failed["error"].startswith("on_book raised ValueError") and len(failed["error"]) == 200
    assert own == {
        "rc": 0,
        "reason": "SIGTERM",
        "strategies": {"ok": "STOPPED", "bad": "FAILED"},
    }
