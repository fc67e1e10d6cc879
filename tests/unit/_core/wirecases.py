"""Shared cases of the wire codec tests: extreme values, a small book, one body of each type."""

import struct
from pathlib import Path

from hypothesis import strategies as st

from veloz._core import wire
from veloz._core.book import Book
from veloz._core.book import Side as BookSide
from veloz._core.units import Px
from veloz._core.units import Qty

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1
DOC = Path(__file__).resolve().parents[3] / "docs" / "wire.md"
S255 = "x" * 255
SPOT = wire.venue_id("binance-spot")

i64 = st.integers(I64_MIN, I64_MAX)
dp = st.integers(0, 18)
text = st.text(max_size=60).filter(lambda s: len(s.encode("utf-8", "surrogatepass")) <= 255)
utf8 = text.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))


def book_of(bids: list[tuple[int, int]], asks: list[tuple[int, int]]) -> Book:
    book = Book(2, 5)
    for px, qty in bids:
        book.apply_level(BookSide.BID, Px(px), Qty(qty))
    for px, qty in asks:
        book.apply_level(BookSide.ASK, Px(px), Qty(qty))
    return book


def top(book: Book, side: int, n: int) -> tuple[tuple[int, int], ...]:
    px, qty = book.top_n(side, n)
    return tuple(zip(px.tolist(), qty.tolist(), strict=True))


def one_of_each(enc: wire.Encoder) -> list[bytes]:
    """One valid message of every type (BOOK with levels), in MsgType order."""
    book = book_of([(100, 1), (99, 2)], [(101, 3)])
    return [
        enc.book(7, book, 5, 11, 1, 2),
        enc.bbo(7, 11, 2, 5, 100, 1, 101, 3, 1, 2),
        enc.trade(7, 12, 2, 5, 100, 1, True, 1, 2),
        enc.kline(7, 0, 60, 60, 2, 5, 1, 2, 3, 4, 5, 6, False, 1, 2),
        enc.status(7, True, "synced", 3),
        enc.instrument(7, "BTCUSDT", "BTC", "USDT", 2, 5, 1, 1, 1, 10**12, 500),
        enc.order_cmd(7, 1, "mm", "c1", 1, 1, 1, 2, 5, 100, 1, False, 4),
        enc.order_event(7, "mm", "c1", 5, 1, 1, 1, 1, 2, 5, 100, 1, 0, 0, "", 1, 2),
        enc.fill(7, "mm", "c1", 5, 6, 1, 2, 5, 100, 1, 10, "BNB", True, 0, 1, 2),
        enc.risk_state(0, 3, "", "kill", "operator", 8),
        enc.latency("ingest_to_dispatch", 1, 2, 3, 4, 5, 6, b"HISTF", 7),
    ]


def with_payload_len(body: bytes, n: int) -> bytes:
    return body[:12] + struct.pack("<I", n) + body[16:]
