"""Lost order answers, re-asked: a real `veloz gateway` on `veloz sim`, a real `Runtime`.

The test drives a strategy `Runtime` by hand (dispatch what its SUB receives, `tick` it)
with its ORDER_CMDs going out on a real PUSH. Two losses:

1. Every answer lost: the runtime's exec SUB does not exist yet when a marketable order is
   answered (the venue's reply and the user stream's events go to nobody; the test's own
   SUB sees them go out). Once the SUB is there, the runtime asks about the order (a SYNC
   naming it) and ends FILLED, with exactly one order event and the fills in its position.
2. The command lost: the NEW never reaches the gateway (dropped on the strategy side, as a
   command queued in the PULL of a gateway killed -9 is). The SYNC's answer is REJECTED
   "unknown to the gateway: never sent"; the journal has no such order.
"""

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.sim_load import SimProc
from tests.integration.test_gateway_recovery import _signed
from tests.integration.test_gateway_sim import INST
from tests.integration.test_gateway_sim import STRATEGY
from tests.integration.test_gateway_sim import SYMBOL
from tests.integration.test_gateway_sim import Gw
from tests.integration.test_gateway_sim import sim_gateway
from veloz._core import wire
from veloz.bus.endpoints import bind_name
from veloz.bus.sockets import PushSocket
from veloz.bus.sockets import SubSocket
from veloz.oms.journal import OrderSent
from veloz.oms.journal import journal_path
from veloz.oms.journal import replay
from veloz.oms.resync import NEVER_SENT
from veloz.strategy.base import Strategy
from veloz.strategy.config import StrategySpec
from veloz.strategy.orders import OrderState
from veloz.strategy.runtime import Runtime
from veloz.strategy.summary import ACTION_OFFSET
from veloz.venues.binance.endpoints import endpoints

pytestmark = pytest.mark.integration

VENUE = "binance-spot"
WAIT_S = 15.0


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(20, seed=13, venue="spot", symbols=SYMBOL, start_timeout_s=30) as proc:
        assert proc.key, "the sim printed no trade account"
        yield proc


class Taker(Strategy):
    """Places what the test says; records every order event it is given."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.events: list[tuple[str, int, str]] = []

    def on_order(self, update: wire.OrderEventMsg) -> None:
        self.events.append((update.client_order_id, int(update.status), update.reason))


class DroppingSend:
    """The runtime's PUSH send; `drop_next_new` swallows the next NEW (the command lost)."""

    def __init__(self, push: PushSocket) -> None:
        self.push = push
        self.drop_next_new = False

    def __call__(self, topic: bytes, body: bytes) -> bool:
        if self.drop_next_new and body[ACTION_OFFSET] == wire.Action.NEW:
            self.drop_next_new = False
            return True  # "sent": the strategy believes it went out
        return self.push.send(topic, body)


def _run_until(rt: Runtime, sub: SubSocket, done: Any, what: str, log: Path) -> None:
    # The strategy loop by hand: dispatch what arrives, tick the runtime, until `done()`.
    end = time.monotonic() + WAIT_S
    while not done():
        if time.monotonic() > end:
            raise AssertionError(f"no {what} in {WAIT_S}s; gateway log:\n{log.read_text()[-2000:]}")
        got = sub.recv(50)
        if got is not None:
            rt.dispatch(got[0], got[1])
        rt.tick(time.monotonic_ns())


