"""BinanceMdDecoder against real captures and doc examples, raw and combined.

Every decoded number is checked exactly against its wire text through fixed.parse. Covers the
constructor, the spot and USD-M doc examples, mark price, the captured sequences and REST
snapshots. Input types, control/unknown/wrong-symbol frames and malformed input are in
test_md_decode_bad_input.py.
"""

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.venues.binance.md_decode_cases import BTC_SPOT
from tests.venues.binance.md_decode_cases import DOC_DP
from tests.venues.binance.md_decode_cases import ETH_SPOT
from tests.venues.binance.md_decode_cases import NKN_SPOT
from tests.venues.binance.md_decode_cases import NKN_SPOT_BOOK
from tests.venues.binance.md_decode_cases import SUSHI_USDM
from tests.venues.binance.md_decode_cases import raw
from veloz._core import fixed
from veloz._core.binance_md import BinanceMdDecoder
from veloz._core.binance_md import MdKind
from veloz.venues.binance.mapping import instruments_from_exchange_info

MS = 1_000_000
MARK_DP = 8


def _load(fixtures_dir: Path, rel: str) -> Any:
    return orjson.loads((fixtures_dir / "binance" / rel).read_bytes())


def _forms(msg: dict[str, Any]) -> list[bytes]:
    """A combined-stream message as received, and its raw form (the bare "data")."""
    return [orjson.dumps(msg), orjson.dumps(msg["data"])]


def _levels(levels: list[list[str]], price_dp: int, qty_dp: int) -> list[list[int]]:
    return [[fixed.parse(p, price_dp), fixed.parse(q, qty_dp)] for p, q in levels]


def _assert_depth_levels(dec: BinanceMdDecoder, bids: Any, asks: Any) -> None:
    assert dec.depth.n_bids == len(bids)
    assert dec.depth.n_asks == len(asks)
    assert dec.depth.bids.tolist() == _levels(bids, dec.price_dp, dec.qty_dp)
    assert dec.depth.asks.tolist() == _levels(asks, dec.price_dp, dec.qty_dp)


def _spot_doc(symbol: str = "BNBBTC") -> BinanceMdDecoder:
    return BinanceMdDecoder(symbol, *DOC_DP, False)


# -- constructor --------------------------------------------------------------------------


def test_decoder_symbol_is_upper_cased_and_counters_start_at_zero() -> None:
    dec = BinanceMdDecoder("btcusdt", 2, 5, False)
    assert dec.symbol == "BTCUSDT"
    assert (dec.price_dp, dec.qty_dp, dec.is_usdm) == (2, 5, False)
    assert (dec.n_frames, dec.n_malformed, dec.n_unknown, dec.n_control) == (0, 0, 0, 0)
    assert dec.last_error == ""


@pytest.mark.parametrize(("price_dp", "qty_dp"), [(-1, 2), (19, 2), (2, -1), (2, 19)])
def test_decoder_dp_outside_0_to_18_raises_value_error(price_dp: int, qty_dp: int) -> None:
    with pytest.raises(ValueError, match=r"dp must be 0\.\.18"):
        BinanceMdDecoder("BTCUSDT", price_dp, qty_dp, False)


def test_decoder_empty_symbol_raises_value_error() -> None:
    with pytest.raises(ValueError, match="symbol"):
        BinanceMdDecoder("", 2, 5, False)


# -- spot doc examples ----------------------------------------------------------------------


def test_spot_doc_depth_update_raw_and_combined_decode_to_depth(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "spot/docs_examples/ws_depthUpdate.json")
    dec = _spot_doc()
    for frame in _forms({"stream": "bnbbtc@depth", "data": data}):
        assert dec.decode(frame) == MdKind.DEPTH
        d = dec.depth
        assert (d.first_id, d.last_id, d.prev_id) == (data["U"], data["u"], -1)
        assert (d.exch_ns, d.txn_ns, d.is_snapshot) == (data["E"] * MS, 0, False)
        assert dec.exch_ns == data["E"] * MS
        _assert_depth_levels(dec, data["b"], data["a"])
    assert (dec.n_frames, dec.n_malformed) == (2, 0)


def test_spot_doc_trade_decodes_every_field(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "spot/docs_examples/ws_trade.json")
    dec = _spot_doc()
    for frame in _forms({"stream": "bnbbtc@trade", "data": data}):
        assert dec.decode(frame) == MdKind.TRADE
        assert dec.trade_id == dec.first_trade_id == dec.last_trade_id == data["t"]
        assert dec.trade_px == fixed.parse(data["p"], DOC_DP[0])
        assert dec.trade_qty == fixed.parse(data["q"], DOC_DP[1])
        assert dec.trade_ns == data["T"] * MS
        assert dec.exch_ns == data["E"] * MS
        assert dec.is_buyer_maker is data["m"]


