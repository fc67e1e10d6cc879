"""`veloz gateway --key NAME`: the stored trade key becomes the right signer, or exit 2."""

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import NoEncryption
from cryptography.hazmat.primitives.serialization import PrivateFormat

from procs import gateway
from veloz.audit import verify
from veloz.errors import ConfigError
from veloz.keys.sealed import Argon2idParams
from veloz.keys.store import FileStore
from veloz.keys.store import make_key
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner

FAST = Argon2idParams(memory_kib=64, iterations=2, lanes=1)
API_KEY = "gatewayUnitApiKey00000000000000000000000000000000000000000000G1"
HMAC_SECRET = "gatewayUnitHmacSecret0000000000000000000000000000000000000000H2"  # noqa: S105


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FileStore:
    path = tmp_path / "keys.enc"
    monkeypatch.setenv("VELOZ_KEYS_FILE", str(path))
    monkeypatch.setenv("VELOZ_KEYS_PASSPHRASE", "gw")
    monkeypatch.setenv("VELOZ_KEYS_BACKEND", "file")
    return FileStore(path, lambda creating: "gw", FAST)


def test_gateway_stored_hmac_key_gives_hmac_signer(store: FileStore) -> None:
    store.add(make_key("h", "binance-spot", "trade", "hmac", API_KEY, HMAC_SECRET))
    signer = gateway._stored_signer("h", "binance-spot")
    assert isinstance(signer, HmacSigner) and signer.api_key == API_KEY
    assert signer.sign(b"x") == HmacSigner(API_KEY, HMAC_SECRET).sign(b"x")


def test_gateway_stored_ed25519_key_gives_ed25519_signer(store: FileStore) -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    store.add(make_key("e", "binance-usdm", "trade", "ed25519", API_KEY, pem))
    signer = gateway._stored_signer("e", "binance-usdm")
    assert isinstance(signer, Ed25519Signer) and signer.kind == "ED25519"
    assert signer.sign(b"payload") == Ed25519Signer(API_KEY, pem).sign(b"payload")


def test_gateway_stored_read_key_is_refused(store: FileStore) -> None:
    store.add(make_key("r", "binance-spot", "read", "hmac", API_KEY, HMAC_SECRET))
    with pytest.raises(ConfigError, match="cannot be loaded as trade"):
        gateway._stored_signer("r", "binance-spot")


def test_gateway_main_with_other_venue_key_exits_2_and_audits_the_refusal(
    store: FileStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store.add(make_key("u", "binance-usdm", "trade", "hmac", API_KEY, HMAC_SECRET))
    assert gateway.main(["--key", "u", "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "the key is for binance-usdm, this gateway is binance-spot" in err
    assert HMAC_SECRET not in err
    path = tmp_path / "run" / "audit" / "gateway.jsonl"
    assert verify(path).is_intact
    recs = [json.loads(line) for line in path.read_text().splitlines()[1:]]
    assert [r["kind"] for r in recs] == ["proc_start", "key_use", "proc_stop"]
    assert recs[1]["data"]["key"] == "u" and recs[1]["data"]["result"] == "loaded"
    assert recs[2]["data"]["rc"] == 2 and recs[2]["data"]["reason"] == "key_refused"
    assert HMAC_SECRET not in path.read_text() and API_KEY not in path.read_text()
