"""Simulated account state: spot balances (free/locked) and USD-M wallets with positions.

Owns exact integer bookkeeping only; no order validation, no matching, no payload shapes
beyond the balance rows, and no position arithmetic of its own (USD-M positions are
`veloz._core.position.Position`, exact at the instrument's price dp + qty dp). Spot balances
are raws at `BAL_DP`; USD-M wallet, fee and PnL raws are Python ints at `MONEY_DP`.
"""

from dataclasses import dataclass
from dataclasses import field

from veloz._core.position import Position
from veloz.model.instrument import Instrument

__all__ = [
    "BAL_DP",
    "FEES_PPM",
    "MONEY_DP",
    "FuturesAccount",
    "SpotAccount",
    "dec_text",
    "to_money",
    "to_scale",
]

BAL_DP = 8  # scale of spot balance raws (Binance spot asset precision)
MONEY_DP = 16  # scale of USD-M wallet, fee and PnL raws: exact for fees of any sim notional
FEES_PPM = {"spot": (1000, 1000), "usdm": (200, 500)}  # (maker, taker) parts per million


def to_scale(raw: int, dp: int, out_dp: int, round_up: bool = False) -> int:
    """Rescale a non-negative Python-int raw from `dp` to `out_dp`, flooring (or ceiling)."""
    if out_dp >= dp:
        return raw * int(10 ** (out_dp - dp))
    d = int(10 ** (dp - out_dp))
    return -(-raw // d) if round_up else raw // d


def to_money(raw: int, dp: int) -> int:
    """Rescale a signed Python-int raw at `dp` (USD-M notional, PnL) to `MONEY_DP`.

    Exact for every sim instrument (notional dp <= 16); a finer dp truncates toward 0. Python
    ints, not `fixed.rescale`: int64 at 16 dp ends at 922.34 USDT, below one BTC fill.
    """
    mag = to_scale(abs(raw), dp, MONEY_DP)
    return -mag if raw < 0 else mag


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
class FuturesAccount:
    """A USD-M account: one USDT wallet and one-way positions per symbol.

    Attributes
    ----------
    wallet : int
        Wallet balance, raw at `MONEY_DP`.
    positions : dict of str to Position
        Per symbol, at the instrument's dp; created flat on first use.
    position_ms : dict of str to int
        Per symbol, time of the position's last fill, ms (0 before any).
    update_ms : int
        Time of the last change, ms.
    """

    wallet: int = 0
    positions: dict[str, Position] = field(default_factory=dict)
    position_ms: dict[str, int] = field(default_factory=dict)
    update_ms: int = 0

    def position(self, inst: Instrument) -> Position:
        """Return the position of `inst`, creating a flat one at its dp. O(1)."""
        pos = self.positions.get(inst.symbol)
        if pos is None:
            pos = self.positions[inst.symbol] = Position(inst.price_dp, inst.qty_dp)
        return pos
