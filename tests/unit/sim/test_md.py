"""Tests for veloz.sim.md: payload shapes and the depth accumulator."""

import json
from pathlib import Path

import pytest

from veloz.sim.md import AggTradeEvent
from veloz.sim.md import BookTickerEvent
from veloz.sim.md import DepthAccumulator
from veloz.sim.md import DepthDiff
from veloz.sim.md import KlineEvent
from veloz.sim.md import MarkPriceEvent
from veloz.sim.md import TradeEvent

S = "BTCUSDT"


def _diff(
    first: int,
    last: int,
    bids: tuple[tuple[str, str], ...] = (),
    asks: tuple[tuple[str, str], ...] = (),
) -> DepthDiff:
    return DepthDiff(S, first, last, first - 1, 10, 9, bids, asks)


def _kline(venue: str) -> KlineEvent:
    return KlineEvent(
        S, venue, "1m", 1, 0, 59_999, 1, 2, "1", "2", "3", "0.5", "1", "2", "0", "0", 2, False
    )


def _keys(fixtures_dir: Path, path: str) -> set[str]:
    return set(json.loads((fixtures_dir / "binance" / path).read_text()))


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("spot/docs_examples/ws_depthUpdate.json", _diff(1, 2).payload("spot")),
        ("futures_usdm/docs_examples/ws_depthUpdate.json", _diff(1, 2).payload("usdm")),
        (
            "spot/docs_examples/ws_trade.json",
            TradeEvent(S, "spot", 1, "1", "1", 1, 1, True).payload(),
        ),
        (
            "spot/docs_examples/ws_aggTrade.json",
            AggTradeEvent(S, "spot", 1, "1", "1", 1, 2, 1, 1, True).payload(),
        ),
        (
            "futures_usdm/docs_examples/ws_aggTrade.json",
            AggTradeEvent(S, "usdm", 1, "1", "1", 1, 2, 1, 1, True).payload(),
        ),
        (
            "spot/docs_examples/ws_bookTicker.json",
            BookTickerEvent(S, "spot", 1, "1", "1", "2", "1", 1, 1).payload(),
        ),
        (
            "futures_usdm/docs_examples/ws_bookTicker.json",
            BookTickerEvent(S, "usdm", 1, "1", "1", "2", "1", 1, 1).payload(),
        ),
        ("spot/docs_examples/ws_kline.json", _kline("spot").payload()),
        ("futures_usdm/docs_examples/ws_kline.json", _kline("usdm").payload()),
    ],
)
def test_md_payload_keys_match_docs_example(
    fixtures_dir: Path, path: str, payload: dict[str, object]
) -> None:
    assert set(payload) == _keys(fixtures_dir, path)


def test_md_kline_payload_k_keys_match_docs_example(fixtures_dir: Path) -> None:
    real = json.loads((fixtures_dir / "binance/spot/docs_examples/ws_kline.json").read_text())
    assert set(_kline("spot").payload()["k"]) == set(real["k"])  # type: ignore[arg-type]


def test_md_kline_rest_row_has_twelve_items(fixtures_dir: Path) -> None:
    real = json.loads(
        (fixtures_dir / "binance/spot/docs_examples/rest_klines_response.json").read_text()
    )
    row = _kline("spot").rest()
    assert len(row) == len(real[0]) == 12
    assert [type(x) for x in row] == [type(x) for x in real[0]]


def test_md_mark_price_payload_has_binance_keys() -> None:
    p = MarkPriceEvent(S, 5, "1.00", "1.00", "1.00", "0.00010000", 8).payload()
    assert list(p) == ["e", "E", "s", "p", "i", "P", "r", "T"]
    assert p["e"] == "markPriceUpdate"


def test_md_streams_are_lower_case() -> None:
    assert _diff(1, 1).streams() == ("btcusdt@depth", "btcusdt@depth@100ms")
    assert TradeEvent(S, "spot", 1, "1", "1", 1, 1, True).streams() == ("btcusdt@trade",)
    assert MarkPriceEvent(S, 1, "1", "1", "1", "0", 1).streams() == (
        "btcusdt@markPrice",
        "btcusdt@markPrice@1s",
    )


def test_md_depth_payload_bad_venue_raises_value_error() -> None:
    with pytest.raises(ValueError, match="venue"):
        _diff(1, 1).payload("coinm")


def test_accumulator_merges_range_and_last_value_wins() -> None:
    acc = DepthAccumulator(S, "spot")
    acc.add(_diff(5, 6, bids=(("1.0", "2"), ("0.9", "1"))))
    acc.add(_diff(7, 7, bids=(("1.0", "0"),), asks=(("1.1", "3"),)))
    out = acc.flush(99)
    assert out is not None
    assert (out.first_id, out.last_id, out.event_ms, out.txn_ms) == (5, 7, 99, 9)
    assert out.bids == (("1.0", "0"), ("0.9", "1"))
    assert out.asks == (("1.1", "3"),)


def test_accumulator_flush_without_changes_returns_none() -> None:
    acc = DepthAccumulator(S, "usdm")
    assert acc.flush(1) is None
    acc.add(_diff(1, 1))
    assert acc.flush(2) is not None
    assert acc.flush(3) is None


def test_accumulator_usdm_pu_chains_previous_flushed_u() -> None:
    acc = DepthAccumulator(S, "usdm")
    acc.add(_diff(10, 12))
    first = acc.flush(1)
    acc.add(_diff(13, 13))
    acc.add(_diff(14, 20))
    second = acc.flush(2)
    assert first is not None and second is not None
    assert first.prev_id == 9
    assert second.payload("usdm")["pu"] == first.last_id == 12
    assert second.first_id == 13 and second.last_id == 20


def test_accumulator_other_symbol_raises_value_error() -> None:
    acc = DepthAccumulator("ETHUSDT", "spot")
    with pytest.raises(ValueError, match="BTCUSDT"):
        acc.add(_diff(1, 1))
