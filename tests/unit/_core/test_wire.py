"""Bus wire codec: round trips of every type, seq, strict decoding, BookView, the doc's decoder."""

import contextlib
import json
import re
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.unit._core.wirecases import DOC
from tests.unit._core.wirecases import I64_MAX
from tests.unit._core.wirecases import I64_MIN
from tests.unit._core.wirecases import S255
from tests.unit._core.wirecases import SPOT
from tests.unit._core.wirecases import book_of
from tests.unit._core.wirecases import one_of_each
from tests.unit._core.wirecases import top
from tests.unit._core.wirecases import with_payload_len
from veloz._core import wire
from veloz._core.book import Book
from veloz._core.book import Side as BookSide
from veloz.errors import WireError

# ---- header, seq, peeks -----------------------------------------------------------------------


def test_wire_constants_match_contract() -> None:
    assert (wire.HEADER_SIZE, wire.VERSION, wire.MAGIC, wire.ASSET_DP) == (48, 1, b"VZ", 8)
    assert [int(t) for t in wire.MsgType] == [1, 2, 3, 4, 5, 6, 16, 17, 18, 19, 32]


def test_wire_venue_ids_round_trip_and_unknown_raise() -> None:
    names = ["binance-spot", "binance-usdm", "okx-spot", "okx-swap", "bybit-spot"]
    assert [wire.venue_id(n) for n in [*names, "bybit-linear"]] == [1, 2, 3, 4, 5, 6]
    assert all(wire.venue_name(wire.venue_id(n)) == n for n in names)
    with pytest.raises(WireError, match="unknown venue name"):
        wire.venue_id("kraken")
    with pytest.raises(WireError, match="unknown venue id 99"):
        wire.venue_name(99)


def test_wire_header_fields_of_bbo_are_as_encoded() -> None:
    body = wire.Encoder(SPOT).bbo(9, 1, 2, 5, 1, 1, 2, 1, exch_ns=123, ingest_ns=456)
    h = wire.header(body)
    assert (h.version, h.msg_type, h.venue, h.flags, h.inst) == (1, 2, SPOT, 0, 9)
    assert (h.payload_len, h.seq, h.exch_ns, h.ingest_ns) == (48, 1, 123, 456)
    assert h.publish_ns > 0
    assert len(body) == 96 and body[:4] == b"VZ\x01\x02"


def test_wire_encoder_seq_increments_across_types_from_one() -> None:
    enc = wire.Encoder(SPOT)
    assert enc.seq == 0
    seqs = [wire.header(b).seq for b in one_of_each(enc)]
    assert seqs == list(range(1, 12))
    assert enc.seq == 11


def test_wire_encoder_bad_argument_raises_value_error_and_keeps_seq() -> None:
    enc = wire.Encoder(SPOT)
    with pytest.raises(ValueError, match="price_dp"):
        enc.bbo(1, 1, 19, 5, 1, 1, 1, 1, 0, 0)
    with pytest.raises(ValueError, match="side"):
        enc.order_cmd(1, 1, "s", "c", 3, 1, 1, 2, 5, 1, 1, False, 0)
    with pytest.raises(ValueError, match="action"):
        enc.order_cmd(1, 0, "s", "c", 1, 1, 1, 2, 5, 1, 1, False, 0)
    with pytest.raises(ValueError, match="status"):
        enc.order_event(1, "s", "c", 0, 7, 1, 1, 1, 2, 5, 1, 1, 0, 0, "", 0, 0)
    with pytest.raises(ValueError, match="256 UTF-8 bytes"):
        enc.status(1, True, S255 + "y", 0)
    with pytest.raises(ValueError, match="inst"):
        enc.trade(-1, 1, 2, 5, 1, 1, False, 0, 0)
    with pytest.raises(ValueError, match="UTF-8"):
        enc.status(1, True, "\ud800", 0)
    with pytest.raises(OverflowError):
        enc.bbo(1, 1, 2, 5, 2**63, 1, 1, 1, 0, 0)
    assert enc.seq == 0


def test_wire_msg_type_peek_gives_type_or_minus_one() -> None:
    bodies = one_of_each(wire.Encoder(SPOT))
    assert [wire.msg_type(b) for b in bodies] == [int(t) for t in wire.MsgType]
    assert wire.msg_type(b"") == -1
    assert wire.msg_type(b"XX" + bodies[1][2:]) == -1
    assert wire.msg_type(bodies[1][:-1]) == -1
    assert wire.msg_type("not bytes") == -1  # type: ignore[arg-type]


