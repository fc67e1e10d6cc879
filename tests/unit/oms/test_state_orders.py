"""Order state machine: every transition, duplicates, late events, adoption, fill reconcile."""

from tests.unit.oms.state_events import FUT
from tests.unit.oms.state_events import fill
from tests.unit.oms.state_events import upd
from veloz.model.events import Fill
from veloz.model.events import OrderStatus as S
from veloz.oms.state import OrderState
from veloz.oms.state import OrderTable


def _sent(t: OrderTable, cid: str = "c1", qty: int = 1000) -> None:
    t.on_sent(cid, "strat", FUT.venue, FUT.symbol, "BUY", "LIMIT", "GTC", 1000, qty)


def test_order_sent_is_pending_new() -> None:
    t = OrderTable()
    ch = t.on_sent("c1", "strat", FUT.venue, FUT.symbol, "BUY", "LIMIT", "GTC", 1000, 1000)
    assert ch.old_state is None
    assert ch.state is OrderState.PENDING_NEW


def test_order_new_then_partial_then_filled_reports_each_change() -> None:
    t = OrderTable()
    _sent(t)
    a = t.apply_update(upd("c1", S.NEW, 0))
    b = t.apply_update(upd("c1", S.PARTIALLY_FILLED, 400))
    c = t.apply_update(upd("c1", S.FILLED, 1000))
    assert a is not None and (a.old_state, a.state) == (OrderState.PENDING_NEW, OrderState.NEW)
    assert b is not None and b.state is OrderState.PARTIALLY_FILLED and b.filled_delta == 400
    assert c is not None and c.state is OrderState.FILLED and c.filled_delta == 600


def test_order_terminal_statuses_map_one_to_one() -> None:
    for st in (S.CANCELED, S.REJECTED, S.EXPIRED):
        t = OrderTable()
        _sent(t)
        ch = t.apply_update(upd("c1", st, 0, reason="r"))
        assert ch is not None and ch.state.value == st.value and ch.reason == "r"


def test_order_cancel_sent_is_pending_cancel_then_canceled() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_update(upd("c1", S.NEW, 0))
    ch = t.on_cancel_sent("c1")
    assert ch is not None and ch.state is OrderState.PENDING_CANCEL
    ch = t.apply_update(upd("c1", S.CANCELED, 0))
    assert ch is not None and ch.state is OrderState.CANCELED


def test_order_cancel_rejected_returns_to_venue_state() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_update(upd("c1", S.PARTIALLY_FILLED, 10))
    t.on_cancel_sent("c1")
    ch = t.on_cancel_rejected("c1", "unknown order")
    assert ch is not None and ch.state is OrderState.PARTIALLY_FILLED


def test_order_duplicate_update_is_noop_and_counted() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_update(upd("c1", S.NEW, 0))
    assert t.apply_update(upd("c1", S.NEW, 0)) is None
    assert t.n_duplicate == 1


def test_order_late_new_after_filled_stays_filled_and_counts_stale() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_update(upd("c1", S.FILLED, 1000))
    assert t.apply_update(upd("c1", S.NEW, 0)) is None
    assert t.apply_update(upd("c1", S.PARTIALLY_FILLED, 500)) is None
    e = t.get("c1")
    assert e is not None and e.state is OrderState.FILLED and e.filled_qty == 1000
    assert t.n_stale == 2


def test_order_fill_after_canceled_ack_is_booked_and_state_stays_canceled() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_update(upd("c1", S.CANCELED, 0))
    fc = t.apply_fill(fill("c1", 1, 1000, 300))
    assert fc is not None and fc.order is not None
    assert fc.order.state is OrderState.CANCELED and fc.order.filled_qty == 300
    assert t.n_out_of_order == 1 and t.n_fill_mismatch == 1


def test_order_partial_update_after_canceled_raises_filled_only() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_update(upd("c1", S.CANCELED, 100))
    ch = t.apply_update(upd("c1", S.PARTIALLY_FILLED, 300))
    assert ch is not None and ch.state is OrderState.CANCELED and ch.filled_qty == 300
    assert t.n_out_of_order == 1


def test_order_second_terminal_status_counts_conflict_and_keeps_first() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_update(upd("c1", S.EXPIRED, 0))
    assert t.apply_update(upd("c1", S.CANCELED, 0)) is None
    assert t.n_conflict == 1
    e = t.get("c1")
    assert e is not None and e.state is OrderState.EXPIRED


def test_order_unknown_update_is_adopted_without_owner() -> None:
    t = OrderTable()
    ch = t.apply_update(upd("x9", S.NEW, 0))
    assert ch is not None and ch.old_state is None and ch.state is OrderState.NEW
    assert ch.strategy == "" and t.n_unknown == 1


def test_order_unknown_fill_is_adopted_and_learns_qty_from_update() -> None:
    t = OrderTable()
    fc = t.apply_fill(fill("x9", 5, 1000, 400))
    assert fc is not None and fc.order is not None
    assert fc.order.state is OrderState.PARTIALLY_FILLED and t.n_unknown == 1
    ch = t.apply_update(upd("x9", S.PARTIALLY_FILLED, 400, qty=400))
    assert ch is not None and ch.state is OrderState.FILLED


def test_fill_duplicate_trade_id_is_noop_and_counted() -> None:
    t = OrderTable()
    _sent(t)
    assert t.apply_fill(fill("c1", 1, 1000, 100)) is not None
    assert t.apply_fill(fill("c1", 1, 1000, 100)) is None
    e = t.get("c1")
    assert e is not None and e.filled_by_fills == 100 and t.n_duplicate == 1


def test_fills_reaching_qty_before_any_update_make_order_filled() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_fill(fill("c1", 1, 1000, 600))
    fc = t.apply_fill(fill("c1", 2, 1000, 400))
    assert fc is not None and fc.order is not None and fc.order.state is OrderState.FILLED
    assert t.apply_update(upd("c1", S.PARTIALLY_FILLED, 600)) is None


def test_fill_and_update_filled_qty_larger_wins() -> None:
    t = OrderTable()
    _sent(t)
    t.apply_fill(fill("c1", 1, 1000, 200))
    t.apply_update(upd("c1", S.PARTIALLY_FILLED, 500))
    e = t.get("c1")
    assert e is not None and e.filled_qty == 500 and e.filled_by_fills == 200


def test_overfill_is_counted() -> None:
    t = OrderTable()
    _sent(t, qty=100)
    t.apply_fill(fill("c1", 1, 1000, 150))
    assert t.n_overfill == 1


def test_self_trade_books_both_sides_of_one_trade_id() -> None:
    # Binance gives both sides of a self-trade the same trade id, with their own order ids.
    t = OrderTable()
    buy = Fill("binance-spot", "BTCUSDT", "b1", 11, 77, "BUY", 100, 5, 0, "USDT", False, 0, 0, 0)
    sell = Fill("binance-spot", "BTCUSDT", "s1", 12, 77, "SELL", 100, 5, 0, "USDT", True, 0, 0, 0)
    assert t.apply_fill(buy) is not None
    assert t.apply_fill(sell) is not None
    assert t.apply_fill(sell) is None and t.n_duplicate == 1
    pairs, last = t.known_fills("binance-spot")
    assert pairs == {(77, 11), (77, 12)} and last == {"BTCUSDT": 77}