def test_spot_doc_agg_trade_decodes_first_and_last_ids(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "spot/docs_examples/ws_aggTrade.json")
    dec = _spot_doc()
    for frame in _forms({"stream": "bnbbtc@aggTrade", "data": data}):
        assert dec.decode(frame) == MdKind.AGG_TRADE
        assert (dec.trade_id, dec.first_trade_id, dec.last_trade_id) == (
            data["a"],
            data["f"],
            data["l"],
        )
        assert dec.trade_px == fixed.parse(data["p"], DOC_DP[0])
        assert dec.trade_qty == fixed.parse(data["q"], DOC_DP[1])
        assert dec.trade_ns == data["T"] * MS
        assert dec.is_buyer_maker is data["m"]


def test_spot_doc_book_ticker_without_e_decodes_by_shape_and_by_stream(
    fixtures_dir: Path,
) -> None:
    data = _load(fixtures_dir, "spot/docs_examples/ws_bookTicker.json")
    dec = _spot_doc("BNBUSDT")
    for frame in _forms({"stream": "bnbusdt@bookTicker", "data": data}):
        assert dec.decode(frame) == MdKind.BOOK_TICKER
        assert dec.bbo_id == data["u"]
        assert dec.bid_px == fixed.parse(data["b"], DOC_DP[0])
        assert dec.bid_qty == fixed.parse(data["B"], DOC_DP[1])
        assert dec.ask_px == fixed.parse(data["a"], DOC_DP[0])
        assert dec.ask_qty == fixed.parse(data["A"], DOC_DP[1])
        assert dec.exch_ns == 0  # the documented spot bookTicker has no E


def test_spot_doc_kline_decodes_every_kline_field(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "spot/docs_examples/ws_kline.json")
    dec = _spot_doc()
    for frame in _forms({"stream": "bnbbtc@kline_1m", "data": data}):
        assert dec.decode(frame) == MdKind.KLINE
        _assert_kline(dec, data)


def _assert_kline(dec: BinanceMdDecoder, data: dict[str, Any]) -> None:
    k = data["k"]
    assert dec.exch_ns == data["E"] * MS
    assert (dec.kline_open_ns, dec.kline_close_ns) == (k["t"] * MS, k["T"] * MS)
    assert dec.kline_interval == k["i"]
    assert [dec.kline_open, dec.kline_high, dec.kline_low, dec.kline_close] == [
        fixed.parse(k[f], dec.price_dp) for f in "ohlc"
    ]
    assert dec.kline_volume == fixed.parse(k["v"], dec.qty_dp)
    assert dec.kline_taker_buy_volume == fixed.parse(k["V"], dec.qty_dp)
    assert dec.kline_quote_volume == k["q"]
    assert dec.kline_n_trades == k["n"]
    assert dec.kline_is_closed is k["x"]


def test_spot_doc_partial_depth_raw_and_combined_decode_to_partial_depth(
    fixtures_dir: Path,
) -> None:
    data = _load(fixtures_dir, "spot/docs_examples/ws_partial_depth5.json")
    dec = _spot_doc()
    for frame in _forms({"stream": "bnbbtc@depth5@100ms", "data": data}):
        assert dec.decode(frame) == MdKind.PARTIAL_DEPTH
        d = dec.depth
        lid = data["lastUpdateId"]
        assert (d.first_id, d.last_id, d.prev_id, d.is_snapshot) == (lid, lid, -1, True)
        _assert_depth_levels(dec, data["bids"], data["asks"])


def test_spot_doc_partial_depth_for_another_symbols_stream_is_wrong_symbol(
    fixtures_dir: Path,
) -> None:
    data = _load(fixtures_dir, "spot/docs_examples/ws_partial_depth5.json")
    dec = _spot_doc()
    frame = raw({"stream": "ethbtc@depth5", "data": data})
    assert dec.decode(frame) == MdKind.WRONG_SYMBOL
    assert dec.n_wrong_symbol == 1
    assert dec.depth.n_bids == 0


