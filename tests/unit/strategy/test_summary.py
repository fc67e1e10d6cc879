"""State file of the strategy process: tally counters from the runtime, exact positions and
PnL as decimal text, states (running, stopped, failed, never started), atomic write."""

import json
from pathlib import Path

import pytest

from tests.unit.strategy.wirefakes import INST
from tests.unit.strategy.wirefakes import PRICE_DP
from tests.unit.strategy.wirefakes import QTY_DP
from tests.unit.strategy.wirefakes import SYMBOL
from tests.unit.strategy.wirefakes import GatewayFake
from tests.unit.strategy.wirefakes import Sent
from tests.unit.strategy.wirefakes import runtime
from tests.unit.strategy.wirefakes import topic
from veloz._core import wire
from veloz._core.latency import now_ns
from veloz.errors import OrderRejected
from veloz.strategy.base import Strategy
from veloz.strategy.runtime import Runtime
from veloz.strategy.summary import ACTION_OFFSET
from veloz.strategy.summary import snapshot
from veloz.strategy.summary import state_path
from veloz.strategy.summary import write_state


class Boom(Strategy):
    def on_book(self, book: wire.BookView) -> None:
        raise RuntimeError("boom")


def _rejected(gw: GatewayFake, cid: str, code: int) -> bytes:
    return gw.enc.order_event(
        INST,
        "t1",
        cid,
        0,
        wire.Status.REJECTED,
        wire.Side.BUY,
        wire.OrdType.LIMIT,
        wire.Tif.GTC,
        PRICE_DP,
        QTY_DP,
        5_000_000,
        100,
        0,
        code,
        "refused",
        0,
        now_ns(),
    )


def _traded() -> tuple[Runtime, Strategy, Sent]:
    # One strategy: 4 orders taken by the bus, 1 refused, 1 cancel, 2 fills (+1 repeated),
    # a repeated ack, one reject by the gateway (code 0) and one by the venue (-2010).
    s = Strategy("t1")
    rt, sent, feed = runtime(s)
    rt.dispatch(topic("book"), feed.book_body(4_999_000, 5_000_100))
    gw = GatewayFake()
    cid1 = s.buy(SYMBOL, "0.00100", "50000.00")
    cid2 = s.sell(SYMBOL, "0.00050", "50010.00")
    cid3 = s.buy(SYMBOL, "0.00100", "50000.00")
    cid4 = s.buy(SYMBOL, "0.00100", "50000.00")
    assert s.cancel(cid2)
    sent.ok = False
    with pytest.raises(OrderRejected):
        s.buy(SYMBOL, "0.00100", "50000.00")
    sent.ok = True
    ack = gw.event("t1", cid1, wire.Status.NEW, px=5_000_000, qty=100)
    rt.dispatch(b"ex.t1.order", ack)
    rt.dispatch(b"ex.t1.order", ack)  # duplicate event
    fill1 = gw.fill("t1", cid1, 1, wire.Side.BUY, 5_000_000, 100, fee=5000)
    rt.dispatch(b"ex.t1.fill", fill1)
    rt.dispatch(b"ex.t1.fill", fill1)  # duplicate fill
    rt.dispatch(b"ex.t1.fill", gw.fill("t1", cid2, 2, wire.Side.SELL, 5_001_000, 50, fee=2500))
    rt.dispatch(b"ex.t1.order", _rejected(gw, cid3, 0))
    rt.dispatch(b"ex.t1.order", _rejected(gw, cid4, -2010))
    rt.dispatch(b"ex.t1.order", _rejected(gw, cid4, -2010))  # duplicate: counted once
    return rt, s, sent


