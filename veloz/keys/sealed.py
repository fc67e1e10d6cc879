"""The sealed key-file format: passphrase -> KDF -> AES-256-GCM over the key records.

Owns the byte layout, the KDF parameters and their sane ranges. Must not read or write files,
prompt, or log: it turns plaintext bytes into a sealed blob and back, or raises ConfigError.

Layout (big-endian), 49-byte header then ciphertext with its 16-byte GCM tag::

    magic 6s "VZKEYS" | version B (1) | kdf B (1 argon2id, 2 scrypt) | kdf params 3 x u32 |
    salt 16s | aead B (1 AES-256-GCM) | nonce 12s | ciphertext ... | tag 16s

argon2id params are (memory KiB, iterations, lanes); scrypt params are (log2 n, r, p). The
whole header is the GCM associated data, so a changed version, parameter, salt or nonce
fails authentication exactly like a wrong passphrase or a changed ciphertext.
"""

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from veloz.errors import ConfigError

__all__ = [
    "HEADER",
    "MAGIC",
    "VERSION",
    "Argon2idParams",
    "Kdf",
    "ScryptParams",
    "default_kdf",
    "seal",
    "unseal",
]

MAGIC = b"VZKEYS"
VERSION = 1
HEADER = struct.Struct(">6sBBIII16sB12s")
_KDF_ARGON2ID = 1
_KDF_SCRYPT = 2
_AEAD_AES256GCM = 1
_SALT_LEN = 16
_NONCE_LEN = 12
_TAG_LEN = 16


@dataclass(frozen=True, slots=True)
class Argon2idParams:
    """Argon2id cost (RFC 9106). Defaults: 64 MiB, 3 passes, 1 lane (~0.1 s on one core)."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 1


@dataclass(frozen=True, slots=True)
class ScryptParams:
    """scrypt cost, for a `cryptography` without Argon2id. Defaults: n=2**15, r=8, p=1."""

    log2_n: int = 15
    r: int = 8
    p: int = 1


Kdf = Argon2idParams | ScryptParams

# Accepted on read: wide enough for any file we wrote, narrow enough that a crafted header
# cannot make us allocate gigabytes or spin for minutes before authentication fails.
_ARGON2_RANGE = ((8, 1 << 20), (1, 16), (1, 16))
_SCRYPT_RANGE = ((10, 20), (1, 16), (1, 16))


def _argon2id_cls() -> type | None:
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
    except ImportError:  # cryptography < 44 has no Argon2id: scrypt is the fallback
        return None
    return Argon2id


def default_kdf() -> Kdf:
    """Return Argon2id defaults when the installed `cryptography` has it, else scrypt."""
    return Argon2idParams() if _argon2id_cls() is not None else ScryptParams()


def _derive(passphrase: str, salt: bytes, kdf: Kdf) -> bytes:
    secret = passphrase.encode()
    if isinstance(kdf, ScryptParams):
        return Scrypt(salt=salt, length=32, n=1 << kdf.log2_n, r=kdf.r, p=kdf.p).derive(secret)
    cls = _argon2id_cls()
    if cls is None:
        raise ConfigError("key file uses Argon2id, which this `cryptography` lacks: upgrade it")
    kdf_obj = cls(
        salt=salt,
        length=32,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    )
    key: bytes = kdf_obj.derive(secret)
    return key


def _check_range(
    name: str, values: tuple[int, int, int], ranges: tuple[tuple[int, int], ...]
) -> None:
    for v, (lo, hi) in zip(values, ranges, strict=True):
        if not lo <= v <= hi:
            raise ConfigError(f"key file: {name} parameters {values} out of range {ranges}")


def seal(plaintext: bytes, passphrase: str, kdf: Kdf) -> bytes:
    """Encrypt `plaintext` under `passphrase` with a fresh salt and nonce.

    Parameters
    ----------
    plaintext : bytes
        The serialised key records.
    passphrase : str
        Non-empty.
    kdf : Argon2idParams | ScryptParams
        Cost of the key derivation; stored in the header.

    Returns
    -------
    bytes
        Header, ciphertext and tag.

    Raises
    ------
    ConfigError
        Empty passphrase or parameters outside the accepted range.
    """
    if not passphrase:
        raise ConfigError("key file passphrase is empty")
    if isinstance(kdf, ScryptParams):
        kdf_id, params = _KDF_SCRYPT, (kdf.log2_n, kdf.r, kdf.p)
        _check_range("scrypt", params, _SCRYPT_RANGE)
    else:
        kdf_id, params = _KDF_ARGON2ID, (kdf.memory_kib, kdf.iterations, kdf.lanes)
        _check_range("argon2id", params, _ARGON2_RANGE)
    salt, nonce = os.urandom(_SALT_LEN), os.urandom(_NONCE_LEN)
    header = HEADER.pack(MAGIC, VERSION, kdf_id, *params, salt, _AEAD_AES256GCM, nonce)
    key = _derive(passphrase, salt, kdf)
    return header + AESGCM(key).encrypt(nonce, plaintext, header)


def unseal(blob: bytes, passphrase: str) -> bytes:
    """Check and decrypt a sealed blob; return the plaintext.

    Raises
    ------
    ConfigError
        Not a key file, an unknown version or algorithm, parameters out of range, a
        truncated file, or failed authentication (wrong passphrase or any changed byte).
    """
    if len(blob) < HEADER.size + _TAG_LEN:
        raise ConfigError(f"key file is truncated ({len(blob)} bytes)")
    magic, version, kdf_id, a, b, c, salt, aead_id, nonce = HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ConfigError("not a veloz key file (bad magic)")
    if version != VERSION:
        raise ConfigError(f"key file format version {version} is not supported (want {VERSION})")
    kdf: Kdf
    if kdf_id == _KDF_ARGON2ID:
        _check_range("argon2id", (a, b, c), _ARGON2_RANGE)
        kdf = Argon2idParams(memory_kib=a, iterations=b, lanes=c)
    elif kdf_id == _KDF_SCRYPT:
        _check_range("scrypt", (a, b, c), _SCRYPT_RANGE)
        kdf = ScryptParams(log2_n=a, r=b, p=c)
    else:
        raise ConfigError(f"key file names unknown KDF id {kdf_id}")
    if aead_id != _AEAD_AES256GCM:
        raise ConfigError(f"key file names unknown cipher id {aead_id}")
    header = blob[: HEADER.size]
    key = _derive(passphrase, salt, kdf)
    try:
        return AESGCM(key).decrypt(nonce, blob[HEADER.size :], header)
    except InvalidTag:
        raise ConfigError(
            "key file: wrong passphrase, or the file was modified (authentication failed)"
        ) from None
