"""Server-side Binance authentication against the official signature vectors.

The vectors stay in ../shared/fixtures (located through the `fixtures_dir` fixture); test
Ed25519 keys are generated at run time, never stored.
"""

import base64
import hashlib
import hmac
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

from veloz.sim.auth import ApiKey
from veloz.sim.auth import KeyStore
from veloz.sim.auth import check_timestamp
from veloz.sim.auth import verify_rest
from veloz.sim.auth import verify_ws_params
from veloz.sim.errors import BinanceApiError

SPOT = "spot_rest_hmac_ascii"
ED_KEY = "Ed25519" + "k" * 57
SECRET = b"test-secret-not-a-real-key"
HMAC_KEY = "H" * 64


@pytest.fixture(scope="module")
def vectors(fixtures_dir: Path) -> dict[str, dict[str, Any]]:
    path = fixtures_dir / "binance" / "signature_test_vectors.json"
    return {v["name"]: v for v in json.loads(path.read_text())["vectors"]}


def _store_for(vector: dict[str, Any], api_key: str, scopes: frozenset[str]) -> KeyStore:
    store = KeyStore()
    secret = vector["secretKey"].encode()
    store.add(ApiKey(key=api_key, kind="HMAC", secret=secret, scopes=scopes))
    return store


def _ts(payload: str) -> int:
    match = re.search(r"timestamp=(\d+)", payload)
    assert match is not None
    return int(match.group(1))


def _sign(payload: bytes, secret: bytes = SECRET) -> str:
    return hmac.new(secret, payload, hashlib.sha256).hexdigest()


def _hmac_store(scopes: frozenset[str] = frozenset({"read", "trade"})) -> KeyStore:
    store = KeyStore()
    store.add(ApiKey(key=HMAC_KEY, kind="HMAC", secret=SECRET, scopes=scopes))
    return store


def _rest(
    store: KeyStore, payload: bytes, server_ms: int, *, scope: str = "trade", sig: str = ""
) -> ApiKey:
    body = payload + b"&signature=" + (sig or _sign(payload)).encode()
    return verify_rest(store, HMAC_KEY, b"", body, server_ms, scope)


def _code(excinfo: pytest.ExceptionInfo[BinanceApiError]) -> tuple[int, int, str]:
    err = excinfo.value
    return err.code, err.http_status, err.msg


@pytest.fixture(scope="module")
def ed25519() -> tuple[Ed25519PrivateKey, KeyStore]:
    private = Ed25519PrivateKey.generate()
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    store = KeyStore()
    store.add(ApiKey(key=ED_KEY, kind="ED25519", secret=public, scopes=frozenset({"trade"})))
    return private, store


# --- official vectors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [SPOT, "spot_rest_hmac_percent_encoded_unicode_symbol", "usdm_futures_rest_hmac"],
)
@pytest.mark.parametrize("where", ["body", "query"])
def test_verify_rest_official_vector_in_body_or_query_accepts(
    vectors: dict[str, dict[str, Any]], name: str, where: str
) -> None:
    vector = vectors[name]
    api_key = vector["apiKey"]
    store = _store_for(vector, api_key, frozenset({"trade"}))
    signed = f"{vector['payload']}&signature={vector['signature']}".encode()
    query, body = (b"", signed) if where == "body" else (signed, b"")
    got = verify_rest(store, api_key, query, body, _ts(vector["payload"]), "trade")
    assert got.key == api_key


def test_verify_rest_legacy_mixed_query_and_body_signs_without_separator(
    vectors: dict[str, dict[str, Any]],
) -> None:
    vector = vectors["spot_rest_hmac_LEGACY_mixed_query_and_body"]
    api_key = vectors[SPOT]["apiKey"]
    store = _store_for(vector, api_key, frozenset({"trade"}))
    cut = vector["payload"].index("quantity=")
    query = vector["payload"][:cut].encode()
    body = f"{vector['payload'][cut:]}&signature={vector['signature']}".encode()
    assert verify_rest(store, api_key, query, body, _ts(vector["payload"]), "trade").key == api_key


def test_verify_rest_uppercase_hmac_hex_accepts(vectors: dict[str, dict[str, Any]]) -> None:
    vector = vectors[SPOT]
    store = _store_for(vector, vector["apiKey"], frozenset({"trade"}))
    body = f"{vector['payload']}&signature={vector['signature'].upper()}".encode()
    got = verify_rest(store, vector["apiKey"], b"", body, _ts(vector["payload"]), "trade")
    assert got.key == vector["apiKey"]


def test_verify_rest_unencoded_unicode_with_encoded_signature_rejects_1022(
    vectors: dict[str, dict[str, Any]],
) -> None:
    # Since 2026-01-15 Binance signs the percent-encoded bytes; signing one form and sending
    # the other fails.
    vector = vectors["spot_rest_hmac_percent_encoded_unicode_symbol"]
    store = _store_for(vector, vector["apiKey"], frozenset({"trade"}))
    body = f"{vector['unencoded_payload']}&signature={vector['signature']}".encode()
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(store, vector["apiKey"], b"", body, _ts(vector["payload"]), "trade")
    assert _code(excinfo) == (-1022, 400, "Signature for this request is not valid.")


