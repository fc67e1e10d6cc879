"""`veloz gateway` killed with SIGKILL and restarted on the same run dir against `veloz sim`.

The test is the strategy and the feed (the `test_gateway_sim` harness). It places resting
orders, kills the gateway, cancels one of them at the venue while the gateway is down, and
restarts it: the restarted gateway must publish, for every order, the state the sim reports
(queried over REST with the demo key): none lost, none left unknown, none sent twice.
"""

import json
import signal
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bench.sim_load import SimProc
from tests.integration.test_gateway_sim import INST
from tests.integration.test_gateway_sim import STRATEGY
from tests.integration.test_gateway_sim import SYMBOL
from tests.integration.test_gateway_sim import Gw
from tests.integration.test_gateway_sim import sim_gateway
from veloz._core import fixed
from veloz._core import wire
from veloz.model.events import ASSET_DP
from veloz.model.events import OrderUpdate
from veloz.oms.journal import OrderSent
from veloz.oms.journal import journal_path
from veloz.oms.journal import replay
from veloz.oms.recovery import rebuild
from veloz.oms.state import ExecState
from veloz.venues.binance.endpoints import endpoints
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import rest_signed_query

pytestmark = pytest.mark.integration

VENUE = "binance-spot"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(20, seed=12, venue="spot", symbols=SYMBOL, start_timeout_s=30) as proc:
        assert proc.key, "the sim printed no trade account"
        yield proc


def _signed(sim: SimProc, method: str, path: str, params: list[tuple[str, str]]) -> Any:
    signer = HmacSigner(sim.key, sim.secret.decode())
    query = rest_signed_query(signer, [*params, ("timestamp", str(int(time.time() * 1000)))])
    url = f"{sim.rest}{path}?{query}"
    req = urllib.request.Request(url, method=method, headers={"X-MBX-APIKEY": sim.key})  # noqa: S310
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 (127.0.0.1 sim)
        return json.loads(resp.read())


def test_gateway_kill9_restart_publishes_the_sims_final_state_of_every_order(
    sim: SimProc,
) -> None:
    g = sim_gateway(sim, VENUE)
    ep = endpoints(VENUE).at_base(sim.rest)
    inst, bid = g.inst, g.bid
    gws: list[Gw] = []
    try:
        gw = Gw(sim, g)
        gws.append(gw)
        r = gw.rig
        r.wait(b"lat.gateway", lambda m: True, "gateway up")
        qty = inst.qty("0.01")
        away = bid * 9 // 10 // inst.tick_raw * inst.tick_raw
        kw: dict[str, Any] = {
            "side": wire.Side.BUY, "ord_type": wire.OrdType.LIMIT, "tif": wire.Tif.GTC,
            "px": away, "qty": qty,
        }  # fmt: skip
        first, ev = r.first_answer(**kw)
        while ev.reason.startswith("gateway recovering"):
            first, ev = r.first_answer(**kw)
        assert ev.status == wire.Status.NEW, ev.to_dict()
        cids = [first] + [r.new(**kw) for _ in range(3)]
        for cid in cids[1:]:
            r.order_event(cid, wire.Status.NEW)
        gw.proc.send_signal(signal.SIGKILL)
        gw.proc.wait(10)
        gw.close()

        # While the gateway is down: one order is canceled at the venue.
        _signed(sim, "DELETE", ep.order_path, [("symbol", SYMBOL), ("origClientOrderId", cids[1])])

        gw2 = Gw(sim, g)
        gws.append(gw2)
        want = {
            cid: _signed(
                sim, "GET", ep.order_path, [("symbol", SYMBOL), ("origClientOrderId", cid)]
            )["status"]
            for cid in cids
        }
        assert want[cids[1]] == "CANCELED" and list(want.values()).count("NEW") == 3
        gw2.rig.wait(b"lat.gateway", lambda m: True, "restarted gateway up")
        gw2.proc.send_signal(signal.SIGTERM)
        assert gw2.proc.wait(15) == 0, gw2.log.read_text()[-2000:]
        assert "gateway.recovered" in gw2.log.read_text()
        # What the restarted gateway learned and published is in its journal (the test's SUB
        # may join after the recovery events went out: PUB/SUB has no replay).
        last: dict[str, str] = {}
        for e in replay(journal_path(g.run_dir)):
            if isinstance(e, OrderUpdate):
                last[e.client_order_id] = e.status.value
        assert {c: last.get(c) for c in cids} == want
        sent = [
            e.order.client_order_id
            for e in replay(journal_path(g.run_dir))
            if isinstance(e, OrderSent)
        ]
        assert sorted(sent) == sorted(set(sent)) and set(cids) <= set(sent)
        open_now = _signed(sim, "GET", ep.open_orders_path, [("symbol", SYMBOL)])
        assert sorted(o["clientOrderId"] for o in open_now if o["clientOrderId"] in sent) == sorted(
            c for c in cids if want[c] == "NEW"
        )  # nothing placed twice by the restart
        assert INST == 3
    finally:
        for g in gws:
            g.close()
        g.close()