def test_spot_doc_server_shutdown_combined_and_raw(fixtures_dir: Path) -> None:
    msg = _load(fixtures_dir, "spot/docs_examples/ws_serverShutdown_combined.json")
    dec = _spot_doc()
    for frame in _forms(msg):
        assert dec.decode(frame) == MdKind.SERVER_SHUTDOWN
        assert dec.exch_ns == msg["data"]["E"] * MS
    assert dec.n_control == 2


def test_spot_doc_rest_depth_is_snapshot_via_decode_snapshot(fixtures_dir: Path) -> None:
    body = (fixtures_dir / "binance/spot/docs_examples/rest_depth_response.json").read_bytes()
    data = orjson.loads(body)
    dec = _spot_doc()
    assert dec.decode_snapshot(body) == MdKind.SNAPSHOT
    d = dec.depth
    lid = data["lastUpdateId"]
    assert (d.first_id, d.last_id, d.prev_id, d.is_snapshot) == (lid, lid, -1, True)
    assert (d.exch_ns, d.txn_ns) == (0, 0)
    _assert_depth_levels(dec, data["bids"], data["asks"])
    # The same body on the websocket is indistinguishable from partial depth.
    assert dec.decode(body) == MdKind.PARTIAL_DEPTH


# -- USD-M doc examples ------------------------------------------------------------------------


def _usdm_doc(symbol: str = "BTCUSDT") -> BinanceMdDecoder:
    return BinanceMdDecoder(symbol, *DOC_DP, True)


def test_usdm_doc_depth_update_has_prev_id_and_txn_time(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "futures_usdm/docs_examples/ws_depthUpdate.json")
    dec = _usdm_doc()
    for frame in _forms({"stream": "btcusdt@depth", "data": data}):
        assert dec.decode(frame) == MdKind.DEPTH
        d = dec.depth
        assert (d.first_id, d.last_id, d.prev_id) == (data["U"], data["u"], data["pu"])
        assert (d.exch_ns, d.txn_ns, d.is_snapshot) == (data["E"] * MS, data["T"] * MS, False)
        _assert_depth_levels(dec, data["b"], data["a"])


def test_usdm_partial_depth_stream_name_makes_depth_update_a_picture(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "futures_usdm/docs_examples/ws_depthUpdate.json")
    dec = _usdm_doc()
    assert dec.decode(raw({"stream": "btcusdt@depth5@100ms", "data": data})) == (
        MdKind.PARTIAL_DEPTH
    )
    assert dec.depth.is_snapshot is True
    assert dec.depth.prev_id == data["pu"]
    _assert_depth_levels(dec, data["b"], data["a"])


def test_spot_decoder_reading_usdm_depth_ignores_pu_and_t(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "futures_usdm/docs_examples/ws_depthUpdate.json")
    dec = BinanceMdDecoder("BTCUSDT", *DOC_DP, False)
    assert dec.decode(raw(data)) == MdKind.DEPTH
    assert (dec.depth.prev_id, dec.depth.txn_ns) == (-1, 0)


def test_usdm_doc_book_ticker_agg_trade_kline(fixtures_dir: Path) -> None:
    bbo = _load(fixtures_dir, "futures_usdm/docs_examples/ws_bookTicker.json")
    dec = _usdm_doc("BNBUSDT")
    for frame in _forms({"stream": "bnbusdt@bookTicker", "data": bbo}):
        assert dec.decode(frame) == MdKind.BOOK_TICKER
        assert dec.bbo_id == bbo["u"]
        assert (dec.bid_px, dec.ask_qty) == (
            fixed.parse(bbo["b"], DOC_DP[0]),
            fixed.parse(bbo["A"], DOC_DP[1]),
        )
        assert dec.exch_ns == bbo["E"] * MS
    agg = _load(fixtures_dir, "futures_usdm/docs_examples/ws_aggTrade.json")
    kline = _load(fixtures_dir, "futures_usdm/docs_examples/ws_kline.json")
    dec = _usdm_doc()
    for frame in _forms({"stream": "btcusdt@aggTrade", "data": agg}):
        assert dec.decode(frame) == MdKind.AGG_TRADE
        assert (dec.trade_id, dec.first_trade_id, dec.last_trade_id) == (
            agg["a"],
            agg["f"],
            agg["l"],
        )
        assert dec.trade_px == fixed.parse(agg["p"], DOC_DP[0])
    for frame in _forms({"stream": "btcusdt@kline_1m", "data": kline}):
        assert dec.decode(frame) == MdKind.KLINE
        _assert_kline(dec, kline)