@pytest.mark.parametrize(
    "name",
    [
        "spot_wsapi_hmac_sorted_params_ascii",
        "spot_wsapi_hmac_sorted_params_unicode_not_percent_encoded",
    ],
)
def test_verify_ws_official_vector_sorted_params_accepts(
    vectors: dict[str, dict[str, Any]], name: str
) -> None:
    vector = vectors[name]
    params: dict[str, object] = dict(kv.split("=", 1) for kv in vector["payload"].split("&"))
    # The docs send these two as JSON numbers; the server renders them back to decimal text.
    params["timestamp"] = int(str(params["timestamp"]))
    params["recvWindow"] = int(str(params["recvWindow"]))
    params = dict(reversed(list(params.items())))  # arrival order must not matter
    params["signature"] = vector["signature"]
    store = _store_for(vector, str(params["apiKey"]), frozenset({"trade"}))
    got = verify_ws_params(store, params, int(str(params["timestamp"])), "trade")
    assert got.key == params["apiKey"]


# --- HMAC failures ---------------------------------------------------------------------


def test_verify_rest_wrong_signature_rejects_1022(vectors: dict[str, dict[str, Any]]) -> None:
    vector = vectors[SPOT]
    store = _store_for(vector, vector["apiKey"], frozenset({"trade"}))
    body = f"{vector['payload']}&signature={'0' * 64}".encode()
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(store, vector["apiKey"], b"", body, _ts(vector["payload"]), "trade")
    assert _code(excinfo) == (-1022, 400, "Signature for this request is not valid.")


def test_verify_rest_tampered_payload_rejects_1022(vectors: dict[str, dict[str, Any]]) -> None:
    vector = vectors[SPOT]
    store = _store_for(vector, vector["apiKey"], frozenset({"trade"}))
    tampered = vector["payload"].replace("price=0.1", "price=0.2")
    body = f"{tampered}&signature={vector['signature']}".encode()
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(store, vector["apiKey"], b"", body, _ts(vector["payload"]), "trade")
    assert excinfo.value.code == -1022


def test_verify_rest_signature_in_query_and_body_rejects_1101() -> None:
    payload = b"symbol=BTCUSDT&timestamp=1000"
    sig = _sign(payload).encode()
    query = payload + b"&signature=" + sig
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(_hmac_store(), HMAC_KEY, query, b"signature=" + sig, 1000, "trade")
    assert _code(excinfo) == (-1101, 400, "Duplicate values for a parameter detected.")


def test_verify_rest_missing_signature_rejects_1102() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(_hmac_store(), HMAC_KEY, b"symbol=BTCUSDT&timestamp=1000", b"", 1000, "read")
    assert _code(excinfo) == (
        -1102,
        400,
        "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
    )


def test_verify_rest_missing_timestamp_rejects_1102() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        _rest(_hmac_store(), b"symbol=BTCUSDT", 1000)
    assert excinfo.value.code == -1102
    assert "'timestamp'" in excinfo.value.msg


# --- timing ----------------------------------------------------------------------------


def test_verify_rest_timestamp_at_window_edge_accepts() -> None:
    assert _rest(_hmac_store(), b"timestamp=1000000", 1_005_000).key == HMAC_KEY


def test_verify_rest_timestamp_older_than_window_rejects_1021() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        _rest(_hmac_store(), b"timestamp=1000000", 1_005_001)
    assert _code(excinfo) == (
        -1021,
        400,
        "Timestamp for this request is outside of the recvWindow.",
    )


def test_verify_rest_timestamp_999ms_ahead_accepts() -> None:
    assert _rest(_hmac_store(), b"timestamp=1000999", 1_000_000).key == HMAC_KEY


def test_verify_rest_timestamp_1000ms_ahead_rejects_1021() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        _rest(_hmac_store(), b"timestamp=1001000", 1_000_000)
    assert _code(excinfo) == (
        -1021,
        400,
        "Timestamp for this request was 1000ms ahead of the server's time.",
    )


def test_verify_rest_recv_window_60000_accepts_old_timestamp() -> None:
    assert _rest(_hmac_store(), b"recvWindow=60000&timestamp=1000000", 1_060_000).key == HMAC_KEY


def test_verify_rest_recv_window_above_60000_rejects_1102() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        _rest(_hmac_store(), b"recvWindow=60001&timestamp=1000000", 1_000_000)
    assert _code(excinfo) == (
        -1102,
        400,
        "'recvWindow' contains unexpected value. Cannot be greater than '60000'.",
    )


def test_check_timestamp_recv_window_decimals_count_in_microseconds() -> None:
    check_timestamp("1000000", "0.5", 1_000_000)
    with pytest.raises(BinanceApiError) as excinfo:
        check_timestamp("1000000", "0.999", 1_000_001)
    assert excinfo.value.code == -1021


def test_check_timestamp_recv_window_four_decimals_rejects_1100() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        check_timestamp("1000000", "5000.0001", 1_000_000)
    assert excinfo.value.code == -1100


