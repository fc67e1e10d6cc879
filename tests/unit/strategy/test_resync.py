"""Runtime resync with the gateway: SYNC on start, when the exec publisher restarts, and
one naming each order sent that had no answer in time."""

import pytest

from tests.unit.strategy.test_runtime import Recorder
from tests.unit.strategy.wirefakes import SYMBOL
from tests.unit.strategy.wirefakes import FeedFake
from tests.unit.strategy.wirefakes import GatewayFake
from tests.unit.strategy.wirefakes import Sent
from tests.unit.strategy.wirefakes import runtime
from tests.unit.strategy.wirefakes import spec
from tests.unit.strategy.wirefakes import topic
from veloz._core import wire
from veloz._core.latency import now_ns
from veloz.errors import OrderRejected
from veloz.strategy.orders import OrderState
from veloz.strategy.resync import RESYNC_BURST
from veloz.strategy.runtime import Runtime


def _syncs(sent: Sent) -> list[tuple[bytes, str, str]]:
    out = []
    for t, body in sent.syncs:
        msg = wire.decode(body)
        assert isinstance(msg, wire.OrderCmdMsg) and msg.action == wire.Action.SYNC
        out.append((t, msg.strategy, msg.client_order_id))
    return out


def test_runtime_start_sends_one_sync_per_strategy_and_no_order() -> None:
    rt, sent, _ = runtime(Recorder("a"), Recorder("b"))
    assert _syncs(sent) == [(b"cmd.a", "a", ""), (b"cmd.b", "b", "")]
    assert sent.msgs == []
    assert rt.counters()["n_syncs_sent"] == 2


def test_runtime_waiting_strategy_sends_no_sync_until_it_starts() -> None:
    rt, sent, feed = runtime(Recorder("a"), start=False)
    assert sent.syncs == []
    rt.dispatch(b"md.binance-spot.BTCUSDT.instrument", feed.instrument())
    assert len(sent.syncs) == 1


def test_runtime_exec_seq_going_back_sends_sync_and_dedupes_republished_events() -> None:
    a = Recorder("a")
    rt, sent, _ = runtime(a, Recorder("b"))
    gw = GatewayFake()
    rt.dispatch(b"ex.a.order", gw.event("a", "c1", wire.Status.NEW))
    rt.dispatch(b"ex.a.fill", gw.fill("a", "c1", 7, wire.Side.BUY, 5_000_000, 40))
    rt.dispatch(b"ex.a.order", gw.event("a", "c1", wire.Status.PARTIALLY_FILLED, filled=40))
    n_calls = len(a.calls)
    assert len(sent.syncs) == 2 and rt.n_exec_restarts == 0
    # The gateway restarts: a new encoder, seq from 1; it republishes what it knows.
    gw2 = GatewayFake()
    rt.dispatch(b"ex.a.order", gw2.event("a", "c1", wire.Status.PARTIALLY_FILLED, filled=40))
    assert rt.n_exec_restarts == 1
    assert _syncs(sent)[2:] == [(b"cmd.a", "a", ""), (b"cmd.b", "b", "")]
    rt.dispatch(b"ex.a.fill", gw2.fill("a", "c1", 7, wire.Side.BUY, 5_000_000, 40))
    assert len(a.calls) == n_calls  # both republished messages were duplicates
    assert rt.n_exec_restarts == 1  # seq 2 after 1: the same restarted publisher
    # A genuinely new fill after the restart still arrives.
    rt.dispatch(b"ex.a.fill", gw2.fill("a", "c1", 8, wire.Side.BUY, 5_000_000, 60))
    assert len(a.calls) == n_calls + 1


def test_runtime_exec_seq_gaps_are_not_restarts() -> None:
    rt, sent, _ = runtime(Recorder("a"))
    gw = GatewayFake()
    rt.dispatch(b"ex.a.order", gw.event("a", "c1", wire.Status.NEW))
    gw.event("a", "c1", wire.Status.NEW)  # published to someone else / dropped
    rt.dispatch(b"ex.a.order", gw.event("a", "c1", wire.Status.CANCELED))
    assert rt.n_exec_restarts == 0 and len(sent.syncs) == 1


def test_runtime_sync_refused_by_bus_is_counted() -> None:
    sent = Sent()
    sent.ok = False
    rt, _, _ = runtime(Recorder("a"), sent=sent)
    assert rt.n_syncs_refused == 1 and rt.n_syncs_sent == 0
    assert rt.counters()["n_syncs_refused"] == 1


def test_runtime_stopped_strategy_gets_no_sync_on_exec_restart() -> None:
    rt, sent, _ = runtime(Recorder("a"), Recorder("b"))
    rt.stop_one(rt.slots[1])
    gw = GatewayFake()
    rt.dispatch(b"ex.a.order", gw.event("a", "c1", wire.Status.NEW))
    rt.dispatch(b"ex.a.order", GatewayFake().event("a", "c1", wire.Status.NEW))
    assert [s for _, s, _ in _syncs(sent)] == ["a", "b", "a"]