def test_snapshot_after_fake_fills_has_exact_counters_and_position() -> None:
    rt, _, _ = _traded()
    doc = snapshot(rt)
    st = doc["strategies"]["t1"]
    assert (doc["format"], doc["proc"], doc["is_final"]) == (1, "t", False)
    assert st["state"] == "running" and st["error"] == ""
    assert st["counters"] == {
        "n_orders_sent": 4,
        "n_cancels_sent": 1,
        "n_open": 2,
        "n_fills": 2,
        "n_rejected": {"gateway": 1, "venue": 1, "bus": 1},
        "n_duplicate_events": 2,
        "n_duplicate_fills": 1,
        "n_stale_events": 0,
        "n_unknown_orders": 0,
        "n_errors": 0,
        "n_timers": 0,
    }
    # bought 0.00100 @ 50000.00, sold 0.00050 @ 50010.00: realized 0.0050000; the long
    # 0.00050 marked at the bid 49990.00: -0.0050000; fees 0.00005 + 0.000025 USDT.
    assert st["symbols"] == {
        SYMBOL: {
            "quote": "USDT",
            "qty": "0.00050",
            "entry_px": "50000.00",
            "realized_pnl": "0.0050000",
            "unrealized_pnl": "-0.0050000",
            "fees": {"USDT": "0.00007500"},
            "n_fills": 2,
        }
    }
    assert st["totals"] == {
        "quotes": ["USDT"],
        "realized_pnl": "0.0050000",
        "unrealized_pnl": "-0.0050000",
        "fees": {"USDT": "0.00007500"},
    }
    assert doc["runtime"]["n_bad_fills"] == 0


def test_snapshot_after_stop_all_counts_shutdown_cancels_and_says_stopped() -> None:
    rt, _, _ = _traded()
    rt.stop_all()  # cid1 is open; cid2's cancel is already out
    st = snapshot(rt, is_final=True)["strategies"]["t1"]
    assert st["state"] == "stopped"
    assert st["counters"]["n_cancels_sent"] == 2


def test_action_offset_reads_the_action_of_sent_commands() -> None:
    _, _, sent = _traded()
    assert [b[ACTION_OFFSET] for _, b in sent.msgs] == [int(c.action) for c in sent.decoded()]


def test_snapshot_failed_callback_says_failed_with_exception_text() -> None:
    rt, _, feed = runtime(Boom("t1"))
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    st = snapshot(rt)["strategies"]["t1"]
    assert st["state"] == "failed"
    assert st["error"] == "on_book raised RuntimeError: boom"
    assert st["counters"]["n_errors"] == 1


def test_snapshot_start_timeout_says_never_started_and_no_position() -> None:
    rt, _, _ = runtime(Strategy("t1"), start=False)
    assert snapshot(rt)["strategies"]["t1"]["state"] == "waiting"
    rt.tick(now_ns() + 11 * 10**9)
    st = snapshot(rt)["strategies"]["t1"]
    assert st["state"] == "never_started"
    assert st["error"] == f"start timeout: no instrument for {SYMBOL}"
    assert st["symbols"] == {SYMBOL: None}
    assert st["totals"]["realized_pnl"] == "0"


def test_snapshot_stopped_before_start_says_never_started() -> None:
    rt, _, _ = runtime(Strategy("t1"), start=False)
    rt.stop_all()
    assert snapshot(rt)["strategies"]["t1"]["state"] == "never_started"


def test_write_state_writes_json_atomically_under_state_dir(tmp_path: Path) -> None:
    rt, _, _ = _traded()
    path = write_state(rt, tmp_path, is_final=True)
    assert path == state_path(tmp_path, "t") == tmp_path / "state" / "strategy.t.json"
    doc = json.loads(path.read_text())
    assert doc["is_final"] is True
    assert doc["strategies"]["t1"]["counters"]["n_fills"] == 2
    assert [p.name for p in path.parent.iterdir()] == ["strategy.t.json"]  # no temp left


def test_write_state_unwritable_dir_raises_oserror(tmp_path: Path) -> None:
    rt, _, _ = runtime(Strategy("t1"))
    (tmp_path / "state").write_text("a file where the directory should be")
    with pytest.raises(OSError):
        write_state(rt, tmp_path)
