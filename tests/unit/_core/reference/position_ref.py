"""Pure-Python twin of `veloz._core.position.Position`: the oracle of the differential tests.

Same Python API and errors, Python ints and `Fraction`s only, written from the documented rules
(realized PnL of a partial reduce is the exact proportional PnL rounded toward minus infinity;
entry px is |cost| / |qty| rounded half-even), not from the Cython arithmetic.
"""

import math
from fractions import Fraction

from veloz._core.errors import InvariantError
from veloz._core.errors import NumberError

BUY, SELL = 0, 1
INT64_MAX = 2**63 - 1


def _fits(x: int) -> bool:
    return -INT64_MAX <= x <= INT64_MAX


class PositionRef:
    """One-way-mode position with Python ints; state changes only when every value fits."""

    def __init__(self, price_dp: int, qty_dp: int) -> None:
        if not 0 <= price_dp <= 18 or not 0 <= qty_dp <= 18 or price_dp + qty_dp > 18:
            raise ValueError(f"bad dps {price_dp}, {qty_dp}")
        self.price_dp = price_dp
        self.qty_dp = qty_dp
        self.qty = 0
        self.cost = 0
        self.realized_pnl = 0
        self.n_fills = 0

    @property
    def entry_px(self) -> int:
        if self.qty == 0:
            return 0
        return round(Fraction(abs(self.cost), abs(self.qty)))  # round() on Fraction: half-even

    @property
    def is_flat(self) -> bool:
        return self.qty == 0

    def apply_fill(self, side: int, px: int, qty: int) -> int:
        if side not in (BUY, SELL) or px <= 0 or qty <= 0:
            raise ValueError(f"bad fill side={side} px={px} qty={qty}")
        if not _fits(px * qty):
            raise NumberError("fill notional")
        signed = qty if side == BUY else -qty
        new_qty = self.qty + signed
        if self.qty == 0 or (self.qty > 0) == (signed > 0):
            pnl = 0
            new_cost = self.cost + px * signed
        elif new_qty != 0 and (new_qty > 0) == (self.qty > 0):
            closed = -signed  # signed like the position
            exact = px * closed - Fraction(self.cost * qty, abs(self.qty))
            pnl = math.floor(exact)
            # What the close took out of the cost, so that pnl = px * closed - removed.
            new_cost = self.cost - (px * closed - pnl)
        else:
            pnl = px * self.qty - self.cost
            new_cost = px * new_qty
        realized = self.realized_pnl + pnl
        if not (_fits(new_qty) and _fits(new_cost) and _fits(pnl) and _fits(realized)):
            raise NumberError("position value")
        self.qty, self.cost, self.realized_pnl = new_qty, new_cost, realized
        self.n_fills += 1
        return pnl

    def unrealized_pnl(self, mark_px: int) -> int:
        if mark_px <= 0:
            raise ValueError(f"bad mark px {mark_px}")
        if self.qty == 0:
            return 0
        # (mark - exact entry) * qty, the entry unrounded.
        u = (mark_px - Fraction(self.cost, self.qty)) * self.qty
        assert u.denominator == 1
        if not _fits(int(u)):
            raise NumberError("unrealized PnL")
        return int(u)

    def notional(self, mark_px: int) -> int:
        if mark_px <= 0:
            raise ValueError(f"bad mark px {mark_px}")
        n = mark_px * self.qty
        if not _fits(n):
            raise NumberError("notional")
        return n

    def check_invariants(self) -> int:
        if self.qty == 0:
            if self.cost != 0:
                raise InvariantError(f"flat with cost {self.cost}")
        elif (self.cost > 0) != (self.qty > 0) or abs(self.cost) < abs(self.qty):
            raise InvariantError(f"cost {self.cost} inconsistent with qty {self.qty}")
        return 0
