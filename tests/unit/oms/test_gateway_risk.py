"""Gateway risk wiring with the fake venue of `test_gateway`: RISK_STATE out, kill/resume over
`control`, cancel-all in HALTED, refusals, SYNC, audit records, webhook, config widening."""

import asyncio
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from bench.sim_load import run_async
from tests.unit.oms.test_gateway import INST
from tests.unit.oms.test_gateway import VENUE
from tests.unit.oms.test_gateway import FakeVenue
from tests.unit.oms.test_gateway import Out
from tests.unit.oms.test_gateway import Rig
from veloz._core import wire
from veloz.audit.log import AuditLog
from veloz.bus.endpoints import BusConfig
from veloz.bus.sockets import RepSocket
from veloz.bus.sockets import request
from veloz.errors import ConfigError
from veloz.errors import OrderRejected
from veloz.model.events import OrderStatus
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import RISK_TOPIC
from veloz.oms.gateway import Gateway
from veloz.risk.config import RiskLimits
from veloz.risk.engine import RiskEvent
from veloz.risk.engine import RiskState


class RiskRig(Rig):
    """`Rig` with RiskLimits, an audit file and a recording webhook."""

    def __init__(self, tmp: Path, **risk: Any) -> None:
        limits: dict[str, Any] = {
            "max_notional": "100000",
            "price_band_bps": 500,
            "max_orders_per_s": 1000.0,
            "max_cancels_per_s": 1000.0,
        }
        limits.update(risk)
        cfg = GatewayConfig(symbols=["BTCUSDT", "ETHUSDT"], risk=RiskLimits(**limits))
        self.venue = FakeVenue()
        self.out = Out()
        self.hooked: list[RiskEvent] = []
        self.audit = AuditLog(tmp / "audit" / "gateway.jsonl", "gateway")
        self.gw = Gateway(cfg, self.venue, self.out, audit=self.audit, webhook=self.hooked.append)
        self.md = wire.Encoder(wire.venue_id(VENUE))
        self.strat = wire.Encoder(0)

    def kinds(self) -> list[str]:
        self.audit.sync()
        lines = self.audit.path.read_text().splitlines()[1:]  # line 1: the header
        return [json.loads(line)["kind"] for line in lines]

    def risk_msgs(self) -> list[Any]:
        return self.out.of(RISK_TOPIC)


def run_rig(tmp: Path, fn: Any, **risk: Any) -> RiskRig:
    box: list[RiskRig] = []

    async def main() -> None:
        rig = RiskRig(tmp, **risk)
        box.append(rig)
        await fn(rig)
        await rig.settle()

    run_async(main())
    return box[0]


def test_gateway_kill_publishes_halted_cancels_live_orders_refuses_new_and_audits(
    tmp_path: Path,
) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        r.new("c1")
        await r.settle()
        reply = r.gw.control({"cmd": "kill", "reason": "test kill", "operator": "qa"})
        await r.settle()
        assert reply["ok"] and reply["status"]["state"] == "HALTED"
        r.new("c2")
        await r.settle()

    r = run_rig(tmp_path, body)
    (msg,) = r.risk_msgs()
    assert isinstance(msg, wire.RiskStateMsg)
    assert (msg.old_state, msg.new_state, msg.scope, msg.trigger) == (0, 3, "", "kill")
    assert msg.detail == "test kill"
    assert r.venue.canceled_all == ["BTCUSDT"]
    last = {e.client_order_id: e for e in r.events()}
    assert last["c1"].status == wire.Status.CANCELED
    assert last["c2"].status == wire.Status.REJECTED
    assert last["c2"].reason == "halted: new orders are refused (kill: test kill)"
    assert [o.client_order_id for o in r.venue.placed] == ["c1"]
    assert [e.new for e in r.hooked] == [RiskState.HALTED]
    kinds = r.kinds()
    assert kinds.index("order_sent") < kinds.index("operator_command") < kinds.index("cancel")
    assert "risk_state" in kinds and kinds.count("order_sent") == 1


