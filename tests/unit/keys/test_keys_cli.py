"""`veloz keys add|list|remove` in-process: stdin secrets, exit codes, nothing leaks."""

import io
from pathlib import Path

import pytest

from procs import cli
from procs import keys as keys_cli

SECRET = "cliUnitHmacSecret000000000000000000000000000000000000000000000S7"  # noqa: S105 (test)
API_KEY = "cliUnitApiKey0000000000000000000000000000000000000000000000000A9"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys.enc"
    monkeypatch.setenv("VELOZ_KEYS_FILE", str(path))
    monkeypatch.setenv("VELOZ_KEYS_PASSPHRASE", "cli test passphrase")
    monkeypatch.setenv("VELOZ_KEYS_BACKEND", "file")
    return path


def _run(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["keys", *argv])


ADD = ["add", "main", "--venue", "binance-spot", "--scope", "trade", "--api-key-stdin"]


def test_keys_cli_add_list_remove_round_trip(
    key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, [*ADD, "--secret-stdin"], f"{API_KEY}\n{SECRET}\n") == 0
    assert "stored key main (binance-spot, trade)" in capsys.readouterr().out
    assert _run(monkeypatch, ["list"]) == 0
    out = capsys.readouterr().out
    assert "main" in out and "cliU...00A9" in out and "trade" in out and "file:" in out
    assert _run(monkeypatch, ["remove", "main"]) == 0
    assert "removed key main" in capsys.readouterr().out
    assert _run(monkeypatch, ["list"]) == 0
    assert "no keys" in capsys.readouterr().out


def test_keys_cli_output_and_file_never_hold_plaintext(
    key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--log-level", "DEBUG", *ADD, "--secret-stdin"]
    assert _run(monkeypatch, argv, f"{API_KEY}\n{SECRET}\n") == 0
    assert _run(monkeypatch, ["--log-level", "DEBUG", "list"]) == 0
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "keys_file_written" in text  # the DEBUG run did log
    assert SECRET not in text and API_KEY not in text
    raw = key_file.read_bytes()
    assert SECRET.encode() not in raw and API_KEY.encode() not in raw


def test_keys_cli_duplicate_add_exits_1(
    key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, [*ADD, "--secret-stdin"], f"{API_KEY}\n{SECRET}\n") == 0
    assert _run(monkeypatch, [*ADD, "--secret-stdin"], f"{API_KEY}\n{SECRET}\n") == 1
    assert "veloz keys: key 'main' already exists" in capsys.readouterr().err
    assert _run(monkeypatch, [*ADD, "--secret-stdin", "--replace"], f"{API_KEY}\n{SECRET}\n") == 0


def test_keys_cli_wrong_passphrase_exits_1(
    key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, [*ADD, "--secret-stdin"], f"{API_KEY}\n{SECRET}\n") == 0
    monkeypatch.setenv("VELOZ_KEYS_PASSPHRASE", "not it")
    assert _run(monkeypatch, ["list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "wrong passphrase" in err


def test_keys_cli_remove_unknown_exits_1(
    key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, ["remove", "ghost"]) == 1
    assert "no key named 'ghost'" in capsys.readouterr().err


def test_keys_cli_secret_flag_on_argv_does_not_exist(
    key_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(monkeypatch, [*ADD, "--secret", SECRET], f"{API_KEY}\n") == 2
    assert not key_file.exists()
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert "unrecognized argument(s), not shown" in captured.err


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "k", "--venue", "binance-spot", "--scope", "read"], "", "no API key"),
        (
            ["add", "k", "--venue", "binance-spot", "--scope", "read", "--api-key-stdin"],
            f"{API_KEY}\n",
            "no secret",
        ),
        ([*ADD, "--secret-stdin"], f"{API_KEY}\n", "the secret is empty"),
        ([*ADD, "--secret-stdin"], f"short\n{SECRET}\n", "api key: must be"),
        ([*ADD, "--ed25519-pem", "/nonexistent/k.pem"], f"{API_KEY}\n", "cannot read"),
        (["add", "k", "--venue", "binance-spot", "--scope", "admin"], "", ""),
    ],
)
def test_keys_cli_bad_input_exits_2_with_one_line(
    key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    assert _run(monkeypatch, argv, stdin) == 2
    assert message in capsys.readouterr().err
    assert not key_file.exists()


def test_keys_cli_ed25519_pem_file_is_stored_as_ed25519(
    key_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding
    from cryptography.hazmat.primitives.serialization import NoEncryption
    from cryptography.hazmat.primitives.serialization import PrivateFormat

    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    (tmp_path / "k.pem").write_bytes(pem)
    assert _run(monkeypatch, [*ADD, "--ed25519-pem", str(tmp_path / "k.pem")], API_KEY) == 0
    assert _run(monkeypatch, ["list"]) == 0
    out = capsys.readouterr().out
    assert "ed25519" in out and pem.decode() not in out
    assert b"PRIVATE KEY" not in key_file.read_bytes()


def test_keys_cli_listed_in_veloz_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "keys" in capsys.readouterr().out
    assert keys_cli.main(["--help"]) == 0
