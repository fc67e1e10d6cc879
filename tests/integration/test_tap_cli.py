"""`veloz tap` as a subprocess against publishers the test binds in its own process."""

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import zmq

from procs import tap
from veloz._core import wire
from veloz.bus import curve
from veloz.bus import endpoints as ep
from veloz.bus.endpoints import BusConfig
from veloz.bus.human import human_line
from veloz.bus.sockets import PubSocket

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
NAME = "md.binance-spot.BTCUSDT"
TOPIC = NAME.encode() + b".bbo"


@pytest.fixture
def cfg() -> Iterator[BusConfig]:
    path = Path(tempfile.mkdtemp(prefix="vz"))
    yield BusConfig(run_dir=path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _tap(
    procs: list[subprocess.Popen[bytes]], cfg: BusConfig, *args: str
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "procs.cli", "tap", "--run-dir", str(cfg.run_dir), *args]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    procs.append(proc)
    return proc


def _bbo(enc: wire.Encoder, i: int) -> bytes:
    return enc.bbo(0, i, 2, 3, 6000010 + i, 500, 6000020 + i, 250, 0, i)


def _publish_until_exit(
    pub: PubSocket, proc: subprocess.Popen[bytes], bodies: list[tuple[bytes, bytes]]
) -> None:
    # Keep publishing (the tap joins at an unknown moment) until the tap exits.
    for _ in range(3000):
        for topic, body in bodies:
            pub.send(topic, body)
        try:
            proc.wait(timeout=0.01)
            return
        except subprocess.TimeoutExpired:
            continue
    raise AssertionError("tap did not exit within 30 s")


def test_tap_json_count_prints_decoded_objects_with_topic_and_exits_0(
    cfg: BusConfig, procs: list[subprocess.Popen[bytes]]
) -> None:
    enc = wire.Encoder(wire.venue_id("binance-spot"))
    with PubSocket(cfg, NAME) as pub:
        proc = _tap(procs, cfg, "--json", "--count", "3")
        _publish_until_exit(pub, proc, [(TOPIC, _bbo(enc, 1))])
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()[-2000:]
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert len(lines) == 3
    assert all(d["topic"] == TOPIC.decode() and d["type"] == "bbo" for d in lines)
    assert (lines[0]["bid_px"], lines[0]["bid_qty"], lines[0]["ask_px"]) == (
        "60000.11",
        "0.500",
        "60000.21",
    )


def test_tap_human_line_has_time_topic_seq_and_decimal_prices(
    cfg: BusConfig, procs: list[subprocess.Popen[bytes]]
) -> None:
    enc = wire.Encoder(wire.venue_id("binance-spot"))
    with PubSocket(cfg, NAME) as pub:
        proc = _tap(procs, cfg, "--count", "1", "md.binance-spot.")
        _publish_until_exit(pub, proc, [(TOPIC, _bbo(enc, 1))])
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()[-2000:]
    pattern = (
        r"\d\d:\d\d:\d\d\.\d{6} md\.binance-spot\.BTCUSDT\.bbo seq=\d+ u=1 "
        r"bid=60000\.11x0\.500 ask=60000\.21x0\.250"
    )
    assert re.fullmatch(pattern, out.decode().strip())


def test_tap_topic_prefix_filters_other_topics(
    cfg: BusConfig, procs: list[subprocess.Popen[bytes]]
) -> None:
    enc = wire.Encoder(wire.venue_id("binance-spot"))
    status = enc.status(0, True, "synced", 5)
    with PubSocket(cfg, NAME) as pub:
        proc = _tap(procs, cfg, "--json", "--count", "2", NAME + ".status")
        _publish_until_exit(
            pub, proc, [(TOPIC, _bbo(enc, 1)), (NAME.encode() + b".status", status)]
        )
    out, _ = proc.communicate(timeout=10)
    assert [orjson.loads(line)["type"] for line in out.splitlines()] == ["status", "status"]


def test_tap_malformed_body_is_counted_logged_and_skipped(
    cfg: BusConfig, procs: list[subprocess.Popen[bytes]]
) -> None:
    enc = wire.Encoder(wire.venue_id("binance-spot"))
    with PubSocket(cfg, NAME) as pub:
        proc = _tap(procs, cfg, "--json", "--count", "2")
        _publish_until_exit(pub, proc, [(TOPIC, b"VZ\x01garbage"), (TOPIC, _bbo(enc, 1))])
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert len(out.splitlines()) == 2
    assert b"tap.malformed" in err
    assert b"Traceback" not in err


def test_tap_started_first_rediscovers_publisher_that_appears_later(
    cfg: BusConfig, procs: list[subprocess.Popen[bytes]]
) -> None:
    proc = _tap(procs, cfg, "--json", "--count", "1")
    assert proc.stderr is not None
    assert b"tap.start" in proc.stderr.readline()  # it looked and found nobody
    enc = wire.Encoder(wire.venue_id("binance-spot"))
    with PubSocket(cfg, NAME) as pub:
        _publish_until_exit(pub, proc, [(TOPIC, _bbo(enc, 1))])
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"tap.connected name={NAME}".encode() in err


def test_tap_sigint_exits_0(cfg: BusConfig, procs: list[subprocess.Popen[bytes]]) -> None:
    proc = _tap(procs, cfg)
    assert proc.stderr is not None
    assert b"tap.start" in proc.stderr.readline()  # the signal handlers are in place
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err


def test_tap_closed_pipe_exits_0_quietly(
    cfg: BusConfig, procs: list[subprocess.Popen[bytes]]
) -> None:
    enc = wire.Encoder(wire.venue_id("binance-spot"))
    with PubSocket(cfg, NAME) as pub:
        proc = _tap(procs, cfg, "--json")
        assert proc.stdout is not None
        for _ in range(3000):  # publish until the tap has printed something
            pub.send(TOPIC, _bbo(enc, 1))
            if select.select([proc.stdout], [], [], 0.01)[0]:
                break
        proc.stdout.readline()
        proc.stdout.close()  # as `veloz tap | head -1`
        _publish_until_exit(pub, proc, [(TOPIC, _bbo(enc, 1))])
    assert proc.stderr is not None
    err = proc.stderr.read()
    assert proc.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"BrokenPipe" not in err


@pytest.mark.parametrize(
    "argv", [["--count", "0"], ["--duration", "-1"], ["--bogus"], ["--server-key", "k"]]
)
def test_tap_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert tap.main(argv) == 2
    assert capsys.readouterr().err


def test_tap_human_line_for_book_and_status() -> None:
    enc = wire.Encoder(wire.venue_id("binance-usdm"))
    d = wire.decode(enc.status(0, False, "silence timeout", 1)).to_dict()
    line = human_line("md.binance-usdm.ETHUSDT.status", d, 0)
    assert line.endswith('md.binance-usdm.ETHUSDT.status seq=1 is_live=0 reason="silence timeout"')


def test_tap_connect_with_server_key_reads_a_curve_tcp_publisher(
    cfg: BusConfig, procs: list[subprocess.Popen[bytes]]
) -> None:
    tcp = BusConfig(run_dir=cfg.run_dir, transport="tcp", curve=True)
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    enc = wire.Encoder(wire.venue_id("binance-spot"))
    try:
        with PubSocket(tcp, NAME, ctx=ctx) as pub:
            endpoint, key = ep.lookup(tcp, NAME)
            assert key is not None
            cmd = [sys.executable, "-m", "procs.cli", "tap", "--json", "--count", "1"]
            cmd += ["--connect", endpoint, "--server-key", key]
            env = os.environ | {"VELOZ_RUN_DIR": str(cfg.run_dir)}  # where its client key goes
            proc = subprocess.Popen(
                cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            procs.append(proc)
            _publish_until_exit(pub, proc, [(TOPIC, _bbo(enc, 1))])
    finally:
        curve.stop_authenticator(ctx)
        ctx.destroy(linger=0)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert orjson.loads(out)["topic"] == TOPIC.decode()
    assert (cfg.run_dir / "keys" / "clients" / "local.public").exists()
