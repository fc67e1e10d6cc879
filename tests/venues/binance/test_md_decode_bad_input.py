"""BinanceMdDecoder on bad and unusual input: counted, explained, never raised.

Covers the accepted input types, control/unknown/wrong-symbol frames, malformed frames, events
and snapshots (each naming the bad field), and random bytes and mutated events. Every frame is
built here: no fixtures needed. Good input from captures and doc examples is in
test_md_decode.py.
"""

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.venues.binance.md_decode_cases import BTC_SPOT
from tests.venues.binance.md_decode_cases import raw
from veloz._core import fixed
from veloz._core.binance_md import BinanceMdDecoder
from veloz._core.binance_md import MdKind

# -- input types ------------------------------------------------------------------------------

DEPTH = {
    "e": "depthUpdate",
    "E": 1700000000000,
    "s": "BTCUSDT",
    "U": 101,
    "u": 105,
    "b": [["65000.01000000", "0.50000000"], ["64999.99", "0"]],
    "a": [["65000.02", "1.25"]],
}


def _spot() -> BinanceMdDecoder:
    return BinanceMdDecoder(*BTC_SPOT, False)


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview, lambda b: b.decode()])
def test_decode_accepts_bytes_bytearray_memoryview_and_str(wrap: Any) -> None:
    dec = _spot()
    assert dec.decode(wrap(raw(DEPTH))) == MdKind.DEPTH
    assert dec.depth.bids.tolist() == [[6500001, 50000], [6499999, 0]]
    assert dec.depth.asks.tolist() == [[6500002, 125000]]


def test_decode_ignores_unknown_extra_keys() -> None:
    dec = _spot()
    assert dec.decode(raw({**DEPTH, "st": 1, "ps": "BTCUSDT", "zz": [1, {"x": None}]})) == (
        MdKind.DEPTH
    )


def test_depth_buffer_grows_past_its_preallocation() -> None:
    dec = _spot()
    bids = [[f"{60000 - i * 0.01:.2f}", "1"] for i in range(3000)]
    assert dec.decode(raw({**DEPTH, "b": bids, "a": []})) == MdKind.DEPTH
    assert dec.depth.n_bids == 3000
    assert dec.depth.bids[-1].tolist() == [fixed.parse(bids[-1][0], 2), 100000]


# -- control, unknown, wrong symbol -----------------------------------------------------------


def test_subscribe_ack_is_control_and_counted() -> None:
    dec = _spot()
    assert dec.decode(b'{"result":null,"id":1}') == MdKind.CONTROL
    assert dec.decode(b'{"result":["btcusdt@depth"],"id":"abc"}') == MdKind.CONTROL
    assert (dec.n_control, dec.n_malformed) == (2, 0)


@pytest.mark.parametrize(
    "frame",
    [
        b'{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"}',
        b'{"code":0,"msg":"Unknown property","id":7}',
        b'{"error":{"code":2,"msg":"Invalid request: unknown variant"},"id":1}',
    ],
)
def test_venue_error_reply_sets_last_error_and_counts_control(frame: bytes) -> None:
    dec = _spot()
    assert dec.decode(frame) == MdKind.VENUE_ERROR
    assert dec.last_error.startswith("venue error reply: code=")
    assert "Invalid" in dec.last_error or "Unknown property" in dec.last_error
    assert (dec.n_control, dec.n_malformed) == (1, 0)


def test_unknown_event_type_is_counted_and_skipped() -> None:
    dec = _spot()
    frame = b'{"e":"24hrTicker","E":1,"s":"BTCUSDT","c":"1.0"}'
    assert dec.decode(frame) == MdKind.UNKNOWN
    assert dec.decode(raw({"stream": "btcusdt@ticker", "data": orjson.loads(frame)})) == (
        MdKind.UNKNOWN
    )
    assert dec.decode(b'{"stream":"!miniTicker@arr","data":[{"e":"24hrMiniTicker"}]}') == (
        MdKind.UNKNOWN
    )
    assert (dec.n_unknown, dec.n_malformed) == (3, 0)


