"""Named API keys at rest: the system keyring when a real one works, else a sealed file.

Owns the key record (`ApiKey`), both backends, backend choice, the passphrase source and the
scope guard and ``key_use`` audit record in `load` (through the `AuditSink` protocol, so it
never imports the audit package). Must not log, print or audit secret material or API keys
(only a 4+4 hint), put secrets in argv or config, or import a venue: callers turn an `ApiKey`
into a signer.
"""

import contextlib
import fcntl
import getpass
import json
import logging
import os
import re
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from veloz.errors import ConfigError
from veloz.keys.sealed import Kdf
from veloz.keys.sealed import default_kdf
from veloz.keys.sealed import seal
from veloz.keys.sealed import unseal
from veloz.keys.secret import Secret

__all__ = [
    "AUDIT_PROC",
    "KINDS",
    "LOADERS",
    "SCOPES",
    "ApiKey",
    "AuditSink",
    "FileStore",
    "KeyInfo",
    "KeyStore",
    "KeyringStore",
    "api_key_hint",
    "audit_dir",
    "default_path",
    "load",
    "make_key",
    "open_store",
    "passphrase_source",
    "usable_keyring",
]

log = logging.getLogger(__name__)

SCOPES = ("read", "trade")
KINDS = ("hmac", "ed25519")
# Which processes may load a key of each scope. A guard against wiring mistakes (a strategy
# or feed config naming a trade key), not a security boundary: any code running as the same
# user can read the store with the passphrase. Feeds and strategies need no key at all.
LOADERS: Mapping[str, frozenset[str]] = {
    "trade": frozenset({"gateway"}),
    "read": frozenset({"gateway", "ui", "recorder"}),
}
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_VENUE_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
_API_KEY_RE = re.compile(r"[\x21-\x7e]{8,256}")
_FORMAT = 1
_KEYRING_SERVICE = "veloz"
_KEYRING_INDEX = "__index__"

PassphraseFn = Callable[[bool], str]
AUDIT_PROC = "keys"  # the audit file of `veloz keys`: <dir>/audit/keys.jsonl
_ERROR_MAX = 200


class AuditSink(Protocol):
    """Where key records go: an audit log's ``append`` (`veloz.audit.ProcAudit` fits).

    Kept a protocol so key storage does not import the audit package; data holds names,
    scopes and backends only, never a secret or a whole API key.
    """

    def append(self, kind: str, data: Mapping[str, Any]) -> int:
        """Append one record of `kind` (``key_use``, ``operator_command``)."""
        ...


