"""One tradable instrument as plain frozen data: scales, tick and step, order bounds.

Owns the exact local order check (tick, step, bounds, min notional) in Python ints. Text to
raw and back goes through `veloz._core.fixed`; nothing here parses venue JSON (that is
`venues/<v>/mapping.py`) or touches float.
"""

from dataclasses import dataclass

from veloz._core import fixed

_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Instrument:
    """A venue instrument with every price and quantity rule as int64 raws.

    Prices are raws at ``price_dp`` (value = raw / 10**price_dp), quantities raws at
    ``qty_dp``; ``min_notional_raw`` is a raw at ``notional_dp = price_dp + qty_dp``, the
    scale of ``px_raw * qty_raw``, so the notional check is one exact integer comparison.
    A bound of 0 is disabled (the venue's convention).

    Parameters
    ----------
    venue : str
        Venue and product, e.g. ``"binance-spot"`` or ``"binance-usdm"``.
    symbol, base, quote : str
        Venue symbol ("BTCUSDT") and its base and quote assets.
    status : str
        Venue trading status as sent ("TRADING", "BREAK", ...).
    price_dp, qty_dp : int
        Scales of prices and quantities, 0..18: never coarser than the tick and step
        (``tick_raw`` and ``step_raw`` carry the grid at that scale).
    tick_raw : int
        Tick size, raw at price_dp (> 0).
    step_raw : int
        Step size, raw at qty_dp (> 0).
    min_px_raw, max_px_raw : int
        Price bounds, raws at price_dp; 0 disables a bound.
    min_qty_raw, max_qty_raw : int
        Quantity bounds, raws at qty_dp; 0 disables a bound.
    min_notional_raw : int
        Minimum price * quantity, raw at price_dp + qty_dp; 0 disables it.

    Raises
    ------
    ValueError
        A dp outside 0..18 (or a notional dp above 18), a tick or step that is not
        positive, a negative bound, or a maximum below its minimum.
    """

    venue: str
    symbol: str
    base: str
    quote: str
    status: str
    price_dp: int
    qty_dp: int
    tick_raw: int
    step_raw: int
    min_px_raw: int
    max_px_raw: int
    min_qty_raw: int
    max_qty_raw: int
    min_notional_raw: int

    def __post_init__(self) -> None:
        if not 0 <= self.price_dp <= 18 or not 0 <= self.qty_dp <= 18:
            raise ValueError(f"{self.symbol}: dp must be 0..18 ({self.price_dp}, {self.qty_dp})")
        if self.price_dp + self.qty_dp > 18:
            raise ValueError(f"{self.symbol}: notional dp {self.price_dp}+{self.qty_dp} exceeds 18")
        if self.tick_raw <= 0 or self.step_raw <= 0:
            raise ValueError(
                f"{self.symbol}: tick_raw and step_raw must be > 0 ({self.tick_raw}, "
                f"{self.step_raw})"
            )
        bounds = (
            self.min_px_raw,
            self.max_px_raw,
            self.min_qty_raw,
            self.max_qty_raw,
            self.min_notional_raw,
        )
        if any(b < 0 or b > _INT64_MAX for b in bounds):
            raise ValueError(f"{self.symbol}: bounds must be int64 raws >= 0, got {bounds}")
        if self.max_px_raw and self.max_px_raw < self.min_px_raw:
            raise ValueError(f"{self.symbol}: max_px_raw below min_px_raw")
        if self.max_qty_raw and self.max_qty_raw < self.min_qty_raw:
            raise ValueError(f"{self.symbol}: max_qty_raw below min_qty_raw")

    @property
    def notional_dp(self) -> int:
        """Decimal places of ``px_raw * qty_raw`` and of ``min_notional_raw``."""
        return self.price_dp + self.qty_dp

    def px(self, text: str | bytes) -> int:
        """Parse price text to a raw at price_dp; raises NumberError if off-scale or junk."""
        return fixed.parse(text, self.price_dp)

    def qty(self, text: str | bytes) -> int:
        """Parse quantity text to a raw at qty_dp; raises NumberError if off-scale or junk."""
        return fixed.parse(text, self.qty_dp)

    def px_text(self, raw: int) -> str:
        """Format a price raw with exactly price_dp decimals."""
        return fixed.to_text(raw, self.price_dp)

    def qty_text(self, raw: int) -> str:
        """Format a quantity raw with exactly qty_dp decimals."""
        return fixed.to_text(raw, self.qty_dp)

    def check_order(self, px_raw: int, qty_raw: int) -> str | None:
        """Return why a limit order at (px_raw, qty_raw) would break a venue rule, or None.

        Checks, in order: positive price on the tick and within [min, max]; positive quantity
        on the step and within [min, max]; ``px_raw * qty_raw >= min_notional_raw``. All exact
        in Python ints (no float, no overflow). O(1).
        """
        if not 0 < px_raw <= _INT64_MAX:
            return f"price raw {px_raw} is not a positive int64"
        if px_raw % self.tick_raw:
            tick = self.px_text(self.tick_raw)
            return f"price {self.px_text(px_raw)} is not a multiple of tick {tick}"
        if self.min_px_raw and px_raw < self.min_px_raw:
            return f"price {self.px_text(px_raw)} below min {self.px_text(self.min_px_raw)}"
        if self.max_px_raw and px_raw > self.max_px_raw:
            return f"price {self.px_text(px_raw)} above max {self.px_text(self.max_px_raw)}"
        why = self.check_qty(qty_raw)
        if why is not None:
            return why
        notional = px_raw * qty_raw  # exact Python int at notional_dp
        if self.min_notional_raw and notional < self.min_notional_raw:
            # A notional below the minimum fits int64 because the minimum does.
            nd = self.notional_dp
            return (
                f"notional {fixed.to_text(notional, nd)} below min "
                f"{fixed.to_text(self.min_notional_raw, nd)}"
            )
        return None

    def check_qty(self, qty_raw: int) -> str | None:
        """Return why a quantity would break a venue rule, or None: positive int64 on the
        step and within [min, max]. The quantity half of `check_order`, alone for market
        orders (no price to check). O(1)."""
        if not 0 < qty_raw <= _INT64_MAX:
            return f"quantity raw {qty_raw} is not a positive int64"
        if qty_raw % self.step_raw:
            step = self.qty_text(self.step_raw)
            return f"quantity {self.qty_text(qty_raw)} is not a multiple of step {step}"
        if self.min_qty_raw and qty_raw < self.min_qty_raw:
            return f"quantity {self.qty_text(qty_raw)} below min {self.qty_text(self.min_qty_raw)}"
        if self.max_qty_raw and qty_raw > self.max_qty_raw:
            return f"quantity {self.qty_text(qty_raw)} above max {self.qty_text(self.max_qty_raw)}"
        return None
