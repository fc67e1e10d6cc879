"""`veloz kill` / `veloz risk` against a `veloz gateway` subprocess on `veloz sim`.

The test is the strategy and the feed (the `test_gateway_sim` harness: fake md PUB, PUSH
commands, SUB on ``exec`` including ``risk.gateway``). A resting order, then `veloz kill`:
the order is CANCELED, RISK_STATE HALTED is on the bus, a new order is REJECTED as halted,
`veloz risk status --json` says HALTED; `veloz risk resume` gives ACTIVE; the gateway's audit
file verifies and holds order_sent, cancel, risk_state and operator_command records.
"""

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bench.sim_load import REPO
from bench.sim_load import SimProc
from tests.integration.test_gateway_sim import SYMBOL
from tests.integration.test_gateway_sim import Gw
from tests.integration.test_gateway_sim import Rig
from tests.integration.test_gateway_sim import sim_gateway
from veloz._core import wire

pytestmark = pytest.mark.integration

VENUE = "binance-spot"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(20, seed=13, venue="spot", symbols=SYMBOL, start_timeout_s=30) as proc:
        assert proc.key, "the sim printed no trade account"
        yield proc


def veloz(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procs.cli", *args],
        cwd=REPO, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@pytest.fixture
def rig(sim: SimProc) -> Iterator[Rig]:
    g = sim_gateway(sim, VENUE, risk_extra="stale_feed_s = 30.0\n")
    gw = Gw(sim, g, (b"risk.",))
    try:
        yield gw.rig
    finally:
        gw.close()
        g.close()


def test_kill_cancels_halts_refuses_then_resume_and_audit_verifies(rig: Rig) -> None:
    r = rig
    run = str(r.run_dir)
    r.wait(b"lat.gateway", lambda m: True, "gateway up")
    qty = r.inst.qty("0.01")
    away = r.bid * 9 // 10 // r.inst.tick_raw * r.inst.tick_raw
    kw: dict[str, Any] = {
        "side": wire.Side.BUY, "ord_type": wire.OrdType.LIMIT, "tif": wire.Tif.GTC,
        "px": away, "qty": qty,
    }  # fmt: skip
    cid, ev = r.first_answer(**kw)
    assert ev.status == wire.Status.NEW, ev.to_dict()

    done = veloz("kill", "--run-dir", run, "--reason", "integration test")
    assert done.returncode == 0, done.stderr
    halted = r.wait(b"risk.gateway", lambda m: m.new_state == 3, "RISK_STATE HALTED")
    assert (halted.trigger, halted.detail, halted.scope) == ("kill", "integration test", "")
    r.order_event(cid, wire.Status.CANCELED)

    cid2 = r.new(**kw)
    refused = r.order_event(cid2, wire.Status.REJECTED)
    assert refused.reason.startswith("halted: "), refused.reason

    st = veloz("risk", "status", "--run-dir", run, "--json")
    assert st.returncode == 0, st.stderr
    assert json.loads(st.stdout)["state"] == "HALTED"

    res = veloz("risk", "resume", "--run-dir", run)
    assert res.returncode == 0, res.stderr
    r.wait(b"risk.gateway", lambda m: m.new_state == 0 and m.trigger == "resume", "ACTIVE")
    st = veloz("risk", "status", "--run-dir", run, "--json")
    assert json.loads(st.stdout)["state"] == "ACTIVE"

    r.proc.send_signal(signal.SIGTERM)
    assert r.proc.wait(15) == 0, r.log.read_text()[-2000:]
    audit = r.run_dir / "audit" / "gateway.jsonl"
    ver = veloz("audit", "verify", str(audit))
    assert ver.returncode == 0, ver.stdout + ver.stderr
    kinds = [json.loads(line)["kind"] for line in audit.read_text().splitlines()[1:]]
    for kind in ("proc_start", "key_use", "order_sent", "cancel", "risk_state",
                 "operator_command", "proc_stop"):  # fmt: skip
        assert kind in kinds, kinds
    assert kinds.count("operator_command") == 2
    assert "secret" not in audit.read_text().lower()
    # no unreachable gateway now: a clear line and exit 1
    gone = veloz("risk", "status", "--run-dir", run)
    assert gone.returncode == 1 and "gateway unreachable" in gone.stderr