# ---- per-order resync: orders sent without any answer ------------------------------------

AFTER_NS = 2_000_000_000  # the runtime's default resync_after_s


def _placed(n: int = 1) -> tuple[Runtime, Sent, Recorder, list[OrderState]]:
    s = Recorder("a")
    rt, sent, _ = runtime(s)
    cids = [s.buy(SYMBOL, "0.001", "50000") for _ in range(n)]
    orders = [rt.slots[0].ctx.orders.get(c) for c in cids]
    assert all(o is not None for o in orders)
    return rt, sent, s, [o for o in orders if o is not None]


def test_runtime_order_unanswered_past_timeout_gets_one_sync_naming_it() -> None:
    rt, sent, _, (order,) = _placed()
    t0 = order.sent_mono_ns
    n_start = len(sent.syncs)
    rt.tick(t0 + AFTER_NS - 1)
    assert len(sent.syncs) == n_start and rt.n_resyncs == 0
    rt.tick(t0 + AFTER_NS)
    ((topic, body),) = sent.syncs[n_start:]
    msg = wire.decode(body)
    assert isinstance(msg, wire.OrderCmdMsg) and topic == b"cmd.a"
    assert (msg.action, msg.strategy, msg.client_order_id) == (
        wire.Action.SYNC,
        "a",
        order.client_order_id,
    )
    assert (msg.header.inst, msg.px, msg.qty) == (order.inst, order.px, order.qty)
    assert rt.n_resyncs == 1 and rt.counters()["n_resyncs"] == 1


def test_runtime_order_answered_before_timeout_gets_no_sync() -> None:
    rt, sent, _, (order,) = _placed()
    n_start = len(sent.syncs)
    rt.dispatch(b"ex.a.order", GatewayFake().event("a", order.client_order_id, wire.Status.NEW))
    rt.tick(order.sent_mono_ns + 10 * AFTER_NS)
    assert len(sent.syncs) == n_start and rt.n_resyncs == 0


def test_runtime_unanswered_order_is_asked_again_at_doubling_intervals() -> None:
    rt, _, _, (order,) = _placed()
    t = order.sent_mono_ns
    asked_at = []
    for k in range(1, 121):  # a tick every half timeout, for 60 timeouts
        now = t + k * AFTER_NS // 2
        n = rt.n_resyncs
        rt.tick(now)
        if rt.n_resyncs > n:
            asked_at.append((now - t) / AFTER_NS)
    # after 1 timeout, then 2, 4, 8, 16, 16 ... timeouts after the last ask
    assert asked_at == [1, 3, 7, 15, 31, 47]


def test_runtime_tick_deadline_covers_the_next_look_while_orders_are_unanswered() -> None:
    rt, _, _, (order,) = _placed()
    t = order.sent_mono_ns + AFTER_NS
    assert rt.tick(t - AFTER_NS + 1) == t  # its first ask is the loop's next deadline
    rt.tick(t)
    assert rt.n_resyncs == 1
    assert t < rt.tick(t + 1) <= t + AFTER_NS  # another look within one timeout


def test_runtime_resync_answer_never_sent_is_the_one_final_event_the_strategy_sees() -> None:
    rt, sent, s, (order,) = _placed()
    cid = order.client_order_id
    rt.tick(order.sent_mono_ns + AFTER_NS)
    gw = GatewayFake()
    never = gw.event("a", cid, wire.Status.REJECTED, reason="unknown to the gateway: never sent")
    rt.dispatch(b"ex.a.order", never)
    rt.dispatch(b"ex.a.order", never)  # asked twice, answered twice: delivered once
    assert [c for c in s.calls if c[0] == "order"] == [("order", wire.Status.REJECTED)]
    assert not order.is_open and order.reason == "unknown to the gateway: never sent"
    n = len(sent.syncs)
    rt.tick(order.sent_mono_ns + 100 * AFTER_NS)
    assert len(sent.syncs) == n  # answered: never asked again


def test_runtime_lost_answers_then_resync_gives_final_state_once() -> None:
    # NEW and FILLED were lost; the SYNC's answer is FILLED; the late copy is a duplicate.
    rt, _, s, (order,) = _placed()
    cid = order.client_order_id
    rt.tick(order.sent_mono_ns + AFTER_NS)
    assert rt.n_resyncs == 1
    gw = GatewayFake()
    rt.dispatch(b"ex.a.order", gw.event("a", cid, wire.Status.FILLED, filled=100))
    rt.dispatch(b"ex.a.order", gw.event("a", cid, wire.Status.FILLED, filled=100))
    assert [c for c in s.calls if c[0] == "order"] == [("order", wire.Status.FILLED)]
    assert order.status == wire.Status.FILLED and order.filled_qty == 100
    assert rt.slots[0].ctx.orders.counters()["n_unanswered"] == 0


