"""Gateway recovery: journal on the command and event paths, rebuild, reconcile (fake venue)."""

from pathlib import Path
from typing import Any

from bench.sim_load import run_async
from tests.unit.oms.test_gateway import PX
from tests.unit.oms.test_gateway import QTY
from tests.unit.oms.test_gateway import VENUE
from tests.unit.oms.test_gateway import FakeVenue
from tests.unit.oms.test_gateway import Out
from tests.unit.oms.test_gateway import Rig
from tests.unit.oms.test_gateway import update
from veloz._core import wire
from veloz.errors import OrderRejected
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.orders import NewOrder
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import Gateway
from veloz.oms.journal import CancelSent
from veloz.oms.journal import Journal
from veloz.oms.journal import OrderSent
from veloz.oms.journal import journal_path
from veloz.oms.journal import replay
from veloz.oms.state import OrderState
from veloz.risk.pretrade import RiskConfig


def journaled_rig(path: Path, venue: FakeVenue | None = None, *, live: bool = False) -> Rig:
    # A `Rig` whose gateway journals to `path`, rebuilt from it; `live`: taking commands
    # (as after a recovery with nothing to reconcile).
    rig = Rig()
    cfg = GatewayConfig(
        symbols=["BTCUSDT", "ETHUSDT"],
        risk=RiskConfig(max_notional="100000", price_band_bps=500, max_orders_per_s=1000.0),
    )
    rig.venue = venue or FakeVenue()
    rig.out = Out()
    rig.gw = Gateway(cfg, rig.venue, rig.out, journal=Journal(path))
    rig.gw.replay_journal()
    rig.gw.recovering = not live
    return rig


def fill(cid: str, trade_id: int, qty: int, order_id: int = 101) -> Fill:
    return Fill(VENUE, "BTCUSDT", cid, order_id, trade_id, "BUY", PX, qty, 0, "USDT", True, 0, 1, 2)


def snapshot(gw: Gateway) -> dict[str, Any]:
    orders = {
        cid: (e.strategy, e.state, e.filled_qty, e.order_id)
        for cid, e in gw.state.orders.orders.items()
    }
    return {"orders": orders, "pos": gw.state.positions.account().position(gw._insts[0])}


def live_session(path: Path) -> Rig:
    # Three orders: c1 placed then partly filled, c2 placed and canceled, c3 refused by the
    # venue. The journal gets every command and event.
    async def main() -> Rig:
        rig = journaled_rig(path, live=True)
        rig.bbo()
        rig.new("c1")
        rig.new("c2")
        await rig.settle()
        rig.venue.place_fx = OrderRejected("Insufficient balance", "venue", -2010)
        rig.new("c3")
        await rig.settle()
        rig.venue.place_fx = None
        rig.gw.on_event(update("c1", OrderStatus.PARTIALLY_FILLED, order_id=101, filled=400))
        rig.gw.on_event(fill("c1", 9, 400))
        rig.cancel("c2")
        await rig.settle()
        return rig

    return run_async(main())


def test_gateway_journal_has_commands_before_their_answers_and_every_event(
    tmp_path: Path,
) -> None:
    path = journal_path(tmp_path)
    rig = live_session(path)
    rig.gw._journal.close()  # type: ignore[union-attr]
    kinds = [(type(e).__name__, getattr(e, "client_order_id", "")) for e in replay(path)]
    news = [e for e in replay(path) if isinstance(e, OrderSent)]
    assert [(e.strategy, e.order.client_order_id) for e in news] == [
        ("s1", "c1"), ("s1", "c2"), ("s1", "c3"),
    ]  # fmt: skip
    for cid in ("c1", "c2"):  # the command is before its answer
        assert kinds.index(("OrderSent", "")) < kinds.index(("OrderUpdate", cid))
    assert ("OrderUpdate", "c3") in kinds  # the venue's refusal, journaled as REJECTED
    assert ("Fill", "c1") in kinds
    assert kinds.index(("CancelSent", "c2")) < len(kinds) - 1
    assert any(isinstance(e, CancelSent) for e in replay(path))


def test_gateway_rebuild_from_journal_equals_the_live_state(tmp_path: Path) -> None:
    path = journal_path(tmp_path)
    live = live_session(path)
    live.gw._journal.close()  # type: ignore[union-attr]
    want = snapshot(live.gw)
    assert want["orders"]["c1"][1:3] == (OrderState.PARTIALLY_FILLED, 400)
    assert want["orders"]["c2"][1] == OrderState.CANCELED
    assert want["orders"]["c3"][1] == OrderState.REJECTED
    again = journaled_rig(path)
    assert snapshot(again.gw) == want
    recs = again.gw._orders
    assert {cid: (r.strategy, r.order_id, r.status) for cid, r in recs.items()} == {
        cid: (r.strategy, r.order_id, r.status) for cid, r in live.gw._orders.items()
    }


def test_gateway_recovery_refuses_commands_then_reconciles_each_case(tmp_path: Path) -> None:
    # After the restart: c1 (live in the journal) is listed open by the venue; c4 (journaled,
    # never answered) is unknown to the venue; c5 (journaled) filled while we were down;
    # x9 is open at the venue but unknown to us (adopted).
    path = journal_path(tmp_path)
    live = live_session(path)
    j = live.gw._journal
    assert j is not None
    for cid in ("c4", "c5"):
        j.append(OrderSent("s1", 7, NewOrder("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTC", cid)))
    j.close()
    venue = FakeVenue()
    venue.open_now = [
        update("c1", OrderStatus.PARTIALLY_FILLED, order_id=101, filled=400),
        update("x9", OrderStatus.NEW, order_id=555),
    ]
    venue.query_fx = [
        OrderRejected("Order does not exist.", "venue", -2013),
        update("c5", OrderStatus.FILLED, order_id=105, filled=QTY),
    ]

    async def main() -> Rig:
        rig = journaled_rig(path, venue)
        rig.bbo()
        await venue.start(rig.gw)
        assert rig.gw.recovering
        rig.new("c6")
        (refused,) = rig.events()
        assert (refused.client_order_id, refused.status) == ("c6", wire.Status.REJECTED)
        assert "gateway recovering" in refused.reason
        await rig.gw.recover()
        assert not rig.gw.recovering
        rig.new("c7")
        await rig.settle()
        return rig

    rig = run_async(main())
    assert venue.queried == ["c4", "c5"]  # c2, c3 were final in the journal: not asked
    assert [o.client_order_id for o in venue.placed] == ["c7"]
    got = {(e.client_order_id, e.status, e.filled_qty) for e in rig.events()}
    assert ("c1", wire.Status.PARTIALLY_FILLED, 400) in got
    assert ("c4", wire.Status.REJECTED, 0) in got
    assert ("c5", wire.Status.FILLED, QTY) in got
    assert ("c7", wire.Status.NEW, 0) in got
    (adopted,) = rig.out.of(b"ex._.order")
    assert adopted.client_order_id == "x9"
    states = {cid: e.state for cid, e in rig.gw.state.orders.orders.items()}
    assert states["c4"] is OrderState.REJECTED and states["c5"] is OrderState.FILLED
    assert states["x9"] is OrderState.NEW
    # What recovery learned is journaled: a second restart needs no query.
    rig.gw._journal.close()  # type: ignore[union-attr]
    venue2 = FakeVenue()
    venue2.open_now = list(venue.open_now)
    third = journaled_rig(path, venue2)
    run_async(third.gw.recover())
    assert venue2.queried == ["c7"]  # only the order placed after recovery is live and unlisted