def _balances(sim: SimProc, assets: tuple[str, ...]) -> dict[str, int]:
    # The sim's wallet (free + locked) of `assets`, raws at ASSET_DP.
    acct = _signed(sim, "GET", endpoints(VENUE).account_path, [])
    rows = {b["asset"]: b for b in acct["balances"]}
    return {
        a: fixed.parse(rows[a]["free"], ASSET_DP) + fixed.parse(rows[a]["locked"], ASSET_DP)
        for a in assets
    }


def test_gateway_kill9_fills_while_down_positions_equal_sim_balances(sim: SimProc) -> None:
    # Issue 6 §2 acceptance: fills made while the gateway is down are learned from the
    # venue's trade history at restart; the journaled state's balances then equal the sim's.
    g = sim_gateway(sim, VENUE)
    ep = endpoints(VENUE).at_base(sim.rest)
    inst, bid, ask = g.inst, g.bid, g.ask
    gws: list[Gw] = []
    try:
        gw = Gw(sim, g)
        gws.append(gw)
        r = gw.rig
        r.wait(b"lat.gateway", lambda m: True, "gateway up")
        qty = inst.qty("0.01")
        # A marketable buy through the gateway: its fill and balance snapshots are journaled.
        take = (ask * 101 // 100 + inst.tick_raw - 1) // inst.tick_raw * inst.tick_raw
        kw: dict[str, Any] = {
            "side": wire.Side.BUY, "ord_type": wire.OrdType.LIMIT, "tif": wire.Tif.GTC,
            "px": take, "qty": qty,
        }  # fmt: skip
        cid, ev = r.first_answer(**kw)
        while ev.reason.startswith("gateway recovering"):
            cid, ev = r.first_answer(**kw)
        r.order_event(cid, wire.Status.FILLED)
        r.wait(b"ex." + STRATEGY.encode() + b".fill", lambda m: True, "first fill")
        resting = r.new(**{**kw, "px": bid * 9 // 10 // inst.tick_raw * inst.tick_raw})
        r.order_event(resting, wire.Status.NEW)
        gw.proc.send_signal(signal.SIGKILL)
        gw.proc.wait(10)
        gw.close()

        # While the gateway is down: trades on the account that it never saw.
        for side, amount in (("BUY", "0.03"), ("SELL", "0.01"), ("BUY", "0.002")):
            _signed(sim, "POST", ep.order_path, [
                ("symbol", SYMBOL), ("side", side), ("type", "MARKET"), ("quantity", amount),
            ])  # fmt: skip
        want = _balances(sim, (inst.base, inst.quote))

        gw2 = Gw(sim, g)
        gws.append(gw2)
        gw2.rig.wait(b"lat.gateway", lambda m: True, "restarted gateway up")
        for _ in range(50):  # each latency snapshot (0.2 s apart) is a chance to look
            if "gateway.recovered" in gw2.log.read_text():
                break
            gw2.rig.wait(b"lat.gateway", lambda m: True, "restarted gateway running")
        gw2.proc.send_signal(signal.SIGTERM)
        assert gw2.proc.wait(15) == 0, gw2.log.read_text()[-2000:]
        assert "gateway.recovered" in gw2.log.read_text()
        assert want == _balances(sim, (inst.base, inst.quote)), "the sim traded meanwhile"
        state = ExecState([inst])
        rebuild(replay(journal_path(g.run_dir)), VENUE, state, {}, {SYMBOL: 0})
        total = state.positions.account()
        got = {a: total.balance(VENUE, a) for a in (inst.base, inst.quote)}
        assert got == want
        assert state.orders.n_overfill == 0
    finally:
        for g in gws:
            g.close()
        g.close()
