"""The strict TOML loader: every key checked, every error naming the key path and the rule."""

from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Literal

import pytest

from veloz.config import build
from veloz.config import load
from veloz.config import load_toml
from veloz.errors import ConfigError

EXAMPLES = Path(__file__).resolve().parents[3] / "veloz" / "config" / "examples"


@dataclass(frozen=True, slots=True)
class Inner:
    """A nested table."""

    depth: int = 5
    ratio: float = 0.5


@dataclass(frozen=True, slots=True)
class Outer:
    """Every type the loader supports."""

    name: str = "x"
    count: int = 1
    timeout_s: float = 1.0
    is_on: bool = False
    url: str | None = None
    mode: Literal["fast", "slow"] = "fast"
    tags: list[str] = field(default_factory=list)
    pair: tuple[int, int] = (0, 0)
    many: tuple[int, ...] = ()
    limits: dict[str, int] = field(default_factory=dict)
    inner: Inner = field(default_factory=Inner)

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigError(f"count={self.count}: must be >= 0")
        if self.timeout_s > 100:
            raise ValueError(f"timeout_s={self.timeout_s}: must be <= 100")


@dataclass(frozen=True, slots=True)
class Required:
    """A key without a default."""

    symbol: str


def _err(data: dict[str, object], prefix: str = "") -> str:
    with pytest.raises(ConfigError) as info:
        build(Outer, data, prefix)
    return str(info.value)


def test_build_empty_table_gives_the_dataclass_defaults() -> None:
    assert build(Outer, {}) == Outer()


def test_build_every_supported_type_round_trips() -> None:
    data = {
        "name": "feed",
        "count": 3,
        "timeout_s": 2.5,
        "is_on": True,
        "url": "ws://127.0.0.1:1",
        "mode": "slow",
        "tags": ["a", "b"],
        "pair": [1, 2],
        "many": [4, 5, 6],
        "limits": {"orders": 10},
        "inner": {"depth": 20, "ratio": 1},
    }
    got = build(Outer, data)
    assert got == Outer(
        name="feed",
        count=3,
        timeout_s=2.5,
        is_on=True,
        url="ws://127.0.0.1:1",
        mode="slow",
        tags=["a", "b"],
        pair=(1, 2),
        many=(4, 5, 6),
        limits={"orders": 10},
        inner=Inner(depth=20, ratio=1.0),
    )
    assert isinstance(got.inner.ratio, float) and isinstance(got.pair, tuple)


def test_build_int_for_float_is_accepted_and_converted() -> None:
    got = build(Outer, {"timeout_s": 10})
    assert got.timeout_s == 10.0 and isinstance(got.timeout_s, float)


def test_build_unknown_key_names_it_and_the_known_keys() -> None:
    msg = _err({"tiemout_s": 1.0})
    assert msg.startswith("tiemout_s: unknown key")
    assert "timeout_s" in msg


def test_build_unknown_nested_key_names_the_full_path() -> None:
    assert _err({"inner": {"dept": 1}}, "feed.").startswith("feed.inner.dept: unknown key")


def test_build_wrong_type_names_key_value_and_expected_type() -> None:
    msg = _err({"count": "3"})
    assert msg == "count: expected integer, got string '3'"


def test_build_bool_is_not_an_int() -> None:
    assert _err({"count": True}) == "count: expected integer, got boolean True"


def test_build_string_is_not_a_float() -> None:
    assert "timeout_s: expected float (or integer), got string" in _err({"timeout_s": "1s"})


def test_build_optional_with_wrong_type_names_the_inner_type() -> None:
    assert _err({"url": 5}) == "url: expected string, got integer 5"


def test_build_literal_outside_its_values_lists_them() -> None:
    assert _err({"mode": "medium"}) == "mode: expected one of 'fast', 'slow', got string 'medium'"


def test_build_list_item_of_wrong_type_names_its_index() -> None:
    assert _err({"tags": ["a", 2]}) == "tags[1]: expected string, got integer 2"


def test_build_fixed_tuple_of_wrong_length_is_an_error() -> None:
    assert _err({"pair": [1, 2, 3]}).startswith("pair: expected an array of 2 items")


def test_build_table_expected_but_scalar_given() -> None:
    assert _err({"inner": 3}) == "inner: expected table, got integer 3"


def test_build_nested_wrong_type_names_the_full_path() -> None:
    assert _err({"inner": {"depth": 1.5}}, "p.") == "p.inner.depth: expected integer, got float 1.5"


def test_build_nan_float_is_refused() -> None:
    assert _err({"timeout_s": float("nan")}) == "timeout_s: nan is not a usable number"


def test_build_dataclass_config_error_gets_the_key_prefix() -> None:
    assert _err({"count": -1}, "feed.") == "feed.count=-1: must be >= 0"


def test_build_dataclass_value_error_becomes_config_error() -> None:
    assert _err({"timeout_s": 500}) == "Outer: timeout_s=500.0: must be <= 100"


def test_build_missing_required_key_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^symbol: missing \(required\)$"):
        build(Required, {})


def test_build_not_a_table_is_an_error() -> None:
    with pytest.raises(ConfigError, match="expected a table"):
        build(Outer, [1, 2])  # type: ignore[arg-type]


def test_build_non_dataclass_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        build(dict, {})


def test_load_toml_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('name = "x"\n[inner]\ndepth = 3\n')
    assert load_toml(path) == {"name": "x", "inner": {"depth": 3}}


def test_load_toml_missing_file_names_it(tmp_path: Path) -> None:
    path = tmp_path / "none.toml"
    with pytest.raises(ConfigError, match=r"none\.toml: cannot read config"):
        load_toml(path)


def test_load_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("a = 1\nb = = 2\n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML: .*line 2"):
        load_toml(path)


def test_load_with_section_prefixes_key_paths_with_file_and_table(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[outer]\ncount = 'many'\n")
    with pytest.raises(ConfigError) as info:
        load(Outer, path, "outer")
    assert str(info.value) == f"{path}: outer.count: expected integer, got string 'many'"


def test_load_missing_section_is_named(tmp_path: Path) -> None:
    path = tmp_path / "d.toml"
    path.write_text("x = 1\n")
    with pytest.raises(ConfigError, match=r"missing table \[outer\]"):
        load(Outer, path, "outer")


def test_example_configs_are_valid_toml() -> None:
    paths = sorted(EXAMPLES.glob("*.toml"))
    assert paths, "no example configs"
    for path in paths:
        assert isinstance(load_toml(path), dict)
