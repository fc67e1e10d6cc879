"""L2 book: Cython Book against the SortedDict twin (BookRef), same seeded stream, same run.

The stream imitates Binance depth diffs: 20 level changes a message, depth from the touch
roughly exponential (most within 10 ticks, a few hundred deep), about 70 % replaces, 15 %
deletes and 15 % inserts once the book settles. Each benchmark replays its stream once before
timing, so every timed pass starts from the same book (a replayed stream ends in the state
it ended in the first time) and subject and baseline do identical work.
"""

import random

import numpy as np
import pytest

from bench.conftest import scale
from tests.unit._core.reference.book_ref import BookRef
from veloz._core.book import Book
from veloz._core.book import Side

BID = int(Side.BID)
ASK = int(Side.ASK)
MID = 6_500_000  # 65000.00 at price_dp 2; bids at MID - 1 - depth, asks at MID + 1 + depth
DIFF = 20  # level changes per depth message

Update = tuple[int, int, int]  # side, px, qty


def _px(side: int, depth: int) -> int:
    return MID - 1 - depth if side == BID else MID + 1 + depth


def _col(levels: list[tuple[int, int]], k: int) -> np.ndarray:
    return np.array([lv[k] for lv in levels], dtype=np.int64)


class Stream:
    """A seeded starting book and a list of near-touch updates generated against it."""

    def __init__(self, n_levels: int, n_updates: int, sides: tuple[int, ...], seed: int) -> None:
        rng = random.Random(seed)
        self.n_levels = n_levels
        self.snapshot: list[list[tuple[int, int]]] = [[], []]
        for side in (BID, ASK):
            depth = 0
            while len(self.snapshot[side]) < n_levels:  # 80 % of ticks occupied
                if rng.random() < 0.8:
                    self.snapshot[side].append((_px(side, depth), rng.randint(1, 10**8)))
                depth += 1
        live = [dict(self.snapshot[BID]), dict(self.snapshot[ASK])]
        self.updates: list[Update] = []
        while len(self.updates) < n_updates:
            side = rng.choice(sides)
            depth = min(int(rng.expovariate(0.25)), 2 * n_levels)
            px = _px(side, depth)
            if px in live[side]:
                qty = 0 if rng.random() < 0.2 else rng.randint(1, 10**8)
            else:
                qty = 0 if rng.random() < 0.1 else rng.randint(1, 10**8)
            if qty:
                live[side][px] = qty
            else:
                live[side].pop(px, None)
            self.updates.append((side, px, qty))

    def messages(self) -> list[tuple[list[int], list[int], list[int], list[int]]]:
        """The updates cut into DIFF-level messages: (bid_px, bid_qty, ask_px, ask_qty)."""
        out = []
        for k in range(0, len(self.updates), DIFF):
            chunk = self.updates[k : k + DIFF]
            bids = [(p, q) for s, p, q in chunk if s == BID]
            asks = [(p, q) for s, p, q in chunk if s == ASK]
            out.append(
                (
                    [p for p, _ in bids],
                    [q for _, q in bids],
                    [p for p, _ in asks],
                    [q for _, q in asks],
                )
            )
        return out

    def load(self, book: Book | BookRef) -> None:
        """Load the starting book (wire order) into a Book or a BookRef."""
        bids, asks = self.snapshot
        book.load_snapshot(*(_col(bids, 0), _col(bids, 1), _col(asks, 0), _col(asks, 1)))


def _per_unit(benchmark, key: str, n_units: int) -> None:
    # The median is per timed call; also record it per message / call / level.
    stats = getattr(benchmark, "stats", None)
    if stats is not None and stats.stats.rounds:
        benchmark.extra_info[key] = stats.stats.median * 1e9 / n_units


# ---- (1) a 20-level depth diff on a 1000-level book ---------------------------------------------

N_LEVELS = 1000
N_MSGS = 200


@pytest.fixture(scope="module")
def diff_stream() -> Stream:
    return Stream(scale(N_LEVELS), scale(N_MSGS) * DIFF, (BID, ASK), seed=20)


def _diff_group(s: Stream) -> str:
    return f"book depth diff, levels={s.n_levels}, diff={DIFF}, msgs={len(s.updates) // DIFF}"


