"""API keys and request authentication as Binance's server applies them (REST and WS API).

Owns key storage, signature checks (HMAC-SHA256, Ed25519) and the timestamp/recvWindow rule.
It must not parse order parameters beyond what signing needs, and must not share code with
the client's signing in `veloz.venues` (a shared misreading would pass its own tests).
Checks run in this order: API key format, key and permission, signature, timestamp.
"""

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Literal
from urllib.parse import unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from veloz.sim.errors import MSG_DUPLICATE_PARAM
from veloz.sim.errors import MSG_MANDATORY_PARAM
from veloz.sim.errors import MSG_PARAM_TOO_LARGE
from veloz.sim.errors import MSG_TIMESTAMP_AHEAD
from veloz.sim.errors import MSG_TIMESTAMP_OUTSIDE_RECV_WINDOW
from veloz.sim.errors import BinanceApiError

__all__ = [
    "DEFAULT_RECV_WINDOW_MS",
    "MAX_RECV_WINDOW_MS",
    "ApiKey",
    "KeyStore",
    "check_timestamp",
    "verify_rest",
    "verify_ws_params",
]

KeyKind = Literal["HMAC", "ED25519"]
Scope = Literal["read", "trade"]

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
_AHEAD_LIMIT_US = 1_000_000  # timestamp must be < serverTime + 1000 ms
# Binance API keys are 64 ASCII letters and digits; anything else is -2014.
_KEY_RE = re.compile(r"[A-Za-z0-9]{64}")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,20}")
_RECV_WINDOW_RE = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,3})?")
_TIMESTAMP_RULE = "^[0-9]{1,20}$"
_RECV_WINDOW_RULE = "^[0-9]{1,20}(\\.[0-9]{1,3})?$"
# A timestamp at or above this is read as microseconds (spot accepts both); in ms it would
# be the year 5138.
_MICROS_FROM = 10**14
_SCOPES = frozenset({"read", "trade"})
_ED25519_KEY_BYTES = 32
_ED25519_SIG_BYTES = 64


@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key the simulated exchange knows.

    Parameters
    ----------
    key : str
        The API key as sent in ``X-MBX-APIKEY`` / ``apiKey``: 64 ASCII letters and digits.
    kind : {"HMAC", "ED25519"}
        Signature scheme the key uses.
    secret : bytes
        For HMAC the shared secret (the secretKey text as bytes); for Ed25519 the 32-byte raw
        public key. Never in repr.
    scopes : frozenset of {"read", "trade"}
        Permissions; an endpoint needing a scope the key lacks answers -2015.

    Raises
    ------
    ValueError
        If the key text, kind, scopes or Ed25519 key length is invalid.
    """

    key: str
    kind: KeyKind
    secret: bytes = field(repr=False)
    scopes: frozenset[str]

    def __post_init__(self) -> None:
        if _KEY_RE.fullmatch(self.key) is None:
            raise ValueError("api key must be 64 ASCII letters and digits")
        if self.kind not in ("HMAC", "ED25519"):
            raise ValueError(f"key kind must be HMAC or ED25519, got {self.kind!r}")
        if not self.scopes <= _SCOPES:
            raise ValueError(f"scopes must be a subset of {sorted(_SCOPES)}")
        if self.kind == "ED25519" and len(self.secret) != _ED25519_KEY_BYTES:
            raise ValueError("an Ed25519 public key is 32 raw bytes")
        if self.kind == "HMAC" and not self.secret:
            raise ValueError("an HMAC secret must not be empty")


class KeyStore:
    """API keys by key string; O(1) add and get."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}

    def add(self, api_key: ApiKey) -> None:
        """Register `api_key`, replacing any key with the same key string."""
        self._keys[api_key.key] = api_key

    def get(self, key: str) -> ApiKey | None:
        """Return the key registered under `key`, or None."""
        return self._keys.get(key)

    def __len__(self) -> int:
        return len(self._keys)