def test_gateway_resume_after_kill_goes_active_and_orders_pass_again(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        r.gw.control({"cmd": "kill"})
        reply = r.gw.control({"cmd": "resume", "operator": "qa"})
        assert reply["status"]["state"] == "ACTIVE"
        r.new("c3")
        await r.settle()

    r = run_rig(tmp_path, body)
    assert [(m.old_state, m.new_state, m.trigger) for m in r.risk_msgs()] == [
        (0, 3, "kill"),
        (3, 0, "resume"),
    ]
    assert [e.status for e in r.events()] == [wire.Status.NEW]
    assert r.kinds().count("operator_command") == 2


def test_gateway_control_unknown_cmd_is_refused_and_not_audited(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        reply = r.gw.control({"cmd": "explode"})
        assert reply == {"ok": False, "error": "unknown cmd 'explode': status, kill or resume"}

    r = run_rig(tmp_path, body)
    assert r.kinds() == []


def test_gateway_status_has_state_per_symbol_limits_and_counters(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        st = r.gw.control({"cmd": "status"})["status"]
        assert st["state"] == "ACTIVE"
        assert st["symbols"] == {"BTCUSDT": "ACTIVE", "ETHUSDT": "ACTIVE"}
        assert st["limits"]["max_notional"] == "100000"
        assert st["counters"]["n_halted"] == 0 and st["counters"]["n_ok"] == 0
        assert st["gateway"]["live_orders"] == 0

    run_rig(tmp_path, body)


def test_gateway_venue_reject_spike_degrades_to_cancel_only(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        r.venue.place_fx = OrderRejected("insufficient balance", "venue", -2010)
        r.new("a1")
        r.new("a2")
        await r.settle()
        r.venue.place_fx = None
        r.new("a3")
        await r.settle()

    r = run_rig(tmp_path, body, error_spike_count=2, error_spike_window_s=60.0)
    assert [(m.new_state, m.trigger) for m in r.risk_msgs()] == [(2, "error_spike")]
    last = {e.client_order_id: e for e in r.events()}
    assert last["a3"].reason.startswith("cancel_only: new orders are refused (error_spike: ")


def test_gateway_position_limit_from_exec_state_refuses_growing_order(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        r.gw.pretrade.core.set_position(0, 1_000)  # 0.01000 BTC long, as sync_positions sets
        r.new("p1", qty=1_000)
        await r.settle()

    r = run_rig(tmp_path, body, max_position={"BTCUSDT": "0.015"})
    (ev,) = r.events()
    assert ev.status == wire.Status.REJECTED
    assert ev.reason == "position_limit: |position| 0.02000 > 0.01500 BTC"


def test_gateway_sync_republishes_live_orders_of_that_strategy_only(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        r.new("s1a")
        r.new("s1b")
        r.new("s2a", strategy="s2")
        await r.settle()
        r.out.sent.clear()
        sync = r.strat.order_cmd(0, wire.Action.SYNC, "s1", "", 0, 0, 0, 0, 0, 0, 0, False, 1)
        r.cmd(sync, "s1")

    r = run_rig(tmp_path, body)
    got = sorted((e.client_order_id, e.status) for e in r.events("s1"))
    assert got == [("s1a", wire.Status.NEW), ("s1b", wire.Status.NEW)]
    assert r.events("s2") == [] and r.gw.n_syncs == 1


def test_gateway_sync_while_recovering_is_answered_after_recovery(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        r.gw.recovering = True
        sync = r.strat.order_cmd(0, wire.Action.SYNC, "s1", "", 0, 0, 0, 0, 0, 0, 0, False, 1)
        r.cmd(sync, "s1")
        assert r.gw.n_syncs == 0
        await r.gw.recover()
        assert r.gw.n_syncs == 1 and not r.gw.recovering

    run_rig(tmp_path, body)


def test_gateway_stale_feed_tick_makes_symbol_cancel_only(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()  # BTCUSDT has md; ETHUSDT never
        now = [10**12]
        r.gw.pretrade._now = lambda: now[0]
        r.gw.risk.evaluate(now[0])
        now[0] += 2 * 10**9
        r.gw.pretrade.tick(r.gw.state, 0, now[0])

    r = run_rig(tmp_path, body, stale_feed_s=1.0)
    scopes = {(m.scope, m.new_state, m.trigger) for m in r.risk_msgs()}
    assert ("ETHUSDT", 2, "stale_feed") in scopes


def test_gateway_md_not_live_marks_book_invalid_then_live_recovers(tmp_path: Path) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        st = r.md.status(INST, False, "resync", 1)
        r.gw.on_md(b"md.binance-spot.BTCUSDT.status", st)
        assert r.gw.risk.symbol_state["BTCUSDT"] == RiskState.CANCEL_ONLY

    r = run_rig(tmp_path, body, recover_after_s=0.0)
    assert [(m.scope, m.trigger) for m in r.risk_msgs()] == [("BTCUSDT", "book_invalid")]


def test_gateway_config_max_position_for_unknown_symbol_is_config_error() -> None:
    with pytest.raises(ConfigError, match=r"max_position\.ETHUSDT"):
        GatewayConfig(risk=RiskLimits(max_position={"ETHUSDT": "1"}))


def test_control_rep_and_request_round_trip_and_unreachable() -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="vz"))
    cfg = BusConfig(run_dir=run_dir)
    with pytest.raises(ConfigError, match="no endpoint"):
        request(cfg, {"cmd": "status"}, timeout_s=0.2)
    with RepSocket(cfg) as rep:
        done = threading.Event()

        def serve() -> None:
            while not done.is_set():
                if rep.socket.poll(50):
                    rep.serve_pending(lambda req: {"ok": True, "echo": req})

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        try:
            assert request(cfg, {"cmd": "status"}, timeout_s=3.0) == {
                "ok": True,
                "echo": {"cmd": "status"},
            }
        finally:
            done.set()
            t.join(5)
    assert rep.n_requests == 1


def test_veloz_risk_and_kill_without_gateway_exit_1_and_bad_usage_exit_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from procs import kill
    from procs import risk

    run_dir = Path(tempfile.mkdtemp(prefix="vz"))
    assert risk.main(["status", "--run-dir", str(run_dir)]) == 1
    assert "veloz risk: gateway unreachable" in capsys.readouterr().err
    assert kill.main(["--run-dir", str(run_dir)]) == 1
    assert risk.main(["explode"]) == 2


def test_gateway_risk_sweep_cancels_an_order_that_came_back_live_while_halted(
    tmp_path: Path,
) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        r.gw.control({"cmd": "kill"})  # nothing live yet: no cancel-all
        await r.settle()
        assert r.venue.canceled_all == []
        # an order sent just before the kill comes back NEW from the venue
        r.gw.risk.is_killed = False
        r.gw.risk.state = RiskState.ACTIVE
        r.gw.pretrade.core.set_mode(0)
        r.new("late")
        await r.settle()
        r.gw.risk.kill("again", 0)  # the event cancels soon (call_soon), then the sweep
        await asyncio.sleep(0)
        await r.settle()
        assert r.venue.canceled_all == ["BTCUSDT"]
        r.venue.canceled_all.clear()
        r.gw._orders["late"].status = OrderStatus.NEW  # as if it came back live again
        r.gw._last_sweep_ns = 0
        r.gw.risk_tick()
        await r.settle()
        assert r.venue.canceled_all == ["BTCUSDT"]
        r.gw.risk_tick()  # within RISK_SWEEP_S: no second sweep
        await r.settle()
        assert r.venue.canceled_all == ["BTCUSDT"]

    run_rig(tmp_path, body)


def test_gateway_automatic_cancel_only_cancels_the_live_orders_of_the_symbol(
    tmp_path: Path,
) -> None:
    async def body(r: RiskRig) -> None:
        r.bbo()
        r.new("live1")
        await r.settle()
        r.venue.place_fx = OrderRejected("insufficient balance", "venue", -2010)
        r.new("a1")
        r.new("a2")
        await r.settle()
        await asyncio.sleep(0)  # the cancel-all is scheduled with call_soon
        await r.settle()

    r = run_rig(tmp_path, body, error_spike_count=2, error_spike_window_s=60.0)
    assert r.venue.canceled_all == ["BTCUSDT"]
    last = {e.client_order_id: e for e in r.events()}
    assert last["live1"].status == wire.Status.CANCELED


def test_gateway_order_sent_audit_record_is_written_after_the_send(tmp_path: Path) -> None:
    # The audit write (hash + write, ~80 us) must stay off trigger-to-send: it happens once
    # the request's first step has sent the order, and before the loop goes idle.
    seen: list[tuple[int, list[str]]] = []

    async def body(r: RiskRig) -> None:
        placed = r.venue.place

        async def place(order: Any, **kw: Any) -> Any:
            seen.append((len(r.venue.placed), r.kinds()))
            return await placed(order, **kw)

        r.venue.place = place  # type: ignore[method-assign]
        r.bbo()
        r.new("c1")
        assert "order_sent" not in r.kinds()  # queued, not written yet
        await r.settle()

    r = run_rig(tmp_path, body)
    assert seen and "order_sent" not in seen[0][1]  # the send came first
    assert r.kinds().count("order_sent") == 1
