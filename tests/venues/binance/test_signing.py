"""Client signing against the Binance docs' worked examples (../shared/fixtures), and
cross-checked with the simulator's independent verifier."""

import base64
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from veloz.errors import ConfigError
from veloz.sim import auth
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import encode_params
from veloz.venues.binance.signing import rest_signed_query
from veloz.venues.binance.signing import ws_payload
from veloz.venues.binance.signing import ws_signed_params

_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"  # noqa: S105 (docs' key)


@pytest.fixture(scope="module")
def vectors(fixtures_dir: Path) -> dict[str, dict[str, Any]]:
    doc = json.loads((fixtures_dir / "binance" / "signature_test_vectors.json").read_text())
    return {v["name"]: v for v in doc["vectors"]}


@pytest.mark.parametrize(
    "name",
    [
        "spot_rest_hmac_ascii",
        "spot_rest_hmac_percent_encoded_unicode_symbol",
        "spot_rest_hmac_LEGACY_mixed_query_and_body",
        "spot_wsapi_hmac_sorted_params_ascii",
        "spot_wsapi_hmac_sorted_params_unicode_not_percent_encoded",
        "usdm_futures_rest_hmac",
    ],
)
def test_hmac_signature_matches_docs_vector(vectors: dict[str, dict[str, Any]], name: str) -> None:
    v = vectors[name]
    signer = HmacSigner(v.get("apiKey", _KEY), v["secretKey"])
    assert signer.sign(v["payload"].encode()) == v["signature"]


def test_rest_query_percent_encodes_before_signing(vectors: dict[str, dict[str, Any]]) -> None:
    v = vectors["spot_rest_hmac_percent_encoded_unicode_symbol"]
    params = parse_qsl(v["unencoded_payload"], keep_blank_values=True)
    query = rest_signed_query(HmacSigner(v["apiKey"], v["secretKey"]), params)
    payload, _, signature = query.rpartition("&signature=")
    assert payload == v["payload"]
    assert signature == v["signature"]


def test_rest_query_keeps_caller_order_and_puts_signature_last(
    vectors: dict[str, dict[str, Any]],
) -> None:
    v = vectors["usdm_futures_rest_hmac"]
    params = parse_qsl(v["payload"])
    query = rest_signed_query(HmacSigner(v["apiKey"], v["secretKey"]), params)
    assert query == f"{v['payload']}&signature={v['signature']}"


def test_ws_payload_sorts_and_does_not_encode(vectors: dict[str, dict[str, Any]]) -> None:
    v = vectors["spot_wsapi_hmac_sorted_params_unicode_not_percent_encoded"]
    params = dict(parse_qsl(v["payload"]))
    shuffled = dict(reversed(list(params.items())))
    assert ws_payload(shuffled) == v["payload"]
    signed = ws_signed_params(HmacSigner(_KEY, v["secretKey"]), shuffled)
    assert signed["signature"] == v["signature"]


def test_ws_signed_params_adds_api_key_and_ignores_old_signature() -> None:
    signer = HmacSigner(_KEY, _SECRET)
    first = ws_signed_params(signer, {"timestamp": "1", "symbol": "BTCUSDT"})
    again = ws_signed_params(signer, first)
    assert first["apiKey"] == _KEY
    assert again["signature"] == first["signature"]


def test_encode_params_escapes_reserved_and_non_ascii() -> None:
    assert encode_params([("a", "x y&z=/+"), ("s", "\uff11")]) == "a=x%20y%26z%3D%2F%2B&s=%EF%BC%91"


def _ed_key() -> tuple[Ed25519PrivateKey, str]:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key, pem


def test_ed25519_signature_verifies_with_public_key() -> None:
    key, pem = _ed_key()
    signer = Ed25519Signer(_KEY, pem)
    sig = base64.b64decode(signer.sign(b"symbol=BTCUSDT&timestamp=1"))
    key.public_key().verify(sig, b"symbol=BTCUSDT&timestamp=1")  # raises if wrong
    assert Ed25519Signer(_KEY, bytes(range(32))).sign(b"x") == signer.sign(b"x")


def test_ed25519_rest_query_is_accepted_by_the_sim_verifier() -> None:
    key, pem = _ed_key()
    store = auth.KeyStore()
    public = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    scopes = frozenset({"read", "trade"})
    store.add(auth.ApiKey(key=_KEY, kind="ED25519", secret=public, scopes=scopes))
    now_ms = 1_700_000_000_000
    params = [("symbol", "BTCUSDT"), ("side", "BUY"), ("timestamp", str(now_ms))]
    query = rest_signed_query(Ed25519Signer(_KEY, pem), params)
    assert "%3D" in query  # a 64-byte signature's base64 ends in "=", sent percent-encoded
    verified = auth.verify_rest(store, _KEY, query.encode(), b"", now_ms, "trade")
    assert verified.key == _KEY


def test_ed25519_bad_pem_is_a_config_error_without_key_material() -> None:
    with pytest.raises(ConfigError, match="not a PKCS#8 PEM") as err:
        Ed25519Signer(_KEY, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    assert "AAAA" not in str(err.value)


def test_signer_repr_hides_secret() -> None:
    assert _SECRET not in repr(HmacSigner(_KEY, _SECRET))
    assert _KEY not in repr(HmacSigner(_KEY, _SECRET))
