"""Simulated account state: spot balances (free/locked) and USD-M wallets with positions.

Owns exact integer bookkeeping only; no order validation, no matching, no payload shapes
beyond the balance rows. Spot balances are raws at `BAL_DP`; USD-M money is raw at the
notional scale (price dp + qty dp) so fees and PnL stay exact.
"""

from dataclasses import dataclass
from dataclasses import field

__all__ = [
    "BAL_DP",
    "MONEY_DP",
    "FuturesAccount",
    "FuturesPosition",
    "SpotAccount",
    "dec_text",
    "to_scale",
]

BAL_DP = 8  # scale of spot balance raws (Binance spot asset precision)
MONEY_DP = 16  # scale of USD-M wallet, fee and PnL raws: exact for fees of any sim notional


def to_scale(raw: int, dp: int, out_dp: int, round_up: bool = False) -> int:
    """Rescale a non-negative Python-int raw from `dp` to `out_dp`, flooring (or ceiling)."""
    if out_dp >= dp:
        return raw * int(10 ** (out_dp - dp))
    d = int(10 ** (dp - out_dp))
    return -(-raw // d) if round_up else raw // d


def dec_text(raw: int, dp: int, out_dp: int) -> str:
    """Format a Python-int raw at `dp` with exactly `out_dp` decimals, truncating toward 0.

    Works past int64 (notional and PnL raws at dp 16 can be large). O(digits).
    """
    neg = raw < 0
    mag = -raw if neg else raw
    if out_dp < dp:
        mag //= 10 ** (dp - out_dp)
    elif out_dp > dp:
        mag *= 10 ** (out_dp - dp)
    if out_dp == 0:
        text = str(mag)
    else:
        whole, frac = divmod(mag, 10**out_dp)
        text = f"{whole}.{frac:0{out_dp}d}"
    return f"-{text}" if neg and mag else text


@dataclass(slots=True)
class SpotAccount:
    """Spot balances of one account: raws at `BAL_DP` per asset.

    Attributes
    ----------
    free, locked : dict of str to int
        Available and order-locked amounts.
    update_ms : int
        Time of the last change, ms.
    """

    free: dict[str, int] = field(default_factory=dict)
    locked: dict[str, int] = field(default_factory=dict)
    update_ms: int = 0

    def lock(self, asset: str, amount: int) -> bool:
        """Move `amount` from free to locked; False (and no change) if free is short. O(1)."""
        have = self.free.get(asset, 0)
        if amount > have:
            return False
        self.free[asset] = have - amount
        self.locked[asset] = self.locked.get(asset, 0) + amount
        return True

    def unlock(self, asset: str, amount: int) -> None:
        """Move `amount` from locked back to free. O(1)."""
        self.locked[asset] = self.locked.get(asset, 0) - amount
        self.free[asset] = self.free.get(asset, 0) + amount

    def add_free(self, asset: str, amount: int) -> None:
        """Add `amount` (may be negative) to free. O(1)."""
        self.free[asset] = self.free.get(asset, 0) + amount
        self.locked.setdefault(asset, 0)

    def spend_locked(self, asset: str, amount: int) -> None:
        """Remove `amount` from locked (it left the account). O(1)."""
        self.locked[asset] = self.locked.get(asset, 0) - amount

    def row(self, asset: str) -> dict[str, str]:
        """Return ``{"asset", "free", "locked"}`` with 8-decimal text."""
        return {
            "asset": asset,
            "free": dec_text(self.free.get(asset, 0), BAL_DP, BAL_DP),
            "locked": dec_text(self.locked.get(asset, 0), BAL_DP, BAL_DP),
        }


@dataclass(slots=True)
class FuturesPosition:
    """A one-way (``BOTH``) USD-M position with an exact cost basis.

    Attributes
    ----------
    qty : int
        Signed size, raw at the instrument's qty dp (> 0 long).
    cost : int
        Signed sum of ``px * qty`` of the open part, raw at price dp + qty dp.
    realized : int
        Accumulated realized PnL before fees, raw at price dp + qty dp.
    update_ms : int
        Time of the last fill, ms.
    """

    qty: int = 0
    cost: int = 0
    realized: int = 0
    update_ms: int = 0

    def apply_fill(self, is_buy: bool, px: int, qty: int) -> int:
        """Apply one fill and return the PnL it realized (raw at notional dp). O(1).

        Closing part of a position realizes against the average cost of the part closed;
        the remainder of a fill larger than the position opens the other way at `px`.
        """
        dq = qty if is_buy else -qty
        if self.qty == 0 or (self.qty > 0) == (dq > 0):
            self.qty += dq
            self.cost += px * dq
            return 0
        size = abs(self.qty)
        closing = min(qty, size)
        sgn = 1 if self.qty > 0 else -1
        # Truncate toward zero so a full close later realizes the rest exactly.
        part = self.cost if closing == size else abs(self.cost) * closing // size * sgn
        pnl = sgn * px * closing - part
        self.qty -= sgn * closing
        self.cost -= part
        rest = qty - closing
        if rest:
            self.qty = rest if is_buy else -rest
            self.cost = px * self.qty
        self.realized += pnl
        return pnl

    def entry_px(self) -> int:
        """Return the average entry price as a raw at price dp (0 when flat), truncated."""
        if self.qty == 0:
            return 0
        return abs(self.cost) // abs(self.qty)

    def unrealized(self, mark_px: int) -> int:
        """Return the unrealized PnL at `mark_px` (raw at price dp), raw at notional dp."""
        return mark_px * self.qty - self.cost


@dataclass(slots=True)
class FuturesAccount:
    """A USD-M account: one USDT wallet and one-way positions per symbol.

    Attributes
    ----------
    wallet : int
        Wallet balance, raw at `MONEY_DP`.
    positions : dict of str to FuturesPosition
        Per symbol; created on first fill.
    update_ms : int
        Time of the last change, ms.
    """

    wallet: int = 0
    positions: dict[str, FuturesPosition] = field(default_factory=dict)
    update_ms: int = 0

    def position(self, symbol: str) -> FuturesPosition:
        """Return the position of `symbol`, creating a flat one. O(1)."""
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = FuturesPosition()
        return pos
