"""`veloz gateway` subprocess against `veloz sim`: orders in over the bus, events out.

The test is the strategy and the feed: it PUSHes ORDER_CMDs to ``orders``, publishes the
feed's INSTRUMENT and BBO on a fake ``md.binance-spot.BTCUSDT`` PUB (from a thread), and SUBs
to ``exec``. The trade key reaches the gateway by environment only (the sim's demo account).
Every wait is on a bus message or the process, with a timeout.
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.sim_load import REPO
from bench.sim_load import SimProc
from veloz._core import wire
from veloz.bus.endpoints import BusConfig
from veloz.bus.endpoints import bind_name
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import PushSocket
from veloz.bus.sockets import SubSocket
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import endpoints
from veloz.venues.binance.mapping import instruments_from_exchange_info

pytestmark = pytest.mark.integration

SYMBOL = "BTCUSDT"
INST = 3  # the fake feed's instrument id
STRATEGY = "t1"
_CIDS = itertools.count(1)
WAIT_S = 15.0


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (127.0.0.1 sim)
        return json.loads(resp.read())


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(20, seed=11, venue="both", symbols=SYMBOL, start_timeout_s=30) as proc:
        assert proc.key, "the sim printed no trade account"
        yield proc


class FakeFeed(threading.Thread):
    """Publishes INSTRUMENT and a fixed BBO every 20 ms (late subscribers catch up)."""

    def __init__(self, cfg: BusConfig, inst: Instrument, bid: int, ask: int) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self._pub = PubSocket(cfg, f"md.{inst.venue}.{SYMBOL}")  # binds before the gateway
        self._inst, self._bid, self._ask = inst, bid, ask

    def run(self) -> None:
        enc = wire.Encoder(wire.venue_id(self._inst.venue))
        i = self._inst
        topic = f"md.{i.venue}.{SYMBOL}."
        try:
            while not self.stop.wait(0.02):
                self._pub.send(
                    (topic + "instrument").encode(),
                    enc.instrument(INST, SYMBOL, i.base, i.quote, i.price_dp, i.qty_dp,
                                   i.tick_raw, i.step_raw, i.min_qty_raw, i.max_qty_raw, 0),
                )  # fmt: skip
                body = enc.bbo(INST, 1, i.price_dp, i.qty_dp, self._bid, 1, self._ask, 1, 0, 0)
                self._pub.send((topic + "bbo").encode(), body)
        finally:
            self._pub.close()


@dataclass
class Rig:
    run_dir: Path
    proc: subprocess.Popen[bytes]
    inst: Instrument
    bid: int
    ask: int
    push: PushSocket
    sub: SubSocket
    enc: wire.Encoder
    log: Path
    n: int = 0

    def send(
        self,
        action: int,
        cid: str,
        *,
        side: int = 0,
        ord_type: int = 0,
        tif: int = 0,
        px: int = 0,
        qty: int = 0,
    ) -> None:
        i = self.inst
        body = self.enc.order_cmd(
            INST, action, STRATEGY, cid, side, ord_type, tif, i.price_dp, i.qty_dp, px, qty,
            False, time.monotonic_ns(),
        )  # fmt: skip
        assert self.push.send(f"cmd.{STRATEGY}".encode(), body)

    def new(self, **kw: Any) -> str:
        # unique across rigs: tests of one process share a sim, which refuses repeated ids
        cid = f"t1-{os.getpid()}-{next(_CIDS)}"
        self.send(wire.Action.NEW, cid, **kw)
        return cid

    def wait(self, topic: bytes, pred: Any, what: str) -> Any:
        end = time.monotonic() + WAIT_S
        while (left_ms := int((end - time.monotonic()) * 1000)) > 0:
            got = self.sub.recv(left_ms)
            if got is None:
                break
            msg = wire.decode(got[1])
            if got[0] == topic and pred(msg):
                return msg
        tail = self.log.read_text()[-2000:] if self.log.exists() else ""
        raise AssertionError(f"no {what} within {WAIT_S}s; gateway log tail:\n{tail}")

    def order_event(self, cid: str, status: int) -> Any:
        topic = f"ex.{STRATEGY}.order".encode()
        return self.wait(
            topic,
            lambda m: m.client_order_id == cid and m.status == status,
            f"{wire.Status(status).name} for {cid}",
        )

    def first_answer(self, **kw: Any) -> tuple[str, Any]:
        # The gateway may not have the md yet (slow joiner), or may still be reconciling
        # with the venue after start: resend until it takes orders.
        topic = f"ex.{STRATEGY}.order".encode()
        for _ in range(20):
            cid = self.new(**kw)
            ev = self.wait(topic, lambda m, c=cid: m.client_order_id == c, f"answer to {cid}")
            if not ev.reason.startswith(
                ("no_market_data", "unknown instrument", "gateway recovering")
            ):
                return cid, ev
        raise AssertionError("the gateway never saw the fake feed's market data")


@dataclass
class SimGateway:
    """What a gateway test on the sim starts from: its run dir, config file and fake feed."""

    run_dir: Path
    inst: Instrument
    bid: int
    ask: int
    conf: Path
    cfg: BusConfig
    feed: "FakeFeed"

    def close(self) -> None:
        """Stop the fake feed."""
        self.feed.stop.set()
        self.feed.join(5)


def sim_gateway(sim: SimProc, venue: str = "binance-spot", risk_extra: str = "") -> SimGateway:
    """Write a gateway config for `sim` in a fresh short run dir and start a fake feed at the
    sim's top of book (`risk_extra`: more TOML lines, placed after the ``[risk]`` keys)."""
    ep = endpoints(venue).at_base(sim.rest)
    run_dir = Path(tempfile.mkdtemp(prefix="vz"))  # short: AF_UNIX paths max 107 bytes
    info = _get(f"{ep.rest_url}{ep.exchange_info_path}")
    inst = instruments_from_exchange_info(info, venue)[SYMBOL]
    depth = _get(f"{ep.rest_url}{ep.depth_path}?symbol={SYMBOL}&limit=5")
    bid, ask = inst.px(depth["bids"][0][0]), inst.px(depth["asks"][0][0])
    conf = run_dir / "gateway.toml"
    conf.write_text(
        f'log_level = "INFO"\nvenue = "{venue}"\nrest_url = "{sim.rest}"\n'
        f'ws_url = "{sim.ws}"\nsymbols = ["{SYMBOL}"]\nlatency_interval_s = 0.2\n'
        '[risk]\nmax_notional = "100000"\nprice_band_bps = 2500\n'
        f"max_orders_per_s = 50.0\nmax_cancels_per_s = 50.0\n{risk_extra}"
        f'[bus]\nrun_dir = "{run_dir}"\n'
    )
    cfg = BusConfig(run_dir=run_dir)
    feed = FakeFeed(cfg, inst, bid, ask)
    feed.start()
    return SimGateway(run_dir, inst, bid, ask, conf, cfg, feed)


