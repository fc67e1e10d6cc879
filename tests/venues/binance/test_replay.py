"""Replay helpers: frame loading, symbol and scale inference (the CLI is tested end to end
in tests/integration/test_replay_cli.py)."""

from pathlib import Path

import orjson
import pytest

from veloz.errors import WireError
from veloz.venues.binance.replay import infer_dps
from veloz.venues.binance.replay import infer_symbol
from veloz.venues.binance.replay import load_frames


def test_load_frames_jsonl_keeps_each_line_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b'{"e":"trade"}\n\n{not json\n')
    assert load_frames(path) == [b'{"e":"trade"}', b"{not json"]


def test_load_frames_json_array_reserialises_each_element(tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(b'[{"e": "trade"}, {"u": 1}]')
    assert [orjson.loads(f) for f in load_frames(path)] == [{"e": "trade"}, {"u": 1}]


@pytest.mark.parametrize(("body", "message"), [(b"{", "not valid JSON"), (b"{}", "JSON array")])
def test_load_frames_bad_json_file_raises_wire_error(
    tmp_path: Path, body: bytes, message: str
) -> None:
    path = tmp_path / "f.json"
    path.write_bytes(body)
    with pytest.raises(WireError, match=message):
        load_frames(path)


def test_infer_symbol_from_payload_or_stream_name() -> None:
    partial = orjson.dumps({"stream": "ethusdt@depth5", "data": {"lastUpdateId": 1}})
    assert infer_symbol([b"junk", partial]) == "ETHUSDT"
    assert infer_symbol([orjson.dumps({"e": "trade", "s": "btcusdt"})]) == "BTCUSDT"
    assert infer_symbol([b"junk"]) is None


def test_infer_dps_takes_the_finest_price_and_qty_seen() -> None:
    frames = [
        orjson.dumps({"e": "depthUpdate", "b": [["1.50000000", "3.00000000"]], "a": []}),
        orjson.dumps({"stream": "x@trade", "data": {"e": "trade", "p": "1.125", "q": "0.5"}}),
        orjson.dumps({"u": 1, "b": "1.1", "B": "0.25", "a": "1.2", "A": "1"}),
    ]
    snap = orjson.dumps({"lastUpdateId": 1, "bids": [["1.0", "0.001"]], "asks": []})
    assert infer_dps(frames, [snap]) == (3, 3)
    assert infer_dps([b"junk"], []) == (0, 0)