def test_usdm_doc_rest_depth_snapshot_carries_e_and_t(fixtures_dir: Path) -> None:
    body = (
        fixtures_dir / "binance/futures_usdm/docs_examples/rest_depth_response.json"
    ).read_bytes()
    data = orjson.loads(body)
    dec = _usdm_doc()
    assert dec.decode_snapshot(body) == MdKind.SNAPSHOT
    d = dec.depth
    assert (d.first_id, d.last_id, d.prev_id) == (data["lastUpdateId"],) * 2 + (-1,)
    assert (d.exch_ns, d.txn_ns) == (data["E"] * MS, data["T"] * MS)
    _assert_depth_levels(dec, data["bids"], data["asks"])


def test_usdm_rest_snapshot_without_t_is_malformed_naming_t(fixtures_dir: Path) -> None:
    data = _load(fixtures_dir, "futures_usdm/docs_examples/rest_depth_response.json")
    del data["T"]
    dec = _usdm_doc()
    assert dec.decode_snapshot(raw(data)) == MdKind.MALFORMED
    assert dec.last_error == "snapshot.T: missing"


# -- mark price (USD-M; no capture exists, so the documented shape) ---------------------------

MARK: dict[str, Any] = {
    "e": "markPriceUpdate",
    "E": 1562305380000,
    "s": "BTCUSDT",
    "p": "11794.15000000",
    "i": "11784.62659091",
    "P": "11784.25641265",
    "r": "0.00038167",
    "T": 1562306400000,
}


def test_usdm_mark_price_update_decodes_at_mark_dp_raw_and_combined() -> None:
    dec = BinanceMdDecoder("BTCUSDT", 1, 3, True)
    for frame in _forms({"stream": "btcusdt@markPrice@1s", "data": MARK}):
        assert dec.decode(frame) == MdKind.MARK_PRICE
        assert dec.mark_px == fixed.parse(MARK["p"], MARK_DP)
        assert dec.index_px == fixed.parse(MARK["i"], MARK_DP)
        assert dec.funding_rate == fixed.parse(MARK["r"], MARK_DP, True)
        assert dec.next_funding_ns == MARK["T"] * MS
        assert dec.exch_ns == MARK["E"] * MS


def test_usdm_mark_price_negative_funding_rate_is_signed() -> None:
    dec = BinanceMdDecoder("BTCUSDT", 1, 3, True)
    assert dec.decode(raw({**MARK, "r": "-0.00010000"})) == MdKind.MARK_PRICE
    assert dec.funding_rate == -10000


def test_usdm_mark_price_empty_funding_rate_of_delivery_contract_is_zero() -> None:
    dec = BinanceMdDecoder("BTCUSDT", 1, 3, True)
    assert dec.decode(raw({**MARK, "r": "", "T": 0})) == MdKind.MARK_PRICE
    assert (dec.funding_rate, dec.next_funding_ns) == (0, 0)


# -- captured sequences ---------------------------------------------------------------------


def test_spot_nkn_depth_sequence_decodes_every_frame_exactly(fixtures_dir: Path) -> None:
    msgs = _load(fixtures_dir, "spot/depth_diff_100ms_NKNUSDT_combined_sequence_2021-10-11.json")
    dec = BinanceMdDecoder(*NKN_SPOT, False)
    for msg in msgs:
        data = msg["data"]
        for frame in _forms(msg):
            assert dec.decode(frame) == MdKind.DEPTH, dec.last_error
            d = dec.depth
            assert (d.first_id, d.last_id, d.prev_id) == (data["U"], data["u"], -1)
            assert d.exch_ns == data["E"] * MS
            _assert_depth_levels(dec, data["b"], data["a"])
    assert (dec.n_frames, dec.n_malformed) == (2 * len(msgs), 0)


def test_usdm_sushi_depth_sequence_keeps_the_pu_chain(fixtures_dir: Path) -> None:
    msgs = _load(
        fixtures_dir, "futures_usdm/depth_diff_100ms_SUSHIUSDT_combined_sequence_2021-07-22.json"
    )
    dec = BinanceMdDecoder(*SUSHI_USDM, True)
    prev_u = None
    for msg in msgs:
        data = msg["data"]
        for frame in _forms(msg):
            assert dec.decode(frame) == MdKind.DEPTH, dec.last_error
            d = dec.depth
            assert (d.first_id, d.last_id, d.prev_id) == (data["U"], data["u"], data["pu"])
            assert (d.exch_ns, d.txn_ns) == (data["E"] * MS, data["T"] * MS)
            _assert_depth_levels(dec, data["b"], data["a"])
        if prev_u is not None:
            assert dec.depth.prev_id == prev_u
        prev_u = dec.depth.last_id
    assert dec.n_malformed == 0