def test_runtime_resyncs_are_bounded_per_look_and_the_rest_follow_soon() -> None:
    rt, sent, _, orders = _placed(RESYNC_BURST + 30)
    t = max(o.sent_mono_ns for o in orders) + AFTER_NS
    n_start = len(sent.syncs)
    nxt = rt.tick(t)
    assert len(sent.syncs) - n_start == RESYNC_BURST
    assert t < nxt <= t + 200_000_000  # the rest within a fraction of a second
    rt.tick(nxt)
    cids = [cid for _, _, cid in _syncs(sent)[n_start:]]
    assert sorted(cids) == sorted(o.client_order_id for o in orders)


def test_runtime_resync_refused_by_bus_is_counted_and_asked_again_later() -> None:
    rt, sent, _, (order,) = _placed()
    sent.ok = False
    refused = rt.n_syncs_refused
    rt.tick(order.sent_mono_ns + AFTER_NS)
    assert rt.n_syncs_refused == refused + 1 and rt.n_resyncs == 0
    sent.ok = True
    rt.tick(order.sent_mono_ns + 3 * AFTER_NS)
    assert rt.n_resyncs == 1


def test_runtime_order_refused_by_bus_is_not_tracked_as_unanswered() -> None:
    s = Recorder("a")
    rt, sent, _ = runtime(s)
    sent.ok = False
    with pytest.raises(OrderRejected):
        s.buy(SYMBOL, "0.001", "50000")
    assert rt.slots[0].ctx.orders.counters()["n_unanswered"] == 0


def test_runtime_resync_after_s_sets_the_timeout() -> None:
    s = Recorder("a")
    sent = Sent()
    rt = Runtime("t", [(spec("a"), s)], sent, resync_after_s=0.25)
    rt.begin()
    rt.dispatch(topic("instrument"), FeedFake().instrument())
    cid = s.buy(SYMBOL, "0.001", "50000")
    order = rt.slots[0].ctx.orders.get(cid)
    assert order is not None
    rt.tick(order.sent_mono_ns + 250_000_000)
    assert rt.n_resyncs == 1


def test_runtime_exec_restart_asks_about_every_open_order_at_the_next_tick() -> None:
    a = Recorder("a")
    rt, sent, _ = runtime(a)
    gw = GatewayFake()
    rt.dispatch(b"ex.a.order", gw.event("a", "live", wire.Status.NEW))
    rt.dispatch(b"ex.a.order", gw.event("a", "done", wire.Status.NEW))
    rt.dispatch(b"ex.a.order", gw.event("a", "done", wire.Status.CANCELED))
    # The gateway restarts; what it published before we heard it again is lost.
    rt.dispatch(b"ex.a.order", GatewayFake().event("a", "other", wire.Status.NEW))
    assert rt.n_exec_restarts == 1 and rt.has_new_timer  # the loop ticks at once
    n = len(sent.syncs)
    rt.tick(now_ns())
    asked = [cid for _, _, cid in _syncs(sent)[n:]]
    # The open order asked by name (its answer carries its fills); not the CANCELED one,
    # nor the one the restarted gateway just told us about.
    assert asked == ["live"] and rt.n_resyncs == 1


def test_runtime_sync_refused_is_sent_again_from_tick_until_the_bus_takes_it() -> None:
    sent = Sent()
    sent.ok = False
    rt, _, _ = runtime(Recorder("a"), sent=sent)
    assert rt.n_syncs_refused == 1 and rt.has_new_timer
    nxt = rt.tick(10**12)
    assert rt.n_syncs_refused == 2 and 10**12 < nxt <= 10**12 + 100_000_000
    sent.ok = True
    rt.tick(nxt)
    assert _syncs(sent) == [(b"cmd.a", "a", "")] and rt.n_syncs_sent == 1
    assert rt.tick(nxt + 10**9) == 0  # nothing left to retry


def test_runtime_cancel_without_any_answer_is_asked_about_after_the_timeout() -> None:
    s = Recorder("a")
    rt, sent, _ = runtime(s)
    gw = GatewayFake()
    cid = s.buy(SYMBOL, "0.001", "50000")
    rt.dispatch(b"ex.a.order", gw.event("a", cid, wire.Status.NEW))
    assert rt.slots[0].ctx.orders.n_unanswered == 0
    assert s.cancel(cid)
    t0 = now_ns()
    n = len(sent.syncs)
    rt.tick(t0 + AFTER_NS + 10**8)  # the cancel's answer was lost
    assert [c for _, _, c in _syncs(sent)[n:]] == [cid]
    rt.dispatch(b"ex.a.order", gw.event("a", cid, wire.Status.CANCELED))
    assert rt.slots[0].ctx.orders.n_unanswered == 0  # the answer came: no more asks
    rt.tick(t0 + 40 * AFTER_NS)
    assert [c for _, _, c in _syncs(sent)[n:]] == [cid]
