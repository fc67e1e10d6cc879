"""The strategy process's loop: bus sockets around a `Runtime`, and pinning to a core.

Owns `BusLoop` (SUB/PUSH/PUB sockets, busy-poll then block in ``zmq.Poller``, latency
snapshots each second, the state file every few seconds and at exit, clean shutdown) and
`pin_cpu`. Must not decide trades, dispatch to strategies itself (that is `Runtime` in
`veloz.strategy.runtime`), talk to a venue, or parse message bodies.
"""

import logging
import os
import time
from collections.abc import Callable

import zmq

from veloz._core import wire
from veloz.bus.endpoints import BusConfig
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import PushSocket
from veloz.bus.sockets import SubSocket
from veloz.errors import ConfigError
from veloz.strategy.config import StrategyProcessConfig
from veloz.strategy.runtime import Runtime
from veloz.strategy.summary import write_state

log = logging.getLogger(__name__)

__all__ = ["BusLoop", "pin_cpu"]

_STATE_INTERVAL_NS = 5_000_000_000  # state file rewritten this often while running


def pin_cpu(cpu: int) -> None:
    """Pin this process to core `cpu` with ``os.sched_setaffinity``.

    Raises
    ------
    ConfigError
        `cpu` is not one of the cores this process may run on (names the allowed ones).
    """
    allowed = sorted(os.sched_getaffinity(0))
    if cpu not in allowed:
        raise ConfigError(f"cpu={cpu}: not a core this process may use (allowed: {allowed})")
    try:
        os.sched_setaffinity(0, {cpu})
    except OSError as exc:
        raise ConfigError(f"cpu={cpu}: sched_setaffinity failed: {exc.strerror}") from None
    log.info("strategy.pinned cpu=%d", cpu)


