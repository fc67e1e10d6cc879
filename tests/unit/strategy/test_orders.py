"""Client order ids and the per-order state / dedupe of `veloz.strategy.orders`."""

import re

from veloz.strategy.orders import PENDING
from veloz.strategy.orders import OrderIds
from veloz.strategy.orders import OrderState
from veloz.strategy.orders import OrderTracker
from veloz.strategy.orders import sanitize_prefix

SPOT_ID = re.compile(r"^[a-zA-Z0-9_-]{1,36}$")  # Binance spot; USD-M allows more
NEW, PARTIAL, FILLED, CANCELED = 1, 2, 3, 4


def _order(cid: str = "a") -> OrderState:
    return OrderState(cid, "BTCUSDT", 7, 1, 1, 1, 5_000_000, 100, 2, 5)


def test_order_ids_match_binance_spot_alphabet_and_length() -> None:
    ids = OrderIds("market-maker_long_name!")
    for _ in range(1000):
        cid = ids.next()
        assert SPOT_ID.match(cid), cid
        assert len(cid) <= 36


def test_order_ids_unique_within_a_session() -> None:
    ids = OrderIds("mm")
    assert len({ids.next() for _ in range(10_000)}) == 10_000


def test_order_ids_differ_across_restarts_one_ms_apart() -> None:
    wall = 1_790_000_000_000_000_000
    a = OrderIds("mm", wall_ns=wall).next()
    b = OrderIds("mm", wall_ns=wall + 1_000_000).next()
    assert a != b
    assert a.startswith("mm-") and b.startswith("mm-")


def test_order_ids_prefix_sanitised_and_cut_to_12() -> None:
    assert sanitize_prefix("my strat.v2/éx") == "my_strat_v2_"
    assert sanitize_prefix("") == "vz"
    assert OrderIds("a b").next().startswith("a_b-")


def test_tracker_duplicate_event_counted_not_delivered() -> None:
    t = OrderTracker()
    t.add(_order())
    assert t.on_event("a", NEW, 0, 42, "") is not None
    assert t.on_event("a", NEW, 0, 42, "") is None
    assert t.n_duplicate_events == 1
    assert t.get("a") is not None and t.get("a").venue_order_id == 42  # type: ignore[union-attr]


def test_tracker_older_status_is_stale() -> None:
    t = OrderTracker()
    t.add(_order())
    t.on_event("a", PARTIAL, 30, 42, "")
    assert t.on_event("a", NEW, 0, 42, "") is None
    assert t.on_event("a", PARTIAL, 20, 42, "") is None
    assert t.n_stale_events == 2


def test_tracker_more_filled_qty_is_news() -> None:
    t = OrderTracker()
    t.add(_order())
    assert t.on_event("a", PARTIAL, 30, 42, "") is not None
    order = t.on_event("a", PARTIAL, 60, 42, "")
    assert order is not None and order.filled_qty == 60


def test_tracker_terminal_closes_order_and_repeats_are_duplicates() -> None:
    t = OrderTracker()
    t.add(_order())
    assert t.on_event("a", FILLED, 100, 42, "") is not None
    assert t.open_orders() == []
    assert t.on_event("a", FILLED, 100, 42, "") is None
    assert t.on_event("a", CANCELED, 100, 42, "") is None
    assert t.n_duplicate_events == 1 and t.n_stale_events == 1
    assert t.get("a") is not None and not t.get("a").is_open  # type: ignore[union-attr]


def test_tracker_event_for_unknown_id_is_stale_until_adopted() -> None:
    t = OrderTracker()
    assert t.on_event("zz", NEW, 0, 1, "") is None
    t.adopt(_order("zz"))
    assert t.get("zz") is not None and t.get("zz").status == PENDING  # type: ignore[union-attr]
    assert t.on_event("zz", NEW, 0, 1, "") is not None
    assert t.n_unknown_orders == 1


def test_tracker_fill_dedupe_by_trade_id_and_order() -> None:
    t = OrderTracker()
    assert t.on_fill(7, 100, "a")
    assert not t.on_fill(7, 100, "a")
    assert t.on_fill(7, 100, "b")  # a self-trade fills two of our orders with one trade id
    assert t.n_fills == 2 and t.n_duplicate_fills == 1


def test_tracker_forget_drops_unsent_order() -> None:
    t = OrderTracker()
    t.add(_order())
    t.forget("a")
    assert t.open_orders() == [] and t.n_sent == 0


def test_tracker_unanswered_until_any_event_and_overdue_after_the_timeout() -> None:
    t = OrderTracker()
    a, b = _order("a"), _order("b")
    a.sent_mono_ns, b.sent_mono_ns = 1_000, 2_000
    t.add(a)
    t.add(b)
    assert t.n_unanswered == 2
    assert t.overdue(1_000 + 499, 500, 10) == ([], 1_500)
    due, nxt = t.overdue(1_500, 500, 10)
    assert due == [a] and nxt == 2_500  # b is due at 2500, a next at 1500 + 2 x 500
    t.on_event("b", 5, 0, 0, "")  # any event answers it (here a final one)
    assert t.n_unanswered == 1 and t.counters()["n_unanswered"] == 1
    t.forget("a")
    assert t.n_unanswered == 0 and t.overdue(10**9, 500, 10) == ([], 0)


def test_tracker_overdue_limit_leaves_the_rest_due_and_unknown_send_time_counts_from_now() -> None:
    t = OrderTracker()
    for cid in ("a", "b", "c"):
        o = _order(cid)
        o.sent_mono_ns = 100
        t.add(o)
    due, nxt = t.overdue(1_000, 10, 2)
    assert [o.client_order_id for o in due] == ["a", "b"] and nxt <= 1_000  # c still due
    late = _order("d")  # no send time: due one timeout after it is first seen
    t.add(late)
    due, _ = t.overdue(1_005, 10, 10)  # a and b were asked at 1000: next at 1020
    assert [o.client_order_id for o in due] == ["c"]
    assert [o.client_order_id for o in t.overdue(1_015, 10, 10)[0]] == ["d"]
