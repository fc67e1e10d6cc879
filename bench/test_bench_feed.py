"""Raw 20-level spot depth frame bytes -> decoded -> synced -> applied, against the usual
pure-Python step (orjson + Decimal + SortedDict) on the same frames in the same run.

Each round starts from a freshly synced 1000-level book (setup, not timed): replaying frames
into a book that already holds them would only measure the stale-drop path.
"""

from typing import Any

import orjson
import pytest

from bench.conftest import scale
from bench.frames import DecimalBaseline
from bench.frames import DepthStream
from bench.frames import depth_stream
from veloz._core.binance_md import BinanceMdDecoder
from veloz._core.book import Book
from veloz._core.depth_sync import DepthSync
from veloz._core.depth_sync import SyncRule
from veloz._core.depth_sync import SyncStatus

N = 1000
ROUNDS = 30


@pytest.fixture(scope="module")
def stream() -> DepthStream:
    return depth_stream(scale(N) + 1, levels_per_frame=20, book_levels=1000, seed=21)


def _group(s: DepthStream) -> str:
    return f"feed step frame->applied, levels=20, book=1000, msgs={len(s.frames) - 1}"


def _synced(s: DepthStream) -> tuple[BinanceMdDecoder, DepthSync]:
    dec = BinanceMdDecoder(s.symbol, s.price_dp, s.qty_dp, False)
    sync = DepthSync(Book(s.price_dp, s.qty_dp), SyncRule.SPOT)
    dec.decode(s.frames[0])
    sync.on_diff(dec.depth)
    dec.decode_snapshot(s.snapshot)
    assert sync.on_snapshot(dec.depth) == SyncStatus.SYNCED
    return dec, sync


def _per_msg(benchmark: Any, n: int) -> None:
    if getattr(benchmark, "stats", None) is not None:
        benchmark.extra_info["ns_per_msg"] = benchmark.stats.stats.median * 1e9 / n


def test_bench_feed_step_veloz(benchmark: Any, stream: DepthStream) -> None:
    benchmark.group = _group(stream)
    benchmark.extra_info["role"] = "subject"
    frames = stream.frames[1:]

    def run(dec: BinanceMdDecoder, sync: DepthSync) -> DepthSync:
        depth = dec.depth
        for f in frames:
            dec.decode(f)
            sync.on_diff(depth)
        return sync

    sync = benchmark.pedantic(run, setup=lambda: (_synced(stream), {}), rounds=ROUNDS)
    # the first frame was buffered and applied at sync time, in setup
    assert sync.is_live and sync.n_gaps == 0 and sync.n_applied == len(frames) + 1
    _per_msg(benchmark, len(frames))


def test_bench_feed_step_decimal_baseline(benchmark: Any, stream: DepthStream) -> None:
    benchmark.group = _group(stream)
    benchmark.extra_info["role"] = "baseline"
    frames = stream.frames[1:]

    def run(book: DecimalBaseline) -> DecimalBaseline:
        for f in frames:
            book.on_frame(f)
        return book

    def setup() -> tuple[tuple[DecimalBaseline], dict[str, Any]]:
        book = DecimalBaseline(stream.snapshot)
        book.on_frame(stream.frames[0])  # the same starting point as the subject
        return (book,), {}

    book = benchmark.pedantic(run, setup=setup, rounds=ROUNDS)
    assert book.update_id == orjson.loads(frames[-1])["u"]
    _per_msg(benchmark, len(frames))