def test_bench_book_diff_cython(benchmark, diff_stream: Stream) -> None:
    benchmark.group = _diff_group(diff_stream)
    benchmark.extra_info["role"] = "subject"
    book = Book(2, 8)
    diff_stream.load(book)
    msgs = [tuple(np.array(c, dtype=np.int64) for c in m) for m in diff_stream.messages()]
    apply = book.apply_batch

    def run() -> None:
        for bid_px, bid_qty, ask_px, ask_qty in msgs:
            apply(BID, bid_px, bid_qty)
            apply(ASK, ask_px, ask_qty)

    run()
    benchmark(run)
    _per_unit(benchmark, "ns_per_msg", len(msgs))
    book.check_invariants()


def test_bench_book_diff_sorteddict(benchmark, diff_stream: Stream) -> None:
    benchmark.group = _diff_group(diff_stream)
    benchmark.extra_info["role"] = "baseline"
    ref = BookRef(2, 8)
    diff_stream.load(ref)
    msgs = diff_stream.messages()
    apply = ref.apply_batch

    def run() -> None:
        for bid_px, bid_qty, ask_px, ask_qty in msgs:
            apply(BID, bid_px, bid_qty)
            apply(ASK, ask_px, ask_qty)

    run()
    benchmark(run)
    _per_unit(benchmark, "ns_per_msg", len(msgs))


# ---- (2) one apply_level call from Python ------------------------------------------------------


N_CALLS = 4000


@pytest.fixture(scope="module")
def call_stream() -> Stream:
    return Stream(scale(N_LEVELS), scale(N_CALLS), (BID, ASK), seed=21)


def _call_group(s: Stream) -> str:
    return f"book apply_level from Python, levels={s.n_levels}, calls={len(s.updates)}"


@pytest.mark.parametrize("impl", ["cython", "sorteddict"])
def test_bench_book_apply_level(benchmark, call_stream: Stream, impl: str) -> None:
    benchmark.group = _call_group(call_stream)
    benchmark.extra_info["role"] = "subject" if impl == "cython" else "baseline"
    book = Book(2, 8) if impl == "cython" else BookRef(2, 8)
    call_stream.load(book)
    updates = call_stream.updates
    apply = book.apply_level

    def run() -> None:
        for side, px, qty in updates:
            apply(side, px, qty)

    run()
    benchmark(run)
    _per_unit(benchmark, "ns_per_call", len(updates))


# ---- (3) per-level cost of the C loop: one large apply_batch ------------------------------------

# Large and fresh: a short batch repeated every round lets the branch predictor learn its
# sequence (3 ns per level at 1k updates against 10-11 ns on a fresh stream), which no feed sees.
N_BATCH = 100_000


@pytest.fixture(scope="module", params=["touch", "uniform"])
def batch_stream(request: pytest.FixtureRequest) -> tuple[str, Stream]:
    """Bid updates near the touch (the feed's case) or at uniform depth (the bisection path)."""
    s = Stream(scale(N_LEVELS), scale(N_BATCH), (BID,), seed=22)
    if request.param == "uniform":
        rng = random.Random(23)
        s.updates = [
            (BID, _px(BID, rng.randrange(s.n_levels * 5 // 4)), q) for _, _, q in s.updates
        ]
    return request.param, s


def _batch_group(kind: str, s: Stream) -> str:
    return f"book apply_batch C loop, depth={kind}, levels={s.n_levels}, batch={len(s.updates)}"


@pytest.mark.parametrize("impl", ["cython", "sorteddict"])
def test_bench_book_apply_batch_per_level(
    benchmark, batch_stream: tuple[str, Stream], impl: str
) -> None:
    kind, s = batch_stream
    benchmark.group = _batch_group(kind, s)
    benchmark.extra_info["role"] = "subject" if impl == "cython" else "baseline"
    book = Book(2, 8) if impl == "cython" else BookRef(2, 8)
    s.load(book)
    px_list = [p for _, p, _ in s.updates]
    qty_list = [q for _, _, q in s.updates]
    if impl == "cython":
        px, qty = np.array(px_list, dtype=np.int64), np.array(qty_list, dtype=np.int64)
    else:
        px, qty = px_list, qty_list
    book.apply_batch(BID, px, qty)
    benchmark(book.apply_batch, BID, px, qty)
    _per_unit(benchmark, "ns_per_level", len(px_list))