@pytest.mark.parametrize(
    ("rel", "inst", "is_usdm"),
    [
        ("spot/bookTicker_NKNUSDT_combined_sequence_2021-10-11.json", NKN_SPOT, False),
        ("futures_usdm/bookTicker_SUSHIUSDT_combined_sequence_2021-07-22.json", SUSHI_USDM, True),
    ],
)
def test_book_ticker_sequence_decodes_every_frame_exactly(
    fixtures_dir: Path, rel: str, inst: tuple[str, int, int], is_usdm: bool
) -> None:
    msgs = _load(fixtures_dir, rel)
    dec = BinanceMdDecoder(*inst, is_usdm)
    for msg in msgs:
        data = msg["data"]
        for frame in _forms(msg):
            assert dec.decode(frame) == MdKind.BOOK_TICKER, dec.last_error
            assert dec.bbo_id == data["u"]
            assert (dec.bid_px, dec.bid_qty, dec.ask_px, dec.ask_qty) == (
                fixed.parse(data["b"], inst[1]),
                fixed.parse(data["B"], inst[2]),
                fixed.parse(data["a"], inst[1]),
                fixed.parse(data["A"], inst[2]),
            )
            assert dec.exch_ns == data.get("E", 0) * MS
    assert dec.n_malformed == 0


def test_spot_eth_book_ticker_with_undocumented_e_and_t_keeps_e(fixtures_dir: Path) -> None:
    msg = _load(fixtures_dir, "spot/bookTicker_ETHUSDT_combined_capture_2022-03-02.json")
    dec = BinanceMdDecoder(*ETH_SPOT, False)
    for frame in _forms(msg):
        assert dec.decode(frame) == MdKind.BOOK_TICKER
        assert dec.exch_ns == msg["data"]["E"] * MS
        assert dec.bid_px == fixed.parse(msg["data"]["b"], 2)


def test_spot_btc_raw_capture_is_subscribe_ack_then_book_tickers(fixtures_dir: Path) -> None:
    msgs = _load(fixtures_dir, "spot/bookTicker_BTCUSDT_raw_capture_2026-08_ccxt.json")
    dec = BinanceMdDecoder(*BTC_SPOT, False)
    kinds = [dec.decode(raw(m)) for m in msgs]
    assert kinds == [MdKind.CONTROL, MdKind.BOOK_TICKER, MdKind.BOOK_TICKER]
    assert dec.n_control == 1
    assert dec.bbo_id == msgs[-1]["u"]
    assert dec.bid_qty == fixed.parse(msgs[-1]["B"], 5)


def test_spot_legacy_trade_with_b_a_order_ids_decodes(fixtures_dir: Path) -> None:
    msg = _load(
        fixtures_dir, "spot/trade_ETHUSDT_combined_capture_2021-12-12_LEGACY_has_b_a_fields.json"
    )
    dec = BinanceMdDecoder(*ETH_SPOT, False)
    for frame in _forms(msg):
        assert dec.decode(frame) == MdKind.TRADE
        assert dec.trade_id == msg["data"]["t"]
        assert dec.trade_px == fixed.parse(msg["data"]["p"], 2)
        assert dec.trade_qty == fixed.parse(msg["data"]["q"], 4)


@pytest.mark.parametrize(
    ("rel", "inst", "is_usdm", "kind"),
    [
        ("spot/aggTrade_combined_capture_2021-10-11.json", NKN_SPOT, False, MdKind.AGG_TRADE),
        ("spot/kline_1m_combined_capture_2021-10-11.json", NKN_SPOT, False, MdKind.KLINE),
        (
            "futures_usdm/aggTrade_combined_capture_2021-07-22.json",
            SUSHI_USDM,
            True,
            MdKind.AGG_TRADE,
        ),
        ("futures_usdm/kline_1m_combined_capture_2021-07-22.json", SUSHI_USDM, True, MdKind.KLINE),
    ],
)
def test_multi_symbol_capture_decodes_ours_and_counts_the_rest_wrong_symbol(
    fixtures_dir: Path, rel: str, inst: tuple[str, int, int], is_usdm: bool, kind: MdKind
) -> None:
    msgs = _load(fixtures_dir, rel)
    dec = BinanceMdDecoder(*inst, is_usdm)
    ours = [m for m in msgs if m["data"]["s"] == inst[0]]
    assert ours and len(ours) < len(msgs)
    for msg in msgs:
        data = msg["data"]
        for frame in _forms(msg):
            got = dec.decode(frame)
            if data["s"] != inst[0]:
                assert got == MdKind.WRONG_SYMBOL
                continue
            assert got == kind, dec.last_error
            if kind == MdKind.KLINE:
                _assert_kline(dec, data)
            else:
                assert dec.trade_px == fixed.parse(data["p"], inst[1])
                assert dec.trade_qty == fixed.parse(data["q"], inst[2])
                assert (dec.first_trade_id, dec.last_trade_id) == (data["f"], data["l"])
    assert dec.n_wrong_symbol == 2 * (len(msgs) - len(ours))
    assert dec.n_malformed == 0


