"""Client-side request signing for Binance REST and WS API: HMAC-SHA256 and Ed25519.

Owns how the signed payload is built (REST: the percent-encoded query string then the body,
exactly the bytes sent; WS API: every parameter but ``signature``, sorted by name, UTF-8,
not percent-encoded) and how it is signed. Written apart from `veloz.sim.auth` on purpose:
the server and the client must not share a misreading of the protocol.
Must never log or repr a secret, a signature or a signed payload.
"""

import base64
import hashlib
import hmac
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import quote

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from veloz.errors import ConfigError

__all__ = [
    "Ed25519Signer",
    "HmacSigner",
    "Signer",
    "encode_params",
    "rest_signed_query",
    "ws_payload",
    "ws_signed_params",
]


class Signer(Protocol):
    """Signs payload bytes for one API key; `kind` is "HMAC" or "ED25519"."""

    @property
    def api_key(self) -> str: ...

    @property
    def kind(self) -> str: ...

    def sign(self, payload: bytes) -> str:
        """Return the signature text as Binance expects it (before percent-encoding)."""
        ...


class HmacSigner:
    """HMAC-SHA256 over the payload, lower-case hex (Binance compares case-insensitively)."""

    __slots__ = ("_api_key", "_secret")

    def __init__(self, api_key: str, secret: str) -> None:
        if not api_key or not secret:
            raise ConfigError("HMAC key: api_key and secret must both be non-empty")
        self._api_key = api_key
        self._secret = secret.encode()

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def kind(self) -> str:
        return "HMAC"

    def sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"HmacSigner(api_key={self._api_key[:6]}…)"


class Ed25519Signer:
    """Ed25519 over the payload, standard base64 (case-sensitive; percent-encode on REST).

    `private_key` is a PKCS#8 PEM (as Binance's key generator writes it), or the 32-byte raw
    seed as bytes. An encrypted PEM takes `password`.
    """

    __slots__ = ("_api_key", "_key")

    def __init__(
        self, api_key: str, private_key: str | bytes, password: bytes | None = None
    ) -> None:
        if not api_key:
            raise ConfigError("Ed25519 key: api_key must be non-empty")
        self._api_key = api_key
        self._key = _load_ed25519(private_key, password)

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def kind(self) -> str:
        return "ED25519"

    def sign(self, payload: bytes) -> str:
        return base64.b64encode(self._key.sign(payload)).decode("ascii")

    def __repr__(self) -> str:
        return f"Ed25519Signer(api_key={self._api_key[:6]}…)"


def _load_ed25519(private_key: str | bytes, password: bytes | None) -> Ed25519PrivateKey:
    if isinstance(private_key, bytes) and len(private_key) == 32:
        return Ed25519PrivateKey.from_private_bytes(private_key)
    data = private_key.encode() if isinstance(private_key, str) else private_key
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        # The exception text never contains key material.
        raise ConfigError(f"Ed25519 key: not a PKCS#8 PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"Ed25519 key: PEM holds a {type(key).__name__}, not Ed25519")
    return key


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """Return ``k=v&k=v`` in the given order with names and values percent-encoded (UTF-8).

    Unreserved characters (letters, digits, ``-._~``) stay as they are; everything else,
    non-ASCII included, becomes %XX. This is the exact text that is both signed and sent.
    """
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in params)


def rest_signed_query(signer: Signer, params: Iterable[tuple[str, str]], body: str = "") -> str:
    """Return the query string with ``signature`` appended last, signed with `body` after it.

    `params` must already hold ``timestamp`` (and ``recvWindow`` if used); `body` is the
    percent-encoded form body sent with the request, or "" (VeloZ sends everything in the
    query). The signature itself is percent-encoded (Ed25519 base64 holds ``+/=``).
    """
    query = encode_params(params)
    signature = signer.sign((query + body).encode())
    sep = "&" if query else ""
    return f"{query}{sep}signature={quote(signature, safe='')}"


def ws_payload(params: Mapping[str, str]) -> str:
    """Return the WS-API signed text: params but ``signature``, sorted by name, not encoded."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")


def ws_signed_params(signer: Signer, params: Mapping[str, str]) -> dict[str, str]:
    """Return `params` plus ``apiKey`` and ``signature`` for a signed WS-API request.

    `params` must hold ``timestamp``; ``apiKey`` is added from the signer when absent.
    """
    out = dict(params)
    out.setdefault("apiKey", signer.api_key)
    out["signature"] = signer.sign(ws_payload(out).encode())
    return out
