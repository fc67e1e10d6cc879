"""Key store: sealed-file backend, keyring backend choice, and the scope/process guard."""

import logging
import os
import stat
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import NoEncryption
from cryptography.hazmat.primitives.serialization import PrivateFormat

from veloz.errors import ConfigError
from veloz.keys import store as store_mod
from veloz.keys.sealed import Argon2idParams
from veloz.keys.store import ApiKey
from veloz.keys.store import FileStore
from veloz.keys.store import KeyringStore
from veloz.keys.store import api_key_hint
from veloz.keys.store import default_path
from veloz.keys.store import load
from veloz.keys.store import make_key
from veloz.keys.store import open_store
from veloz.keys.store import passphrase_source

FAST = Argon2idParams(memory_kib=64, iterations=2, lanes=1)
SECRET = "unitTestHmacSecret0000000000000000000000000000000000000000000042"  # noqa: S105 (test)
API_KEY = "unitApiKey000000000000000000000000000000000000000000000000000K42"


def _file_store(tmp_path: Path, passphrase: str = "horse") -> FileStore:  # noqa: S107 (test)
    return FileStore(tmp_path / "cfg" / "keys.enc", lambda creating: passphrase, FAST)


def _key(name: str = "main", scope: str = "trade") -> ApiKey:
    return make_key(name, "binance-spot", scope, "hmac", API_KEY, SECRET)


class MemoryKeyring:
    """A keyring backend double: priority > 0, passwords in a dict."""

    priority = 5.0

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.data.get((service, user))

    def set_password(self, service: str, user: str, password: str) -> None:
        self.data[(service, user)] = password

    def delete_password(self, service: str, user: str) -> None:
        del self.data[(service, user)]


def test_file_store_round_trip_returns_equal_key(tmp_path: Path) -> None:
    _file_store(tmp_path).add(_key())
    got = _file_store(tmp_path).get("main")
    assert got == _key()
    assert got.secret.reveal() == SECRET


def test_file_store_file_is_0600_in_0700_dir_and_hides_secret(tmp_path: Path) -> None:
    s = _file_store(tmp_path)
    s.add(_key())
    path = tmp_path / "cfg" / "keys.enc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    raw = path.read_bytes()
    assert SECRET.encode() not in raw and API_KEY.encode() not in raw
    assert not list(path.parent.glob("*.tmp"))


def test_file_store_wrong_passphrase_raises_clear_error(tmp_path: Path) -> None:
    _file_store(tmp_path).add(_key())
    with pytest.raises(ConfigError, match="wrong passphrase"):
        _file_store(tmp_path, "wrong").get("main")


def test_file_store_group_readable_file_is_refused(tmp_path: Path) -> None:
    _file_store(tmp_path).add(_key())
    path = tmp_path / "cfg" / "keys.enc"
    os.chmod(path, 0o640)
    with pytest.raises(ConfigError, match="chmod 600"):
        _file_store(tmp_path).get("main")


def test_file_store_duplicate_name_refused_unless_replace(tmp_path: Path) -> None:
    s = _file_store(tmp_path)
    s.add(_key())
    with pytest.raises(ConfigError, match="already exists"):
        s.add(_key())
    s.add(make_key("main", "binance-usdm", "read", "hmac", API_KEY, SECRET), replace=True)
    assert s.get("main").venue == "binance-usdm"


def test_file_store_entries_and_remove(tmp_path: Path) -> None:
    s = _file_store(tmp_path)
    assert s.entries() == []
    s.add(_key("b", "read"))
    s.add(_key("a", "trade"))
    infos = s.entries()
    assert [i.name for i in infos] == ["a", "b"]
    assert infos[0].api_key_hint == "unit...0K42" and infos[0].backend.startswith("file:")
    s.remove("a")
    assert [i.name for i in s.entries()] == ["b"]
    with pytest.raises(ConfigError, match="no key named 'a'"):
        s.remove("a")
    with pytest.raises(ConfigError, match="no key named 'a'"):
        s.get("a")