class BusLoop:
    """The process loop: SUB md + exec, PUSH orders, PUB ``strategy.<proc>`` latency.

    Busy-polls the SUB with NOBLOCK for ``spin_us`` after the last message, then blocks in
    ``zmq.Poller`` until the next timer, the next housekeeping second, or a wake-up on
    `wakeup_fd` (pass it to ``signal.set_wakeup_fd`` so SIGTERM wakes the poll at once).

    Parameters
    ----------
    cfg : StrategyProcessConfig
    runtime_factory : callable
        ``f(send) -> Runtime``: builds the runtime with the PUSH socket's send.
    ctx : zmq.Context or None
    """

    def __init__(
        self,
        cfg: StrategyProcessConfig,
        runtime_factory: Callable[[Callable[[bytes, bytes], bool]], Runtime],
        ctx: zmq.Context[zmq.Socket[bytes]] | None = None,
    ) -> None:
        self.cfg = cfg
        bus: BusConfig = cfg.bus
        self.push = PushSocket(bus, ctx=ctx)
        self.runtime = runtime_factory(self.push.send)
        self.pub = PubSocket(bus, f"strategy.{cfg.proc}", linger_ms=0, ctx=ctx)
        self.sub = SubSocket(
            bus, self.runtime.sub_names(), prefixes=self.runtime.sub_prefixes(), ctx=ctx
        )
        self.encoder = wire.Encoder(0)
        self._wake_r, self.wakeup_fd = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self.wakeup_fd, False)
        self._is_stopping = False
        self.n_snapshots_dropped = 0
        self.n_state_write_errors = 0
        self._next_state_ns = 0

    def request_stop(self) -> None:
        """Ask the loop to stop (signal-safe: sets a flag and wakes the poll)."""
        self._is_stopping = True
        try:
            os.write(self.wakeup_fd, b"\0")
        except BlockingIOError:  # pipe full: the loop is already awake
            return

    def run(self, duration_s: float | None = None) -> None:
        """Run until `request_stop` (or for `duration_s` seconds); then stop the strategies,
        publish and write the latency figures, and close the sockets."""
        cfg = self.cfg
        rt = self.runtime
        dispatch = rt.dispatch
        poll_recv = self.sub.poll_recv
        clock = time.monotonic_ns
        spin_ns = cfg.spin_us * 1000
        interval_ns = max(1, int(cfg.latency_interval_s * 1e9))
        poller = zmq.Poller()
        poller.register(self.sub.socket, zmq.POLLIN)
        poller.register(self._wake_r, zmq.POLLIN)
        rt.begin()
        now = clock()
        end_ns = now + int(duration_s * 1e9) if duration_s is not None else 0
        next_house_ns = now + interval_ns
        next_timer_ns = rt.tick(now)
        deadline = min(next_house_ns, next_timer_ns) if next_timer_ns else next_house_ns
        if end_ns:
            deadline = min(deadline, end_ns)
        last_msg_ns = now
        log.info(
            "strategy.loop proc=%s strategies=%d spin_us=%d names=%s",
            cfg.proc,
            len(rt.slots),
            cfg.spin_us,
            ",".join(rt.sub_names()),
        )
        try:
            while not self._is_stopping:
                msg = poll_recv()
                now = clock()
                if msg is not None:
                    dispatch(msg[0], msg[1])
                    last_msg_ns = now
                elif now - last_msg_ns >= spin_ns:
                    wait_ms = max(0, (deadline - now + 999_999) // 1_000_000)
                    if poller.poll(min(wait_ms, 1000)):
                        self._drain_wakeups()
                    now = clock()
                if now < deadline and not rt.has_new_timer:
                    continue
                if end_ns and now >= end_ns:
                    log.info("strategy.duration_elapsed duration_s=%s", duration_s)
                    break
                if now >= next_house_ns:
                    self._housekeep()
                    next_house_ns = now + interval_ns
                next_timer_ns = rt.tick(now)
                deadline = min(next_house_ns, next_timer_ns) if next_timer_ns else next_house_ns
                if end_ns:
                    deadline = min(deadline, end_ns)
        finally:
            self._shutdown()

    def _drain_wakeups(self) -> None:
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:  # drained
            return

    def _housekeep(self) -> None:
        self.sub.rediscover()
        self._publish_latency()
        now = time.monotonic_ns()
        if now >= self._next_state_ns:
            self._next_state_ns = now + _STATE_INTERVAL_NS
            self._write_state(is_final=False)

    def _write_state(self, is_final: bool) -> None:
        try:
            path = write_state(self.runtime, self.cfg.bus.run_dir, is_final=is_final)
        except OSError as exc:
            self.n_state_write_errors += 1
            log.error(
                "strategy.state_write_failed error=%s n_state_write_errors=%d",
                exc,
                self.n_state_write_errors,
            )
            return
        if is_final:
            log.info("strategy.state_written file=%s", path)

    def _publish_latency(self) -> None:
        for topic, body in self.runtime.latency.messages(self.encoder):
            if not self.pub.send(topic, body):
                self.n_snapshots_dropped += 1

    def _shutdown(self) -> None:
        rt = self.runtime
        log.info("strategy.shutdown proc=%s", self.cfg.proc)
        rt.stop_all()
        self._publish_latency()
        try:
            path = rt.latency.write(self.cfg.bus.run_dir)
            log.info("strategy.latency_written file=%s", path)
        except OSError as exc:
            log.error("strategy.latency_write_failed error=%s", exc)
        self._write_state(is_final=True)
        counters = rt.counters()
        log.info(
            "strategy.counters n_messages=%d n_malformed=%d n_unknown_topic=%d n_bad_fills=%d "
            "n_cmds_sent=%d n_cmds_refused=%d",
            counters["n_messages"],
            counters["n_malformed"],
            counters["n_unknown_topic"],
            counters["n_bad_fills"],
            self.push.n_sent,
            self.push.n_dropped,
        )
        self.sub.close()
        self.pub.close()
        self.push.close()  # LINGER 1000 ms: the last cancels get out
        os.close(self._wake_r)
        os.close(self.wakeup_fd)