def test_wrong_symbol_event_changes_nothing_but_its_counter() -> None:
    dec = _spot()
    trade = {
        "e": "trade",
        "E": 1700000000000,
        "s": "BTCUSDT",
        "t": 7,
        "p": "65000.01",
        "q": "0.001",
        "T": 1700000000000,
        "m": False,
    }
    assert dec.decode(raw(trade)) == MdKind.TRADE
    assert dec.decode(raw(DEPTH)) == MdKind.DEPTH
    before = (dec.trade_id, dec.trade_px, dec.exch_ns, dec.depth.last_id, dec.depth.n_bids)
    other = {"s": "ETHUSDT", "E": 1800000000000}
    assert dec.decode(raw({**trade, **other, "t": 8})) == MdKind.WRONG_SYMBOL
    assert dec.decode(raw({**DEPTH, **other, "U": 200, "u": 201})) == MdKind.WRONG_SYMBOL
    after = (dec.trade_id, dec.trade_px, dec.exch_ns, dec.depth.last_id, dec.depth.n_bids)
    assert after == before
    assert (dec.n_wrong_symbol, dec.n_malformed, dec.last_error) == (2, 0, "")


# -- malformed input: counted, explained, never raised -----------------------------------------


def _bad(**changes: Any) -> bytes:
    msg = {**DEPTH, **changes}
    return raw({k: v for k, v in msg.items() if v is not _DROP})


_DROP = object()


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"not json at all", "frame: not valid JSON"),
        (raw(DEPTH)[:-7], "frame: not valid JSON"),
        (b"", "frame: not valid JSON"),
        (b"[1,2,3]", "frame: not a JSON object but a list"),
        (b'"depthUpdate"', "frame: not a JSON object but a str"),
        (_bad(U=_DROP), "depthUpdate.U: missing"),
        (_bad(u="105"), "depthUpdate.u: wrong type: '105'"),
        (_bad(U=True), "depthUpdate.U: wrong type: True"),
        (_bad(U=1.5), "depthUpdate.U: wrong type: 1.5"),
        (_bad(U=-3), "depthUpdate.U: out of range: -3"),
        (_bad(U=2**64 - 1), "depthUpdate.U: out of range: 18446744073709551615"),
        (_bad(U=200), "depthUpdate.U: first update id U is above last update id u: 200"),
        (_bad(E=2**62), f"depthUpdate.E: out of range: {2**62}"),
        (_bad(E=_DROP), "depthUpdate.E: missing"),
        (_bad(s=_DROP), "depthUpdate.s: missing"),
        (_bad(s=5), "depthUpdate.s: wrong type: 5"),
        (_bad(b={"65000.01": "1"}), "depthUpdate.b: wrong type: {'65000.01': '1'}"),
        (_bad(a=_DROP), "depthUpdate.a: missing"),
        (
            _bad(b=[["65000.011", "1"]]),
            "depthUpdate.b[0][0]: more decimals than dp (dp=2): '65000.011'",
        ),
        (_bad(a=[["65000.02", "-1"]]), "depthUpdate.a[0][1]: sign not allowed: '-1'"),
        (
            _bad(b=[["65000.01", "1"], ["65000.00", "1", "x"]]),
            "depthUpdate.b[1]: level is not a [price, qty] pair of strings: ['65000.00', '1', 'x']",
        ),
        (_bad(b=[["65000.01"]]), "depthUpdate.b[0]: level is not a [price, qty] pair"),
        (_bad(b=["65000.01", "1"]), "depthUpdate.b[0]: level is not a [price, qty] pair"),
        (_bad(b=[[65000.01, "1"]]), "depthUpdate.b[0][0]: wrong type: 65000.01"),
        (_bad(b=[["6.5e4", "1"]]), "depthUpdate.b[0][0]: not a plain decimal number: '6.5e4'"),
        (_bad(b=[["", "1"]]), "depthUpdate.b[0][0]: empty number: ''"),
        (
            _bad(b=[["99999999999999999999", "1"]]),
            "depthUpdate.b[0][0]: does not fit int64 at dp (dp=2)",
        ),
        (_bad(e=7), "e: wrong type: 7"),
        (b'{"stream":5,"data":{}}', "stream: wrong type: 5"),
        (b'{"stream":"btcusdt@depth","data":"x"}', "data: wrong type: 'x'"),
        (b'{"hello":"world"}', "frame: no 'e' and not a known payload; keys ['hello']"),
        (
            b'{"stream":"btcusdt@bookTicker","data":{"s":"BTCUSDT","b":"1"}}',
            "bookTicker.u: missing",
        ),
        (
            b'{"stream":"btcusdt@depth20","data":{"bids":[],"asks":[]}}',
            "partialDepth.lastUpdateId: missing",
        ),
    ],
)
def test_malformed_frame_is_counted_with_reason_and_never_raises(frame: bytes, error: str) -> None:
    dec = _spot()
    assert dec.decode(frame) == MdKind.MALFORMED
    assert dec.last_error.startswith(error), dec.last_error
    assert "\n" not in dec.last_error
    assert (dec.n_frames, dec.n_malformed) == (1, 1)
    # The decoder carries on with the next good frame.
    assert dec.decode(raw(DEPTH)) == MdKind.DEPTH
    assert (dec.n_frames, dec.n_malformed) == (2, 1)