def test_gateway_lost_answer_and_lost_command_end_in_the_true_final_state(sim: SimProc) -> None:
    g = sim_gateway(sim, VENUE)
    ep = endpoints(VENUE).at_base(sim.rest)
    inst, bid, ask = g.inst, g.bid, g.ask
    closers: list[Any] = []
    try:
        gw = Gw(sim, g)  # its SUB (ex.t1.*) is the test's monitor
        closers.append(gw.close)
        push = PushSocket(g.cfg)  # IMMEDIATE: connected by the time the gateway has recovered
        closers.append(push.close)
        r = gw.rig
        r.wait(b"lat.gateway", lambda m: True, "gateway up")
        for _ in range(50):  # each latency snapshot (0.2 s apart) is a chance to look
            if "gateway.recovered" in gw.log.read_text():
                break
            r.wait(b"lat.gateway", lambda m: True, "gateway running")
        assert "gateway.recovered" in gw.log.read_text()

        send = DroppingSend(push)
        strat = Taker(STRATEGY)
        spec = StrategySpec(name=STRATEGY, path="x:Taker", symbols=[SYMBOL])
        rt = Runtime("it", [(spec, strat)], send, resync_after_s=0.3)
        rt.begin()
        md = wire.Encoder(wire.venue_id(VENUE))
        rt.dispatch(
            f"md.{VENUE}.{SYMBOL}.instrument".encode(),
            md.instrument(INST, SYMBOL, inst.base, inst.quote, inst.price_dp, inst.qty_dp,
                          inst.tick_raw, inst.step_raw, inst.min_qty_raw, inst.max_qty_raw, 0),
        )  # fmt: skip
        orders = rt.slots[0].ctx.orders

        # 1. every answer lost: no exec SUB for the runtime yet
        take = (ask * 101 // 100 + inst.tick_raw - 1) // inst.tick_raw * inst.tick_raw
        cid = strat.buy(SYMBOL, "0.01", take)
        # FILLED twice (the venue's reply, then the user stream with the fills): all went
        # out while the runtime had no SUB; nothing more comes for this order.
        r.order_event(cid, wire.Status.FILLED)
        r.order_event(cid, wire.Status.FILLED)
        sub = SubSocket(g.cfg, prefixes=(f"ex.{STRATEGY}.".encode(),))
        closers.append(sub.close)
        sub.connect(bind_name(g.cfg, "exec"))
        order: OrderState | None = orders.get(cid)
        assert order is not None and order.status_name == "PENDING"
        _run_until(rt, sub, lambda: not order.is_open, f"final state of {cid}", gw.log)
        assert order.status_name == "FILLED" and order.filled_qty == inst.qty("0.01")
        assert [e for e in strat.events if e[0] == cid] == [(cid, wire.Status.FILLED, "")]
        assert rt.n_resyncs >= 1
        pos = rt.slots[0].ctx.position_of(SYMBOL)  # the lost fills came with the answer
        assert pos is not None and pos.qty == inst.qty("0.01")
        assert _signed(sim, "GET", ep.order_path, [("symbol", SYMBOL), ("origClientOrderId", cid)])[
            "status"
        ] == "FILLED"  # fmt: skip

        # 2. the command lost: the gateway never received it
        n_resyncs = rt.n_resyncs
        send.drop_next_new = True
        away = bid * 9 // 10 // inst.tick_raw * inst.tick_raw
        lost = strat.buy(SYMBOL, "0.01", away)
        lost_order = orders.get(lost)
        assert lost_order is not None
        _run_until(rt, sub, lambda: not lost_order.is_open, f"answer about {lost}", gw.log)
        assert [e for e in strat.events if e[0] == lost] == [
            (lost, wire.Status.REJECTED, NEVER_SENT)
        ]
        assert rt.n_resyncs > n_resyncs
        assert rt.counters()["n_resyncs"] == rt.n_resyncs

        gw.proc.send_signal(signal.SIGTERM)
        assert gw.proc.wait(15) == 0, gw.log.read_text()[-2000:]
        text = gw.log.read_text()
        assert f"gateway.sync_order strategy={STRATEGY} cid={cid} state=FILLED" in text
        assert "state=never_sent" in text
        sent = {
            e.order.client_order_id
            for e in replay(journal_path(g.run_dir))
            if isinstance(e, OrderSent)
        }
        assert cid in sent and lost not in sent
    finally:
        for close in reversed(closers):
            close()
        g.close()
