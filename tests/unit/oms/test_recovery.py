"""Gateway recovery: journal on the command and event paths, rebuild, reconcile (fake venue)."""

from pathlib import Path
from typing import Any

import pytest

from bench.sim_load import run_async
from tests.unit.oms.test_gateway import BTC
from tests.unit.oms.test_gateway import ETH
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
from veloz.model.events import OrderUpdate
from veloz.model.orders import NewOrder
from veloz.oms import gateway as gateway_mod
from veloz.oms import recovery
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import Gateway
from veloz.oms.journal import CancelSent
from veloz.oms.journal import Journal
from veloz.oms.journal import OrderSent
from veloz.oms.journal import journal_path
from veloz.oms.journal import replay
from veloz.oms.recovery import catch_up_fills
from veloz.oms.recovery import reconcile
from veloz.oms.state import ExecState
from veloz.oms.state import OrderState
from veloz.risk.config import RiskLimits


def journaled_rig(path: Path, venue: FakeVenue | None = None, *, live: bool = False) -> Rig:
    # A `Rig` whose gateway journals to `path`, rebuilt from it; `live`: taking commands
    # (as after a recovery with nothing to reconcile).
    rig = Rig()
    cfg = GatewayConfig(
        symbols=["BTCUSDT", "ETHUSDT"],
        risk=RiskLimits(max_notional="100000", price_band_bps=500, max_orders_per_s=1000.0),
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


# ---- trade-history catch-up (fills made while the gateway was down) ------------------------


class TradesVenue(FakeVenue):
    """FakeVenue with a trade history: `history` oldest first, paged like Binance."""

    def __init__(self, history: list[Fill]) -> None:
        super().__init__()
        self.history = history
        self.calls: list[tuple[str, int | None, int]] = []
        self.order_log: list[str] = []

    async def trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Fill]:
        self.calls.append((symbol, from_id, limit))
        self.order_log.append("trades")
        rows = [f for f in self.history if f.symbol == symbol]
        rows = [f for f in rows if from_id is None or f.trade_id >= from_id]
        return rows[:limit]

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        self.order_log.append("open_orders")
        return await super().open_orders(symbol)


def trade(trade_id: int, order_id: int, qty: int, side: str = "BUY") -> Fill:
    # As the venue's trade list gives it: no client order id.
    return Fill(VENUE, "BTCUSDT", "", order_id, trade_id, side, PX, qty, 0, "USDT", True, 0, 1, 2)


def down_state() -> ExecState:
    # c1 (order 101) was placed by s1 and had one fill (trade 9) journaled before the crash.
    st = ExecState([BTC, ETH])
    st.orders.on_sent("c1", "s1", VENUE, "BTCUSDT", "BUY", "LIMIT", "GTC", PX, QTY)
    st.apply(update("c1", OrderStatus.PARTIALLY_FILLED, order_id=101, filled=400))
    st.apply(fill("c1", 9, 400))
    return st