def test_wire_ingest_ns_peek_reads_header_and_accepts_bytearray() -> None:
    body = wire.Encoder(SPOT).trade(1, 1, 2, 5, 1, 1, False, 0, ingest_ns=987654321)
    assert wire.ingest_ns(body) == 987654321
    assert wire.ingest_ns(bytearray(body)) == 987654321
    assert wire.ingest_ns(memoryview(body)) == 987654321


def test_wire_publish_ns_is_monotonic_clock_at_encode() -> None:
    import time

    before = time.monotonic_ns()
    body = wire.Encoder(SPOT).bbo(1, 1, 2, 5, 1, 1, 1, 1, 0, 0)
    after = time.monotonic_ns()
    assert before <= wire.header(body).publish_ns <= after


# ---- round trips with extreme values ----------------------------------------------------------


def test_wire_bbo_round_trip_extreme_raws() -> None:
    body = wire.Encoder(2).bbo(
        2**31 - 1, I64_MAX, 18, 0, I64_MIN, I64_MAX, I64_MAX, I64_MIN, I64_MIN, I64_MAX
    )
    m = wire.decode(body)
    assert isinstance(m, wire.BboMsg)
    assert (m.update_id, m.price_dp, m.qty_dp) == (I64_MAX, 18, 0)
    assert (m.bid_px, m.bid_qty, m.ask_px, m.ask_qty) == (I64_MIN, I64_MAX, I64_MAX, I64_MIN)
    assert (m.header.inst, m.header.exch_ns, m.header.ingest_ns) == (2**31 - 1, I64_MIN, I64_MAX)
    assert m.to_dict()["bid_px"] == "-9.223372036854775808"


def test_wire_book_round_trip_equals_top_n_and_caps_at_n_levels() -> None:
    book = book_of([(100 - i, i + 1) for i in range(30)], [(101 + i, i + 1) for i in range(25)])
    enc = wire.Encoder(SPOT, max_levels=20)
    m = wire.decode(enc.book(3, book, 20, 42, 5, 6))
    assert isinstance(m, wire.BookMsg)
    assert m.bids == top(book, BookSide.BID, 20)
    assert m.asks == top(book, BookSide.ASK, 20)
    assert (m.update_id, m.price_dp, m.qty_dp, m.header.payload_len) == (42, 2, 5, 16 + 640)


def test_wire_book_short_side_sends_fewer_levels() -> None:
    book = book_of([(100, 1)], [(101, 2), (102, 3), (103, 4)])
    m = wire.decode(wire.Encoder(SPOT).book(1, book, 5, 1, 0, 0))
    assert isinstance(m, wire.BookMsg)
    assert m.bids == ((100, 1),)
    assert m.asks == ((101, 2), (102, 3), (103, 4))


def test_wire_book_empty_round_trips_with_no_levels() -> None:
    m = wire.decode(wire.Encoder(SPOT).book(1, Book(2, 5), 20, 0, 0, 0))
    assert isinstance(m, wire.BookMsg)
    assert (m.bids, m.asks, m.header.payload_len) == ((), (), 16)


def test_wire_book_extreme_raws_round_trip() -> None:
    book = book_of([(I64_MIN + 1, I64_MAX)], [(I64_MAX, 1)])
    m = wire.decode(wire.Encoder(SPOT).book(1, book, 1, 0, 0, 0))
    assert isinstance(m, wire.BookMsg)
    assert (m.bids, m.asks) == (((I64_MIN + 1, I64_MAX),), ((I64_MAX, 1),))


def test_wire_book_more_than_max_levels_raises_value_error() -> None:
    enc = wire.Encoder(SPOT, max_levels=5)
    with pytest.raises(ValueError, match=r"n_levels must be 0\.\.5"):
        enc.book(1, Book(2, 5), 6, 0, 0, 0)
    with pytest.raises(ValueError, match="n_levels"):
        enc.book(1, Book(2, 5), -1, 0, 0, 0)
    with pytest.raises(TypeError):
        enc.book(1, None, 1, 0, 0, 0)  # type: ignore[arg-type]


