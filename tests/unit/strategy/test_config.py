"""The strategy process config: the example loads, bad keys and values are ConfigErrors,
and `veloz strategy` exits 2 with one line on them."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from procs import strategy as proc
from veloz import config
from veloz.errors import ConfigError
from veloz.strategy.config import StrategyProcessConfig

EXAMPLE = Path(__file__).resolve().parents[3] / "veloz/config/examples/strategy.toml"
MINIMAL = """
[[strategies]]
name = "mm"
path = "veloz.strategy.examples.market_maker:MarketMaker"
symbols = ["BTCUSDT"]
"""


@pytest.fixture(autouse=True)
def _keep_root_logging() -> Iterator[None]:
    # `main` calls veloz.log.setup(), which replaces the root handlers: put them back.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _load(tmp_path: Path, text: str) -> StrategyProcessConfig:
    f = tmp_path / "s.toml"
    f.write_text(text)
    return config.load(StrategyProcessConfig, f)


def test_example_config_loads_two_strategies() -> None:
    cfg = config.load(StrategyProcessConfig, EXAMPLE)
    assert [s.name for s in cfg.strategies] == ["mm", "momo"]
    assert cfg.strategies[0].params["size"] == "0.001"


def test_minimal_config_takes_defaults(tmp_path: Path) -> None:
    cfg = _load(tmp_path, MINIMAL)
    assert (cfg.proc, cfg.cpu, cfg.spin_us, cfg.strategies[0].venue) == (
        "main",
        None,
        50,
        "binance-spot",
    )
    assert cfg.resync_after_s == 2.0


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("spin_usec = 5\n" + MINIMAL, "spin_usec: unknown key"),
        ("spin_us = -1\n" + MINIMAL, "spin_us=-1: must be 0..1000000"),
        ("cpu = -2\n" + MINIMAL, "cpu=-2: must be >= 0"),
        ("resync_after_s = 0\n" + MINIMAL, "resync_after_s=0.0: must be 0.05..600"),
        ("resync_after_s = 601.0\n" + MINIMAL, "resync_after_s=601.0: must be 0.05..600"),
        ("cpu = 1.5\n" + MINIMAL, "cpu: expected integer"),
        ("log_level = 'LOUD'\n" + MINIMAL, "log_level='LOUD'"),
        (MINIMAL + MINIMAL, "name 'mm' is used twice"),
        (MINIMAL.replace('"mm"', '"m.m"'), "name='m.m'"),
        (MINIMAL.replace("BTCUSDT", "btcusdt"), "'btcusdt' is not an upper-case symbol"),
        (MINIMAL + 'venue = "okx"\n', "strategies\\[0\\].venue: expected one of"),
        (MINIMAL.replace(":MarketMaker", ""), "must be 'module.path:Class'"),
        ("log_level = 'INFO'\n", "strategies: missing"),
    ],
)
def test_bad_config_is_config_error_naming_the_key(tmp_path: Path, text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        _load(tmp_path, text)


def test_cli_bad_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "s.toml"
    f.write_text("bogus = 1\n" + MINIMAL)
    assert proc.main(["--config", str(f), "--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bogus: unknown key" in err[0]


def test_cli_bad_strategy_path_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.toml"
    f.write_text(MINIMAL.replace("MarketMaker", "Missing"))
    assert proc.main(["--config", str(f), "--run-dir", str(tmp_path)]) == 2
    assert "has no attribute 'Missing'" in capsys.readouterr().err


def test_cli_core_not_available_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "s.toml"
    f.write_text(MINIMAL)
    assert proc.main(["--config", str(f), "--run-dir", str(tmp_path), "--cpu", "4096"]) == 2
    assert "cpu=4096: not a core this process may use" in capsys.readouterr().err
