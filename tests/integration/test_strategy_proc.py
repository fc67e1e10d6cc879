"""`veloz strategy` as a real process between a fake feed and a fake gateway on the bus.

The test binds what the feed and the gateway would (``md.binance-spot.BTCUSDT`` PUB,
``orders`` PULL, ``exec`` PUB) in a private run dir and starts the strategy process with two
strategies: a probe loaded from a file (buys at the bid on its first book, cancels once the
order is acknowledged, sells once filled) and the market-making example. It checks the
ORDER_CMDs decode, the probe reacts to its order event exactly once although the event is
repeated, latency snapshots appear on ``strategy.main``, and SIGTERM ends the process with
exit 0, the quotes cancelled, the latency file and the state file (counters, position) written.
"""

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.sim_load import REPO
from tests.unit.strategy.wirefakes import FeedFake
from tests.unit.strategy.wirefakes import GatewayFake
from veloz._core import wire
from veloz.bus.endpoints import BusConfig
from veloz.bus.endpoints import lookup
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import PullSocket
from veloz.bus.sockets import SubSocket

pytestmark = pytest.mark.integration

MD = "md.binance-spot.BTCUSDT"
TIMEOUT_S = 10.0
STRATEGY_CMD = (sys.executable, "-m", "procs.cli", "strategy")

PROBE = """
from veloz import Strategy
from veloz._core import wire


class Probe(Strategy):
    def on_start(self):
        self.cid = None

    def on_book(self, book):
        if self.cid is None:
            self.cid = self.buy("BTCUSDT", "0.0010", book.best_bid()[0])

    def on_order(self, update):
        self.log.info("probe.order cid=%s status=%s", update.client_order_id, update.status.name)
        if update.status == wire.Status.NEW:
            self.cancel(update.client_order_id)

    def on_fill(self, fill):
        self.sell("BTCUSDT", "0.0010", 5_000_100)
"""

CONFIG = """
proc = "main"
spin_us = 20
log_level = "INFO"

[[strategies]]
name = "probe"
path = "probe.py:Probe"
symbols = ["BTCUSDT"]

[[strategies]]
name = "mm"
path = "veloz.strategy.examples.market_maker:MarketMaker"
symbols = ["BTCUSDT"]

[strategies.params]
size = "0.0010"
"""


@dataclass
class Rig:
    run_dir: Path
    cfg: BusConfig
    feed_pub: PubSocket
    exec_pub: PubSocket
    orders: PullSocket
    proc: subprocess.Popen[bytes]
    stderr: Path