def test_check_timestamp_microseconds_timestamp_accepts() -> None:
    check_timestamp("1700000000000500", None, 1_700_000_000_000)


def test_check_timestamp_non_digit_timestamp_rejects_1100() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        check_timestamp("12a4", None, 1_000_000)
    assert excinfo.value.msg == (
        "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'."
    )


# --- keys and permissions --------------------------------------------------------------


def test_verify_rest_missing_key_header_rejects_2014() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(_hmac_store(), None, b"timestamp=1", b"", 1, "read")
    assert _code(excinfo) == (-2014, 401, "API-key format invalid.")


def test_verify_rest_malformed_key_rejects_2014() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(_hmac_store(), "short-key", b"timestamp=1", b"", 1, "read")
    assert excinfo.value.code == -2014


def test_verify_rest_unknown_key_rejects_2015() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(_hmac_store(), "U" * 64, b"timestamp=1", b"", 1, "read")
    assert _code(excinfo) == (-2015, 401, "Invalid API-key, IP, or permissions for action.")


def test_verify_rest_key_without_trade_scope_rejects_2015() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        _rest(_hmac_store(frozenset({"read"})), b"timestamp=1000", 1000, scope="trade")
    assert _code(excinfo) == (-2015, 401, "Invalid API-key, IP, or permissions for action.")


def test_verify_rest_read_scope_key_on_read_endpoint_accepts() -> None:
    store = _hmac_store(frozenset({"read"}))
    assert _rest(store, b"timestamp=1000", 1000, scope="read").key == HMAC_KEY


def test_verify_ws_missing_api_key_rejects_1102() -> None:
    with pytest.raises(BinanceApiError) as excinfo:
        verify_ws_params(_hmac_store(), {"timestamp": 1000, "signature": "00"}, 1000, "trade")
    assert excinfo.value.code == -1102
    assert "'apiKey'" in excinfo.value.msg


def test_verify_ws_renders_bools_lowercase_and_accepts() -> None:
    payload = f"apiKey={HMAC_KEY}&reduceOnly=true&timestamp=1000".encode()
    params: dict[str, object] = {"timestamp": 1000, "reduceOnly": True, "apiKey": HMAC_KEY}
    params["signature"] = _sign(payload)
    assert verify_ws_params(_hmac_store(), params, 1000, "trade").key == HMAC_KEY


def test_verify_ws_nested_value_rejects_1100() -> None:
    params: dict[str, object] = {"apiKey": HMAC_KEY, "x": [1], "signature": "0", "timestamp": 1}
    with pytest.raises(BinanceApiError) as excinfo:
        verify_ws_params(_hmac_store(), params, 1, "trade")
    assert excinfo.value.code == -1100


def test_api_key_repr_hides_secret() -> None:
    key = ApiKey(key=HMAC_KEY, kind="HMAC", secret=SECRET, scopes=frozenset({"read"}))
    assert SECRET.decode() not in repr(key)


def test_api_key_bad_scope_raises_valueerror() -> None:
    with pytest.raises(ValueError, match="scopes"):
        ApiKey(key=HMAC_KEY, kind="HMAC", secret=SECRET, scopes=frozenset({"withdraw"}))


# --- Ed25519 ---------------------------------------------------------------------------


def test_verify_rest_ed25519_percent_encoded_base64_accepts(
    ed25519: tuple[Ed25519PrivateKey, KeyStore],
) -> None:
    private, store = ed25519
    payload = b"symbol=BTCUSDT&side=SELL&type=LIMIT&quantity=1&price=0.2&timestamp=1000"
    sig = quote(base64.b64encode(private.sign(payload)).decode(), safe="")
    body = payload + b"&signature=" + sig.encode()
    assert verify_rest(store, ED_KEY, b"", body, 1000, "trade").key == ED_KEY


def test_verify_rest_ed25519_signature_of_other_payload_rejects_1022(
    ed25519: tuple[Ed25519PrivateKey, KeyStore],
) -> None:
    private, store = ed25519
    sig = quote(base64.b64encode(private.sign(b"timestamp=999")).decode(), safe="")
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(store, ED_KEY, b"timestamp=1000&signature=" + sig.encode(), b"", 1000, "trade")
    assert excinfo.value.code == -1022


def test_verify_rest_ed25519_non_base64_signature_rejects_1022(
    ed25519: tuple[Ed25519PrivateKey, KeyStore],
) -> None:
    _, store = ed25519
    with pytest.raises(BinanceApiError) as excinfo:
        verify_rest(store, ED_KEY, b"timestamp=1000&signature=%%%", b"", 1000, "trade")
    assert excinfo.value.code == -1022


def test_verify_ws_ed25519_sorted_params_accepts(
    ed25519: tuple[Ed25519PrivateKey, KeyStore],
) -> None:
    private, store = ed25519
    payload = f"apiKey={ED_KEY}&symbol=BTCUSDT&timestamp=1000".encode()
    params: dict[str, object] = {"timestamp": 1000, "symbol": "BTCUSDT", "apiKey": ED_KEY}
    params["signature"] = base64.b64encode(private.sign(payload)).decode()
    assert verify_ws_params(store, params, 1000, "trade").key == ED_KEY
