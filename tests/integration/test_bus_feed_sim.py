"""`veloz feed` on the bus against `veloz sim`: a SUB in the test and `veloz tap` both see
its book, trade, status and instrument messages, and the books equal the sim's.

The sim, the feed and the tap are real processes on 127.0.0.1; the run dir is a short
temporary directory (ipc paths must fit 107 bytes).
"""

import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench.sim_load import SimProc
from veloz._core import fixed
from veloz._core import wire
from veloz.bus import endpoints as ep
from veloz.bus.endpoints import BusConfig
from veloz.bus.sockets import SubSocket
from veloz.errors import ConfigError
from veloz.venues.binance.feedconfig import FeedConfig

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NAME = "md.binance-spot.BTCUSDT"
LEVELS = 20


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(2000, venue="spot", symbols="BTCUSDT", start_timeout_s=30) as proc:
        yield proc


@pytest.fixture
def cfg() -> Iterator[BusConfig]:
    path = Path(tempfile.mkdtemp(prefix="vz"))
    yield BusConfig(run_dir=path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def feed(sim: SimProc, cfg: BusConfig) -> Iterator[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "procs.cli", "feed", "--venue", "binance-spot"]
    cmd += ["--symbol", "BTCUSDT", "--ws-url", sim.ws, "--rest-url", sim.rest]
    cmd += ["--run-dir", str(cfg.run_dir), "--depth-levels", str(LEVELS)]
    cmd += ["--log-level", "WARNING"]
    err = (cfg.run_dir / "feed.err").open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err)
    try:
        ep.lookup(cfg, NAME, timeout_s=20)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        err.close()


def _admin(sim: SimProc, path: str, body: dict[str, Any] | None = None) -> Any:
    data = None if body is None else orjson.dumps(body)
    url = f"{sim.admin}{path}"  # http://127.0.0.1:PORT/admin/...
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310
    with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
        return orjson.loads(resp.read())


class Seen:
    """What a subscriber saw, by kind; books by update id (top `LEVELS` per side)."""

    def __init__(self) -> None:
        self.books: dict[int, tuple[int, list[Any], list[Any]]] = {}
        self.kinds: dict[str, int] = {}
        self.statuses: list[tuple[bool, str]] = []
        self.instrument: wire.InstrumentMsg | None = None

    def add(self, topic: bytes, body: bytes) -> None:
        assert topic.startswith(NAME.encode() + b".")
        msg = wire.decode(body)
        kind = topic.rsplit(b".", 1)[1].decode()
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if isinstance(msg, wire.BookMsg):
            self.books[msg.update_id] = (msg.price_dp, list(msg.bids), list(msg.asks))
        elif isinstance(msg, wire.StatusMsg):
            self.statuses.append((msg.is_live, msg.reason))
        elif isinstance(msg, wire.InstrumentMsg):
            self.instrument = msg


def _resynced(statuses: list[tuple[bool, str]]) -> bool:
    # A gap status, then live again (a subscriber may also have seen the first sync).
    if (False, "gap") not in statuses:
        return False
    return (True, "synced") in statuses[statuses.index((False, "gap")) :]