def _event(kind: str, **fields: Any) -> bytes:
    return raw({"e": kind, "E": 1700000000000, "s": "BTCUSDT", **fields})


TRADE_OK = {"t": 1, "p": "1.00", "q": "1", "T": 1, "m": True}
KLINE_OK = {
    "t": 0,
    "T": 59999,
    "i": "1m",
    "o": "1",
    "h": "2",
    "l": "0.5",
    "c": "1.5",
    "v": "10",
    "V": "4",
    "q": "12.3",
    "n": 3,
    "x": True,
}


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (_event("trade", **{**TRADE_OK, "m": "true"}), "trade.m: wrong type: 'true'"),
        (_event("trade", **{**TRADE_OK, "p": 1}), "trade.p: wrong type: 1"),
        (_event("trade", **{**TRADE_OK, "q": "-1"}), "trade.q: sign not allowed: '-1'"),
        (_event("aggTrade", **TRADE_OK), "aggTrade.a: missing"),
        (_event("kline", k=[1]), "kline.k: wrong type: [1]"),
        (_event("kline", k={**KLINE_OK, "x": 1}), "kline.k.x: wrong type: 1"),
        (_event("kline", k={**KLINE_OK, "q": 12.3}), "kline.k.q: wrong type: 12.3"),
        (_event("kline", k={**KLINE_OK, "o": "1.001"}), "kline.k.o: more decimals than dp"),
        (_event("markPriceUpdate", p="1", i="1", r="0.1234567891", T=0), "markPriceUpdate.r:"),
        (_event("bookTicker", u=1, b="1", B="1", a="1"), "bookTicker.A: missing"),
        (_event("serverShutdown", E="soon"), "serverShutdown.E: wrong type: 'soon'"),
    ],
)
def test_malformed_event_fields_name_the_field(frame: bytes, error: str) -> None:
    dec = _spot()
    assert dec.decode(frame) == MdKind.MALFORMED
    assert dec.last_error.startswith(error), dec.last_error
    assert dec.n_malformed == 1


def test_frame_with_several_bad_fields_counts_once_and_names_the_first() -> None:
    dec = _spot()
    frame = _event("trade", **{**TRADE_OK, "p": "x", "q": "-1", "m": 0})
    assert dec.decode(frame) == MdKind.MALFORMED
    assert dec.n_malformed == 1
    assert dec.last_error == "trade.p: not a plain decimal number: 'x'"