def test_wire_trade_and_kline_round_trip() -> None:
    enc = wire.Encoder(SPOT)
    t = wire.decode(enc.trade(1, I64_MAX, 8, 8, I64_MIN, I64_MAX, True, 1, 2))
    assert isinstance(t, wire.TradeMsg)
    assert (t.trade_id, t.px, t.qty, t.is_buyer_maker) == (I64_MAX, I64_MIN, I64_MAX, True)
    k = wire.decode(
        enc.kline(
            1,
            I64_MIN,
            I64_MAX,
            2**32 - 1,
            2,
            5,
            1,
            I64_MAX,
            I64_MIN,
            4,
            I64_MAX,
            I64_MIN,
            True,
            0,
            0,
        )
    )
    assert isinstance(k, wire.KlineMsg)
    assert (k.open_ns, k.close_ns, k.interval_s) == (I64_MIN, I64_MAX, 2**32 - 1)
    assert (k.open_px, k.high_px, k.low_px, k.close_px) == (1, I64_MAX, I64_MIN, 4)
    assert (k.volume, k.n_trades, k.is_closed) == (I64_MAX, I64_MIN, True)


def test_wire_status_and_instrument_round_trip_255_byte_strings() -> None:
    enc = wire.Encoder(SPOT)
    s = wire.decode(enc.status(4, False, S255, 77))
    assert isinstance(s, wire.StatusMsg)
    assert (s.is_live, s.reason, s.header.ingest_ns) == (False, S255, 77)
    i = wire.decode(enc.instrument(4, S255, "BTC", "", 2, 8, 1, 2, 3, I64_MAX, I64_MIN))
    assert isinstance(i, wire.InstrumentMsg)
    assert (i.symbol, i.base, i.quote, i.price_dp, i.qty_dp) == (S255, "BTC", "", 2, 8)
    assert (i.tick_raw, i.step_raw, i.min_qty_raw) == (1, 2, 3)
    assert (i.max_qty_raw, i.min_notional_raw) == (I64_MAX, I64_MIN)


def test_wire_order_cmd_round_trip_enums_and_trigger_time() -> None:
    enc = wire.Encoder(SPOT)
    body = enc.order_cmd(
        3,
        wire.Action.NEW,
        "mm-1",
        "cid-9",
        wire.Side.SELL,
        wire.OrdType.LIMIT_MAKER,
        wire.Tif.GTX,
        2,
        5,
        6500001,
        12345,
        True,
        trigger_ns=555,
    )
    m = wire.decode(body)
    assert isinstance(m, wire.OrderCmdMsg)
    assert (m.action, m.side, m.ord_type, m.tif) == (
        wire.Action.NEW,
        wire.Side.SELL,
        wire.OrdType.LIMIT_MAKER,
        wire.Tif.GTX,
    )
    assert (m.strategy, m.client_order_id, m.px, m.qty, m.reduce_only) == (
        "mm-1",
        "cid-9",
        6500001,
        12345,
        True,
    )
    assert m.header.ingest_ns == 555


def test_wire_action_sync_is_4_and_round_trips_with_unused_fields() -> None:
    assert int(wire.Action.SYNC) == 4
    m = wire.decode(wire.Encoder(SPOT).order_cmd(0, 4, "mm", "", 0, 0, 0, 0, 0, 0, 0, False, 9))
    assert isinstance(m, wire.OrderCmdMsg)
    assert (m.action, m.strategy, m.side, m.client_order_id) == (wire.Action.SYNC, "mm", None, "")
    assert m.to_dict()["action"] == "SYNC"
    with pytest.raises(ValueError, match="action"):
        wire.Encoder(SPOT).order_cmd(0, 5, "mm", "", 0, 0, 0, 0, 0, 0, 0, False, 9)


def test_wire_risk_state_round_trips_scope_trigger_detail_and_mono_ns() -> None:
    body = wire.Encoder(SPOT).risk_state(1, 3, "BTCUSDT", "drawdown", "dd=5.1% > 5%", 777)
    assert body[3] == 19 and wire.msg_type(body) == wire.MsgType.RISK_STATE
    m = wire.decode(body)
    assert isinstance(m, wire.RiskStateMsg)
    assert (m.old_state, m.new_state, m.scope, m.trigger, m.detail) == (
        1,
        3,
        "BTCUSDT",
        "drawdown",
        "dd=5.1% > 5%",
    )
    assert (m.header.inst, m.header.exch_ns, m.header.ingest_ns) == (0, 0, 777)
    d = m.to_dict()
    assert (d["type"], d["old_state"], d["new_state"]) == ("risk_state", "REDUCE_ONLY", "HALTED")
    # fixed part: old, new, 6 reserved zero bytes; then the u8-length strings
    assert body[48:56] == b"\x01\x03" + b"\x00" * 6
    assert body[56:64] == b"\x07BTCUSDT"