def _pump(sub: SubSocket, seen: Seen, until: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not until():
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {seen.kinds}"
        msg = sub.recv(timeout_ms=100)
        if msg is not None:
            seen.add(*msg)


def test_bus_feed_sim_sub_sees_books_equal_to_the_sims_and_trades_status_instrument(
    sim: SimProc, cfg: BusConfig, feed: subprocess.Popen[bytes]
) -> None:
    seen = Seen()
    with SubSocket(cfg, [NAME]) as sub:
        _pump(sub, seen, lambda: seen.instrument is not None, 5.0, "an instrument message")
        _pump(sub, seen, lambda: len(seen.books) > 10, 20.0, "books")
        _admin(sim, "/faults", {"fault": "gap", "symbol": "BTCUSDT", "n": 3})
        _pump(sub, seen, lambda: _resynced(seen.statuses), 10.0, "live again")
        for _ in range(3):
            truth = _admin(sim, "/book?venue=spot&symbol=BTCUSDT")
            u = truth["lastUpdateId"]
            _pump(sub, seen, lambda u=u: max(seen.books) >= u, 5.0, f"update id {u}")
            assert u in seen.books, f"no book published at update id {u}"
            price_dp, bids, asks = seen.books[u]
            for got, key in ((bids, "bids"), (asks, "asks")):
                want = [
                    (fixed.parse(p, price_dp), fixed.parse(q, seen.instrument.qty_dp))
                    for p, q in truth[key][:LEVELS]
                ]
                assert got == want, f"{key} differ at update id {u}"
            assert len(bids) == LEVELS and len(asks) == LEVELS
        _pump(sub, seen, lambda: seen.kinds.get("trade", 0) > 0, 10.0, "a trade")
    assert seen.statuses[-2:] == [(False, "gap"), (True, "synced")]
    assert seen.instrument is not None
    assert (seen.instrument.symbol, seen.instrument.base, seen.instrument.quote) == (
        "BTCUSDT",
        "BTC",
        "USDT",
    )
    assert seen.instrument.tick_raw > 0 and seen.instrument.step_raw > 0
    assert feed.poll() is None, "the feed is still running"


def test_bus_feed_sim_tap_json_sees_book_trade_status_and_feed_exits_0_on_sigterm(
    sim: SimProc, cfg: BusConfig, feed: subprocess.Popen[bytes]
) -> None:
    cmd = [sys.executable, "-m", "procs.cli", "tap", "--run-dir", str(cfg.run_dir), "--json"]
    tap = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(30.0, tap.kill)  # a silent tap ends readline() with EOF
    watchdog.start()
    try:
        assert tap.stdout is not None
        types = set()
        while "book" not in types:  # connected, and the feed is live
            types.add(orjson.loads(tap.stdout.readline())["type"])
        _admin(sim, "/faults", {"fault": "gap", "symbol": "BTCUSDT", "n": 3})
        statuses: list[tuple[bool, str]] = []
        deadline = time.monotonic() + 20.0
        while not ({"book", "trade", "instrument"} <= types and _resynced(statuses)):
            assert time.monotonic() < deadline, f"tap saw only {types} {statuses}"
            d = orjson.loads(tap.stdout.readline())
            assert d["topic"] == f"{NAME}.{d['type']}"
            types.add(d["type"])
            if d["type"] == "status":
                statuses.append((d["is_live"], d["reason"]))
            if d["type"] == "book":
                assert len(d["bids"]) == LEVELS
                assert fixed.parse(d["bids"][0][0], d["price_dp"]) < fixed.parse(
                    d["asks"][0][0], d["price_dp"]
                )
        tap.send_signal(signal.SIGINT)
        _, err = tap.communicate(timeout=10)
        assert tap.returncode == 0, err.decode()[-2000:]
    finally:
        watchdog.cancel()
        if tap.poll() is None:
            tap.kill()
            tap.wait()
    assert statuses[-2:] == [(False, "gap"), (True, "synced")]
    feed.send_signal(signal.SIGTERM)
    out, _ = feed.communicate(timeout=10)
    assert feed.returncode == 0
    counters = orjson.loads(out.splitlines()[-1])
    assert counters["type"] == "counters" and counters["bus_sent"] > 0
    assert ep.find(cfg, NAME) is None, "the endpoint file is removed at exit"


def test_bus_feed_sim_second_feed_of_the_same_symbol_exits_2_naming_the_first(
    sim: SimProc, cfg: BusConfig, feed: subprocess.Popen[bytes]
) -> None:
    cmd = [sys.executable, "-m", "procs.cli", "feed", "--venue", "binance-spot"]
    cmd += ["--symbol", "BTCUSDT", "--ws-url", sim.ws, "--rest-url", sim.rest]
    cmd += ["--run-dir", str(cfg.run_dir), "--duration", "5"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, timeout=30, check=False)
    assert proc.returncode == 2
    want = f"another process already publishes {NAME} (pid {feed.pid})"
    assert want in proc.stderr.decode()
    assert feed.poll() is None
    first = ep.find(cfg, NAME)
    assert first is not None and first.pid == feed.pid


# -- klines ---------------------------------------------------------------------------------


def test_feed_config_klines_add_streams_spot_depth_conn_usdm_market_conn() -> None:
    spot = FeedConfig(klines=("1m", "1s"))
    assert spot.depth_streams()[-2:] == ["btcusdt@kline_1m", "btcusdt@kline_1s"]
    usdm = FeedConfig(venue="binance-usdm", trades=False, klines=("5m",))
    assert usdm.trade_streams() == ["btcusdt@kline_5m"]
    assert not any("kline" in s for s in usdm.depth_streams())


@pytest.mark.parametrize(
    ("venue", "klines"),
    [("binance-spot", ("7m",)), ("binance-usdm", ("1s",)), ("binance-spot", ("1m", "1m"))],
)
def test_feed_config_bad_kline_interval_is_config_error(venue: str, klines: tuple[str]) -> None:
    with pytest.raises(ConfigError, match="klines="):
        FeedConfig(venue=venue, klines=klines)


def _kline_config(cfg: BusConfig, sim: SimProc) -> Path:
    path = cfg.run_dir / "feed.toml"
    path.write_text(
        f'[feed]\nvenue = "binance-spot"\nsymbol = "BTCUSDT"\nws_url = "{sim.ws}"\n'
        f'rest_url = "{sim.rest}"\nklines = ["1m"]\n'
    )
    return path


def test_bus_feed_sim_klines_1m_arrive_as_kline_messages(sim: SimProc, cfg: BusConfig) -> None:
    cmd = [sys.executable, "-m", "procs.cli", "feed", "--config", str(_kline_config(cfg, sim))]
    cmd += ["--run-dir", str(cfg.run_dir), "--log-level", "WARNING", "--duration", "20"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ep.lookup(cfg, NAME, timeout_s=20)
        with SubSocket(cfg, [NAME], prefixes=[NAME + ".kline"]) as sub:
            msg = sub.recv(timeout_ms=10_000)
        assert msg is not None, "no kline within 10 s (the sim sends one a second)"
        kline = wire.decode(msg[1])
        assert isinstance(kline, wire.KlineMsg)
        assert kline.interval_s == 60
        assert kline.close_ns - kline.open_ns == 60 * 10**9 - 10**6
        assert kline.low_px <= min(kline.open_px, kline.close_px)
        assert kline.high_px >= max(kline.open_px, kline.close_px)
        assert kline.header.exch_ns > 0 and kline.header.ingest_ns > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"feed.frame_unknown" not in err


def test_feed_print_klines_1m_prints_kline_lines(sim: SimProc, cfg: BusConfig) -> None:
    cmd = [sys.executable, "-m", "procs.cli", "feed", "--config", str(_kline_config(cfg, sim))]
    cmd += ["--print", "--log-level", "WARNING", "--duration", "20"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    watchdog = threading.Timer(30.0, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        line = orjson.loads(proc.stdout.readline())
        while line["type"] != "kline":
            line = orjson.loads(proc.stdout.readline())
        assert line["symbol"] == "BTCUSDT" and line["interval_s"] == 60
        assert fixed.parse(line["low"], 8) <= fixed.parse(line["high"], 8)
    finally:
        watchdog.cancel()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
    assert proc.returncode == 0
