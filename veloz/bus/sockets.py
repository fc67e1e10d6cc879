"""The bus's ZeroMQ sockets: bound PUB and PULL, connecting SUB and PUSH, with the HWMs,
NOBLOCK sends, drop counters, endpoint files and Curve of the issue-5 contract.

Every message is two frames ``[topic, body]``; bodies are opaque here (`veloz._core.wire`
owns their bytes). Must not block a sender: a full queue is a dropped (PUB) or refused
(PUSH) message, counted. Must not decode bodies or decide what a drop means to a strategy.

Drop semantics: a plain PUB (the default) drops per subscriber inside libzmq when that
subscriber's queue is full, so one stalled reader (``veloz tap | less``) costs only itself
its messages and the sender never sees it (``n_dropped`` stays 0; readers find the loss as
a ``seq`` gap). ``PubSocket(..., nodrop=True)`` uses XPUB with ``XPUB_NODROP``: a full queue
of any subscriber refuses the send (``zmq.Again``), counted in ``n_dropped`` and lost for all.
``PubSocket(..., track_subscriptions=True)`` uses XPUB to learn which topic prefixes are
subscribed (`PubSocket.subscriptions`), so a restarted publisher can wait for a reader it
must not miss (the gateway for its strategies) before it publishes what they need.
"""

import json
import logging
import time
from collections.abc import Callable
from collections.abc import Iterable
from types import TracebackType
from typing import Any
from typing import Self

import zmq

from veloz.bus import curve
from veloz.bus.endpoints import BusConfig
from veloz.bus.endpoints import bind_name
from veloz.bus.endpoints import claim
from veloz.bus.endpoints import ensure_run_dir
from veloz.bus.endpoints import find
from veloz.bus.endpoints import list_names
from veloz.bus.endpoints import remove_endpoint
from veloz.bus.endpoints import write_endpoint
from veloz.errors import ConfigError
from veloz.errors import OrderRejected
from veloz.log import RateLimitedLog

__all__ = [
    "ORDERS",
    "PUBLISHER_PREFIXES",
    "PubSocket",
    "PullSocket",
    "PushSocket",
    "RepSocket",
    "SubSocket",
    "request",
]

log = logging.getLogger(__name__)

ORDERS = "orders"
CONTROL = "control"
_MAX_REQUEST = 65536  # bytes: an operator request is one small JSON object
# Names of binders a SUB may connect to (``orders`` is a PULL: never a SUB's peer).
PUBLISHER_PREFIXES = ("md.", "exec", "strategy.")

_PUSH_SNDHWM = 1000
_PUSH_LINGER_MS = 1000
_SEND_MORE = zmq.SNDMORE | zmq.NOBLOCK
_NOBLOCK = zmq.NOBLOCK

Context = zmq.Context[zmq.Socket[bytes]]


def _context(ctx: Context | None) -> Context:
    return ctx if ctx is not None else zmq.Context.instance()


