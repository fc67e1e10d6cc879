"""Gateway SYNC naming one order: its last state (final ones too), or REJECTED never sent.

The `test_gateway` rig (fake venue, recording exec outbox) and, for the restart case, the
journaled rig of `test_recovery`.
"""

from pathlib import Path
from typing import Any

from bench.sim_load import run_async
from tests.unit.oms.test_gateway import INST
from tests.unit.oms.test_gateway import PX
from tests.unit.oms.test_gateway import QTY
from tests.unit.oms.test_gateway import TRIGGER_NS
from tests.unit.oms.test_gateway import FakeVenue
from tests.unit.oms.test_gateway import Rig
from tests.unit.oms.test_gateway import in_loop
from tests.unit.oms.test_gateway import update
from tests.unit.oms.test_recovery import fill
from tests.unit.oms.test_recovery import journaled_rig
from tests.unit.oms.test_recovery import live_session
from veloz._core import wire
from veloz.errors import OrderRejected
from veloz.model.events import OrderStatus
from veloz.oms.journal import journal_path
from veloz.oms.resync import MAX_PENDING_SYNCS
from veloz.oms.resync import NEVER_SENT


def sync(rig: Rig, cid: str, strategy: str = "s1") -> None:
    # What the strategy runtime sends for an order it never heard of: the order's fields.
    body = rig.strat.order_cmd(
        INST, wire.Action.SYNC, strategy, cid, wire.Side.BUY, wire.OrdType.LIMIT,
        wire.Tif.GTC, 2, 5, PX, QTY, False, TRIGGER_NS,
    )  # fmt: skip
    rig.cmd(body, strategy)


def answers(rig: Rig, cid: str, strategy: str = "s1") -> list[Any]:
    return [e for e in rig.events(strategy) if e.client_order_id == cid]


def test_gateway_sync_of_a_filled_order_republishes_filled_with_its_qty() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.gw.on_event(update("c1", OrderStatus.FILLED, order_id=101, filled=QTY))
        rig.out.sent.clear()
        sync(rig, "c1")

    rig = in_loop(fn)
    (ev,) = answers(rig, "c1")
    assert (ev.status, ev.filled_qty, ev.venue_order_id) == (wire.Status.FILLED, QTY, 101)
    assert (ev.header.inst, ev.px, ev.qty) == (INST, PX, QTY)
    assert rig.gw.n_syncs == 1 and rig.gw.status()["gateway"]["n_syncs_unknown"] == 0


def test_gateway_sync_of_a_venue_rejected_order_repeats_its_reason_and_code() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.venue.place_fx = OrderRejected("Insufficient balance", "venue", -2010)
        rig.new("c1")
        await rig.settle()
        rig.out.sent.clear()
        sync(rig, "c1")

    rig = in_loop(fn)
    (ev,) = answers(rig, "c1")
    assert (ev.status, ev.reason, ev.error_code) == (
        wire.Status.REJECTED,
        "Insufficient balance",
        -2010,
    )


def test_gateway_sync_of_an_order_never_received_is_rejected_never_sent() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        sync(rig, "lost1")

    rig = in_loop(fn)
    (ev,) = answers(rig, "lost1")
    assert (ev.status, ev.reason, ev.venue_order_id) == (wire.Status.REJECTED, NEVER_SENT, 0)
    assert (ev.header.inst, ev.side, ev.px, ev.qty) == (INST, wire.Side.BUY, PX, QTY)
    assert rig.venue.placed == [] and rig.venue.queried == []
    assert rig.gw.n_syncs == 1 and rig.gw.status()["gateway"]["n_syncs_unknown"] == 1


def test_gateway_sync_of_another_strategys_order_tells_only_the_asker_never_sent() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1", strategy="s2")
        await rig.settle()
        rig.out.sent.clear()
        sync(rig, "c1", strategy="s1")

    rig = in_loop(fn)
    (ev,) = answers(rig, "c1", "s1")
    assert (ev.status, ev.reason) == (wire.Status.REJECTED, NEVER_SENT)
    assert rig.events("s2") == [] and rig.gw._orders["c1"].status == OrderStatus.NEW


def test_gateway_sync_of_an_order_the_venue_has_not_answered_waits_for_that_answer() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")  # its venue request has not run yet
        sync(rig, "c1")
        assert answers(rig, "c1") == []
        await rig.settle()

    rig = in_loop(fn)
    assert [e.status for e in answers(rig, "c1")] == [wire.Status.NEW]  # the venue's answer
    assert rig.gw.status()["gateway"]["n_syncs_in_flight"] == 1


