"""Bus wire codec: Encoder BBO / BOOK, decode BBO, BookView.update against struct baselines.

Each subject shares a group with a pure-Python baseline built from `struct` that does the
same byte work (same header and payload layout), timed in the same run. Book levels come
from a seeded 1000-level book; the subject reads it through the Book's C arrays, the
baseline through `Book.top_n` (numpy) and `struct.pack`. Targets (release build): encode BBO
and BOOK 5 levels <= 1 µs median.
"""

import random
import struct
import time

import numpy as np
import pytest

from bench.conftest import scale
from veloz._core import wire
from veloz._core.book import Book
from veloz._core.book import Side

HEADER = struct.Struct("<2sBBHHIIQqqq")
BBO = struct.Struct("<qBB6xqqqq")
BOOK_FIXED = struct.Struct("<qBBHHxx")
SPOT = wire.venue_id("binance-spot")
BBO_ARGS = (7, 123456789, 2, 5, 6500001, 12345, 6500002, 67890, 1_700_000_000_000, 42)
N_BOOK = 1000  # levels per side of the seeded book


def _bbo_struct(seq: int, args: tuple[int, ...]) -> bytes:
    inst, uid, pdp, qdp, bp, bq, ap, aq, exch_ns, ingest_ns = args
    return HEADER.pack(
        b"VZ", 1, 2, SPOT, 0, inst, BBO.size, seq, exch_ns, ingest_ns, time.monotonic_ns()
    ) + BBO.pack(uid, pdp, qdp, bp, bq, ap, aq)


@pytest.fixture(scope="module")
def book() -> Book:
    rng = random.Random(5)
    n = scale(N_BOOK)
    bid_px = np.array([6_500_000 - i for i in range(n)], dtype=np.int64)
    ask_px = np.array([6_500_001 + i for i in range(n)], dtype=np.int64)
    bid_qty = np.array([rng.randint(1, 10**8) for _ in range(n)], dtype=np.int64)
    ask_qty = np.array([rng.randint(1, 10**8) for _ in range(n)], dtype=np.int64)
    b = Book(2, 8)
    b.load_snapshot(bid_px, bid_qty, ask_px, ask_qty)
    return b


# ---- encode BBO -------------------------------------------------------------------------------


def test_bench_wire_encode_bbo(benchmark) -> None:
    benchmark.group = "wire encode bbo, msgs=1"
    benchmark.extra_info["role"] = "subject"
    enc = wire.Encoder(SPOT)
    body = benchmark(enc.bbo, *BBO_ARGS)
    assert wire.decode(body).to_dict()["bid_px_raw"] == 6500001


def test_bench_wire_encode_bbo_struct(benchmark) -> None:
    benchmark.group = "wire encode bbo, msgs=1"
    benchmark.extra_info["role"] = "baseline"
    body = benchmark(_bbo_struct, 1, BBO_ARGS)
    assert wire.msg_type(body) == wire.MsgType.BBO


# ---- encode BOOK ------------------------------------------------------------------------------


def _book_struct(book: Book, n: int, seq: int) -> bytes:
    bp, bq = book.top_n(Side.BID, n)
    ap, aq = book.top_n(Side.ASK, n)
    nb, na = len(bp), len(ap)
    flat = [v for pair in zip(bp.tolist(), bq.tolist(), strict=True) for v in pair]
    flat += [v for pair in zip(ap.tolist(), aq.tolist(), strict=True) for v in pair]
    payload = BOOK_FIXED.pack(1, book.price_dp, book.qty_dp, nb, na) + struct.pack(
        f"<{2 * (nb + na)}q", *flat
    )
    head = HEADER.pack(b"VZ", 1, 1, SPOT, 0, 7, len(payload), seq, 0, 42, time.monotonic_ns())
    return head + payload


@pytest.mark.parametrize("levels", [5, 20], ids=lambda n: f"levels={n}")
def test_bench_wire_encode_book(benchmark, book: Book, levels: int) -> None:
    benchmark.group = f"wire encode book, levels={levels}"
    benchmark.extra_info["role"] = "subject"
    enc = wire.Encoder(SPOT, max_levels=20)
    body = benchmark(enc.book, 7, book, levels, 1, 0, 42)
    assert body[48:] == _book_struct(book, levels, 1)[48:]


@pytest.mark.parametrize("levels", [5, 20], ids=lambda n: f"levels={n}")
def test_bench_wire_encode_book_struct(benchmark, book: Book, levels: int) -> None:
    benchmark.group = f"wire encode book, levels={levels}"
    benchmark.extra_info["role"] = "baseline"
    body = benchmark(_book_struct, book, levels, 1)
    assert wire.msg_type(body) == wire.MsgType.BOOK


# ---- decode BBO -------------------------------------------------------------------------------


def _unpack_bbo(body: bytes) -> tuple[tuple[object, ...], tuple[int, ...]]:
    return HEADER.unpack_from(body, 0), BBO.unpack_from(body, 48)


def test_bench_wire_decode_bbo(benchmark) -> None:
    benchmark.group = "wire decode bbo, msgs=1"
    benchmark.extra_info["role"] = "subject"
    body = wire.Encoder(SPOT).bbo(*BBO_ARGS)
    m = benchmark(wire.decode, body)
    assert isinstance(m, wire.BboMsg)


def test_bench_wire_decode_bbo_struct(benchmark) -> None:
    benchmark.group = "wire decode bbo, msgs=1"
    benchmark.extra_info["role"] = "baseline"
    body = wire.Encoder(SPOT).bbo(*BBO_ARGS)
    _head, payload = benchmark(_unpack_bbo, body)
    assert payload[3] == 6500001


# ---- BookView.update --------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [5, 20], ids=lambda n: f"levels={n}")
def test_bench_wire_book_view_update(benchmark, book: Book, levels: int) -> None:
    benchmark.group = f"wire book view update, levels={levels}"
    benchmark.extra_info["role"] = "subject"
    body = wire.Encoder(SPOT, max_levels=20).book(7, book, levels, 1, 0, 42)
    view = wire.BookView()
    benchmark(view.update, body)
    assert view.best_bid() == book.best_bid()


@pytest.mark.parametrize("levels", [5, 20], ids=lambda n: f"levels={n}")
def test_bench_wire_book_view_update_struct(benchmark, book: Book, levels: int) -> None:
    benchmark.group = f"wire book view update, levels={levels}"
    benchmark.extra_info["role"] = "baseline"
    body = wire.Encoder(SPOT, max_levels=20).book(7, book, levels, 1, 0, 42)

    def unpack(b: bytes) -> tuple[int, ...]:
        HEADER.unpack_from(b, 0)
        _, _, _, nb, na = BOOK_FIXED.unpack_from(b, 48)
        return struct.unpack_from(f"<{2 * (nb + na)}q", b, 64)

    flat = benchmark(unpack, body)
    assert (flat[0], flat[1]) == book.best_bid()
