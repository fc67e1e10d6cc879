"""Issue 6 §2 drill on the real product: kill -9 the gateway under `veloz up` while the
market maker trades on the simulator, let the supervisor restart it, halt, and audit.

Runs ``veloz up`` (sim + feed + gateway + market-maker strategy) as a subprocess on a short
/tmp run dir, SIGKILLs the gateway child while it has live quotes and fills (again, up to
`KILLS` times, until the venue filled a quote while the gateway was down), waits for the
supervisor's restart, the gateway's recovery and more trading, freezes trading with
``veloz kill`` (cancel all + HALTED; the sim keeps running) and then checks, against the
sim's REST answers for the run's generated account: no order lost, sent twice or left
unknown, every order's final status and executed qty as the sim says, and the balances
equal to the start balances plus the journaled fills, in the gateway's state and in the
strategy's own position.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import TypeVar

import pytest

from veloz._core import fixed
from veloz.model.events import ASSET_DP
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.oms.journal import Entry
from veloz.oms.journal import OrderSent
from veloz.oms.journal import journal_path
from veloz.oms.journal import replay
from veloz.oms.recovery import rebuild
from veloz.oms.state import ExecState
from veloz.oms.state import OrderState
from veloz.venues.binance.endpoints import endpoints
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import rest_signed_query

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parent.parent.parent
VENUE = "binance-spot"
SYMBOL = "BTCUSDT"
STRATEGY = "mm"
START = {"BTC": "10", "USDT": "100000"}  # the generated account's funds ([sim] balances)
KILLS = 3  # kill -9 rounds at most, until one has fills made while the gateway was down
# Order events and fills a gateway publishes before it is killed: its exec seq must be past
# what its successor publishes before the strategy hears it (how the runtime sees a restart).
MIN_EVENTS = 60
UP_TOML = f"""
log_level = "INFO"
restart_min_s = 1.0
max_restarts = 5
stop_timeout_s = 10.0

[bus]
transport = "ipc"

[sim]
venue = "spot"
symbols = ["{SYMBOL}"]
rate = 400.0
seed = 7
no_rate_limits = true
balances = {{BTC = "{START["BTC"]}", USDT = "{START["USDT"]}"}}

[[feed]]
venue = "{VENUE}"
symbol = "{SYMBOL}"
depth_speed_ms = 100
book_ticker = true

[gateway]
venue = "{VENUE}"
transport = "wsapi"
symbols = ["{SYMBOL}"]

[gateway.risk]
max_notional = "50000"
price_band_bps = 500
max_orders_per_s = 50
max_cancels_per_s = 50

[strategy]
proc = "main"

[[strategy.strategies]]
name = "{STRATEGY}"
path = "veloz.strategy.examples.market_maker:MarketMaker"
venue = "{VENUE}"
symbols = ["{SYMBOL}"]