def test_wire_risk_state_bad_state_raises_on_encode_and_decode() -> None:
    enc = wire.Encoder(SPOT)
    with pytest.raises(ValueError, match="new_state"):
        enc.risk_state(0, 4, "", "x", "", 0)
    with pytest.raises(ValueError, match="old_state"):
        enc.risk_state(-1, 0, "", "x", "", 0)
    assert enc.seq == 0
    body = enc.risk_state(0, 3, "", "kill", "", 0)
    with pytest.raises(WireError, match="RISK_STATE new_state value 9"):
        wire.decode(body[:49] + b"\x09" + body[50:])
    with pytest.raises(WireError, match="RISK_STATE old_state value 4"):
        wire.decode(body[:48] + b"\x04" + body[49:])


def test_wire_order_cmd_cancel_all_with_no_side_decodes_none() -> None:
    m = wire.decode(wire.Encoder(SPOT).order_cmd(3, 3, "mm", "", 0, 0, 0, 0, 0, 0, 0, False, 1))
    assert isinstance(m, wire.OrderCmdMsg)
    assert (m.action, m.side, m.ord_type, m.tif, m.client_order_id) == (
        wire.Action.CANCEL_ALL,
        None,
        None,
        None,
        "",
    )
    assert m.to_dict()["side"] is None


def test_wire_non_ascii_strategy_name_round_trips_as_utf8() -> None:
    name = "策略-ü" * 20  # 180 UTF-8 bytes
    m = wire.decode(wire.Encoder(SPOT).order_cmd(1, 1, name, "c", 1, 1, 1, 2, 5, 1, 1, False, 0))
    assert isinstance(m, wire.OrderCmdMsg)
    assert m.strategy == name


def test_wire_order_event_round_trip_negative_error_code() -> None:
    body = wire.Encoder(SPOT).order_event(
        1,
        "mm",
        "c1",
        I64_MAX,
        wire.Status.REJECTED,
        wire.Side.BUY,
        wire.OrdType.MARKET,
        wire.Tif.IOC,
        2,
        5,
        0,
        10,
        5,
        -2010,
        "insufficient balance",
        exch_ns=8,
        recv_ns=9,
    )
    m = wire.decode(body)
    assert isinstance(m, wire.OrderEventMsg)
    assert (m.status, m.side, m.ord_type, m.tif) == (
        wire.Status.REJECTED,
        wire.Side.BUY,
        wire.OrdType.MARKET,
        wire.Tif.IOC,
    )
    assert (m.venue_order_id, m.qty, m.filled_qty, m.error_code) == (I64_MAX, 10, 5, -2010)
    assert (m.reason, m.header.exch_ns, m.header.ingest_ns) == ("insufficient balance", 8, 9)


def test_wire_fill_round_trip_asset_dp_fields() -> None:
    body = wire.Encoder(2).fill(
        1, "mm", "c1", 77, 88, 2, 1, 3, 6500001, 5, -12345, "USDT", False, I64_MIN, 1, 2
    )
    m = wire.decode(body)
    assert isinstance(m, wire.FillMsg)
    assert (m.venue_order_id, m.trade_id, m.side, m.px, m.qty) == (
        77,
        88,
        wire.Side.SELL,
        6500001,
        5,
    )
    assert (m.fee, m.fee_asset, m.is_maker, m.realized_pnl) == (-12345, "USDT", False, I64_MIN)
    d = m.to_dict()
    assert (d["fee"], d["fee_raw"]) == ("-0.00012345", -12345)


def test_wire_latency_round_trip_large_histogram() -> None:
    hdr = bytes(range(256)) * 100  # bigger than the preallocated buffer
    m = wire.decode(wire.Encoder(0).latency("trigger_to_send", 10, 1, 2, 3, 4, I64_MAX, hdr, 5))
    assert isinstance(m, wire.LatencyMsg)
    assert (m.name, m.count, m.p50_ns, m.p99_ns, m.max_ns, m.hdr) == (
        "trigger_to_send",
        10,
        1,
        3,
        I64_MAX,
        hdr,
    )
    assert (m.header.inst, m.header.ingest_ns) == (0, 5)