def test_good_kline_and_trade_frames_of_the_malformed_table_decode() -> None:
    dec = _spot()
    assert dec.decode(_event("trade", **TRADE_OK)) == MdKind.TRADE
    assert dec.decode(_event("kline", k=KLINE_OK)) == MdKind.KLINE


def test_malformed_depth_leaves_depth_cleared_not_half_written() -> None:
    dec = _spot()
    assert dec.decode(raw(DEPTH)) == MdKind.DEPTH
    assert dec.decode(_bad(a=[["65000.02", "1"], ["bad", "1"]])) == MdKind.MALFORMED
    assert (dec.depth.n_bids, dec.depth.n_asks, dec.depth.last_id) == (0, 0, 0)


def test_malformed_trade_changes_no_trade_field() -> None:
    dec = _spot()
    assert dec.decode(_event("trade", **TRADE_OK)) == MdKind.TRADE
    before = (dec.trade_id, dec.trade_px, dec.trade_qty, dec.exch_ns)
    assert dec.decode(_event("trade", **{**TRADE_OK, "t": 9, "m": None})) == MdKind.MALFORMED
    assert (dec.trade_id, dec.trade_px, dec.trade_qty, dec.exch_ns) == before


def test_long_bad_value_is_cut_in_last_error() -> None:
    dec = _spot()
    assert dec.decode(_bad(U="9" * 500)) == MdKind.MALFORMED
    assert len(dec.last_error) < 120
    assert dec.last_error.endswith("...")


def test_decode_of_non_bytes_object_is_malformed() -> None:
    dec = _spot()
    assert dec.decode(12345) == MdKind.MALFORMED  # type: ignore[arg-type]
    assert dec.last_error.startswith("frame: not valid JSON")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<html>502 Bad Gateway</html>", "snapshot: not valid JSON"),
        (b"[]", "snapshot: not a JSON object but a list"),
        (b'{"code":-1121,"msg":"Invalid symbol."}', "snapshot: venue error reply: code=-1121"),
        (b'{"lastUpdateId":"1","bids":[],"asks":[]}', "snapshot.lastUpdateId: wrong type"),
        (b'{"lastUpdateId":1,"bids":[["1","1"]]}', "snapshot.asks: missing"),
        (b'{"lastUpdateId":1,"bids":[["1.001","1"]],"asks":[]}', "snapshot.bids[0][0]: more"),
    ],
)
def test_malformed_snapshot_is_counted_with_reason(body: bytes, error: str) -> None:
    dec = _spot()
    assert dec.decode_snapshot(body) == MdKind.MALFORMED
    assert dec.last_error.startswith(error), dec.last_error
    assert (dec.n_malformed, dec.n_frames) == (1, 0)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise(frame: bytes) -> None:
    dec = _spot()
    kind = dec.decode(frame)
    assert kind in set(MdKind)
    assert dec.n_frames == 1


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["depthUpdate", "trade", "aggTrade", "bookTicker", "kline", "markPriceUpdate"]),
    st.dictionaries(st.sampled_from([*"EsUubapqtTmflkiBAr", "pu"]), _json),
    st.booleans(),
)
def test_mutated_events_never_raise_and_always_explain(
    kind: str, fields: dict[str, Any], combined: bool
) -> None:
    dec = BinanceMdDecoder("BTCUSDT", 2, 5, True)
    msg: dict[str, Any] = {"e": kind, **fields}
    frame = orjson.dumps({"stream": "btcusdt@x", "data": msg} if combined else msg)
    got = dec.decode(frame)
    assert got in set(MdKind)
    assert dec.n_malformed == (got == MdKind.MALFORMED)
    if got == MdKind.MALFORMED:
        assert dec.last_error
