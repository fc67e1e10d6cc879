"""Unit tests for veloz.bus.sockets (real ZMQ sockets in-process, ipc and tcp on 127.0.0.1)."""

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import zmq

from veloz.bus import curve
from veloz.bus import endpoints as ep
from veloz.bus.endpoints import BusConfig
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import PullSocket
from veloz.bus.sockets import PushSocket
from veloz.bus.sockets import SubSocket
from veloz.errors import ConfigError
from veloz.errors import OrderRejected

Ctx = zmq.Context[zmq.Socket[bytes]]


@pytest.fixture
def run_dir() -> Iterator[Path]:
    # Short path: ipc socket paths must fit 107 bytes, which pytest's tmp_path may not.
    path = Path(tempfile.mkdtemp(prefix="vz"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ctx() -> Iterator[Ctx]:
    c: Ctx = zmq.Context()
    yield c
    curve.stop_authenticator(c)
    c.destroy(linger=0)


def _wait_joined(pub: PubSocket, sub: SubSocket, topic: bytes = b"probe") -> None:
    # PUB drops everything until the subscription arrives: probe until one is seen.
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        pub.send(topic, b"")
        msg = sub.recv(timeout_ms=20)
        if msg is not None and msg[0] == topic:
            while sub.poll_recv() is not None:  # drain further probes
                pass
            return
    raise AssertionError("subscriber never joined")


def test_pub_sub_ipc_topic_prefix_filters_and_counts(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with (
        PubSocket(cfg, "md.binance-spot.BTCUSDT", ctx=ctx) as pub,
        SubSocket(cfg, ["md.binance-spot.BTCUSDT"], prefixes=[b"md.", b"probe"], ctx=ctx) as sub,
    ):
        _wait_joined(pub, sub)
        assert pub.send(b"lat.feed.BTCUSDT", b"x")
        assert pub.send(b"md.binance-spot.BTCUSDT.bbo", b"body")
        assert sub.recv(timeout_ms=2000) == (b"md.binance-spot.BTCUSDT.bbo", b"body")
        assert sub.poll_recv() is None
        assert pub.n_dropped == 0
        assert sub.n_received >= 2


def test_pub_writes_endpoint_file_and_close_removes_it(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    pub = PubSocket(cfg, "exec", ctx=ctx)
    assert ep.lookup(cfg, "exec") == (f"ipc://{run_dir}/bus/exec.sock", None)
    pub.close()
    assert ep.find(cfg, "exec") is None
    pub.close()  # idempotent


def test_pub_same_name_twice_is_config_error(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with (
        PubSocket(cfg, "exec", ctx=ctx),
        pytest.raises(ConfigError, match=r"already publishes exec \(pid"),
    ):
        PubSocket(cfg, "exec", ctx=ctx)


def test_sub_rediscover_connects_publisher_that_appears_later(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with SubSocket(cfg, follow=["md."], ctx=ctx) as sub:
        assert sub.connected == {}
        with PubSocket(cfg, "md.binance-usdm.ETHUSDT", ctx=ctx) as pub:
            assert sub.rediscover() == ["md.binance-usdm.ETHUSDT"]
            assert sub.rediscover() == []
            _wait_joined(pub, sub)
            pub.send(b"md.binance-usdm.ETHUSDT.trade", b"t")
            assert sub.recv(timeout_ms=2000) == (b"md.binance-usdm.ETHUSDT.trade", b"t")


def test_sub_add_missing_name_connects_on_rediscover(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with SubSocket(cfg, ctx=ctx) as sub:
        assert sub.add("exec") is False
        with PubSocket(cfg, "exec", ctx=ctx):
            assert sub.rediscover() == ["exec"]


def test_sub_follow_skips_orders_pull(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with (
        PullSocket(cfg, ctx=ctx),
        PubSocket(cfg, "exec", ctx=ctx),
        SubSocket(cfg, follow=("md.", "exec", "strategy."), ctx=ctx) as sub,
    ):
        assert set(sub.connected) == {"exec"}


def test_sub_three_frame_message_counted_malformed_and_skipped(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with PubSocket(cfg, "exec", ctx=ctx) as pub, SubSocket(cfg, ["exec"], ctx=ctx) as sub:
        _wait_joined(pub, sub)
        pub.socket.send_multipart([b"ex._.order", b"a", b"b"])
        pub.send(b"ex._.fill", b"ok")
        assert sub.recv(timeout_ms=2000) == (b"ex._.fill", b"ok")
        assert sub.n_malformed == 1


def test_sub_recv_timeout_returns_none(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with SubSocket(cfg, ctx=ctx) as sub:
        t0 = time.monotonic()
        assert sub.recv(timeout_ms=30, spin_us=1000) is None
        assert time.monotonic() - t0 < 1.0


def _flood(pub: PubSocket, n: int) -> list[bool]:
    return [pub.send(b"md.x", i.to_bytes(8, "little")) for i in range(n)]


def test_pub_stalled_sub_never_blocks_and_reader_sees_gap(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir, sndhwm=100, rcvhwm=100)
    with (
        PubSocket(cfg, "md.binance-spot.BTCUSDT", ctx=ctx) as pub,
        SubSocket(cfg, ["md.binance-spot.BTCUSDT"], ctx=ctx) as stalled,
    ):
        _wait_joined(pub, stalled)
        n = 20_000
        t0 = time.monotonic()
        results = _flood(pub, n)
        assert time.monotonic() - t0 < 5.0
        assert all(results)  # a plain PUB drops per subscriber, silently
        assert pub.n_dropped == 0
        got = []
        while (msg := stalled.recv(timeout_ms=200)) is not None:
            got.append(int.from_bytes(msg[1], "little"))
        assert 0 < len(got) < n
        assert got == sorted(got)
        assert got[-1] - got[0] + 1 > len(got)  # a gap: what the stalled queue could not hold


def test_pub_nodrop_full_queue_counts_drops_and_reader_sees_gap(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir, sndhwm=100, rcvhwm=100)
    with (
        PubSocket(cfg, "exec", nodrop=True, ctx=ctx) as pub,
        SubSocket(cfg, ["exec"], ctx=ctx) as sub,
    ):
        _wait_joined(pub, sub)
        n = 20_000
        results = _flood(pub, n)
        assert pub.n_dropped == results.count(False) > 0
        got = []
        while (msg := sub.recv(timeout_ms=200)) is not None:
            got.append(int.from_bytes(msg[1], "little"))
        sent = [i for i, ok in enumerate(results) if ok]
        assert got == sent  # every accepted message arrives; the refused ones are the gap
        assert any(b - a > 1 for a, b in itertools.pairwise(got))


def test_push_pull_roundtrip(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with PullSocket(cfg, ctx=ctx) as pull, PushSocket(cfg, ctx=ctx) as push:
        deadline = time.monotonic() + 5.0
        while not push.send(b"cmd.s1", b"order") and time.monotonic() < deadline:
            pull.recv(timeout_ms=10)  # IMMEDIATE: refused until the connection completes
        assert pull.recv(timeout_ms=2000) == (b"cmd.s1", b"order")


def test_push_without_gateway_refuses_at_once_and_rejects(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with PushSocket(cfg, ctx=ctx) as push:
        t0 = time.monotonic()
        assert push.send(b"cmd.s1", b"order") is False
        with pytest.raises(OrderRejected) as info:
            push.send_or_reject(b"cmd.s1", b"order")
        assert (info.value.reason, info.value.by) == ("gateway queue full", "bus")
        assert push.n_dropped == 2
        assert time.monotonic() - t0 < 1.0


def test_tcp_pub_writes_real_port(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir, transport="tcp")
    with PubSocket(cfg, "exec", ctx=ctx) as pub, SubSocket(cfg, ["exec"], ctx=ctx) as sub:
        endpoint, key = ep.lookup(cfg, "exec")
        assert endpoint.startswith("tcp://127.0.0.1:")
        assert int(endpoint.rsplit(":", 1)[1]) > 0
        assert key is None
        _wait_joined(pub, sub)


def test_curve_tcp_allowed_client_gets_all_unknown_client_nothing(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir, transport="tcp", curve=True)
    curve.client_keypair(cfg, "intruder")
    (run_dir / "keys" / "clients" / "intruder.public").unlink()  # not on the allow list
    with (
        PubSocket(cfg, "exec", ctx=ctx) as pub,
        SubSocket(cfg, ["exec"], client_id="good", ctx=ctx) as good,
        SubSocket(cfg, ["exec"], client_id="intruder", ctx=ctx) as bad,
    ):
        assert ep.lookup(cfg, "exec")[1] == curve.server_keypair(cfg, "exec")[0]
        _wait_joined(pub, good)
        for i in range(100):
            pub.send(b"ex.s1.fill", bytes([i]))
        got = [good.recv(timeout_ms=2000) for _ in range(100)]
        assert got == [(b"ex.s1.fill", bytes([i])) for i in range(100)]
        assert bad.recv(timeout_ms=100) is None
        assert bad.n_received == 0


def test_curve_secret_key_files_are_0600(run_dir: Path) -> None:
    cfg = BusConfig(run_dir=run_dir, transport="tcp", curve=True)
    public, secret = curve.server_keypair(cfg, "exec")
    assert curve.server_keypair(cfg, "exec") == (public, secret)  # loaded, not regenerated
    assert (run_dir / "keys" / "server.exec.secret").stat().st_mode & 0o777 == 0o600
    curve.client_keypair(cfg, "c1")
    assert (run_dir / "keys" / "client.c1.secret").stat().st_mode & 0o777 == 0o600
    assert public not in curve.allowed_client_keys(cfg)
    assert len(curve.allowed_client_keys(cfg)) == 1


def test_curve_malformed_key_file_is_config_error(run_dir: Path) -> None:
    cfg = BusConfig(run_dir=run_dir, transport="tcp", curve=True)
    ep.ensure_run_dir(cfg)
    (run_dir / "keys" / "server.exec.public").write_text("short\n")
    (run_dir / "keys" / "server.exec.secret").write_text("short\n")
    with pytest.raises(ConfigError, match="not a 40-character Z85 key"):
        curve.server_keypair(cfg, "exec")


def test_pub_replaces_stale_endpoint_and_socket_files_of_a_dead_process(
    run_dir: Path, ctx: Ctx
) -> None:
    cfg = BusConfig(run_dir=run_dir)
    ep.ensure_run_dir(cfg)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    body = {"endpoint": ep.bind_name(cfg, "exec"), "server_key": None, "pid": dead.pid}
    ep.endpoint_file(cfg, "exec").write_bytes(orjson.dumps(body))
    (run_dir / "bus" / "exec.sock").write_bytes(b"")  # what a killed binder leaves
    with PubSocket(cfg, "exec", ctx=ctx) as pub, SubSocket(cfg, ["exec"], ctx=ctx) as sub:
        assert ep.find(cfg, "exec") == ep.Endpoint("exec", pub.endpoint, None, os.getpid())
        _wait_joined(pub, sub)


def test_pub_track_subscriptions_sees_a_prefix_come_and_go(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with PubSocket(cfg, "exec", track_subscriptions=True, ctx=ctx) as pub:
        assert pub.subscriptions() == frozenset()
        sub = SubSocket(cfg, ["exec"], prefixes=[b"ex.mm."], ctx=ctx)
        deadline = time.monotonic() + 5.0
        while b"ex.mm." not in pub.subscriptions() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pub.subscriptions() == {b"ex.mm."}
        sub.close()
        while pub.subscriptions() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert pub.subscriptions() == frozenset()  # the reader left: unsubscribed


def test_pub_plain_reports_no_subscriptions(run_dir: Path, ctx: Ctx) -> None:
    cfg = BusConfig(run_dir=run_dir)
    with (
        PubSocket(cfg, "exec", ctx=ctx) as pub,
        SubSocket(cfg, ["exec"], prefixes=[b"probe"], ctx=ctx) as sub,
    ):
        _wait_joined(pub, sub)
        assert pub.subscriptions() == frozenset()