def test_wire_to_dict_of_every_type_is_json_with_text_and_raw() -> None:
    for body in one_of_each(wire.Encoder(SPOT)):
        d = wire.decode(body).to_dict()
        assert json.loads(json.dumps(d)) == d
        assert d["type"] == wire.MsgType(wire.msg_type(body)).name.lower()
        assert d["header"]["venue"] == "binance-spot"
    bbo = wire.decode(one_of_each(wire.Encoder(SPOT))[1]).to_dict()
    assert (bbo["bid_px"], bbo["bid_px_raw"], bbo["ask_qty"]) == ("1.00", 100, "0.00003")


# ---- strict decoding --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda b: b[:47], "short message: 47 bytes"),
        (lambda b: b"", "short message: 0 bytes"),
        (lambda b: b"XZ" + b[2:], "bad magic"),
        (lambda b: b[:2] + b"\x02" + b[3:], "unknown wire version 2"),
        (lambda b: b[:3] + b"\x07" + b[4:], "unknown message type 7"),
        (lambda b: b + b"\x00", "payload length 48 in the header disagrees"),
        (lambda b: b[:-1], "disagrees with the body"),
        (lambda b: with_payload_len(b[:90], 42), "BBO payload is 42 bytes"),
        (lambda b: b[: 48 + 8] + b"\x13" + b[57:], "BBO price_dp 19"),
    ],
    ids=["short", "empty", "magic", "version", "type", "longer", "truncated", "fixed", "dp"],
)
def test_wire_decode_malformed_header_or_bbo_raises_wire_error(mutate: Any, match: str) -> None:
    body = wire.Encoder(SPOT).bbo(1, 1, 2, 5, 1, 1, 2, 1, 0, 0)
    with pytest.raises(WireError, match=match):
        wire.decode(mutate(body))


def test_wire_header_and_ingest_ns_of_bad_header_raise_wire_error() -> None:
    body = wire.Encoder(SPOT).bbo(1, 1, 2, 5, 1, 1, 2, 1, 0, 0)
    for bad in (body[:47], b"XZ" + body[2:], body + b"\x00"):
        with pytest.raises(WireError):
            wire.header(bad)
        with pytest.raises(WireError):
            wire.ingest_ns(bad)


def test_wire_decode_book_counts_past_body_raise() -> None:
    body = wire.Encoder(SPOT).book(1, book_of([(100, 1)], [(101, 1)]), 5, 1, 0, 0)
    bad = body[: 48 + 10] + struct.pack("<H", 3) + body[48 + 12 :]
    with pytest.raises(WireError, match="BOOK counts 3 bids \\+ 1 asks need 80"):
        wire.decode(bad)
    with pytest.raises(WireError, match="BOOK counts"):
        wire.BookView().update(bad)


def test_wire_decode_string_past_end_raises() -> None:
    body = wire.Encoder(SPOT).status(1, True, "abc", 0)
    bad = body[:56] + b"\x09" + body[57:]
    with pytest.raises(WireError, match="STATUS reason: string of 9 bytes"):
        wire.decode(bad)
    missing = with_payload_len(body[:56], 8)
    with pytest.raises(WireError, match="STATUS reason: string length at payload offset 8"):
        wire.decode(missing)


def test_wire_decode_bad_utf8_raises() -> None:
    body = wire.Encoder(SPOT).order_cmd(1, 1, "ab", "cd", 1, 1, 1, 2, 5, 1, 1, False, 0)
    bad = body[: 48 + 25] + b"\xff\xfe" + body[48 + 27 :]
    with pytest.raises(WireError, match="ORDER_CMD strategy is not valid UTF-8"):
        wire.decode(bad)