def test_file_store_missing_file_lists_nothing_without_asking_passphrase(tmp_path: Path) -> None:
    def never(creating: bool) -> str:
        raise AssertionError("asked for a passphrase")

    assert FileStore(tmp_path / "none.enc", never, FAST).entries() == []


def test_file_store_asks_passphrase_once_with_creating_flag(tmp_path: Path) -> None:
    calls: list[bool] = []

    def ask(creating: bool) -> str:
        calls.append(creating)
        return "pw"

    s = FileStore(tmp_path / "k.enc", ask, FAST)
    s.add(_key("a"))
    s.add(_key("b"))
    assert calls == [True]


def test_file_store_logs_never_contain_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        s = _file_store(tmp_path)
        s.add(_key())
        load("main", scope="trade", for_process="gateway", store=s)
    assert "keys_loaded" in caplog.text
    assert SECRET not in caplog.text and API_KEY not in caplog.text


def test_load_read_key_as_trade_is_refused(tmp_path: Path) -> None:
    s = _file_store(tmp_path)
    s.add(_key("ro", "read"))
    with pytest.raises(ConfigError, match="has scope read; it cannot be loaded as trade"):
        load("ro", scope="trade", for_process="gateway", store=s)


def test_load_trade_key_as_read_is_refused(tmp_path: Path) -> None:
    s = _file_store(tmp_path)
    s.add(_key("rw", "trade"))
    with pytest.raises(ConfigError, match="has scope trade"):
        load("rw", scope="read", for_process="ui", store=s)


@pytest.mark.parametrize("process", ["strategy", "feed", "ui", "Gateway", ""])
def test_load_trade_by_non_gateway_is_refused_before_store_access(process: str) -> None:
    class Untouchable:
        backend = "untouchable"

        def get(self, name: str) -> ApiKey:
            raise AssertionError("store touched")

    with pytest.raises(ConfigError, match="may not load trade keys"):
        load("main", scope="trade", for_process=process, store=Untouchable())  # type: ignore[arg-type]


def test_load_unknown_scope_is_refused() -> None:
    with pytest.raises(ConfigError, match="scope 'admin'"):
        load("main", scope="admin", for_process="gateway")


def test_load_trade_key_for_gateway_returns_it(tmp_path: Path) -> None:
    s = _file_store(tmp_path)
    s.add(_key())
    assert load("main", scope="trade", for_process="gateway", store=s).api_key == API_KEY


def test_api_key_repr_redacts_secret_and_api_key() -> None:
    text = repr(_key())
    assert SECRET not in text and API_KEY not in text
    assert "Secret('***')" in text and "unit...0K42" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("bad name!", "binance-spot", "read", "hmac", API_KEY, SECRET), "key name"),
        (("k", "Binance Spot", "read", "hmac", API_KEY, SECRET), "venue"),
        (("k", "binance-spot", "admin", "hmac", API_KEY, SECRET), "scope"),
        (("k", "binance-spot", "read", "rsa", API_KEY, SECRET), "key kind"),
        (("k", "binance-spot", "read", "hmac", "short", SECRET), "api key"),
        (("k", "binance-spot", "read", "hmac", API_KEY, "has space in it"), "hmac secret"),
        (("k", "binance-spot", "read", "ed25519", API_KEY, "not a pem"), "ed25519 key"),
    ],
)
def test_make_key_bad_part_raises_without_quoting_secret(
    args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        make_key(*args)
    assert args[5] not in str(info.value)


def test_make_key_accepts_ed25519_pem() -> None:
    pem = (
        Ed25519PrivateKey.generate()
        .private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
        .decode()
    )
    key = make_key("ed", "binance-spot", "trade", "ed25519", API_KEY, pem)
    assert key.secret.reveal() == pem and key.kind == "ed25519"


def test_api_key_hint_short_key_shows_nothing() -> None:
    assert api_key_hint("abcdefghijkl") == "***"
    assert api_key_hint("abcdefghijklm") == "abcd...jklm"


def test_keyring_store_round_trip_list_remove() -> None:
    kr = MemoryKeyring()
    s = KeyringStore(kr)
    s.add(_key("a"))
    s.add(_key("b", "read"))
    assert s.get("a") == _key("a")
    assert [i.name for i in s.entries()] == ["a", "b"]
    assert s.entries()[0].backend == "keyring:MemoryKeyring"
    s.remove("a")
    assert [i.name for i in s.entries()] == ["b"]
    assert ("veloz", "a") not in kr.data
    with pytest.raises(ConfigError, match="no key named"):
        s.get("__index__")


def test_keyring_store_backend_error_becomes_config_error() -> None:
    class Broken(MemoryKeyring):
        def get_password(self, service: str, user: str) -> str | None:
            raise OSError("dbus down")

    with pytest.raises(ConfigError, match="get_password failed"):
        KeyringStore(Broken()).entries()


def test_open_store_auto_uses_usable_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    kr = MemoryKeyring()
    monkeypatch.setattr(store_mod, "usable_keyring", lambda: kr)
    assert open_store({}).backend == "keyring:MemoryKeyring"


def test_open_store_auto_without_keyring_package_uses_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "keyring", None)  # import keyring -> ImportError
    assert store_mod.usable_keyring() is None
    s = open_store({"VELOZ_KEYS_FILE": str(tmp_path / "k.enc")})
    assert s.backend == f"file:{tmp_path / 'k.enc'}"