def verify_rest(
    store: KeyStore,
    api_key_header: str | None,
    query: bytes,
    body: bytes,
    server_ms: int,
    need_scope: str,
) -> ApiKey:
    """Authenticate a SIGNED REST request the way Binance does.

    The signed payload is the raw query string concatenated with the raw body, exactly as
    received (no separator between them), with the ``signature=...`` parameter removed from
    whichever of the two carries it. Values are compared after form decoding (percent
    escapes, ``+`` as space); where a parameter is in both, the query string wins.

    Parameters
    ----------
    store : KeyStore
        Known keys.
    api_key_header : str or None
        Value of ``X-MBX-APIKEY``, None when the header is absent.
    query : bytes
        Raw query string without the leading ``?``.
    body : bytes
        Raw ``application/x-www-form-urlencoded`` body (empty for GET).
    server_ms : int
        Server clock, ms since the epoch.
    need_scope : {"read", "trade"}
        Permission the endpoint needs.

    Returns
    -------
    ApiKey
        The authenticated key.

    Raises
    ------
    BinanceApiError
        -2014 missing or malformed key; -2015 unknown key or missing permission; -1101
        duplicate parameter; -1100 illegal characters or malformed timestamp/recvWindow;
        -1102 missing signature or timestamp, or recvWindow above 60000; -1022 bad
        signature; -1021 timestamp outside the window.
    """
    api_key = _lookup(store, api_key_header, need_scope)
    query_params = _form_params(query)
    body_params = _form_params(body)
    if "signature" in query_params:
        if "signature" in body_params:
            raise BinanceApiError(-1101, MSG_DUPLICATE_PARAM)
        payload = _drop_signature(query) + body
        signature = query_params["signature"]
    elif "signature" in body_params:
        payload = query + _drop_signature(body)
        signature = body_params["signature"]
    else:
        raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "signature")
    if not signature:
        raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "signature")
    _check_signature(api_key, payload, signature)
    params = {**body_params, **query_params}
    check_timestamp(params.get("timestamp"), params.get("recvWindow"), server_ms)
    return api_key


def verify_ws_params(
    store: KeyStore,
    params: Mapping[str, object],
    server_ms: int,
    need_scope: str,
) -> ApiKey:
    """Authenticate a SIGNED WebSocket API request the way Binance does.

    The payload is every parameter except ``signature`` (``apiKey`` included), sorted by
    name and joined as ``k=v&k=v`` with UTF-8 values, no percent-encoding. JSON values are
    rendered as text: strings as they are, integers in decimal, booleans as
    ``true``/``false``, floats in Python's shortest round-trip form.

    Parameters
    ----------
    store : KeyStore
        Known keys.
    params : mapping of str to JSON value
        The request's ``params`` object.
    server_ms : int
        Server clock, ms since the epoch.
    need_scope : {"read", "trade"}
        Permission the method needs.

    Returns
    -------
    ApiKey
        The authenticated key.

    Raises
    ------
    BinanceApiError
        -1102 missing ``apiKey``, ``signature`` or ``timestamp``, or recvWindow above 60000;
        -2014 malformed key; -2015 unknown key or missing permission; -1100 a value that is
        not a string, number or boolean, or a malformed timestamp/recvWindow; -1022 bad
        signature; -1021 timestamp outside the window.
    """
    text = {name: _ws_text(name, value) for name, value in params.items()}
    key_text = text.get("apiKey")
    if not key_text:
        raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "apiKey")
    api_key = _lookup(store, key_text, need_scope)
    signature = text.get("signature")
    if not signature:
        raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "signature")
    payload = "&".join(f"{name}={text[name]}" for name in sorted(text) if name != "signature")
    _check_signature(api_key, payload.encode(), signature)
    check_timestamp(text.get("timestamp"), text.get("recvWindow"), server_ms)
    return api_key


