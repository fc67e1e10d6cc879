"""`veloz kill` / `veloz risk` against a `veloz gateway` subprocess on `veloz sim`.

The test is the strategy and the feed (the `test_gateway_sim` harness: fake md PUB, PUSH
commands, SUB on ``exec`` including ``risk.gateway``). A resting order, then `veloz kill`:
the order is CANCELED, RISK_STATE HALTED is on the bus, a new order is REJECTED as halted,
`veloz risk status --json` says HALTED; `veloz risk resume` gives ACTIVE; the gateway's audit
file verifies and holds order_sent, cancel, risk_state and operator_command records.
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from bench.sim_load import REPO
from bench.sim_load import SimProc
from tests.integration.test_gateway_sim import STRATEGY
from tests.integration.test_gateway_sim import SYMBOL
from tests.integration.test_gateway_sim import Rig
from tests.integration.test_gateway_sim import sim_gateway
from veloz._core import wire
from veloz.bus.endpoints import bind_name
from veloz.bus.sockets import PushSocket
from veloz.bus.sockets import SubSocket

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
    run_dir, inst, bid, ask, conf, cfg, feed = (
        g.run_dir,
        g.inst,
        g.bid,
        g.ask,
        g.conf,
        g.cfg,
        g.feed,
    )
    env = dict(os.environ, VELOZ_API_KEY=sim.key, VELOZ_API_SECRET=sim.secret.decode())
    log = run_dir / "gateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "procs.cli", "gateway", "--config", str(conf),
             "--run-dir", str(run_dir)],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    sub = SubSocket(cfg, prefixes=(f"ex.{STRATEGY}.".encode(), b"lat.gateway", b"risk."))
    sub.connect(bind_name(cfg, "exec"))
    push = PushSocket(cfg)
    try:
        yield Rig(run_dir, proc, inst, bid, ask, push, sub, wire.Encoder(0), log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        push.close()
        sub.close()
        feed.stop.set()
        feed.join(5)


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
