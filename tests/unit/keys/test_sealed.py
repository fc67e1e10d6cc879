"""Sealed key-file format: round trip, wrong passphrase, tampering of every region."""

import pytest

from veloz.errors import ConfigError
from veloz.keys.sealed import HEADER
from veloz.keys.sealed import Argon2idParams
from veloz.keys.sealed import ScryptParams
from veloz.keys.sealed import default_kdf
from veloz.keys.sealed import seal
from veloz.keys.sealed import unseal

FAST = Argon2idParams(memory_kib=64, iterations=2, lanes=1)
PLAIN = b'{"format": 1, "keys": {"a": {"secret": "s3cr3t-s3cr3t"}}}'
AUTH_FAILED = "wrong passphrase, or the file was modified"

# Byte offsets of the header fields (">6sBBIII16sB12s").
MAGIC, VERSION, KDF_ID, KDF_MEM, KDF_ITER, KDF_LANES = 0, 6, 7, 8, 12, 16
SALT, AEAD_ID, NONCE = 20, 36, 37


def _flip(blob: bytes, at: int, mask: int = 0x01) -> bytes:
    b = bytearray(blob)
    b[at] ^= mask
    return bytes(b)


def test_sealed_round_trip_returns_plaintext() -> None:
    assert unseal(seal(PLAIN, "pass phrase", FAST), "pass phrase") == PLAIN


def test_sealed_scrypt_round_trip_returns_plaintext() -> None:
    kdf = ScryptParams(log2_n=10, r=8, p=1)
    assert unseal(seal(PLAIN, "pw", kdf), "pw") == PLAIN


def test_sealed_default_kdf_meets_the_cost_floor() -> None:
    kdf = default_kdf()
    if isinstance(kdf, Argon2idParams):
        assert kdf.memory_kib >= 19456 and kdf.iterations >= 2
    else:
        assert kdf.log2_n >= 15 and kdf.r == 8 and kdf.p == 1


def test_sealed_ciphertext_hides_plaintext_and_is_fresh_per_write() -> None:
    a, b = seal(PLAIN, "pw", FAST), seal(PLAIN, "pw", FAST)
    assert b"s3cr3t" not in a
    assert a[SALT:AEAD_ID] != b[SALT:AEAD_ID]
    assert a[NONCE : HEADER.size] != b[NONCE : HEADER.size]
    assert a[HEADER.size :] != b[HEADER.size :]


def test_sealed_wrong_passphrase_raises_auth_error() -> None:
    with pytest.raises(ConfigError, match=AUTH_FAILED):
        unseal(seal(PLAIN, "right", FAST), "wrong")


@pytest.mark.parametrize(
    ("region", "at", "mask", "message"),
    [
        ("magic", MAGIC, 0x01, "bad magic"),
        ("version", VERSION, 0x01, "version 0 is not supported"),
        ("kdf_id", KDF_ID, 0x01, "unknown KDF id"),
        ("kdf_memory", KDF_MEM + 3, 0x01, AUTH_FAILED),
        ("kdf_iterations", KDF_ITER + 3, 0x01, AUTH_FAILED),
        ("kdf_lanes", KDF_LANES + 3, 0xC8, "out of range"),
        ("salt_first", SALT, 0x01, AUTH_FAILED),
        ("salt_last", AEAD_ID - 1, 0x01, AUTH_FAILED),
        ("aead_id", AEAD_ID, 0x01, "unknown cipher id"),
        ("nonce_first", NONCE, 0x01, AUTH_FAILED),
        ("nonce_last", HEADER.size - 1, 0x01, AUTH_FAILED),
        ("ciphertext_first", HEADER.size, 0x01, AUTH_FAILED),
        ("ciphertext_last", -17, 0x01, AUTH_FAILED),
        ("tag_first", -16, 0x01, AUTH_FAILED),
        ("tag_last", -1, 0x01, AUTH_FAILED),
    ],
)
def test_sealed_tampered_region_raises_clear_error(
    region: str, at: int, mask: int, message: str
) -> None:
    blob = _flip(seal(PLAIN, "pw", FAST), at, mask)
    with pytest.raises(ConfigError, match=message):
        unseal(blob, "pw")


def test_sealed_kdf_param_in_range_but_changed_fails_authentication() -> None:
    blob = bytearray(seal(PLAIN, "pw", FAST))
    blob[KDF_LANES + 3] = 2  # lanes 1 -> 2: a valid cost, but the header is associated data
    with pytest.raises(ConfigError, match=AUTH_FAILED):
        unseal(bytes(blob), "pw")


def test_sealed_huge_memory_cost_is_refused_before_deriving() -> None:
    blob = bytearray(seal(PLAIN, "pw", FAST))
    blob[KDF_MEM : KDF_MEM + 4] = (0xFFFFFFFF).to_bytes(4, "big")
    with pytest.raises(ConfigError, match="out of range"):
        unseal(bytes(blob), "pw")


@pytest.mark.parametrize("keep", [0, 10, HEADER.size, HEADER.size + 15])
def test_sealed_truncated_file_raises(keep: int) -> None:
    with pytest.raises(ConfigError, match="truncated"):
        unseal(seal(PLAIN, "pw", FAST)[:keep], "pw")


def test_sealed_appended_bytes_fail_authentication() -> None:
    with pytest.raises(ConfigError, match=AUTH_FAILED):
        unseal(seal(PLAIN, "pw", FAST) + b"\x00", "pw")


def test_sealed_empty_passphrase_is_refused() -> None:
    with pytest.raises(ConfigError, match="passphrase is empty"):
        seal(PLAIN, "", FAST)