@pytest.mark.parametrize(
    ("rel", "inst", "is_usdm"),
    [
        ("spot/depth_snapshot_rest_v3_NKNUSDT_limit1000_2021-10-11.json", NKN_SPOT_BOOK, False),
        ("spot/depth_snapshot_rest_v3_BTCUSDT_limit10_nautilus.json", BTC_SPOT, False),
        (
            "futures_usdm/depth_snapshot_fapi_v1_SUSHIUSDT_limit1000_2021-07-22.json",
            SUSHI_USDM,
            True,
        ),
    ],
)
def test_rest_snapshot_capture_decodes_every_level(
    fixtures_dir: Path, rel: str, inst: tuple[str, int, int], is_usdm: bool
) -> None:
    body = (fixtures_dir / "binance" / rel).read_bytes()
    data = orjson.loads(body)
    dec = BinanceMdDecoder(*inst, is_usdm)
    assert dec.decode_snapshot(body) == MdKind.SNAPSHOT, dec.last_error
    d = dec.depth
    assert (d.first_id, d.last_id, d.prev_id, d.is_snapshot) == (
        data["lastUpdateId"],
        data["lastUpdateId"],
        -1,
        True,
    )
    assert d.exch_ns == data.get("E", 0) * MS
    _assert_depth_levels(dec, data["bids"], data["asks"])


def test_nkn_real_snapshot_at_mapped_instrument_scales_decodes_off_grid_levels_exactly(
    fixtures_dir: Path,
) -> None:
    info = _load(fixtures_dir, "spot/exchangeInfo_rest_v3_2021-10-11_TRIMMED_6_symbols.json")
    inst = instruments_from_exchange_info(info, "binance-spot")["NKNUSDT"]
    body = (
        fixtures_dir / "binance/spot/depth_snapshot_rest_v3_NKNUSDT_limit1000_2021-10-11.json"
    ).read_bytes()
    data = orjson.loads(body)
    dec = BinanceMdDecoder("NKNUSDT", inst.price_dp, inst.qty_dp, False)
    assert dec.decode_snapshot(body) == MdKind.SNAPSHOT, dec.last_error
    d = dec.depth
    assert (d.n_bids, d.n_asks) == (len(data["bids"]), len(data["asks"]))
    for got, want in ((d.bids.tolist(), data["bids"]), (d.asks.tolist(), data["asks"])):
        for (px_raw, qty_raw), (px_text, qty_text) in zip(got, want, strict=True):
            assert Decimal(px_raw).scaleb(-inst.price_dp) == Decimal(px_text)
            assert Decimal(qty_raw).scaleb(-inst.qty_dp) == Decimal(qty_text)
    # The legacy levels off the current grid ("0.25974000" on tick 0.0001, "11979.30000000"
    # on step 1) are among them.
    bids = d.bids.tolist()
    assert sum(px % inst.tick_raw != 0 for px, _ in bids) == 34
    assert sum(qty % inst.step_raw != 0 for _, qty in bids) == 49


@pytest.mark.parametrize(
    ("level", "error"),
    [
        (
            ["0.25974000", "1.00000000"],
            "snapshot.bids[0][0]: more decimals than dp (dp=4): '0.25974000'",
        ),
        (
            ["0.26000000", "11979.30000000"],
            "snapshot.bids[0][1]: more decimals than dp (dp=0): '11979.30000000'",
        ),
    ],
)
def test_snapshot_off_grid_level_at_tick_and_step_scales_is_malformed_naming_the_value(
    level: list[str], error: str
) -> None:
    body = orjson.dumps({"lastUpdateId": 1, "bids": [level], "asks": []})
    dec = BinanceMdDecoder(*NKN_SPOT, False)
    assert dec.decode_snapshot(body) == MdKind.MALFORMED
    assert dec.last_error == error
    assert (dec.n_malformed, dec.n_frames) == (1, 0)
