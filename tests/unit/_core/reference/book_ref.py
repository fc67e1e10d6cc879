"""Pure-Python twin of `veloz._core.book.Book` on `SortedDict`: the oracle of the differential
tests and the baseline of the book benchmarks. Same Python API and semantics for int64 inputs
(ints outside int64, which Cython's argument conversion rejects, are not checked here). Kept
simple, and free of deliberate slowness, so that as a baseline it is honest.
"""

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sortedcontainers import SortedDict

from veloz._core.errors import InvariantError
from veloz._core.errors import NumberError
from veloz._core.errors import WireError

BID = 0
ASK = 1
INT64_MAX = 2**63 - 1
_SIDE_NAMES = ("bid", "ask")

IntSeq = Sequence[int] | npt.NDArray[np.int64]


def _as_list(a: IntSeq) -> list[int]:
    return a.tolist() if isinstance(a, np.ndarray) else list(a)


class BookRef:
    """L2 book as two `SortedDict`s px -> qty (keys ascending on both sides)."""

    def __init__(self, price_dp: int, qty_dp: int, capacity: int = 1024) -> None:
        if not 0 <= price_dp <= 18:
            raise ValueError(f"price_dp must be 0..18, got {price_dp}")
        if not 0 <= qty_dp <= 18:
            raise ValueError(f"qty_dp must be 0..18, got {qty_dp}")
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.price_dp = price_dp
        self.qty_dp = qty_dp
        self.n_levels_applied = 0
        self.n_delete_missing = 0
        self._sides: tuple[SortedDict, SortedDict] = (SortedDict(), SortedDict())

    def _side(self, side: int) -> SortedDict:
        if side not in (BID, ASK):
            raise ValueError(f"side must be BID (0) or ASK (1), got {side}")
        return self._sides[side]

    def apply_level(self, side: int, px: int, qty: int) -> bool:
        """Set (qty > 0) or delete (qty == 0) one level; return the crossed flag."""
        levels = self._side(side)
        if qty < 0:
            raise WireError(f"negative qty {qty} at px {px} on the {_SIDE_NAMES[side]} side")
        if qty > 0:
            levels[px] = qty
        elif levels.pop(px, None) is None:
            self.n_delete_missing += 1
        self.n_levels_applied += 1
        return self.is_crossed()

    def apply_batch(self, side: int, px: IntSeq, qty: IntSeq) -> bool:
        """Apply updates in order after checking the whole batch; return the crossed flag."""
        levels = self._side(side)
        pxs = _as_list(px)
        qtys = _as_list(qty)
        if len(pxs) != len(qtys):
            raise ValueError(f"px and qty lengths differ: {len(pxs)} != {len(qtys)}")
        for p, q in zip(pxs, qtys, strict=True):
            if q < 0:
                raise WireError(f"negative qty {q} at px {p} on the {_SIDE_NAMES[side]} side")
        for p, q in zip(pxs, qtys, strict=True):
            if q > 0:
                levels[p] = q
            elif levels.pop(p, None) is None:
                self.n_delete_missing += 1
        self.n_levels_applied += len(pxs)
        return self.is_crossed()

    def load_snapshot(
        self, bid_px: IntSeq, bid_qty: IntSeq, ask_px: IntSeq, ask_qty: IntSeq
    ) -> bool:
        """Replace the book: any order, last duplicate wins, qty 0 skipped, counters kept."""
        sides = ((_as_list(bid_px), _as_list(bid_qty)), (_as_list(ask_px), _as_list(ask_qty)))
        for side, (pxs, qtys) in enumerate(sides):
            if len(pxs) != len(qtys):
                raise ValueError(
                    f"{_SIDE_NAMES[side]} px and qty lengths differ: {len(pxs)} != {len(qtys)}"
                )
        for side, (pxs, qtys) in enumerate(sides):
            for p, q in zip(pxs, qtys, strict=True):
                if q < 0:
                    raise WireError(f"negative qty {q} at px {p} on the {_SIDE_NAMES[side]} side")
        self._sides = tuple(
            SortedDict({p: q for p, q in zip(pxs, qtys, strict=True) if q != 0})
            for pxs, qtys in sides
        )  # type: ignore[assignment]
        return self.is_crossed()

    def clear(self) -> None:
        """Remove every level; counters stay."""
        self._sides = (SortedDict(), SortedDict())

    def n_levels(self, side: int) -> int:
        return len(self._side(side))

    def is_crossed(self) -> bool:
        bids, asks = self._sides
        return bool(bids) and bool(asks) and bids.peekitem(-1)[0] >= asks.peekitem(0)[0]

    def best_bid(self) -> tuple[int, int] | None:
        bids = self._sides[BID]
        return tuple(bids.peekitem(-1)) if bids else None  # type: ignore[return-value]

    def best_ask(self) -> tuple[int, int] | None:
        asks = self._sides[ASK]
        return tuple(asks.peekitem(0)) if asks else None  # type: ignore[return-value]

    def spread(self) -> int | None:
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else ask[0] - bid[0]

    def mid_x2(self) -> int | None:
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else ask[0] + bid[0]

    def _best_first(self, side: int) -> list[tuple[int, int]]:
        levels = self._side(side)
        items = list(levels.items())
        return items[::-1] if side == BID else items

    def level(self, side: int, i: int) -> tuple[int, int]:
        levels = self._side(side)
        if not 0 <= i < len(levels):
            raise IndexError(f"{_SIDE_NAMES[side]} level {i} out of range: {len(levels)} levels")
        return tuple(levels.peekitem(-1 - i if side == BID else i))  # type: ignore[return-value]

    def top_n(self, side: int, n: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        self._side(side)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        top = self._best_first(side)[:n]
        return (
            np.array([p for p, _ in top], dtype=np.int64),
            np.array([q for _, q in top], dtype=np.int64),
        )

    def qty_in_band(self, side: int, px_lo: int, px_hi: int) -> int:
        levels = self._side(side)
        if px_lo > px_hi:
            return 0
        total = sum(levels[p] for p in levels.irange(px_lo, px_hi))
        if total > INT64_MAX:
            raise NumberError(f"{_SIDE_NAMES[side]} qty in [{px_lo}, {px_hi}] does not fit int64")
        return total

    def check_invariants(self, allow_crossed: bool = False) -> int:
        for side, levels in enumerate(self._sides):
            for p, q in levels.items():
                if q <= 0:
                    raise InvariantError(f"{_SIDE_NAMES[side]} side: px {p} has qty {q} <= 0")
        if not allow_crossed and self.is_crossed():
            raise InvariantError(
                f"book crossed: best bid {self.best_bid()} >= best ask {self.best_ask()}"
            )
        return 0

    def levels(self, side: int) -> list[tuple[int, int]]:
        """All levels of a side, best first (test helper; the Cython book uses top_n)."""
        return self._best_first(side)

    def __repr__(self) -> str:
        return (
            f"BookRef(bid={self.best_bid()} ask={self.best_ask()} "
            f"n_bids={len(self._sides[BID])} n_asks={len(self._sides[ASK])} "
            f"price_dp={self.price_dp} qty_dp={self.qty_dp})"
        )
