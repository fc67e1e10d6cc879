"""Positions, balances, fees and exact PnL from fills, per strategy and for the whole account.

Owns `SpotPosition` (average cost of a spot inventory, fees in the base asset included),
`Account` (one owner's balances, fees, realized PnL, spot and futures positions), and
`Positions` (an `Account` per strategy plus the netted total, checked against the venue's
balance and position snapshots). Must not dedupe fills (`state.OrderTable` does), talk to a
venue or the bus, or touch float.

Scales (every number is an exact int):

- asset amounts (balances, fees, realized and unrealized PnL): raws at `ASSET_DP` (8);
- futures position qty: raw at the instrument's qty_dp; futures cost and PnL inside the
  `veloz._core.position.Position`: raws at ``price_dp + qty_dp`` (notional dp);
- spot position qty: the base asset at `ASSET_DP` (a base fee is not on the qty step);
  spot cost: raw at ``price_dp + ASSET_DP``;
- prices (entry, mark): raws at price_dp.

Rounding, only where a scale finer than `ASSET_DP` must land on it: each fill's realized PnL
is floored to `ASSET_DP` once (as the venue reports it per fill), unrealized PnL is floored,
a spot buy debits the quote notional rounded up and a sell credits it rounded down (never
overstating a balance). With ``price_dp + qty_dp <= 8`` (most Binance symbols) nothing rounds.
"""

import logging
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass

from veloz._core import fixed
from veloz._core.position import Position
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.model.events import ASSET_DP
from veloz.model.events import BalanceUpdate
from veloz.model.events import Fill
from veloz.model.events import PositionUpdate
from veloz.model.instrument import Instrument

__all__ = ["Account", "PositionView", "Positions", "SpotPosition"]

log = logging.getLogger(__name__)

# Position.apply_fill sides (OrdSide values of _core.matching).
_BUY = 0
_SELL = 1


def _floor_to_asset(raw: int, dp: int) -> int:
    # A raw at `dp` floored onto ASSET_DP (exact when dp <= ASSET_DP).
    if dp <= ASSET_DP:
        return raw * int(10 ** (ASSET_DP - dp))
    return raw // int(10 ** (dp - ASSET_DP))


def _ceil_div(num: int, den: int) -> int:
    # ceil(num / den) for den > 0, exact on Python ints.
    return -((-num) // den)


def _half_even_div(num: int, den: int) -> int:
    # round(num / den) half to even, num >= 0, den > 0.
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q & 1):
        q += 1
    return q


class SpotPosition:
    """Average-cost inventory of one spot instrument, exact on Python ints.

    ``qty`` is the base asset held (signed: a strategy that sells what it did not buy goes
    negative) raw at `ASSET_DP`; ``cost`` the exact quote cost of it, raw at
    ``price_dp + ASSET_DP``, signed like ``qty``. A fee paid in the base asset reduces the
    quantity bought (or adds to the quantity sold) at no value, so it raises the entry price
    instead of being booked as a quote fee. Reducing follows `Position`: the removed cost is
    the signed ceiling of the proportional cost, so realized PnL is never overstated and a
    full close removes all that is left.

    Parameters
    ----------
    price_dp : int
        Decimal places of prices of the instrument.
    """

    __slots__ = ("cost", "price_dp", "qty", "realized_pnl")

    def __init__(self, price_dp: int) -> None:
        self.price_dp = price_dp
        self.qty = 0
        self.cost = 0
        self.realized_pnl = 0  # exact, raw at price_dp + ASSET_DP

    def apply(self, dq: int, value: int) -> int:
        """Take ``dq`` base (signed, `ASSET_DP`) for ``value`` quote (>= 0, at
        ``price_dp + ASSET_DP``); return the realized PnL at ``price_dp + ASSET_DP``. O(1)."""
        if dq == 0:
            return 0
        sign = 1 if dq > 0 else -1
        q0, c0 = self.qty, self.cost
        if q0 == 0 or (q0 > 0) == (dq > 0):
            pnl = 0
            self.qty, self.cost = q0 + dq, c0 + sign * value
        elif abs(dq) < abs(q0):
            removed = _ceil_div(c0 * abs(dq), abs(q0))
            pnl = -sign * value - removed
            self.qty, self.cost = q0 + dq, c0 - removed
        else:
            # Full close or flip: the closing share of the value, rounded against us.
            closing = abs(q0)
            if closing == abs(dq):
                v_close = value
            elif sign > 0:
                v_close = _ceil_div(value * closing, abs(dq))
            else:
                v_close = value * closing // abs(dq)
            pnl = -sign * v_close - c0
            self.qty, self.cost = q0 + dq, sign * (value - v_close)
        self.realized_pnl += pnl
        return pnl

    @property
    def entry_px(self) -> int:
        """Average entry price raw at price_dp (half-even), 0 when flat."""
        if self.qty == 0:
            return 0
        return _half_even_div(abs(self.cost), abs(self.qty))

    def unrealized_pnl(self, mark_px: int) -> int:
        """Unrealized PnL at ``mark_px`` (price_dp), raw at ``price_dp + ASSET_DP``."""
        return mark_px * self.qty - self.cost


