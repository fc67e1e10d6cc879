"""Runtime resync with the gateway: SYNC on start and when the exec publisher restarts."""

from tests.unit.strategy.test_runtime import Recorder
from tests.unit.strategy.wirefakes import GatewayFake
from tests.unit.strategy.wirefakes import Sent
from tests.unit.strategy.wirefakes import runtime
from veloz._core import wire


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