def test_wire_decode_bad_enum_and_flag_values_raise() -> None:
    body = wire.Encoder(SPOT).order_cmd(1, 1, "ab", "cd", 1, 1, 1, 2, 5, 1, 1, False, 0)
    with pytest.raises(WireError, match="ORDER_CMD action value 0"):
        wire.decode(body[:48] + b"\x00" + body[49:])
    with pytest.raises(WireError, match="ORDER_CMD side value 3"):
        wire.decode(body[:49] + b"\x03" + body[50:])
    with pytest.raises(WireError, match="ORDER_CMD reduce_only must be 0 or 1"):
        wire.decode(body[:54] + b"\x02" + body[55:])
    ev = wire.Encoder(SPOT).order_event(1, "s", "c", 0, 1, 1, 1, 1, 2, 5, 1, 1, 0, 0, "", 0, 0)
    with pytest.raises(WireError, match="ORDER_EVENT status value 9"):
        wire.decode(ev[:48] + b"\x09" + ev[49:])


def test_wire_decode_latency_hdr_past_end_raises() -> None:
    body = wire.Encoder(0).latency("x", 1, 1, 1, 1, 1, 1, b"abcd", 0)
    off = 48 + 48 + 2  # payload fixed part, then name "x" (1 + 1 bytes)
    bad = body[:off] + struct.pack("<I", 5) + body[off + 4 :]
    with pytest.raises(WireError, match="LATENCY hdr of 5 bytes"):
        wire.decode(bad)


def test_wire_decode_every_type_truncated_fixed_part_raises() -> None:
    for body in one_of_each(wire.Encoder(SPOT)):
        short = with_payload_len(body[:50], 2)
        with pytest.raises(WireError, match="payload is 2 bytes"):
            wire.decode(short)


def test_wire_decode_every_prefix_of_every_type_raises_wire_error_only() -> None:
    for body in one_of_each(wire.Encoder(SPOT)):
        for k in range(48, len(body)):
            with pytest.raises(WireError):
                wire.decode(with_payload_len(body[:k], k - 48))


def test_wire_decode_trailing_payload_bytes_are_ignored() -> None:
    body = wire.Encoder(SPOT).bbo(1, 5, 2, 5, 1, 1, 2, 1, 0, 0)
    longer = with_payload_len(body + b"\x01\x02\x03", 51)
    m = wire.decode(longer)
    assert isinstance(m, wire.BboMsg)
    assert m.update_id == 5


