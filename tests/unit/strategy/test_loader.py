"""`load_class`: dotted and file paths, and one clear ConfigError per failure."""

from pathlib import Path

import pytest

from veloz.errors import ConfigError
from veloz.strategy.examples.market_maker import MarketMaker
from veloz.strategy.loader import load_class

GOOD = "from veloz import Strategy\n\nclass Mine(Strategy):\n    pass\n\nclass NotOne:\n    pass\n"


def test_dotted_path_loads_example() -> None:
    assert load_class("veloz.strategy.examples.market_maker:MarketMaker") is MarketMaker


def test_file_path_loads_class(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text(GOOD)
    cls = load_class(f"{tmp_path}/mine.py:Mine")
    assert cls.__name__ == "Mine"


def test_relative_file_path_found_in_fallback_dir(tmp_path: Path) -> None:
    (tmp_path / "rel.py").write_text(GOOD)
    assert load_class("rel.py:Mine", base_dir=tmp_path / "nowhere", fallback_dir=tmp_path)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("no_such_module_xyz:Foo", "module not found: no_such_module_xyz"),
        ("veloz.strategy.examples.market_maker:Nope", "has no attribute 'Nope'"),
        ("veloz.strategy.base:StrategyState", "is not a subclass of veloz.Strategy"),
        ("veloz.strategy.base:Strategy", "name a subclass"),
        ("veloz.strategy.examples.market_maker", "must be 'module.path:Class'"),
        ("/nonexistent/dir/x.py:X", "file not found"),
    ],
)
def test_bad_path_is_config_error(path: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        load_class(path)


def test_file_that_fails_to_import_names_the_error(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import nothing_here_xyz\n")
    with pytest.raises(ConfigError, match="ModuleNotFoundError"):
        load_class(f"{tmp_path}/broken.py:X")


def test_file_class_not_a_strategy(tmp_path: Path) -> None:
    (tmp_path / "other.py").write_text(GOOD)
    with pytest.raises(ConfigError, match="'NotOne' is not a subclass"):
        load_class(f"{tmp_path}/other.py:NotOne")
