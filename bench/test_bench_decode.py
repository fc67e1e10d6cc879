"""Binance depth frame -> int64 levels: BinanceMdDecoder against orjson + Decimal, same run.

Frames are 20-level spot diffs (~750 B, prices padded to 8 decimals) from the seeded
generator in bench/frames.py, raw and combined-stream. The baseline is the cryptofeed-style
step: orjson.loads, then Decimal for every price and quantity (no book on either side).
"""

from decimal import Decimal
from typing import Any

import orjson
import pytest

from bench.conftest import scale
from bench.frames import DepthStream
from bench.frames import depth_stream
from veloz._core.binance_md import BinanceMdDecoder
from veloz._core.binance_md import MdKind

N = 2_000
LEVELS = 20


@pytest.fixture(scope="module", params=[False, True], ids=["raw", "combined"])
def stream(request: pytest.FixtureRequest) -> DepthStream:
    return depth_stream(scale(N), levels_per_frame=LEVELS, seed=5, combined=request.param)


def _group(stream: DepthStream) -> str:
    form = "combined" if stream.frames[0].startswith(b'{"stream"') else "raw"
    return f"binance depth decode, levels={LEVELS}, msgs={len(stream.frames)}, {form}"


def _note_per_msg(benchmark: Any, n: int) -> None:
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["ns_per_msg"] = stats.stats.median * 1e9 / n


def _decimal_levels(frame: bytes) -> tuple[int, list[Any], list[Any]]:
    msg = orjson.loads(frame)
    msg = msg.get("data", msg)
    bids = [(Decimal(p), Decimal(q)) for p, q in msg["b"]]
    asks = [(Decimal(p), Decimal(q)) for p, q in msg["a"]]
    return msg["u"], bids, asks


def test_bench_decode_binance_md(benchmark: Any, stream: DepthStream) -> None:
    benchmark.group = _group(stream)
    benchmark.extra_info["role"] = "subject"
    dec = BinanceMdDecoder(stream.symbol, stream.price_dp, stream.qty_dp, False)
    decode = dec.decode
    frames = stream.frames

    def run() -> None:
        for f in frames:
            decode(f)

    benchmark(run)
    _note_per_msg(benchmark, len(frames))
    assert dec.n_malformed == 0
    assert decode(frames[-1]) == MdKind.DEPTH
    u, bids, asks = _decimal_levels(frames[-1])
    assert dec.depth.last_id == u
    scale_px, scale_qty = 10**stream.price_dp, 10**stream.qty_dp
    assert dec.depth.bids.tolist() == [[int(p * scale_px), int(q * scale_qty)] for p, q in bids]
    assert dec.depth.asks.tolist() == [[int(p * scale_px), int(q * scale_qty)] for p, q in asks]


def test_bench_decode_orjson_decimal(benchmark: Any, stream: DepthStream) -> None:
    benchmark.group = _group(stream)
    benchmark.extra_info["role"] = "baseline"
    frames = stream.frames

    def run() -> None:
        for f in frames:
            _decimal_levels(f)

    benchmark(run)
    _note_per_msg(benchmark, len(frames))