def api_key_hint(api_key: str) -> str:
    """Return the API key as first 4 + ``...`` + last 4 chars (``***`` when 12 or fewer)."""
    return f"{api_key[:4]}...{api_key[-4:]}" if len(api_key) > 12 else "***"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What `veloz keys list` shows of a key: never the secret, the API key only as a hint."""

    name: str
    venue: str
    scope: str
    kind: str
    api_key_hint: str
    backend: str


@dataclass(frozen=True, slots=True, repr=False)
class ApiKey:
    """One named venue API key.

    Attributes
    ----------
    name, venue : str
        Store name (``[A-Za-z0-9][A-Za-z0-9_.-]*``) and venue id (e.g. ``binance-spot``).
    scope : str
        ``read`` or ``trade``: what the key may be used for, checked by `load`.
    kind : str
        ``hmac`` (secret is the HMAC secret) or ``ed25519`` (secret is a PKCS#8 PEM).
    api_key : str
        The venue's key id (sent in headers; shown only as `api_key_hint`).
    secret : Secret
        The signing secret, redacted in every text form.
    """

    name: str
    venue: str
    scope: str
    kind: str
    api_key: str
    secret: Secret

    def __repr__(self) -> str:
        return (
            f"ApiKey(name={self.name!r}, venue={self.venue!r}, scope={self.scope!r}, "
            f"kind={self.kind!r}, api_key={api_key_hint(self.api_key)!r}, secret={self.secret!r})"
        )

    def info(self, backend: str) -> KeyInfo:
        """Return the listable, secret-free view of this key."""
        hint = api_key_hint(self.api_key)
        return KeyInfo(self.name, self.venue, self.scope, self.kind, hint, backend)


def make_key(name: str, venue: str, scope: str, kind: str, api_key: str, secret: str) -> ApiKey:
    """Validate the parts of a key and build it.

    Raises
    ------
    ConfigError
        A bad name, venue, scope, kind or API key, an empty or non-ASCII HMAC secret, or a PEM
        that is not an unencrypted Ed25519 private key. Messages never quote the secret.
    """
    if not _NAME_RE.fullmatch(name):
        raise ConfigError(f"key name {name!r}: must match {_NAME_RE.pattern}")
    if not _VENUE_RE.fullmatch(venue):
        raise ConfigError(f"venue {venue!r}: must match {_VENUE_RE.pattern}")
    if scope not in SCOPES:
        raise ConfigError(f"scope {scope!r}: must be one of {', '.join(SCOPES)}")
    if kind not in KINDS:
        raise ConfigError(f"key kind {kind!r}: must be one of {', '.join(KINDS)}")
    if not _API_KEY_RE.fullmatch(api_key):
        raise ConfigError("api key: must be 8..256 printable ASCII characters without spaces")
    if kind == "hmac" and not re.fullmatch(r"[\x21-\x7e]{8,512}", secret):
        raise ConfigError("hmac secret: must be 8..512 printable ASCII characters without spaces")
    if kind == "ed25519":
        try:
            private = load_pem_private_key(secret.encode(), password=None)
        except (ValueError, TypeError):
            raise ConfigError("ed25519 key: not an unencrypted PKCS#8 PEM private key") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise ConfigError("ed25519 key: the PEM holds a private key of another type")
    return ApiKey(name, venue, scope, kind, api_key, Secret(secret))


def _record(key: ApiKey) -> dict[str, str]:
    return {
        "venue": key.venue,
        "scope": key.scope,
        "kind": key.kind,
        "api_key": key.api_key,
        "secret": key.secret.reveal(),
    }


def _from_record(name: str, rec: Any) -> ApiKey:
    try:
        return make_key(
            name, rec["venue"], rec["scope"], rec["kind"], rec["api_key"], rec["secret"]
        )
    except (KeyError, TypeError):
        raise ConfigError(f"key {name!r}: stored record is malformed") from None


def _removed_info(get: Callable[[], ApiKey], name: str, backend: str) -> KeyInfo:
    # What a removed key was; a malformed record must still be removable.
    try:
        return get().info(backend)
    except ConfigError:
        return KeyInfo(name, "?", "?", "?", "***", backend)


class KeyStore(Protocol):
    """Where named keys live. Every method may raise ConfigError with one clear line."""

    @property
    def backend(self) -> str:
        """``keyring:<backend class>`` or ``file:<path>``."""
        ...

    def add(self, key: ApiKey, *, replace: bool = False) -> None:
        """Store `key`; an existing name is an error unless `replace`."""
        ...

    def get(self, name: str) -> ApiKey:
        """Return the key called `name`; a missing name is a ConfigError."""
        ...

    def entries(self) -> list[KeyInfo]:
        """Return every key's `KeyInfo`, sorted by name."""
        ...

    def remove(self, name: str) -> KeyInfo:
        """Delete the key called `name` and return what it was; a missing name is an error."""
        ...


def default_path(env: Mapping[str, str]) -> Path:
    """Return ``$VELOZ_KEYS_FILE``, else ``$XDG_CONFIG_HOME/veloz/keys.enc`` (~/.config)."""
    if env.get("VELOZ_KEYS_FILE"):
        return Path(env["VELOZ_KEYS_FILE"]).expanduser()
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "veloz" / "keys.enc"


def audit_dir(env: Mapping[str, str]) -> Path:
    """Return where `veloz keys` keeps its audit file without ``--run-dir``.

    ``audit/`` beside the key file (`default_path`), whichever backend holds the keys: with
    the keyring it is ``~/.config/veloz/audit`` (or ``$XDG_CONFIG_HOME/veloz/audit``).
    """
    return default_path(env).parent / "audit"


def _has_tty() -> bool:
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return False
    os.close(fd)
    return True


def passphrase_source(env: Mapping[str, str]) -> PassphraseFn:
    """Return a function giving the key-file passphrase (called with ``creating``).

    ``VELOZ_KEYS_PASSPHRASE`` when set, else a prompt on the terminal (``/dev/tty``, twice
    when the file is being created). Never from argv. Without either it raises ConfigError.
    """

    def passphrase(creating: bool) -> str:
        text = env.get("VELOZ_KEYS_PASSPHRASE", "")
        if text:
            return text
        if not _has_tty():
            raise ConfigError("no key file passphrase: set VELOZ_KEYS_PASSPHRASE or use a terminal")
        text = getpass.getpass("veloz key file passphrase: ")
        if creating and getpass.getpass("repeat the passphrase: ") != text:
            raise ConfigError("the two passphrases differ")
        if not text:
            raise ConfigError("key file passphrase is empty")
        return text

    return passphrase


class FileStore:
    """Keys in one sealed file (see `veloz.keys.sealed`), mode 0600 in a 0700 directory.

    Parameters
    ----------
    path : Path
        The key file; created on the first `add`.
    passphrase : callable
        ``passphrase(creating) -> str``, asked at most once per store object.
    kdf : Argon2idParams | ScryptParams | None
        KDF cost for writes (reads use the file's own); None picks `default_kdf()`.
    """

    def __init__(self, path: Path, passphrase: PassphraseFn, kdf: Kdf | None = None) -> None:
        self._path = path
        self._passphrase_fn = passphrase
        self._passphrase: Secret | None = None
        self._kdf = kdf if kdf is not None else default_kdf()

    @property
    def backend(self) -> str:
        """``file:<path>``."""
        return f"file:{self._path}"

    def _pass(self, creating: bool) -> str:
        if self._passphrase is None:
            self._passphrase = Secret(self._passphrase_fn(creating))
        return self._passphrase.reveal()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = self._path.with_name(self._path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _read(self) -> dict[str, Any]:
        try:
            fd = os.open(self._path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise ConfigError(f"key file {self._path}: cannot open: {exc.strerror}") from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_mode & 0o077:
                raise ConfigError(
                    f"key file {self._path} has mode {st.st_mode & 0o777:o}: "
                    f"run chmod 600 {self._path}"
                )
            if st.st_uid != os.getuid():
                raise ConfigError(f"key file {self._path} is owned by uid {st.st_uid}, not you")
            blob = f.read()
        plain = unseal(blob, self._pass(creating=False))
        try:
            doc = json.loads(plain)
            keys = doc["keys"]
            if doc["format"] != _FORMAT or not isinstance(keys, dict):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise ConfigError(f"key file {self._path}: unknown payload format") from None
        return keys

    def _write(self, keys: dict[str, Any], creating: bool) -> None:
        plain = json.dumps({"format": _FORMAT, "keys": keys}, sort_keys=True).encode()
        blob = seal(plain, self._pass(creating), self._kdf)
        tmp = self._path.with_name(f".{self._path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(blob)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        dfd = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        log.info("keys_file_written path=%s n_keys=%d", self._path, len(keys))

    def add(self, key: ApiKey, *, replace: bool = False) -> None:
        """Store `key` (see `KeyStore.add`)."""
        with self._locked():
            creating = not self._path.exists()
            keys = self._read()
            if key.name in keys and not replace:
                raise ConfigError(f"key {key.name!r} already exists in {self.backend}")
            keys[key.name] = _record(key)
            self._write(keys, creating)

    def get(self, name: str) -> ApiKey:
        """Return the key called `name` (see `KeyStore.get`)."""
        keys = self._read()
        if name not in keys:
            raise ConfigError(f"no key named {name!r} in {self.backend}")
        return _from_record(name, keys[name])

    def entries(self) -> list[KeyInfo]:
        """Return every key's `KeyInfo`, sorted by name."""
        keys = self._read()
        return [_from_record(n, keys[n]).info(self.backend) for n in sorted(keys)]

    def remove(self, name: str) -> KeyInfo:
        """Delete the key called `name` (see `KeyStore.remove`)."""
        with self._locked():
            keys = self._read()
            if name not in keys:
                raise ConfigError(f"no key named {name!r} in {self.backend}")
            info = _removed_info(lambda: _from_record(name, keys[name]), name, self.backend)
            del keys[name]
            self._write(keys, creating=False)
        return info


def _is_usable(kr: Any) -> bool:
    cls = type(kr)
    if cls.__module__.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return False
    if cls.__module__.startswith("keyrings.alt.file") or "plaintext" in cls.__name__.lower():
        return False
    try:
        return float(kr.priority) > 0
    except (RuntimeError, AttributeError, TypeError, ValueError):
        return False


def _keyring_errors() -> tuple[type[BaseException], ...]:
    try:
        from keyring.errors import KeyringError
    except ImportError:
        return (OSError,)
    return (KeyringError, OSError)


def usable_keyring() -> Any | None:
    """Return the best usable system keyring backend, or None.

    None when the `keyring` package is not installed or only its fail, null or plaintext
    backends are available (a plaintext file is worse than our sealed file).
    """
    try:
        import keyring
    except ImportError:
        return None
    kr: Any = keyring.get_keyring()
    candidates = list(getattr(kr, "backends", [kr]))
    usable = [b for b in candidates if _is_usable(b)]
    return max(usable, key=lambda b: float(b.priority)) if usable else None


class KeyringStore:
    """Keys in the system keyring, service ``veloz``: one JSON record per name plus an index.

    Parameters
    ----------
    kr : keyring backend
        From `usable_keyring()` (or a test double with the same three methods).
    """

    def __init__(self, kr: Any) -> None:
        self._kr = kr

    @property
    def backend(self) -> str:
        """``keyring:<backend class>``."""
        return f"keyring:{type(self._kr).__name__}"

    def _call(self, method: str, *args: str) -> Any:
        try:
            return getattr(self._kr, method)(_KEYRING_SERVICE, *args)
        except _keyring_errors() as exc:
            raise ConfigError(f"{self.backend}: {method} failed: {type(exc).__name__}") from None

    def _index(self) -> list[str]:
        raw = self._call("get_password", _KEYRING_INDEX)
        if raw is None:
            return []
        try:
            names = json.loads(raw)
        except ValueError:
            raise ConfigError(f"{self.backend}: key index is malformed") from None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{self.backend}: key index is malformed")
        return names

    def add(self, key: ApiKey, *, replace: bool = False) -> None:
        """Store `key` (see `KeyStore.add`)."""
        names = self._index()
        if key.name in names and not replace:
            raise ConfigError(f"key {key.name!r} already exists in {self.backend}")
        self._call("set_password", key.name, json.dumps(_record(key)))
        if key.name not in names:
            self._call("set_password", _KEYRING_INDEX, json.dumps(sorted([*names, key.name])))
        log.info("keys_keyring_written backend=%s name=%s", self.backend, key.name)

    def get(self, name: str) -> ApiKey:
        """Return the key called `name` (see `KeyStore.get`)."""
        raw = self._call("get_password", name) if name != _KEYRING_INDEX else None
        if raw is None:
            raise ConfigError(f"no key named {name!r} in {self.backend}")
        try:
            rec = json.loads(raw)
        except ValueError:
            raise ConfigError(f"key {name!r}: stored record is malformed") from None
        return _from_record(name, rec)

    def entries(self) -> list[KeyInfo]:
        """Return every key's `KeyInfo`, sorted by name."""
        return [self.get(n).info(self.backend) for n in sorted(self._index())]

    def remove(self, name: str) -> KeyInfo:
        """Delete the key called `name` (see `KeyStore.remove`)."""
        names = self._index()
        if name not in names:
            raise ConfigError(f"no key named {name!r} in {self.backend}")
        info = _removed_info(lambda: self.get(name), name, self.backend)
        self._call("delete_password", name)
        self._call("set_password", _KEYRING_INDEX, json.dumps([n for n in names if n != name]))
        return info


def open_store(
    env: Mapping[str, str] | None = None,
    *,
    backend: str | None = None,
    passphrase: PassphraseFn | None = None,
    kdf: Kdf | None = None,
) -> KeyStore:
    """Open the key store.

    Parameters
    ----------
    env : Mapping[str, str] | None
        ``os.environ`` when None. Read: ``VELOZ_KEYS_BACKEND`` (``auto``, ``keyring``,
        ``file``), ``VELOZ_KEYS_FILE``, ``VELOZ_KEYS_PASSPHRASE``, ``XDG_CONFIG_HOME``.
    backend : str | None
        Overrides ``VELOZ_KEYS_BACKEND``; ``auto`` (default) is the keyring when
        `usable_keyring()` finds one, else the sealed file.
    passphrase : callable | None
        For the file backend; None uses `passphrase_source(env)`.
    kdf : Argon2idParams | ScryptParams | None
        KDF cost for file writes; None uses `default_kdf()`.

    Raises
    ------
    ConfigError
        An unknown backend name, or ``keyring`` asked for when none is usable.
    """
    env = os.environ if env is None else env
    choice = backend or env.get("VELOZ_KEYS_BACKEND", "") or "auto"
    if choice not in ("auto", "keyring", "file"):
        raise ConfigError(f"VELOZ_KEYS_BACKEND={choice!r}: must be auto, keyring or file")
    if choice != "file":
        kr = usable_keyring()
        if kr is not None:
            return KeyringStore(kr)
        if choice == "keyring":
            raise ConfigError("VELOZ_KEYS_BACKEND=keyring: no usable system keyring found")
    return FileStore(default_path(env), passphrase or passphrase_source(env), kdf)


def load(
    name: str,
    *,
    scope: str,
    for_process: str,
    store: KeyStore | None = None,
    env: Mapping[str, str] | None = None,
    audit: AuditSink | None = None,
) -> ApiKey:
    """Load key `name` for process `for_process`, which must be allowed `scope`.

    The process check (`LOADERS`: only ``gateway`` may load trade keys) and the scope check
    guard against wiring mistakes; they are not a security boundary against code running as
    the same user.

    Parameters
    ----------
    name : str
        The store name.
    scope : str
        ``read`` or ``trade``; must equal the scope the key was stored with (a read key can
        never be loaded as trade, and a trade key is not handed out where read was asked).
    for_process : str
        The asking process role (``gateway``, ``ui``, ...).
    store : KeyStore | None
        None opens the default store from `env`.
    env : Mapping[str, str] | None
        For `open_store` when `store` is None.
    audit : AuditSink | None
        Gets one ``key_use`` record: ``result`` ``loaded`` (with venue, kind, API key hint
        and backend) or ``refused`` (with the one-line reason). Never the secret.

    Raises
    ------
    ConfigError
        Unknown scope, a process not allowed that scope, a missing key, a scope mismatch, or
        any store error.
    """
    use: dict[str, Any] = {"key": name, "scope": scope, "process": for_process}
    try:
        key, backend = _load(name, scope, for_process, store, env)
    except ConfigError as exc:
        if audit is not None:
            audit.append("key_use", use | {"result": "refused", "error": str(exc)[:_ERROR_MAX]})
        raise
    if audit is not None:
        hint = api_key_hint(key.api_key)
        audit.append(
            "key_use",
            use
            | {"result": "loaded", "venue": key.venue, "kind": key.kind}
            | {"api_key_hint": hint, "backend": backend},
        )
    log.info(
        "keys_loaded name=%s scope=%s process=%s backend=%s",
        name,
        scope,
        for_process,
        backend,
    )
    return key


def _load(
    name: str,
    scope: str,
    for_process: str,
    store: KeyStore | None,
    env: Mapping[str, str] | None,
) -> tuple[ApiKey, str]:
    if scope not in SCOPES:
        raise ConfigError(f"scope {scope!r}: must be one of {', '.join(SCOPES)}")
    if for_process not in LOADERS[scope]:
        allowed = ", ".join(sorted(LOADERS[scope]))
        raise ConfigError(f"process {for_process!r} may not load {scope} keys (allowed: {allowed})")
    store = open_store(env) if store is None else store
    key = store.get(name)
    if key.scope != scope:
        raise ConfigError(f"key {name!r} has scope {key.scope}; it cannot be loaded as {scope}")
    return key, store.backend