def test_usable_keyring_rejects_fail_null_and_plaintext_backends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    keyring = pytest.importorskip("keyring")
    from keyring.backends import fail
    from keyring.backends import null

    class PlaintextKeyring(MemoryKeyring):
        pass

    for kr in (fail.Keyring(), null.Keyring(), PlaintextKeyring()):
        monkeypatch.setattr(keyring, "get_keyring", lambda kr=kr: kr)
        assert store_mod.usable_keyring() is None
    good = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: good)
    assert store_mod.usable_keyring() is good


def test_open_store_file_backend_forced_even_with_keyring(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(store_mod, "usable_keyring", MemoryKeyring)
    env = {"VELOZ_KEYS_BACKEND": "file", "VELOZ_KEYS_FILE": str(tmp_path / "k.enc")}
    assert open_store(env).backend.startswith("file:")


def test_open_store_keyring_requested_but_none_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_mod, "usable_keyring", lambda: None)
    with pytest.raises(ConfigError, match="no usable system keyring"):
        open_store({"VELOZ_KEYS_BACKEND": "keyring"})


def test_open_store_unknown_backend_raises() -> None:
    with pytest.raises(ConfigError, match="must be auto, keyring or file"):
        open_store({"VELOZ_KEYS_BACKEND": "vault"})


def test_default_path_prefers_env_then_xdg(tmp_path: Path) -> None:
    assert default_path({"VELOZ_KEYS_FILE": "/x/k.enc"}) == Path("/x/k.enc")
    assert default_path({"XDG_CONFIG_HOME": "/cfg"}) == Path("/cfg/veloz/keys.enc")
    assert default_path({}) == Path.home() / ".config" / "veloz" / "keys.enc"


def test_passphrase_source_env_wins_and_no_tty_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    assert passphrase_source({"VELOZ_KEYS_PASSPHRASE": "pw"})(True) == "pw"
    monkeypatch.setattr(store_mod, "_has_tty", lambda: False)
    with pytest.raises(ConfigError, match="set VELOZ_KEYS_PASSPHRASE"):
        passphrase_source({})(False)


def test_passphrase_source_prompt_mismatch_on_create_raises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    answers = iter(["one", "two"])
    monkeypatch.setattr(store_mod, "_has_tty", lambda: True)
    monkeypatch.setattr(store_mod.getpass, "getpass", lambda prompt: next(answers))
    with pytest.raises(ConfigError, match="differ"):
        passphrase_source({})(True)