class Gw:
    """One `veloz gateway` process on a `SimGateway`'s run dir and the test's bus sockets to
    it (SUB on ``ex.<STRATEGY>.``, ``lat.gateway`` and `more_prefixes`; PUSH to ``orders``)."""

    def __init__(self, sim: SimProc, g: SimGateway, more_prefixes: tuple[bytes, ...] = ()) -> None:
        env = dict(os.environ, VELOZ_API_KEY=sim.key, VELOZ_API_SECRET=sim.secret.decode())
        self.log = g.run_dir / f"gateway-{time.monotonic_ns()}.log"  # one per (re)start
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "procs.cli", "gateway", "--config", str(g.conf),
                 "--run-dir", str(g.run_dir)],
                cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        prefixes = (f"ex.{STRATEGY}.".encode(), b"lat.gateway", *more_prefixes)
        self.sub = SubSocket(g.cfg, prefixes=prefixes)
        self.sub.connect(bind_name(g.cfg, "exec"))  # ipc: connects once the gateway binds
        self.push = PushSocket(g.cfg)
        self.rig = Rig(
            g.run_dir,
            self.proc,
            g.inst,
            g.bid,
            g.ask,
            self.push,
            self.sub,
            wire.Encoder(0),
            self.log,
        )

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.push.close()
        self.sub.close()


@pytest.fixture(params=["binance-spot", "binance-usdm"])
def rig(sim: SimProc, request: pytest.FixtureRequest) -> Iterator[Rig]:
    g = sim_gateway(sim, request.param, f'[risk.max_order_qty]\n{SYMBOL} = "0.05"\n')
    gw = Gw(sim, g)
    try:
        gw.rig.wait(b"lat.gateway", lambda m: True, "lat.gateway snapshot (gateway up)")
        yield gw.rig
    finally:
        gw.close()
        g.close()


def test_gateway_sim_orders_events_fills_rejections_and_latency_file(rig: Rig) -> None:
    i = rig.inst
    qty = i.qty("0.01")
    away = rig.bid * 9 // 10 // i.tick_raw * i.tick_raw  # 10 % under the bid: rests
    buy, limit, gtc = wire.Side.BUY, wire.OrdType.LIMIT, wire.Tif.GTC

    # a resting limit order: NEW, then CANCELED after a cancel
    cid, ev = rig.first_answer(side=buy, ord_type=limit, tif=gtc, px=away, qty=qty)
    assert ev.status == wire.Status.NEW and ev.venue_order_id > 0, ev.to_dict()
    assert (ev.header.inst, ev.px, ev.qty) == (INST, away, qty)
    rig.send(wire.Action.CANCEL, cid)
    rig.order_event(cid, wire.Status.CANCELED)

    # a marketable order: a FILL (from the user stream) routed to this strategy
    m = rig.new(side=buy, ord_type=wire.OrdType.MARKET, qty=qty)
    fill = rig.wait(
        f"ex.{STRATEGY}.fill".encode(), lambda f: f.client_order_id == m, f"fill of {m}"
    )
    assert fill.qty > 0 and fill.px > 0 and fill.header.inst == INST

    # over the per-symbol quantity limit: REJECTED with the rule's text, never sent
    big = rig.new(side=buy, ord_type=limit, tif=gtc, px=away, qty=i.qty("1"))
    ev = rig.order_event(big, wire.Status.REJECTED)
    limit_text = f"{i.qty_text(i.qty('1'))} > {i.qty_text(i.qty('0.05'))} {i.base}"
    assert ev.reason == f"max_order_qty: {limit_text}"

    rig.proc.send_signal(signal.SIGTERM)
    assert rig.proc.wait(15) == 0, rig.log.read_text()[-2000:]
    doc = json.loads((rig.run_dir / "latency" / "gateway.json").read_text())
    fig = doc["figures"]["trigger_to_send"]
    assert fig["count"] >= 3  # place, cancel, market place
    assert not (rig.run_dir / "bus" / "exec.json").exists()
    print(f"{i.venue} trigger_to_send", {k: fig[k] for k in ("count", "p50_us", "p99_us")})


def test_gateway_without_keys_exits_2_with_one_clear_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VELOZ_API_")}
    done = subprocess.run(
        [sys.executable, "-m", "procs.cli", "gateway", "--run-dir", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert [ln for ln in lines if " veloz.audit.log audit_close " not in ln] == [
        "veloz gateway: no trade key in the environment: set VELOZ_API_KEY with "
        "VELOZ_API_SECRET or VELOZ_API_ED25519_KEY_FILE"
    ]
