"""Decimal text -> int64: veloz fixed.parse against Decimal, same strings, same run."""

import random
from decimal import Decimal

import pytest

from bench.conftest import scale
from veloz._core import fixed

N = 10_000


def _price_texts(n: int) -> list[str]:
    rng = random.Random(7)
    # Binance pads to 8 decimals: "65012.34000000"
    return [f"{rng.randint(1, 9_999_999) / 100:.8f}" for _ in range(n)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _price_texts(scale(N))


def test_bench_parse_fixed(benchmark, texts: list[str]) -> None:
    benchmark.group = f"fixed parse, strings={len(texts)}"
    benchmark.extra_info["role"] = "subject"
    parse = fixed.parse
    out = benchmark(lambda: [parse(t, 2) for t in texts])
    assert out[0] == int(Decimal(texts[0]) * 100)


def test_bench_parse_decimal(benchmark, texts: list[str]) -> None:
    benchmark.group = f"fixed parse, strings={len(texts)}"
    benchmark.extra_info["role"] = "baseline"
    out = benchmark(lambda: [int(Decimal(t).scaleb(2)) for t in texts])
    assert out[0] == fixed.parse(texts[0], 2)
