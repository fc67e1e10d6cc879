"""`veloz.config.emit.dumps`: TOML text that tomllib reads back to the same data."""

import math
import tomllib
from pathlib import Path

import pytest

from veloz.config.emit import dumps
from veloz.errors import ConfigError


def test_dumps_scalars_round_trip_through_tomllib() -> None:
    data = {
        "s": "plain",
        "i": -42,
        "big": 2**62,
        "f": 0.1,
        "f_exp": 1e-30,
        "f_whole": 5.0,
        "t": True,
        "n": False,
    }
    assert tomllib.loads(dumps(data)) == data


def test_dumps_strings_with_quotes_escapes_and_unicode_round_trip() -> None:
    data = {"q": 'say "hi"\\ now', "ctl": "a\tb\nc\r\x01\x7f\f\b", "uni": "µs → ✓"}
    assert tomllib.loads(dumps(data)) == data


def test_dumps_keys_that_are_not_bare_are_quoted() -> None:
    data = {"a.b": 1, "with space": {"x y": "z"}, "": 2, "ünï": 3}
    assert tomllib.loads(dumps(data)) == data


def test_dumps_nested_tables_and_arrays_of_tables_round_trip() -> None:
    data = {
        "log_level": "INFO",
        "bus": {"transport": "ipc", "ports": {"orders": 0, "exec": 5555}},
        "outer": {"inner": {"deep": {"k": [1, 2]}}},
        "strategies": [
            {"name": "mm", "symbols": ["BTCUSDT"], "params": {"size": "0.001", "ticks": 3}},
            {"name": "mo", "symbols": ["ETHUSDT", "BTCUSDT"], "params": {}},
        ],
        "empty": {},
        "empty_list": [],
        "mixed": [1, "two", [3.5, False], {"inline": True}],
    }
    assert tomllib.loads(dumps(data)) == data


def test_dumps_table_after_array_of_tables_does_not_attach_to_its_last_item() -> None:
    data = {"a": [{"x": 1}, {"x": 2}], "b": {"y": 3}}
    assert tomllib.loads(dumps(data)) == data


def test_dumps_special_floats_and_paths() -> None:
    out = tomllib.loads(
        dumps({"p": Path("/run/veloz"), "inf": math.inf, "ninf": -math.inf, "nan": math.nan})
    )
    assert out["p"] == "/run/veloz"
    assert out["inf"] == math.inf and out["ninf"] == -math.inf
    assert math.isnan(out["nan"])


def test_dumps_tuples_are_written_as_arrays() -> None:
    assert tomllib.loads(dumps({"t": (1, 2), "tt": ({"a": 1},)})) == {"t": [1, 2], "tt": [{"a": 1}]}


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"gateway": {"risk": {"max": None}}}, "gateway.risk.max"),
        ({"x": [1, b"raw"]}, "x.1"),
        ({"o": object()}, "o"),
        ({"x": [1, {2: 3}]}, "x.1"),
    ],
)
def test_dumps_untomlable_value_raises_config_error_naming_the_path(data: dict, where: str) -> None:
    with pytest.raises(ConfigError, match=f"^{where}: "):
        dumps(data)


def test_dumps_non_string_key_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="not a string"):
        dumps({"t": {3: "x"}})  # type: ignore[dict-item]