def test_wire_decode_non_bytes_raises_type_error() -> None:
    with pytest.raises(TypeError, match="wire message is bytes"):
        wire.decode("VZ")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wire.decode(5)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_wire_decode_random_bytes_never_crashes(junk: bytes) -> None:
    with contextlib.suppress(WireError):
        wire.decode(junk)
    with contextlib.suppress(WireError):
        wire.decode(b"VZ\x01" + junk)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_wire_decode_mutated_valid_bodies_give_msg_or_wire_error(data: st.DataObject) -> None:
    bodies = one_of_each(wire.Encoder(SPOT))
    body = bytearray(data.draw(st.sampled_from(bodies)))
    for _ in range(data.draw(st.integers(1, 4))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(WireError):
        wire.decode(bytes(body)).to_dict()


def test_wire_encoder_none_string_or_body_raises_type_error_naming_it() -> None:
    enc = wire.Encoder(SPOT)
    with pytest.raises(TypeError, match="reason must be str"):
        enc.status(1, True, None, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="client_order_id must be str"):
        enc.fill(1, "s", None, 1, 1, 1, 2, 5, 1, 1, 1, "x", True, 0, 0, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="hdr must be bytes"):
        enc.latency("x", 1, 1, 1, 1, 1, 1, None, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="wire message is bytes"):
        wire.BookView().update(None)  # type: ignore[arg-type]
    assert enc.seq == 0


# ---- BookView ---------------------------------------------------------------------------------


def test_wire_book_view_equals_book_top_n_after_update() -> None:
    book = book_of(
        [(6500000 - i, 10 + i) for i in range(8)], [(6500001 + i, 20 + i) for i in range(6)]
    )
    body = wire.Encoder(SPOT).book(5, book, 5, 1234, 77, 88)
    view = wire.BookView()
    view.update(body)
    bp, bq = book.top_n(BookSide.BID, 5)
    ap, aq = book.top_n(BookSide.ASK, 5)
    assert [view.bid(i) for i in range(view.n_bids)] == list(
        zip(bp.tolist(), bq.tolist(), strict=True)
    )
    assert [view.ask(i) for i in range(view.n_asks)] == list(
        zip(ap.tolist(), aq.tolist(), strict=True)
    )
    assert (view.update_id, view.inst, view.price_dp, view.qty_dp) == (1234, 5, 2, 5)
    assert (view.exch_ns, view.ingest_ns, view.seq, view.venue) == (77, 88, 1, SPOT)
    assert view.best_bid() == book.best_bid()
    assert view.best_ask() == book.best_ask()
    assert view.mid_x2() == book.mid_x2() == 13000001


def test_wire_book_view_empty_and_one_sided_give_none() -> None:
    view = wire.BookView()
    assert (view.best_bid(), view.best_ask(), view.mid_x2(), view.n_updates) == (
        None,
        None,
        None,
        0,
    )
    view.update(wire.Encoder(SPOT).book(1, book_of([(100, 1)], []), 5, 1, 0, 0))
    assert (view.best_bid(), view.best_ask(), view.mid_x2()) == ((100, 1), None, None)
    with pytest.raises(IndexError):
        view.ask(0)
    with pytest.raises(IndexError):
        view.bid(1)


def test_wire_book_view_mid_x2_is_exact_past_int64() -> None:
    view = wire.BookView()
    view.update(wire.Encoder(SPOT).book(1, book_of([(I64_MAX - 1, 1)], [(I64_MAX, 1)]), 1, 1, 0, 0))
    assert view.mid_x2() == 2 * I64_MAX - 1


def test_wire_book_view_grows_past_capacity() -> None:
    book = book_of([(1000 - i, 1) for i in range(20)], [(1001 + i, 1) for i in range(20)])
    view = wire.BookView(capacity=1)
    view.update(wire.Encoder(SPOT).book(1, book, 20, 1, 0, 0))
    assert (view.n_bids, view.n_asks, view.ask(19)) == (20, 20, (1020, 1))


def test_wire_book_view_rejects_non_book_and_keeps_state() -> None:
    enc = wire.Encoder(SPOT)
    view = wire.BookView()
    view.update(enc.book(1, book_of([(100, 1)], [(101, 1)]), 5, 7, 0, 0))
    with pytest.raises(WireError, match="needs a BOOK message, got type 2"):
        view.update(enc.bbo(1, 1, 2, 5, 1, 1, 1, 1, 0, 0))
    with pytest.raises(WireError, match="short message"):
        view.update(b"VZ")
    bad_dp = enc.book(1, book_of([(100, 1)], []), 5, 8, 0, 0)
    with pytest.raises(WireError, match="dp outside"):
        view.update(bad_dp[:56] + b"\x13" + bad_dp[57:])
    assert (view.update_id, view.best_bid(), view.best_ask(), view.n_updates) == (
        7,
        (100, 1),
        (101, 1),
        1,
    )


def test_wire_book_view_accepts_numpy_built_snapshot_book() -> None:
    book = Book(1, 3)
    book.load_snapshot(
        np.array([50, 49], dtype=np.int64),
        np.array([1, 2], dtype=np.int64),
        np.array([51], dtype=np.int64),
        np.array([3], dtype=np.int64),
    )
    view = wire.BookView()
    view.update(bytearray(wire.Encoder(SPOT).book(1, book, 2, 1, 0, 0)))
    assert (view.bid(1), view.ask(0), view.price_dp, view.qty_dp) == ((49, 2), (51, 3), 1, 3)


# ---- the doc's struct-only decoder ------------------------------------------------------------


def test_wire_doc_struct_decoder_reads_encoder_bbo() -> None:
    doc = DOC.read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    code = next(b for b in blocks if "def decode_bbo" in b)
    assert "veloz" not in code
    ns: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), ns)  # noqa: S102 - our own document's example
    body = wire.Encoder(SPOT).bbo(4, 99, 2, 5, 6500001, 12345, 6500002, 1, 111, 222)
    got = ns["decode_bbo"](body)
    assert got == {
        "venue": SPOT,
        "inst": 4,
        "seq": 1,
        "exch_ns": 111,
        "ingest_ns": 222,
        "publish_ns": wire.header(body).publish_ns,
        "update_id": 99,
        "price_dp": 2,
        "qty_dp": 5,
        "bid_px": 6500001,
        "bid_qty": 12345,
        "ask_px": 6500002,
        "ask_qty": 1,
    }
    with pytest.raises(ValueError, match="not a BBO"):
        ns["decode_bbo"](wire.Encoder(SPOT).trade(1, 1, 2, 5, 1, 1, False, 0, 0))