def test_catch_up_fills_pages_from_last_known_trade_and_maps_client_ids(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(recovery, "TRADES_PAGE", 2)
    st = down_state()
    venue = TradesVenue([trade(9, 101, 400), trade(10, 101, 300), trade(11, 777, 50),
                         trade(12, 101, 300)])  # fmt: skip
    venue.query_fx = [update("x7", OrderStatus.FILLED, order_id=777, filled=50)]
    got: list[Fill] = []

    def on_fill(f: Fill) -> None:
        got.append(f)
        st.apply(f)

    c = run_async(catch_up_fills(venue, st, on_fill))
    assert [(s, fid) for s, fid, _ in venue.calls] == [("BTCUSDT", 10), ("BTCUSDT", 12)]
    assert [(f.trade_id, f.client_order_id) for f in got] == [(10, "c1"), (11, "x7"), (12, "c1")]
    assert (c.n_pages, c.n_trades, c.n_new, c.n_adopted, c.n_unmapped) == (2, 3, 3, 1, 0)
    c1 = st.orders.get("c1")
    assert c1 is not None and c1.state is OrderState.FILLED and c1.filled_qty == QTY
    assert st.positions.account("s1").position(BTC).qty == QTY * 1000  # base at ASSET_DP
    assert st.positions.account().position(BTC).qty == (QTY + 50) * 1000
    # Run again: everything is known, nothing is handed on.
    again: list[Fill] = []
    c2 = run_async(catch_up_fills(venue, st, again.append))
    assert again == [] and c2.n_new == 0


def test_catch_up_fills_skips_symbols_without_orders_or_fills_and_dedupes_known() -> None:
    st = down_state()
    venue = TradesVenue([trade(9, 101, 400)])
    got: list[Fill] = []
    c = run_async(catch_up_fills(venue, st, got.append))
    assert venue.calls == [("BTCUSDT", 10, recovery.TRADES_PAGE)]  # ETHUSDT: nothing there
    assert got == [] and c.n_symbols == 1
    # An explicit list is still filtered: ETHUSDT has no order and no fill to start from.
    run_async(catch_up_fills(venue, st, got.append, symbols=["BTCUSDT", "ETHUSDT"]))
    assert got == [] and [s for s, _, _ in venue.calls[1:]] == ["BTCUSDT"]


def test_catch_up_fills_unknown_order_that_cannot_be_queried_is_booked_unmapped() -> None:
    st = down_state()
    venue = TradesVenue([trade(10, 888, 100)])
    venue.query_fx = [OrderRejected("Order does not exist.", "venue", -2013)]
    got: list[Fill] = []
    c = run_async(catch_up_fills(venue, st, got.append))
    assert [f.client_order_id for f in got] == [""] and c.n_unmapped == 1


def test_reconcile_reads_trades_before_open_orders_and_queries_an_order_they_filled() -> None:
    st = down_state()
    venue = TradesVenue([trade(10, 101, 600)])
    venue.open_now = []
    venue.query_fx = [update("c1", OrderStatus.FILLED, order_id=101, filled=QTY)]
    fills: list[Fill] = []
    updates: list[OrderUpdate] = []

    def on_fill(f: Fill) -> None:
        fills.append(f)
        st.apply(f)

    def emit(u: OrderUpdate) -> None:
        updates.append(u)
        st.apply(u)

    c = run_async(reconcile(venue, st, emit, on_fill=on_fill))
    assert venue.order_log == ["trades", "open_orders"]
    assert [f.trade_id for f in fills] == [10]
    assert c.fills is not None and c.fills.n_new == 1
    # c1 is FILLED by its fills; live in the journal, so still queried: its final update is
    # what ends the gateway's routing record and tells its strategy.
    assert venue.queried == ["c1"]
    assert [(u.client_order_id, u.status, u.filled_qty) for u in updates] == [
        ("c1", OrderStatus.FILLED, QTY)
    ]
    c1 = st.orders.get("c1")
    assert c1 is not None and c1.state is OrderState.FILLED and c1.filled_qty == QTY
    assert st.orders.n_overfill == 0 and st.orders.n_fill_mismatch == 0


def test_reconcile_without_fill_hook_does_not_read_trades() -> None:
    st = down_state()
    venue = TradesVenue([trade(10, 101, 600)])
    c = run_async(reconcile(venue, st, lambda u: None))
    assert venue.calls == [] and c.fills is None


# ---- waiting for the strategies' subscriptions before publishing recovery ------------------


def test_recovery_waits_for_the_subscription_of_a_strategy_with_live_orders(
    tmp_path: Path,
) -> None:
    path = journal_path(tmp_path)
    live = live_session(path)  # s1 has c1 live
    live.gw._journal.close()  # type: ignore[union-attr]
    venue = TradesVenue([])
    venue.open_now = [update("c1", OrderStatus.PARTIALLY_FILLED, order_id=101, filled=400)]
    rig = journaled_rig(path, venue)
    looks: list[int] = []

    def subscriptions() -> frozenset[bytes]:
        # The strategy's SUB joins on the third look; the venue must not be asked before.
        looks.append(len(venue.order_log))
        return frozenset({b"ex.s1."}) if len(looks) >= 3 else frozenset({b"ex."})

    run_async(rig.gw.recover(subscriptions))
    assert looks == [0, 0, 0] and not rig.gw.recovering
    assert venue.order_log == ["trades", "open_orders"]


def test_recovery_does_not_wait_forever_for_a_strategy_that_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(gateway_mod, "SUBSCRIBER_WAIT_S", 0.05)
    path = journal_path(tmp_path)
    live = live_session(path)
    live.gw._journal.close()  # type: ignore[union-attr]
    rig = journaled_rig(path, FakeVenue())
    run_async(rig.gw.recover(frozenset))
    assert not rig.gw.recovering
    assert "gateway.subscribers_missing strategies=s1" in caplog.text