class _Bound:
    # Shared by the binders (PUB, PULL): claim the name, Curve server setup, bind, write
    # the endpoint file; close removes it.
    _sock: zmq.Socket[bytes]
    cfg: BusConfig
    name: str
    endpoint: str
    server_key: str | None

    def _bind(self, cfg: BusConfig, name: str, ctx: Context) -> None:
        try:
            self._bind_or_raise(cfg, name, ctx)
        except BaseException:
            self._sock.close(0)
            raise
        log.info("bus.bound name=%s endpoint=%s curve=%d", name, self.endpoint, cfg.curve)

    def _bind_or_raise(self, cfg: BusConfig, name: str, ctx: Context) -> None:
        ensure_run_dir(cfg)
        claim(cfg, name)
        self.server_key = None
        if cfg.curve:
            curve.start_authenticator(cfg, ctx)
            public, secret = curve.server_keypair(cfg, name)
            self._sock.curve_server = True
            self._sock.curve_publickey = public.encode("ascii")
            self._sock.curve_secretkey = secret.encode("ascii")
            self.server_key = public
        address = bind_name(cfg, name)
        try:
            self._sock.bind(address)
        except zmq.ZMQError as exc:
            raise ConfigError(f"bus {name}: cannot bind {address}: {exc}") from None
        self.endpoint = self._sock.getsockopt_string(zmq.LAST_ENDPOINT)
        write_endpoint(cfg, name, self.endpoint, self.server_key)

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """The zmq socket (for a ``zmq.Poller``)."""
        return self._sock

    def close(self) -> None:
        """Close the socket (its LINGER applies) and remove the endpoint file."""
        if self._sock.closed:
            return
        remove_endpoint(self.cfg, self.name)
        self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Receiver:
    # Shared by SUB and PULL: two-frame receive with counters.
    _sock: zmq.Socket[bytes]
    _bad_log: RateLimitedLog
    n_received: int
    n_malformed: int

    def poll_recv(self) -> tuple[bytes, bytes] | None:
        """Return the next ``(topic, body)`` without waiting, or None (none queued, or the
        message was not two frames: counted in ``n_malformed``, logged rate-limited)."""
        try:
            frames = self._sock.recv_multipart(_NOBLOCK)
        except zmq.Again:
            return None
        if len(frames) != 2:
            self.n_malformed += 1
            self._bad_log.warning("bus.frames_malformed n_frames=%d", len(frames))
            return None
        self.n_received += 1
        return frames[0], frames[1]

    def recv(self, timeout_ms: int, spin_us: int = 0) -> tuple[bytes, bytes] | None:
        """Return the next ``(topic, body)``, waiting up to `timeout_ms` (-1 = forever).

        Busy-polls for `spin_us` microseconds first (cheaper wake-ups at high rates, at the
        cost of a core), then blocks in ``zmq.poll``. None on timeout.
        """
        if spin_us > 0:
            end_ns = time.monotonic_ns() + spin_us * 1000
            while True:
                msg = self.poll_recv()
                if msg is not None:
                    return msg
                if time.monotonic_ns() >= end_ns:
                    break
        deadline_ns = time.monotonic_ns() + timeout_ms * 1_000_000 if timeout_ms >= 0 else -1
        while True:
            wait_ms = (
                -1 if deadline_ns < 0 else max(0, (deadline_ns - time.monotonic_ns()) // 10**6)
            )
            if not self._sock.poll(wait_ms, zmq.POLLIN):
                return None
            msg = self.poll_recv()
            if msg is not None:
                return msg
            if 0 <= deadline_ns <= time.monotonic_ns():
                return None

    def fileno(self) -> int:
        """The ZMQ_FD (edge-triggered readiness for an event loop; then drain poll_recv)."""
        return int(self._sock.getsockopt(zmq.FD))

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """The zmq socket (for a ``zmq.Poller``)."""
        return self._sock


class PubSocket(_Bound):
    """A bound PUB for binder `name` (``md.<venue>.<SYMBOL>``, ``exec``, ``strategy.<p>``).

    Parameters
    ----------
    cfg : BusConfig
        Run dir, transport, Curve, default ``sndhwm``.
    name : str
        The endpoint name; its file ``<run>/bus/<name>.json`` is written after binding.
    sndhwm : int, optional
        Messages queued per subscriber before drops; ``cfg.sndhwm`` when omitted.
    linger_ms : int
        LINGER at close: 0 for market data and latency (stale at once), more for exec.
    nodrop : bool
        XPUB with ``XPUB_NODROP``: a full subscriber queue refuses the send (counted in
        ``n_dropped``, lost for every subscriber). Default False: libzmq drops per
        subscriber, silently (see the module docstring). Unless `track_subscriptions`, the
        XPUB's incoming subscription notices are never read; libzmq keeps at most RCVHWM.
    track_subscriptions : bool
        XPUB whose subscription notices `subscriptions` reads (drops stay per subscriber
        unless `nodrop`).
    ctx : zmq.Context, optional
        ``zmq.Context.instance()`` when omitted.

    Raises
    ------
    ConfigError
        Another live process binds `name`, the address cannot be bound, or a Curve key
        file is bad.
    """

    def __init__(
        self,
        cfg: BusConfig,
        name: str,
        *,
        sndhwm: int | None = None,
        linger_ms: int = 0,
        nodrop: bool = False,
        track_subscriptions: bool = False,
        ctx: Context | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = name
        c = _context(ctx)
        self._track = track_subscriptions
        self._subs: set[bytes] = set()
        self._sock = c.socket(zmq.XPUB if nodrop or track_subscriptions else zmq.PUB)
        self._sock.setsockopt(zmq.SNDHWM, cfg.sndhwm if sndhwm is None else sndhwm)
        self._sock.setsockopt(zmq.LINGER, linger_ms)
        if nodrop:
            self._sock.setsockopt(zmq.XPUB_NODROP, 1)
        self._bind(cfg, name, c)
        self._drop_log = RateLimitedLog(log)
        self.n_sent = 0
        self.n_dropped = 0

    def send(self, topic: bytes, body: bytes) -> bool:
        """Send ``[topic, body]`` without blocking; False = dropped (``n_dropped`` += 1).

        Copy sends: for messages of a few hundred bytes a copy is cheaper than zero-copy.
        """
        try:
            # libzmq checks the HWM on the first frame only, so the pair is atomic.
            self._sock.send(topic, _SEND_MORE)
            self._sock.send(body, _NOBLOCK)
        except zmq.Again:
            self.n_dropped += 1
            self._drop_log.warning(
                "bus.dropped name=%s n_dropped=%d n_sent=%d", self.name, self.n_dropped, self.n_sent
            )
            return False
        self.n_sent += 1
        return True

    def subscriptions(self) -> frozenset[bytes]:
        """Read the pending subscription notices; return the prefixes subscribed now.

        Needs ``track_subscriptions=True`` (else always empty). libzmq reports a prefix
        once however many readers take it, and its unsubscribe when the last one leaves (or
        disconnects). O(pending notices).
        """
        if not self._track:
            return frozenset()
        while True:
            try:
                note = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if not note:
                continue
            prefix = bytes(note[1:])
            if note[0] == 1:
                self._subs.add(prefix)
            else:
                self._subs.discard(prefix)
        return frozenset(self._subs)


class PullSocket(_Bound, _Receiver):
    """The gateway's bound PULL for `name` (default ``orders``); strategies PUSH to it.

    Parameters are as `PubSocket`'s; ``rcvhwm`` defaults to ``cfg.rcvhwm``.
    """

    def __init__(
        self,
        cfg: BusConfig,
        name: str = ORDERS,
        *,
        rcvhwm: int | None = None,
        linger_ms: int = 0,
        ctx: Context | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = name
        c = _context(ctx)
        self._sock = c.socket(zmq.PULL)
        self._sock.setsockopt(zmq.RCVHWM, cfg.rcvhwm if rcvhwm is None else rcvhwm)
        self._sock.setsockopt(zmq.LINGER, linger_ms)
        self._bind(cfg, name, c)
        self._bad_log = RateLimitedLog(log)
        self.n_received = 0
        self.n_malformed = 0


class _Connector:
    # Shared by SUB and PUSH: Curve client setup per connect (the server key is a socket
    # option read at connect time, so one socket can reach several Curve servers).
    _sock: zmq.Socket[bytes]
    cfg: BusConfig
    client_id: str
    _client_keys: curve.Keypair | None

    def _connect(self, endpoint: str, server_key: str | None) -> None:
        if server_key is not None:
            if self._client_keys is None:
                self._client_keys = curve.client_keypair(self.cfg, self.client_id)
            public, secret = self._client_keys
            self._sock.curve_serverkey = server_key.encode("ascii")
            self._sock.curve_publickey = public.encode("ascii")
            self._sock.curve_secretkey = secret.encode("ascii")
        try:
            self._sock.connect(endpoint)
        except zmq.ZMQError as exc:
            raise ConfigError(f"bus: cannot connect {endpoint}: {exc}") from None

    @property
    def socket(self) -> zmq.Socket[bytes]:
        """The zmq socket (for a ``zmq.Poller``)."""
        return self._sock

    def close(self) -> None:
        """Close the socket (its LINGER applies)."""
        if not self._sock.closed:
            self._sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class SubSocket(_Connector, _Receiver):
    """A SUB connected to publishers by name (found through endpoint files) or endpoint.

    Publishers that are not there yet are remembered and connected by `rediscover()`,
    which the owner calls about once a second (it reads the bus directory). A publisher
    that restarts on the same ipc path is reconnected by libzmq itself; one whose endpoint
    changed (a new tcp port) is reconnected by `rediscover()`.

    Parameters
    ----------
    cfg : BusConfig
    names : iterable of str
        Publisher names to follow exactly (``md.binance-spot.BTCUSDT``, ``exec``).
    prefixes : iterable of bytes or str
        Topic prefixes to subscribe; ``()`` subscribes to nothing yet, ``(b"",)`` to all.
    follow : iterable of str
        Name prefixes: every live publisher whose name starts with one is connected, now
        and by each `rediscover()` (``veloz tap`` follows `PUBLISHER_PREFIXES`).
    rcvhwm : int, optional
        ``cfg.rcvhwm`` when omitted.
    client_id : str
        Curve client key name (``<run>/keys/client.<id>.secret``), used only for Curve
        publishers.
    ctx : zmq.Context, optional
    """

    def __init__(
        self,
        cfg: BusConfig,
        names: Iterable[str] = (),
        *,
        prefixes: Iterable[bytes | str] = (b"",),
        follow: Iterable[str] = (),
        rcvhwm: int | None = None,
        client_id: str = "local",
        ctx: Context | None = None,
    ) -> None:
        self.cfg = cfg
        self.client_id = client_id
        self._client_keys = None
        self._sock = _context(ctx).socket(zmq.SUB)
        self._sock.setsockopt(zmq.RCVHWM, cfg.rcvhwm if rcvhwm is None else rcvhwm)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._bad_log = RateLimitedLog(log)
        self._wanted: set[str] = set()
        self._follow = tuple(follow)
        self._connected: dict[str, str] = {}  # name -> endpoint
        self._endpoints: set[str] = set()
        self.n_received = 0
        self.n_malformed = 0
        self.subscribe(prefixes)
        for name in names:
            self.add(name)
        if self._follow:
            self.rediscover()

    def subscribe(self, prefixes: Iterable[bytes | str]) -> None:
        """Subscribe to topic prefixes (str is ASCII-encoded)."""
        for prefix in prefixes:
            p = prefix.encode("ascii") if isinstance(prefix, str) else prefix
            self._sock.setsockopt(zmq.SUBSCRIBE, p)

    def unsubscribe(self, prefixes: Iterable[bytes | str]) -> None:
        """Drop topic prefixes subscribed before."""
        for prefix in prefixes:
            p = prefix.encode("ascii") if isinstance(prefix, str) else prefix
            self._sock.setsockopt(zmq.UNSUBSCRIBE, p)

    def add(self, name: str) -> bool:
        """Follow publisher `name`; return True if it is connected now (else: later, by
        `rediscover()`)."""
        self._wanted.add(name)
        return self._try(name)

    def connect(self, endpoint: str, server_key: str | None = None) -> None:
        """Connect to an explicit endpoint (``tap --connect``), outside the run dir."""
        if endpoint not in self._endpoints:
            self._connect(endpoint, server_key)
            self._endpoints.add(endpoint)

    def _try(self, name: str) -> bool:
        ep = find(self.cfg, name)
        if ep is None:
            return name in self._connected
        old = self._connected.get(name)
        if old == ep.endpoint:
            return True
        if old is not None:
            self._sock.disconnect(old)
            self._endpoints.discard(old)
            log.info("bus.reconnect name=%s old=%s new=%s", name, old, ep.endpoint)
        self.connect(ep.endpoint, ep.server_key)
        self._connected[name] = ep.endpoint
        log.debug("bus.connected name=%s endpoint=%s", name, ep.endpoint)
        return True

    def rediscover(self) -> list[str]:
        """Connect wanted and followed publishers that appeared (or moved); return their
        names. Reads the bus directory: call it about once a second, not per message."""
        before = dict(self._connected)
        names = set(self._wanted)
        for prefix in self._follow:
            names.update(list_names(self.cfg, prefix))
        for name in sorted(names):
            self._try(name)
        return [n for n, ep in self._connected.items() if before.get(n) != ep]

    @property
    def connected(self) -> dict[str, str]:
        """Publisher name -> endpoint for the names connected through the run dir."""
        return dict(self._connected)


class PushSocket(_Connector):
    """A strategy's PUSH to the gateway's ``orders`` PULL.

    ``SNDHWM`` 1000, ``LINGER`` 1000 ms and ``IMMEDIATE``: messages queue only on a
    completed connection, so with the gateway down a send is refused at once instead of
    an order waiting to go out minutes later.

    Parameters
    ----------
    cfg : BusConfig
    name : str
        The PULL's name, ``orders``.
    client_id : str
        Curve client key name (see `SubSocket`).
    ctx : zmq.Context, optional
    """

    def __init__(
        self,
        cfg: BusConfig,
        name: str = ORDERS,
        *,
        sndhwm: int = _PUSH_SNDHWM,
        linger_ms: int = _PUSH_LINGER_MS,
        client_id: str = "local",
        ctx: Context | None = None,
    ) -> None:
        self.cfg = cfg
        self.name = name
        self.client_id = client_id
        self._client_keys = None
        self._sock = _context(ctx).socket(zmq.PUSH)
        self._sock.setsockopt(zmq.SNDHWM, sndhwm)
        self._sock.setsockopt(zmq.LINGER, linger_ms)
        self._sock.setsockopt(zmq.IMMEDIATE, 1)
        self._drop_log = RateLimitedLog(log)
        self.endpoint: str | None = None
        self.n_sent = 0
        self.n_dropped = 0
        self._try_connect()

    def _try_connect(self) -> bool:
        ep = find(self.cfg, self.name)
        if ep is not None:
            self._connect(ep.endpoint, ep.server_key)
            self.endpoint = ep.endpoint
        elif self.cfg.transport == "ipc" and not self.cfg.curve:
            # The ipc path is fixed by the run dir: libzmq connects when the binder appears.
            self.endpoint = bind_name(self.cfg, self.name)
            self._connect(self.endpoint, None)
        return self.endpoint is not None

    def send(self, topic: bytes, body: bytes) -> bool:
        """Send ``[topic, body]`` without blocking; False = refused (queue full or no
        gateway), counted in ``n_dropped``."""
        if self.endpoint is None and not self._try_connect():
            self.n_dropped += 1
            self._drop_log.warning("bus.push_no_endpoint name=%s", self.name)
            return False
        try:
            self._sock.send(topic, _SEND_MORE)
            self._sock.send(body, _NOBLOCK)
        except zmq.Again:
            self.n_dropped += 1
            self._drop_log.warning(
                "bus.push_refused name=%s n_dropped=%d n_sent=%d",
                self.name,
                self.n_dropped,
                self.n_sent,
            )
            return False
        self.n_sent += 1
        return True

    def send_or_reject(self, topic: bytes, body: bytes) -> None:
        """`send`, raising instead of returning False.

        Raises
        ------
        OrderRejected
            ``reason="gateway queue full", by="bus"``: the gateway is down or not reading.
        """
        if not self.send(topic, body):
            raise OrderRejected(reason="gateway queue full", by="bus")


class RepSocket(_Bound):
    """A bound REP for `name` (the gateway's ``control``): one JSON request, one JSON reply.

    Never blocks: `serve_pending` answers every queued request with `handler` and returns.
    A request that is not a JSON object gets ``{"ok": false, "error": ...}``, counted in
    ``n_malformed``.

    Parameters
    ----------
    cfg : BusConfig
    name : str
        The endpoint name, ``control``.
    ctx : zmq.Context, optional
    """

    def __init__(self, cfg: BusConfig, name: str = CONTROL, *, ctx: Context | None = None) -> None:
        self.cfg = cfg
        self.name = name
        c = _context(ctx)
        self._sock = c.socket(zmq.REP)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.setsockopt(zmq.MAXMSGSIZE, _MAX_REQUEST)
        self._bind(cfg, name, c)
        self.n_requests = 0
        self.n_malformed = 0

    def fileno(self) -> int:
        """The ZMQ_FD to watch for readability (edge-triggered: call `serve_pending`)."""
        return int(self._sock.getsockopt(zmq.FD))

    def serve_pending(self, handler: "Callable[[dict[str, Any]], dict[str, Any]]") -> int:
        """Answer every queued request with ``handler(request)``; return how many."""
        n = 0
        while not self._sock.closed and int(self._sock.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
            try:
                raw = self._sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            n += 1
            self.n_requests += 1
            try:
                req = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                req = None
            if isinstance(req, dict):
                reply = handler(req)
            else:
                self.n_malformed += 1
                reply = {"ok": False, "error": "request must be a JSON object"}
            try:
                self._sock.send(json.dumps(reply).encode(), zmq.NOBLOCK)
            except zmq.Again:  # the requester went away; REP state resets on next recv
                log.warning("bus.reply_dropped name=%s", self.name)
        return n


def request(
    cfg: BusConfig,
    req: "dict[str, Any]",
    *,
    name: str = CONTROL,
    timeout_s: float = 3.0,
    client_id: str = "local",
    ctx: Context | None = None,
) -> "dict[str, Any]":
    """Send one JSON request to the REP `name` and return its JSON reply.

    Raises
    ------
    ConfigError
        No endpoint file for `name` (the process is not running) or no reply within
        `timeout_s`; the message says which.
    """
    ep = find(cfg, name)
    if ep is None:
        raise ConfigError(f"bus {name}: no endpoint in {cfg.run_dir} (is the process running?)")
    sock = _context(ctx).socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        if ep.server_key is not None:
            public, secret = curve.client_keypair(cfg, client_id)
            sock.curve_serverkey = ep.server_key.encode("ascii")
            sock.curve_publickey = public.encode("ascii")
            sock.curve_secretkey = secret.encode("ascii")
        sock.connect(ep.endpoint)
        sock.send(json.dumps(req).encode())
        if not sock.poll(int(timeout_s * 1000), zmq.POLLIN):
            raise ConfigError(f"bus {name}: no reply from {ep.endpoint} within {timeout_s:g} s")
        reply = json.loads(sock.recv())
    except (zmq.ZMQError, ValueError) as exc:
        raise ConfigError(f"bus {name}: request to {ep.endpoint} failed: {exc}") from None
    finally:
        sock.close(0)
    if not isinstance(reply, dict):
        raise ConfigError(f"bus {name}: reply is not a JSON object")
    return reply