@dataclass(frozen=True, slots=True)
class PositionView:
    """One position read out: ``qty`` at ``qty_dp`` (signed), ``entry_px`` at price_dp."""

    venue: str
    symbol: str
    qty: int
    qty_dp: int
    entry_px: int


class Account:
    """One owner's books: balances, fees, realized PnL and positions, all exact ints.

    ``balances`` by (venue, asset) and ``fees`` (all paid), ``expensed`` (paid fees that are
    not inside a spot entry price, i.e. all but spot fees in the base asset) and ``realized``
    by asset are raws at `ASSET_DP`; ``realized`` is keyed by the quote asset PnL is in and
    is gross of fees.
    A strategy's balances are the net flows of its fills since start; the total account's
    are set by the venue's snapshots and moved by fills in between.
    """

    __slots__ = ("balances", "expensed", "fees", "futures", "realized", "spot")

    def __init__(self) -> None:
        self.balances: dict[tuple[str, str], int] = {}
        self.fees: dict[str, int] = {}
        self.expensed: dict[str, int] = {}  # fees not inside a spot entry price
        self.realized: dict[str, int] = {}
        self.spot: dict[tuple[str, str], SpotPosition] = {}
        self.futures: dict[tuple[str, str], Position] = {}

    def balance(self, venue: str, asset: str) -> int:
        """Balance of `asset` on `venue`, raw at `ASSET_DP` (0 if never moved)."""
        return self.balances.get((venue, asset), 0)

    def position(self, inst: Instrument) -> PositionView:
        """The position in `inst`: futures qty at its qty_dp, spot base at `ASSET_DP`."""
        key = (inst.venue, inst.symbol)
        fut = self.futures.get(key)
        if fut is not None:
            return PositionView(inst.venue, inst.symbol, fut.qty, inst.qty_dp, fut.entry_px)
        sp = self.spot.get(key)
        if sp is not None:
            return PositionView(inst.venue, inst.symbol, sp.qty, ASSET_DP, sp.entry_px)
        return PositionView(inst.venue, inst.symbol, 0, inst.qty_dp, 0)

    def _move(self, venue: str, asset: str, amount: int) -> None:
        key = (venue, asset)
        self.balances[key] = self.balances.get(key, 0) + amount

    def _add(self, book: dict[str, int], asset: str, amount: int) -> None:
        book[asset] = book.get(asset, 0) + amount

    def book_spot(self, inst: Instrument, f: Fill) -> None:
        """Book a spot fill: base +/- qty (net of a base fee), quote -/+ notional, fees."""
        key = (inst.venue, inst.symbol)
        sp = self.spot.get(key)
        if sp is None:
            sp = self.spot[key] = SpotPosition(inst.price_dp)
        qty_a = fixed.rescale(f.qty, inst.qty_dp, ASSET_DP)  # base at ASSET_DP
        value = f.px * qty_a  # quote at price_dp + ASSET_DP, exact
        fee_base = f.fee if f.fee_asset == inst.base else 0
        is_buy = f.side == "BUY"
        dq = qty_a - fee_base if is_buy else -(qty_a + fee_base)
        pnl = sp.apply(dq, value)
        self._add(self.realized, inst.quote, _floor_to_asset(pnl, inst.price_dp + ASSET_DP))
        unit = 10**inst.price_dp
        self._move(inst.venue, inst.base, dq)
        if is_buy:
            self._move(inst.venue, inst.quote, -_ceil_div(value, unit))
        else:
            self._move(inst.venue, inst.quote, value // unit)
        if f.fee:
            self._add(self.fees, f.fee_asset, f.fee)
            if f.fee_asset != inst.base:
                self._add(self.expensed, f.fee_asset, f.fee)
                self._move(inst.venue, f.fee_asset, -f.fee)

    def book_futures(self, inst: Instrument, f: Fill) -> None:
        """Book a one-way futures fill: position, realized PnL to the quote wallet, fees."""
        key = (inst.venue, inst.symbol)
        pos = self.futures.get(key)
        if pos is None:
            pos = self.futures[key] = Position(inst.price_dp, inst.qty_dp)
        side = _BUY if f.side == "BUY" else _SELL
        pnl = _floor_to_asset(pos.apply_fill(side, Px(f.px), Qty(f.qty)), inst.notional_dp)
        self._add(self.realized, inst.quote, pnl)
        self._move(inst.venue, inst.quote, pnl)
        if f.fee:
            self._add(self.fees, f.fee_asset, f.fee)
            self._add(self.expensed, f.fee_asset, f.fee)
            self._move(inst.venue, f.fee_asset, -f.fee)

    def unrealized(
        self,
        instruments: Mapping[tuple[str, str], Instrument],
        marks: Mapping[tuple[str, str], int],
    ) -> dict[str, int]:
        """Unrealized PnL by quote asset, raws at `ASSET_DP` (floored per position).

        ``marks`` maps (venue, symbol) to a mark price raw at price_dp; a position without a
        mark is left out.
        """
        out: dict[str, int] = {}
        for key, pos in self.futures.items():
            mark = marks.get(key)
            if mark is None or pos.qty == 0:
                continue
            inst = instruments[key]
            u = _floor_to_asset(pos.unrealized_pnl(Px(mark)), inst.notional_dp)
            self._add(out, inst.quote, u)
        for key, sp in self.spot.items():
            mark = marks.get(key)
            if mark is None or sp.qty == 0:
                continue
            inst = instruments[key]
            u = _floor_to_asset(sp.unrealized_pnl(mark), inst.price_dp + ASSET_DP)
            self._add(out, inst.quote, u)
        return out


class Positions:
    """Positions and PnL per strategy (by the owner of each fill) and for the whole account.

    The total is the account as the venue sees it: one netted position per symbol, so its
    realized PnL is not the sum of the strategies' (they net differently); balances and fees
    do sum. Counters: ``n_unknown_symbol`` (a fill for an instrument not configured, not
    booked), ``n_balance_mismatch`` and ``n_position_mismatch`` (a venue snapshot differing
    from the computed value; the balance snapshot wins, the position is only compared).

    Parameters
    ----------
    instruments : iterable of Instrument
        Every instrument fills may arrive for.
    futures_venues : frozenset of str
        Venues whose instruments are one-way futures; every other venue is spot.
    """

    __slots__ = (
        "_balance_seen",
        "by_strategy",
        "futures_venues",
        "instruments",
        "n_balance_mismatch",
        "n_position_mismatch",
        "n_unknown_symbol",
        "total",
        "venue_positions",
    )

    def __init__(
        self,
        instruments: Iterable[Instrument],
        futures_venues: frozenset[str] = frozenset({"binance-usdm"}),
    ) -> None:
        self.instruments = {(i.venue, i.symbol): i for i in instruments}
        self.futures_venues = futures_venues
        self.by_strategy: dict[str, Account] = {}
        self.total = Account()
        self.venue_positions: dict[tuple[str, str], PositionUpdate] = {}
        self._balance_seen: set[tuple[str, str]] = set()
        self.n_unknown_symbol = 0
        self.n_balance_mismatch = 0
        self.n_position_mismatch = 0

    def account(self, strategy: str | None = None) -> Account:
        """The books of `strategy` ("" holds fills of orders nobody owns); None: the total."""
        if strategy is None:
            return self.total
        acct = self.by_strategy.get(strategy)
        if acct is None:
            acct = self.by_strategy[strategy] = Account()
        return acct

    def apply_fill(self, f: Fill, strategy: str) -> bool:
        """Book a new (already deduped) fill for `strategy` and the total; False if its
        instrument is unknown (counted, logged, not booked). O(1)."""
        inst = self.instruments.get((f.venue, f.symbol))
        if inst is None:
            self.n_unknown_symbol += 1
            log.warning(
                "oms_fill_unknown_symbol venue=%s symbol=%s trade_id=%d",
                f.venue,
                f.symbol,
                f.trade_id,
            )
            return False
        is_futures = f.venue in self.futures_venues
        for acct in (self.account(strategy), self.total):
            if is_futures:
                acct.book_futures(inst, f)
            else:
                acct.book_spot(inst, f)
        return True

    def apply_balance(self, b: BalanceUpdate) -> int:
        """Take a venue balance snapshot as the account's truth; return snapshot - computed
        (raw at `ASSET_DP`; a first snapshot of an asset sets it and is not a mismatch)."""
        key = (b.venue, b.asset)
        diff = b.wallet - self.total.balances.get(key, 0)
        if key in self._balance_seen and diff:
            self.n_balance_mismatch += 1
            log.warning(
                "oms_balance_mismatch venue=%s asset=%s venue_raw=%d diff=%d",
                b.venue,
                b.asset,
                b.wallet,
                diff,
            )
        self._balance_seen.add(key)
        self.total.balances[key] = b.wallet
        return diff

    def apply_position(self, p: PositionUpdate) -> int:
        """Compare a venue position snapshot with the computed total; return venue - computed
        qty (raw at qty_dp). The computed position stays (it carries the exact cost)."""
        key = (p.venue, p.symbol)
        self.venue_positions[key] = p
        pos = self.total.futures.get(key)
        diff = p.qty - (pos.qty if pos is not None else 0)
        if diff:
            self.n_position_mismatch += 1
            log.warning(
                "oms_position_mismatch venue=%s symbol=%s venue_qty=%d diff=%d",
                p.venue,
                p.symbol,
                p.qty,
                diff,
            )
        return diff

    def unrealized(
        self, marks: Mapping[tuple[str, str], int], strategy: str | None = None
    ) -> dict[str, int]:
        """Unrealized PnL by quote asset at `ASSET_DP` of `strategy` (None: total)."""
        return self.account(strategy).unrealized(self.instruments, marks)

    def net_pnl(
        self, marks: Mapping[tuple[str, str], int], strategy: str | None = None
    ) -> dict[str, int]:
        """Realized + unrealized - fees paid in that asset, by quote asset, at `ASSET_DP`.

        Fees paid in a base asset are inside the spot entry price already; fees paid in an
        asset that is not a quote asset here (BNB) are in ``account().fees`` only.
        """
        acct = self.account(strategy)
        out = dict(acct.realized)
        for asset, u in self.unrealized(marks, strategy).items():
            out[asset] = out.get(asset, 0) + u
        for asset in list(out):
            out[asset] -= acct.expensed.get(asset, 0)
        return out
