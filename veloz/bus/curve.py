"""CurveZMQ keys under ``<run>/keys/`` and the ZAP authenticator that admits known clients.

Owns key files: a server keypair per binder name (``server.<name>.public`` / ``.secret``),
client keypairs (``client.<id>.public`` / ``.secret``) and the allow list = every
``clients/*.public`` (a new client key is added to it). Secret files are 0600, the directories 0700.
Must not log key material (public keys are logged only as an 8-character prefix).
"""

import logging
import os
import re
import threading
from pathlib import Path

import zmq
from zmq.auth.thread import ThreadAuthenticator

from veloz.bus.endpoints import BusConfig
from veloz.bus.endpoints import ensure_run_dir
from veloz.errors import ConfigError

__all__ = [
    "Keypair",
    "allowed_client_keys",
    "client_keypair",
    "new_keypair",
    "server_keypair",
    "start_authenticator",
    "stop_authenticator",
]

log = logging.getLogger(__name__)

Keypair = tuple[str, str]  # (public, secret), Z85 text of 40 characters each

_Z85_RE = re.compile(r"^[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}$")

_auth_lock = threading.Lock()
_authenticators: dict[int, ThreadAuthenticator] = {}


def new_keypair() -> Keypair:
    """Return a fresh Curve keypair as Z85 text ``(public, secret)``."""
    public, secret = zmq.curve_keypair()
    return public.decode("ascii"), secret.decode("ascii")


def _read_key(path: Path) -> str:
    try:
        text = path.read_text("ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"curve key {path}: cannot read: {exc}") from None
    if not _Z85_RE.match(text):
        raise ConfigError(f"curve key {path}: not a 40-character Z85 key")
    return text


def _write_key(path: Path, key: str, mode: int) -> None:
    # Created with its final mode (never world-readable for an instant), then renamed.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, key.encode("ascii") + b"\n")
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _keypair(public_path: Path, secret_path: Path, create: bool) -> Keypair:
    if secret_path.exists() and public_path.exists():
        return _read_key(public_path), _read_key(secret_path)
    if not create:
        raise ConfigError(f"curve key {secret_path}: missing")
    public, secret = new_keypair()
    _write_key(secret_path, secret, 0o600)
    _write_key(public_path, public, 0o644)
    log.info("bus.curve_key_created file=%s public=%s...", public_path, public[:8])
    return public, secret


def server_keypair(cfg: BusConfig, name: str, *, create: bool = True) -> Keypair:
    """Return binder `name`'s keypair from ``<run>/keys/server.<name>.*``, creating it.

    Raises
    ------
    ConfigError
        A key file is unreadable or malformed, or missing with ``create=False``.
    """
    ensure_run_dir(cfg)
    keys = cfg.keys_dir
    return _keypair(keys / f"server.{name}.public", keys / f"server.{name}.secret", create)


def client_keypair(cfg: BusConfig, client_id: str, *, create: bool = True) -> Keypair:
    """Return client `client_id`'s keypair, creating it and adding it to the allow list.

    The pair is ``<run>/keys/client.<id>.public`` / ``.secret`` (0600); a new key's public
    half is also copied to ``<run>/keys/clients/<id>.public``, the allow list binders
    admit (delete that copy to revoke the client). Whoever can
    write ``<run>/keys/`` (0700) can therefore join the bus; a remote client's public key
    is added by an operator copying it into ``clients/``.

    Raises
    ------
    ConfigError
        A key file is unreadable or malformed, or missing with ``create=False``.
    """
    ensure_run_dir(cfg)
    clients = cfg.keys_dir / "clients"
    clients.mkdir(mode=0o700, exist_ok=True)
    public_path = cfg.keys_dir / f"client.{client_id}.public"
    secret_path = cfg.keys_dir / f"client.{client_id}.secret"
    is_new = not (public_path.exists() and secret_path.exists())
    keys = _keypair(public_path, secret_path, create)
    if is_new:  # only a new key is allowed here: deleting clients/<id>.public revokes it
        _write_key(clients / f"{client_id}.public", keys[0], 0o644)
    return keys


def allowed_client_keys(cfg: BusConfig) -> set[str]:
    """Return the Z85 public keys in ``<run>/keys/clients/*.public`` (malformed ones skipped)."""
    clients = cfg.keys_dir / "clients"
    keys: set[str] = set()
    try:
        entries = sorted(clients.glob("*.public"))
    except OSError:
        return keys
    for path in entries:
        try:
            keys.add(_read_key(path))
        except ConfigError as exc:
            log.warning("bus.curve_client_key_skipped error=%s", exc)
    return keys


class _AllowList:
    # ZAP credentials provider: a key is allowed when its file is in clients/; the directory
    # is re-read on a miss so clients added after start are admitted.
    def __init__(self, cfg: BusConfig) -> None:
        self._cfg = cfg
        self._keys = allowed_client_keys(cfg)
        self.n_denied = 0

    def callback(self, domain: str, key: bytes) -> bool:
        text = key.decode("ascii", "replace")
        if text in self._keys:
            return True
        self._keys = allowed_client_keys(self._cfg)
        if text in self._keys:
            return True
        self.n_denied += 1
        log.warning("bus.curve_client_denied domain=%s public=%s...", domain, text[:8])
        return False


def start_authenticator(cfg: BusConfig, ctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    """Start (once per context) the ZAP handler admitting the keys in ``clients/``.

    Must run before a Curve server socket binds: libzmq only consults ZAP when a handler
    is present, and without one every client with the server key would be admitted.
    """
    with _auth_lock:
        if id(ctx) in _authenticators:
            return
        auth = ThreadAuthenticator(ctx, log=logging.getLogger(__name__ + ".zap"))
        auth.start()
        auth.configure_curve_callback(domain="*", credentials_provider=_AllowList(cfg))
        _authenticators[id(ctx)] = auth


def stop_authenticator(ctx: zmq.Context[zmq.Socket[bytes]]) -> None:
    """Stop the ZAP handler of `ctx` if one was started."""
    with _auth_lock:
        auth = _authenticators.pop(id(ctx), None)
    if auth is not None:
        auth.stop()