def test_gateway_sync_of_live_order_answers_its_state_and_strategy_sync_stays_live_only() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        rig.new("c2")
        await rig.settle()
        rig.gw.on_event(update("c2", OrderStatus.CANCELED, order_id=102))
        rig.out.sent.clear()
        sync(rig, "c1")
        sync(rig, "")  # the whole strategy: live orders only

    rig = in_loop(fn)
    got = [(e.client_order_id, e.status) for e in rig.events()]
    assert got == [("c1", wire.Status.NEW), ("c1", wire.Status.NEW)]
    assert rig.gw.n_syncs == 2


def test_gateway_sync_while_recovering_is_queued_and_answered_after_recovery() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.out.sent.clear()
        rig.gw.recovering = True
        sync(rig, "c1")
        sync(rig, "c1")  # asked twice: answered once
        sync(rig, "lost1")
        assert rig.out.sent == [] and rig.gw.n_syncs == 0
        await rig.gw.recover()

    rig = in_loop(fn)
    got = [(e.client_order_id, e.status) for e in rig.events()]
    # The reconciliation publishes c1 first; then the queued SYNCs, each answered once.
    assert got[-2:] == [("c1", wire.Status.NEW), ("lost1", wire.Status.REJECTED)]
    assert got.count(("lost1", wire.Status.REJECTED)) == 1
    assert rig.gw.n_syncs == 2


def test_gateway_sync_queue_while_recovering_is_bounded() -> None:
    rig = Rig()
    rig.gw.recovering = True
    for i in range(MAX_PENDING_SYNCS + 3):
        sync(rig, f"q{i}")
    assert rig.gw._syncs.n_syncs_dropped == 3
    assert rig.out.sent == []


def test_gateway_restarted_from_journal_answers_sync_from_its_records(tmp_path: Path) -> None:
    # c1 partly filled, c2 canceled, c3 venue-rejected before the restart; "never" was not
    # journaled, so the restarted gateway never sent it.
    path = journal_path(tmp_path)
    live = live_session(path)
    assert live.gw._journal is not None
    live.gw._journal.close()
    venue = FakeVenue()
    venue.open_now = [update("c1", OrderStatus.PARTIALLY_FILLED, order_id=101, filled=400)]

    async def main() -> Rig:
        rig = journaled_rig(path, venue)
        for cid in ("c1", "c2", "c3", "never"):
            sync(rig, cid)
        assert rig.gw.n_syncs == 0  # recovering: queued
        await rig.gw.recover()
        await rig.settle()
        return rig

    rig = run_async(main())
    fills = [(f.client_order_id, f.trade_id, f.qty) for f in rig.out.of(b"ex.s1.fill")]
    assert fills == [("c1", 9, 400)]  # the journaled fill, repeated with c1's answer
    last = {e.client_order_id: (e.status, e.filled_qty, e.reason) for e in rig.events()}
    assert last == {
        "c1": (wire.Status.PARTIALLY_FILLED, 400, ""),
        "c2": (wire.Status.CANCELED, 0, ""),
        "c3": (wire.Status.REJECTED, 0, "Insufficient balance"),
        "never": (wire.Status.REJECTED, 0, NEVER_SENT),
    }
    assert rig.gw.n_syncs == 4


def test_gateway_sync_of_a_filled_order_repeats_its_fills_once_each_before_its_state() -> None:
    async def fn(rig: Rig) -> None:
        rig.bbo()
        rig.new("c1")
        await rig.settle()
        rig.gw.on_event(fill("c1", 7, 400))
        rig.gw.on_event(fill("c1", 7, 400))  # the venue repeats a trade: kept once
        rig.gw.on_event(fill("c1", 8, QTY - 400))
        rig.gw.on_event(update("c1", OrderStatus.FILLED, order_id=101, filled=QTY))
        rig.out.sent.clear()
        sync(rig, "c1")

    rig = in_loop(fn)
    got = [(t, getattr(m, "trade_id", None), getattr(m, "status", None)) for t, m in rig.out.sent]
    assert got == [
        (b"ex.s1.fill", 7, None),
        (b"ex.s1.fill", 8, None),
        (b"ex.s1.order", None, wire.Status.FILLED),
    ]
    f7 = rig.out.sent[0][1]
    assert (f7.client_order_id, f7.header.inst, f7.px, f7.qty) == ("c1", INST, PX, 400)
    assert len(rig.gw._orders["c1"].fills or ()) == 2  # the republish kept nothing more
