"""StdoutPublisher: one JSON line per event, decimal text at the instrument's scale."""

import inspect
import io
import json

import pytest

from veloz._core import fixed
from veloz._core.book import Book
from veloz._core.book import Side
from veloz.bus.publisher import Publisher
from veloz.bus.stdout import StdoutPublisher
from veloz.model.instrument import Instrument

INST = Instrument(
    venue="binance-spot",
    symbol="BTCUSDT",
    base="BTC",
    quote="USDT",
    status="TRADING",
    price_dp=8,
    qty_dp=8,
    tick_raw=1_000_000,
    step_raw=1_000,
    min_px_raw=0,
    max_px_raw=0,
    min_qty_raw=0,
    max_qty_raw=0,
    min_notional_raw=0,
)


def _lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _book() -> Book:
    book = Book(8, 8)
    for i, px in enumerate(("100.00", "99.99", "99.98")):
        book.apply_level(Side.BID, fixed.parse(px, 8), fixed.parse(f"{i + 1}.5", 8))
    for px in ("100.01", "100.02"):
        book.apply_level(Side.ASK, fixed.parse(px, 8), fixed.parse("0.25", 8))
    return book


@pytest.mark.parametrize("name", ["book", "bbo", "trade", "status"])
def test_stdout_publisher_methods_match_the_publisher_protocol(name: str) -> None:
    ours = inspect.signature(getattr(StdoutPublisher, name))
    theirs = inspect.signature(getattr(Publisher, name))
    assert list(ours.parameters) == list(theirs.parameters)


def test_stdout_book_line_has_top_levels_as_decimal_text_best_first() -> None:
    out = io.StringIO()
    pub = StdoutPublisher(out, instruments={3: INST}, depth_levels=2)
    pub.book(3, _book(), 42, 1_700_000_000_000_000_000, 123)
    (line,) = _lines(out)
    assert line == {
        "type": "book",
        "inst": 3,
        "symbol": "BTCUSDT",
        "update_id": 42,
        "exch_ns": 1_700_000_000_000_000_000,
        "ingest_ns": 123,
        "bids": [["100.00000000", "1.50000000"], ["99.99000000", "2.50000000"]],
        "asks": [["100.01000000", "0.25000000"], ["100.02000000", "0.25000000"]],
    }
    assert pub.n_lines == 1


def test_stdout_book_line_of_an_empty_book_has_empty_sides() -> None:
    out = io.StringIO()
    StdoutPublisher(out).book(0, Book(8, 8), 1, 0, 0)
    (line,) = _lines(out)
    assert line["bids"] == [] and line["asks"] == [] and line["symbol"] is None


def test_stdout_bbo_line_uses_the_instrument_scales() -> None:
    out = io.StringIO()
    pub = StdoutPublisher(out, instruments={0: INST})
    pub.bbo(0, 7, fixed.parse("1.5", 8), fixed.parse("2", 8), fixed.parse("1.6", 8), 1, 10, 20)
    (line,) = _lines(out)
    assert line == {
        "type": "bbo",
        "inst": 0,
        "symbol": "BTCUSDT",
        "update_id": 7,
        "bid_px": "1.50000000",
        "bid_qty": "2.00000000",
        "ask_px": "1.60000000",
        "ask_qty": "0.00000001",
        "exch_ns": 10,
        "ingest_ns": 20,
    }


def test_stdout_trade_line_and_unknown_inst_falls_back_to_raws() -> None:
    out = io.StringIO()
    pub = StdoutPublisher(out, instruments={0: INST})
    pub.trade(0, 99, fixed.parse("60000.1", 8), fixed.parse("0.001", 8), True, 5, 6)
    pub.trade(9, 100, 12, 34, False, 7, 8)
    first, second = _lines(out)
    assert first == {
        "type": "trade",
        "inst": 0,
        "symbol": "BTCUSDT",
        "trade_id": 99,
        "px": "60000.10000000",
        "qty": "0.00100000",
        "is_buyer_maker": True,
        "exch_ns": 5,
        "ingest_ns": 6,
    }
    assert second["symbol"] is None and second["px_raw"] == 12 and second["qty_raw"] == 34


def test_stdout_status_line() -> None:
    out = io.StringIO()
    StdoutPublisher(out, instruments={0: INST}).status(0, False, "gap", 77)
    assert _lines(out) == [
        {
            "type": "status",
            "inst": 0,
            "symbol": "BTCUSDT",
            "is_live": False,
            "reason": "gap",
            "mono_ns": 77,
        }
    ]


def test_stdout_default_stream_is_sys_stdout_at_write_time(
    capsys: pytest.CaptureFixture[str],
) -> None:
    StdoutPublisher().status(0, True, "synced", 1)
    assert json.loads(capsys.readouterr().out)["reason"] == "synced"


def test_stdout_depth_levels_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="depth_levels must be >= 1"):
        StdoutPublisher(io.StringIO(), depth_levels=0)


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_stdout_closed_reader_calls_on_closed_once_and_drops_later_lines() -> None:
    calls: list[int] = []
    pub = StdoutPublisher(_ClosedPipe(), on_closed=lambda: calls.append(1))
    pub.status(0, True, "synced", 1)
    pub.status(0, False, "gap", 2)
    assert calls == [1]
    assert pub.is_closed and pub.n_lines == 0