[strategy.strategies.params]
size = "0.001"
half_spread_ticks = 1
requote_ticks = 1
max_inventory = "0.01"
skew_ticks = 1
"""

T = TypeVar("T")


def wait_for(
    what: str, probe: Callable[[], T | None], up: subprocess.Popen[bytes], timeout_s: float
) -> T:
    """Poll `probe` every 50 ms until it returns something other than None; return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = probe()
        if got is not None:
            return got
        if up.poll() is not None:
            raise AssertionError(f"veloz up exited rc={up.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@dataclass
class Up:
    """A running ``veloz up``, its run dir and its own stdout / stderr files."""

    proc: subprocess.Popen[bytes]
    run: Path
    err: Path
    out: Path

    def log(self, child: str) -> str:
        path = self.run / "log" / f"{child}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def sup(self) -> str:
        """What the supervisor logged (stderr of ``veloz up``)."""
        return self.err.read_text(errors="replace")

    def gateway_pids(self) -> list[int]:
        return [int(p) for p in re.findall(r"child\.start name=gateway pid=(\d+)", self.sup())]

    def journal(self) -> list[Entry]:
        return list(replay(journal_path(self.run)))


@pytest.fixture
def up() -> Iterator[Up]:
    base = Path(tempfile.mkdtemp(prefix="vzdrill"))  # short: ipc paths must stay < 107 bytes
    conf, run = base / "up.toml", base / "r"
    conf.write_text(UP_TOML)
    err, out = base / "up.err", base / "up.out"
    with err.open("wb") as e, out.open("wb") as o:
        proc = subprocess.Popen(
            [sys.executable, "-m", "procs.cli", "up", "--run-dir", str(run), "--config", str(conf)],
            cwd=REPO, stdout=o, stderr=e, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        yield Up(proc, run, err, out)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        shutil.rmtree(base, ignore_errors=True)


class Sim:
    """The run's simulator, asked over REST with the run's generated trading account."""

    def __init__(self, run: Path) -> None:
        ready = json.loads((run / "conf" / "sim.ready.json").read_text())
        account = json.loads((run / "keys" / "sim-accounts.json").read_text())[0]
        self.key, self.secret = str(account["key"]), str(account["secret"])
        self.ep = endpoints(VENUE).at_base(str(ready["rest"]))
        self._signer = HmacSigner(self.key, self.secret)
        info = self._open(f"{self.ep.rest_url}{self.ep.exchange_info_path}", {})
        self.inst: Instrument = instruments_from_exchange_info(info, VENUE)[SYMBOL]

    @staticmethod
    def _open(url: str, headers: dict[str, str]) -> Any:
        req = urllib.request.Request(url, headers=headers)  # noqa: S310 (127.0.0.1 sim)
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            return json.loads(resp.read())

    def get(self, path: str, params: list[tuple[str, str]]) -> Any:
        ts = str(int(time.time() * 1000))
        query = rest_signed_query(self._signer, [*params, ("timestamp", ts)])
        return self._open(f"{self.ep.rest_url}{path}?{query}", {"X-MBX-APIKEY": self.key})

    def open_orders(self) -> list[dict[str, Any]]:
        return list(self.get(self.ep.open_orders_path, [("symbol", SYMBOL)]))

    def all_orders(self) -> list[dict[str, Any]]:
        rows = list(self.get("/api/v3/allOrders", [("symbol", SYMBOL), ("limit", "1000")]))
        assert len(rows) < 1000, "more orders than one allOrders page"
        return rows

    def balances(self) -> dict[str, int]:
        """Wallet (free + locked) of base and quote, raws at ASSET_DP."""
        rows = {b["asset"]: b for b in self.get(self.ep.account_path, [])["balances"]}
        return {
            a: fixed.parse(rows[a]["free"], ASSET_DP) + fixed.parse(rows[a]["locked"], ASSET_DP)
            for a in (self.inst.base, self.inst.quote)
        }


def state_of(entries: list[Entry], inst: Instrument) -> ExecState:
    """The gateway's state rebuilt from its journal, as a restart does."""
    state = ExecState([inst])
    rebuild(entries, VENUE, state, {}, {SYMBOL: 0})
    return state


def booked(entries: list[Entry], inst: Instrument) -> dict[str, int]:
    """Start balances plus every distinct journaled fill (worked out here, not by the OMS)."""
    bal = {a: fixed.parse(START[a], ASSET_DP) for a in (inst.base, inst.quote)}
    unit = 10**inst.price_dp
    seen: set[tuple[int, int]] = set()
    for e in entries:
        if not isinstance(e, Fill) or (e.trade_id, e.order_id) in seen:
            continue
        seen.add((e.trade_id, e.order_id))
        qty = fixed.rescale(e.qty, inst.qty_dp, ASSET_DP)
        notional, rest = divmod(e.px * qty, unit)
        assert rest == 0, f"fill {e.trade_id}: notional not on ASSET_DP"
        sign = 1 if e.side == "BUY" else -1
        bal[inst.base] += sign * qty
        bal[inst.quote] -= sign * notional
        assert e.fee_asset in bal, e
        bal[e.fee_asset] -= e.fee
    return bal


def kill_gateway_until_fills_while_down(up: Up, inst: Instrument) -> tuple[int, int]:
    """Kill -9 the trading gateway, wait for its restart and recovery; repeat until a
    recovery caught up fills made while it was down. Return (kills, fills caught up)."""
    since = 0  # journal records written by the gateway now running
    for kill in range(1, KILLS + 1):
        pid = up.gateway_pids()[-1]

        def trading(since: int = since) -> bool | None:
            # published enough, filled, and has a quote live right now
            entries = up.journal()
            news = entries[since:]
            if sum(isinstance(e, OrderUpdate | Fill) for e in news) < MIN_EVENTS:
                return None
            if not any(isinstance(e, Fill) for e in news):
                return None
            live = [o for o in state_of(entries, inst).orders.orders.values() if o.is_live]
            return True if live else None

        def restarted(kill: int = kill) -> bool | None:
            return True if len(up.gateway_pids()) > kill else None

        def recovered(kill: int = kill) -> bool | None:
            return True if up.log("gateway").count("gateway.recovered") > kill else None

        wait_for(f"trading before kill {kill}", trading, up.proc, 30)
        os.kill(pid, signal.SIGKILL)
        wait_for(f"the supervisor's restart of the gateway ({kill})", restarted, up.proc, 30)
        assert re.search(rf"child\.exit name=gateway pid={pid} rc=-9", up.sup()), up.sup()
        wait_for(f"gateway.recovered after restart {kill}", recovered, up.proc, 30)
        since = len(up.journal())
        caught = re.findall(r"recovery\.fills_caught_up .* new=(\d+)", up.log("gateway"))
        assert len(caught) == kill + 1, caught
        if int(caught[-1]) > 0:
            return kill, int(caught[-1])
    raise AssertionError(f"no fill was made while the gateway was down in {KILLS} kills")


def test_up_gateway_kill9_mid_trading_loses_nothing_and_positions_equal_the_sims(up: Up) -> None:
    t0 = time.monotonic()
    wait_for("the gateway's start", lambda: True if up.gateway_pids() else None, up.proc, 30)
    sim = Sim(up.run)  # the gateway starts after the sim's ready file is written
    inst = sim.inst

    # 1-2. trade, kill -9 the gateway, the supervisor restarts it, it recovers
    kills, caught_up = kill_gateway_until_fills_while_down(up, inst)
    n_sent_at_recovery = sum(isinstance(e, OrderSent) for e in up.journal())

    def traded_after_recovery() -> bool | None:
        entries = up.journal()
        sent = [e.order.client_order_id for e in entries if isinstance(e, OrderSent)]
        fresh = set(sent[n_sent_at_recovery:])
        acked = {
            e.client_order_id
            for e in entries
            if isinstance(e, OrderUpdate)
            and e.client_order_id in fresh
            and e.status is not OrderStatus.REJECTED
        }
        return True if len(acked) >= 2 else None

    wait_for("new quotes acked after the recovery", traded_after_recovery, up.proc, 30)

    def strategy_synced() -> bool | None:
        # the runtime saw each restart (exec seq going back) and sent its SYNC again
        text = up.log("strategy")
        restarts, syncs = text.count("strategy.exec_restart"), text.count("strategy.sync_sent")
        return True if restarts >= kills and syncs >= kills + 1 else None

    wait_for("the strategy to see the gateway's restart and SYNC", strategy_synced, up.proc, 10)

    # 3. freeze: cancel all + HALTED, the sim keeps running
    kill = subprocess.run(
        [sys.executable, "-m", "procs.cli", "kill", "--run-dir", str(up.run), "--reason", "drill"],
        cwd=REPO, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert kill.returncode == 0, kill.stdout + kill.stderr
    wait_for("no open order at the sim", lambda: None if sim.open_orders() else True, up.proc, 15)

    def settled() -> tuple[list[Entry], list[dict[str, Any]]] | None:
        # every order the sim has is final in the journal, with the sim's status and qty
        entries = up.journal()
        state = state_of(entries, inst)
        rows = sim.all_orders()
        for row in rows:
            o = state.orders.get(row["clientOrderId"])
            if o is None or o.state.value != row["status"]:
                return None
            if o.filled_qty != inst.qty(row["executedQty"]):
                return None
        if any(o.is_live for o in state.orders.orders.values()):
            return None
        return entries, rows

    entries, rows = wait_for("the journal to settle", settled, up.proc, 15)
    sim_bal = sim.balances()
    assert not sim.open_orders()
    assert sim.all_orders() == rows, "the sim traded after the halt"

    # 4a. none lost, none sent twice: the sim's orders and the journaled sends, one to one
    sent = Counter(e.order.client_order_id for e in entries if isinstance(e, OrderSent))
    assert not {c: n for c, n in sent.items() if n > 1}, "journaled (sent) twice"
    at_sim = Counter(str(r["clientOrderId"]) for r in rows)
    assert not {c: n for c, n in at_sim.items() if n > 1}, "twice at the sim"
    assert set(at_sim) <= set(sent), f"at the sim, never journaled: {set(at_sim) - set(sent)}"
    state = state_of(entries, inst)
    never_sent = set(sent) - set(at_sim)
    for cid in never_sent:  # journaled, not at the venue: only as REJECTED, nothing filled
        o = state.orders.get(cid)
        assert o is not None and o.state is OrderState.REJECTED, (cid, o and o.state)
        assert o.filled_qty == 0, cid
    # 4b. every order final, with the sim's status and executed qty; nothing pending
    for row in rows:
        o = state.orders.get(row["clientOrderId"])
        assert o is not None, row
        assert (o.state.value, o.filled_qty) == (row["status"], inst.qty(row["executedQty"])), row
    states = Counter(o.state.value for o in state.orders.orders.values())
    assert all(OrderState(s).is_terminal for s in states), states
    assert state.orders.n_overfill == 0 and state.orders.n_conflict == 0
    assert {o.strategy for o in state.orders.orders.values()} == {STRATEGY}
    n_fills = sum(isinstance(e, Fill) for e in entries)

    # 4c. positions: sim balances == start + journaled fills == the rebuilt gateway state
    assert sim_bal == booked(entries, inst)
    total = state.positions.account()
    assert {a: total.balance(VENUE, a) for a in sim_bal} == sim_bal
    base0 = fixed.parse(START[inst.base], ASSET_DP)
    mine = state.positions.account(STRATEGY).position(inst)
    assert fixed.rescale(mine.qty, mine.qty_dp, ASSET_DP) == sim_bal[inst.base] - base0

    # ... and the strategy's own view, from its state file (written every 5 s) once the last
    # events had 0.2 s to reach it: every fill seen, no order open, the venue's position (its
    # qty does not take off the fees paid in the base asset; the wallet does)
    state_file = up.run / "state" / "strategy.main.json"
    after_ns = time.time_ns() + 200_000_000

    def strategy_doc() -> dict[str, Any] | None:
        try:
            doc: dict[str, Any] = json.loads(state_file.read_text())
        except (OSError, ValueError):
            return None
        return doc if int(doc["wall_ns"]) > after_ns else None

    doc = wait_for("a strategy state file written after the settle", strategy_doc, up.proc, 15)
    mm = doc["strategies"][STRATEGY]
    pos = mm["symbols"][SYMBOL]
    fee = fixed.parse(pos["fees"].get(inst.base, "0"), ASSET_DP)
    qty = fixed.parse(pos["qty"], ASSET_DP, signed=True) - fee
    n_seen = len({(e.trade_id, e.order_id) for e in entries if isinstance(e, Fill)})
    assert (mm["counters"]["n_fills"], mm["counters"]["n_open"], qty) == (
        n_seen,
        0,
        sim_bal[inst.base] - base0,
    ), "the strategy's fills, open orders or position are not the venue's"

    # 5. stop: exit 0, and no secret anywhere the run wrote
    up.proc.send_signal(signal.SIGTERM)
    assert up.proc.wait(30) == 0, up.sup()[-4000:]
    out, err = up.out.read_bytes(), up.err.read_bytes()
    written = [p for p in up.run.rglob("*") if p.is_file() and p.parent.name != "keys"]
    assert any(p.parent.name == "journal" for p in written), written
    secret = sim.secret.encode()
    assert secret not in out and secret not in err
    for path in written:
        if path.suffix != ".sock":
            assert secret not in path.read_bytes(), path
    why = Counter(o.reason[:40] for c in never_sent if (o := state.orders.get(c)) is not None)
    print(
        f"drill: kills={kills} caught_up={caught_up} orders={len(rows)} fills={n_fills} "
        f"states={dict(states)} never_sent={dict(why)} s={time.monotonic() - t0:.1f}"
    )