@pytest.fixture
def rig() -> Iterator[Rig]:
    run_dir = Path(tempfile.mkdtemp(prefix="vz"))  # short: ipc paths must fit 107 bytes
    cfg = BusConfig(run_dir=run_dir)
    feed_pub = PubSocket(cfg, MD)
    exec_pub = PubSocket(cfg, "exec", linger_ms=0)
    orders = PullSocket(cfg)
    conf = run_dir / "conf" / "strategy.toml"
    conf.write_text(CONFIG)
    (run_dir / "conf" / "probe.py").write_text(PROBE)
    stderr = run_dir / "log" / "strategy.log"
    with stderr.open("wb") as err:
        proc = subprocess.Popen(
            [*STRATEGY_CMD, "--config", str(conf), "--run-dir", str(run_dir)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield Rig(run_dir, cfg, feed_pub, exec_pub, orders, proc, stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        for sock in (feed_pub, exec_pub, orders):
            sock.close()
        shutil.rmtree(run_dir, ignore_errors=True)


def _until(
    rig: Rig, want: Callable[[wire.OrderCmdMsg], bool], send: Callable[[], None]
) -> list[tuple[bytes, wire.OrderCmdMsg]]:
    # Calls `send` (market data or an event, repeated: a SUB joins late), collects the
    # ORDER_CMDs arriving meanwhile, and returns them once one satisfies `want`.
    got: list[tuple[bytes, wire.OrderCmdMsg]] = []
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        assert rig.proc.poll() is None, rig.stderr.read_text()
        send()
        msg = rig.orders.recv(timeout_ms=50)
        while msg is not None:
            cmd = wire.decode(msg[1])
            assert isinstance(cmd, wire.OrderCmdMsg)
            if cmd.action != wire.Action.SYNC:  # each strategy's start-up resync request
                got.append((msg[0], cmd))
                if want(cmd):
                    return got
            msg = rig.orders.recv(timeout_ms=0)
    raise AssertionError(f"no wanted command in {got}; log:\n{rig.stderr.read_text()}")


def test_strategy_process_trades_on_bus_and_exits_cleanly(rig: Rig) -> None:
    lookup(rig.cfg, "strategy.main", timeout_s=TIMEOUT_S)  # bound: the process is up
    lat_sub = SubSocket(rig.cfg, ["strategy.main"], prefixes=[b"lat."])
    feed, gw = FeedFake(), GatewayFake()

    def market_data() -> None:
        rig.feed_pub.send(MD.encode() + b".instrument", feed.instrument())
        rig.feed_pub.send(MD.encode() + b".book", feed.book_body(5_000_000, 5_000_100))

    cmds = _until(rig, lambda c: c.strategy == "probe", market_data)
    _, probe_cmd = next(c for c in cmds if c[1].strategy == "probe")
    assert (probe_cmd.action, probe_cmd.side, probe_cmd.px, probe_cmd.qty) == (
        wire.Action.NEW,
        wire.Side.BUY,
        5_000_000,
        100,
    )
    assert probe_cmd.header.inst == 7 and probe_cmd.header.ingest_ns > 0
    cid = probe_cmd.client_order_id
    assert cid.startswith("probe-")

    ack = gw.event("probe", cid, wire.Status.NEW, px=5_000_000, qty=100)
    more = _until(
        rig,
        lambda c: c.action == wire.Action.CANCEL and c.client_order_id == cid,
        lambda: rig.exec_pub.send(b"ex.probe.order", ack),
    )
    topics = {t for t, _ in cmds + more}
    assert topics <= {b"cmd.probe", b"cmd.mm"}
    mm_news = [c for _, c in cmds + more if c.strategy == "mm" and c.action == wire.Action.NEW]
    assert {c.side for c in mm_news} == {wire.Side.BUY, wire.Side.SELL}

    fill = gw.fill("probe", cid, 1, wire.Side.BUY, 5_000_000, 100, fee=5000)
    sells = _until(
        rig,
        lambda c: c.strategy == "probe" and c.side == wire.Side.SELL,
        lambda: rig.exec_pub.send(b"ex.probe.fill", fill),
    )
    assert [c.px for _, c in sells if c.strategy == "probe"] == [5_000_100]

    snapshot = lat_sub.recv(timeout_ms=int(TIMEOUT_S * 1000))
    lat_sub.close()
    assert snapshot is not None and snapshot[0] == b"lat.strategy.main"

    rig.proc.send_signal(signal.SIGTERM)
    assert rig.proc.wait(TIMEOUT_S) == 0, rig.stderr.read_text()
    log = rig.stderr.read_text()
    assert log.count("probe.order") == 1  # the repeated ack was delivered once
    # On stop the market maker's quotes were cancelled (sent before exit, LINGER flushed).
    cancels = []
    msg = rig.orders.recv(timeout_ms=1000)
    while msg is not None:
        cmd = wire.decode(msg[1])
        assert isinstance(cmd, wire.OrderCmdMsg)
        if cmd.action == wire.Action.CANCEL:
            cancels.append(cmd)
        msg = rig.orders.recv(timeout_ms=100)
    assert any(c.strategy == "mm" for c in cancels)
    figures = json.loads((rig.run_dir / "latency" / "strategy.main.json").read_text())["figures"]
    assert figures["ingest_to_dispatch"]["count"] > 0
    assert figures["receipt_to_strategy"]["count"] == 2  # the ack and the fill, once each
    assert not (rig.run_dir / "bus" / "strategy.main.json").exists()
    state = json.loads((rig.run_dir / "state" / "strategy.main.json").read_text())
    assert state["is_final"] is True and state["proc"] == "main"
    probe = state["strategies"]["probe"]
    assert probe["state"] == "stopped" and probe["error"] == ""
    pc = probe["counters"]
    # buy + sell; the cancel of the buy, then at stop the cancel of the open sell
    assert (pc["n_orders_sent"], pc["n_cancels_sent"], pc["n_fills"]) == (2, 2, 1)
    assert pc["n_rejected"] == {"gateway": 0, "venue": 0, "bus": 0} and pc["n_errors"] == 0
    assert probe["symbols"]["BTCUSDT"] == {
        "quote": "USDT",
        "qty": "0.00100",
        "entry_px": "50000.00",
        "realized_pnl": "0.0000000",
        "unrealized_pnl": "0.0000000",
        "fees": {"USDT": "0.00005000"},
        "n_fills": 1,
    }
    mm = state["strategies"]["mm"]
    assert mm["state"] == "stopped"
    assert mm["counters"]["n_orders_sent"] >= 2 and mm["counters"]["n_cancels_sent"] >= 1