def check_timestamp(timestamp: str | None, recv_window: str | None, server_ms: int) -> None:
    """Apply Binance's timing rule to a signed request.

    Accept only if ``timestamp < serverTime + 1000`` and
    ``serverTime - timestamp <= recvWindow``. `timestamp` is ms, or µs when 15+ digits;
    `recv_window` is ms with up to 3 decimals, default 5000, at most 60000.

    Parameters
    ----------
    timestamp : str or None
        Decoded ``timestamp`` parameter.
    recv_window : str or None
        Decoded ``recvWindow`` parameter, None when absent.
    server_ms : int
        Server clock, ms since the epoch.

    Raises
    ------
    BinanceApiError
        -1102 timestamp missing or recvWindow above 60000; -1100 malformed value; -1021
        timestamp too far ahead or older than the window.
    """
    if not timestamp:
        raise BinanceApiError(-1102, MSG_MANDATORY_PARAM % "timestamp")
    if _TIMESTAMP_RE.fullmatch(timestamp) is None:
        raise BinanceApiError(-1100, _illegal_chars_msg("timestamp", _TIMESTAMP_RULE))
    ts = int(timestamp)
    ts_us = ts if ts >= _MICROS_FROM else ts * 1000
    recv_us = DEFAULT_RECV_WINDOW_MS * 1000
    if recv_window is not None:
        if _RECV_WINDOW_RE.fullmatch(recv_window) is None:
            raise BinanceApiError(-1100, _illegal_chars_msg("recvWindow", _RECV_WINDOW_RULE))
        whole, _, frac = recv_window.partition(".")
        recv_us = int(whole) * 1000 + int(frac.ljust(3, "0"))
        if recv_us > MAX_RECV_WINDOW_MS * 1000:
            raise BinanceApiError(
                -1102, MSG_PARAM_TOO_LARGE % ("recvWindow", str(MAX_RECV_WINDOW_MS))
            )
    server_us = server_ms * 1000
    if ts_us >= server_us + _AHEAD_LIMIT_US:
        raise BinanceApiError(-1021, MSG_TIMESTAMP_AHEAD)
    if server_us - ts_us > recv_us:
        raise BinanceApiError(-1021, MSG_TIMESTAMP_OUTSIDE_RECV_WINDOW)


def _lookup(store: KeyStore, key_text: str | None, need_scope: str) -> ApiKey:
    if need_scope not in _SCOPES:
        raise ValueError(f"need_scope must be one of {sorted(_SCOPES)}, got {need_scope!r}")
    if key_text is None or _KEY_RE.fullmatch(key_text) is None:
        raise BinanceApiError(-2014)
    api_key = store.get(key_text)
    if api_key is None or need_scope not in api_key.scopes:
        raise BinanceApiError(-2015)
    return api_key


def _check_signature(api_key: ApiKey, payload: bytes, signature: str) -> None:
    if api_key.kind == "HMAC":
        expected = hmac.new(api_key.secret, payload, hashlib.sha256).hexdigest().encode()
        # Binance compares HMAC hex case-insensitively; compare_digest keeps it constant-time.
        if not hmac.compare_digest(expected, signature.lower().encode()):
            raise BinanceApiError(-1022)
        return
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise BinanceApiError(-1022) from None
    if len(raw) != _ED25519_SIG_BYTES:
        raise BinanceApiError(-1022)
    try:
        Ed25519PublicKey.from_public_bytes(api_key.secret).verify(raw, payload)
    except InvalidSignature:
        raise BinanceApiError(-1022) from None


def _form_params(raw: bytes) -> dict[str, str]:
    # Decodes application/x-www-form-urlencoded text; a name twice in one part is -1101.
    params: dict[str, str] = {}
    if not raw:
        return params
    for segment in raw.split(b"&"):
        if not segment:
            continue
        name_raw, _, value_raw = segment.partition(b"=")
        name = _form_decode(name_raw)
        if name in params:
            raise BinanceApiError(-1101, MSG_DUPLICATE_PARAM)
        params[name] = _form_decode(value_raw)
    return params


def _form_decode(raw: bytes) -> str:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        raise BinanceApiError(-1100) from None


def _drop_signature(raw: bytes) -> bytes:
    # Removes the signature pair and its separator, keeping every other byte as sent.
    kept = [s for s in raw.split(b"&") if _form_decode(s.partition(b"=")[0]) != "signature"]
    return b"&".join(kept)


def _ws_text(name: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    raise BinanceApiError(-1100, _illegal_chars_msg(name, "string, number or boolean"))


def _illegal_chars_msg(name: str, rule: str) -> str:
    return f"Illegal characters found in parameter '{name}'; legal range is '{rule}'."
