"""Pre-trade checks of the gateway: order size, notional, price band, order and cancel rates.

Owns the limits of `RiskConfig` turned into exact integer raws per instrument, the latest
mid per instrument, the two token buckets, and the refusal texts and counters. Pure Python
ints (issue 6 moves the arithmetic to Cython); never float for prices or quantities. Must
not send, log, or know a venue's wire format: the gateway asks and reports.
"""

from collections.abc import Sequence
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field

from veloz._core import fixed
from veloz.errors import ConfigError
from veloz.errors import NumberError
from veloz.model.instrument import Instrument

__all__ = ["RULES", "PreTrade", "PreTradeCounters", "RiskConfig", "TokenBucket"]

# Rule names, in check order; every refusal text starts with one of these and ": ".
RULES = (
    "no_market_data",
    "max_order_qty",
    "max_notional",
    "price_band",
    "order_rate",
    "cancel_rate",
)
_BPS = 10_000
_INT64_MAX = 2**63 - 1


def _decimal(key: str, text: str) -> tuple[int, int]:
    # (raw, dp) of a positive decimal limit text such as "50000" or "0.5".
    try:
        dp = fixed.dp_of(text)
        raw = fixed.parse(text, dp)
    except NumberError as exc:
        raise ConfigError(f"{key}={text!r}: not a plain decimal ({exc})") from None
    if raw <= 0:
        raise ConfigError(f"{key}={text!r}: must be > 0")
    return raw, dp


def _at_dp(raw: int, dp: int, to_dp: int) -> int | None:
    # `raw` (at dp) as a Python int at to_dp, or None when digits would be lost.
    if to_dp >= dp:
        scaled: int = raw * 10 ** (to_dp - dp)
        return scaled
    q, r = divmod(raw, 10 ** (dp - to_dp))  # Python ints: exact at any size
    return None if r else q


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """The ``[risk]`` table of the gateway config.

    Defaults: ``max_order_qty={}``, ``max_notional="50000"``, ``price_band_bps=500``,
    ``max_orders_per_s=5.0``, ``max_cancels_per_s=10.0``, ``require_market_data=True``.

    Parameters
    ----------
    max_order_qty : dict of str to str
        Largest quantity of one order per symbol, decimal text in the base asset
        (``{BTCUSDT = "0.5"}``). A symbol left out is bounded by `max_notional` alone; a
        symbol the gateway does not trade is a config error (a typo must not pass).
    max_notional : str
        Largest ``price * quantity`` of one order, decimal text in the quote asset (every
        symbol). Market orders are valued at a reference price: BUY at mid raised by
        `price_band_bps` (the worst the band tolerates), SELL at mid (a sell fills at or
        below the bid); without a mid a market order is refused.
    price_band_bps : int
        A limit order's price may be at most this many basis points away from mid
        (either side), 1..10000.
    max_orders_per_s : float
        New orders per second over all symbols (token bucket, burst ``max(1, rate)``).
        Default 5: Binance spot allows 50 per 10 s per account (USD-M 300 per 10 s).
    max_cancels_per_s : float
        Cancels (and cancel-alls) per second, token bucket as above. Binance counts no
        cancel limit of its own beyond request weight; 10/s keeps us far from that.
    require_market_data : bool
        Refuse every order of a symbol until a BBO or book has given it a mid. When False,
        limit orders without a mid skip the price band (market orders are still refused:
        they need the mid for the notional check).

    Raises
    ------
    ConfigError
        A limit text that is not a positive plain decimal, a band outside 1..10000, a rate
        that is not positive.
    """

    max_order_qty: dict[str, str] = field(default_factory=dict)
    max_notional: str = "50000"
    price_band_bps: int = 500
    max_orders_per_s: float = 5.0
    max_cancels_per_s: float = 10.0
    require_market_data: bool = True

    def __post_init__(self) -> None:
        for symbol, text in self.max_order_qty.items():
            if symbol != symbol.upper() or not symbol.isalnum():
                raise ConfigError(f"max_order_qty.{symbol}: symbol must be upper-case A-Z0-9")
            _decimal(f"max_order_qty.{symbol}", text)
        _decimal("max_notional", self.max_notional)
        if not 1 <= self.price_band_bps <= _BPS:
            raise ConfigError(f"price_band_bps={self.price_band_bps}: must be 1..10000")
        if not self.max_orders_per_s > 0:
            raise ConfigError(f"max_orders_per_s={self.max_orders_per_s}: must be > 0")
        if not self.max_cancels_per_s > 0:
            raise ConfigError(f"max_cancels_per_s={self.max_cancels_per_s}: must be > 0")


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` held; starts full.

    Parameters
    ----------
    rate : float
        Refill, tokens per second (> 0).
    burst : float
        Capacity, tokens (>= 1).
    """

    __slots__ = ("_burst", "_last_ns", "_rate_per_ns", "_tokens", "rate")

    def __init__(self, rate: float, burst: float) -> None:
        if not rate > 0 or not burst >= 1:
            raise ConfigError(f"token bucket rate={rate} burst={burst}: need rate > 0, burst >= 1")
        self.rate = rate
        self._rate_per_ns = rate / 1e9
        self._burst = float(burst)
        self._tokens = float(burst)
        self._last_ns: int | None = None

    def take(self, now_ns: int) -> float:
        """Take one token at CLOCK_MONOTONIC `now_ns`.

        Returns
        -------
        float
            0.0 when taken; else the seconds until one is available (nothing taken). O(1).
        """
        last = self._last_ns
        if last is not None and now_ns > last:
            self._tokens = min(self._burst, self._tokens + (now_ns - last) * self._rate_per_ns)
        if last is None or now_ns > last:
            self._last_ns = now_ns
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


@dataclass(slots=True)
class PreTradeCounters:
    """Checks passed and refusals per rule (all counts since start)."""

    n_orders_passed: int = 0
    n_cancels_passed: int = 0
    n_no_market_data: int = 0
    n_max_order_qty: int = 0
    n_max_notional: int = 0
    n_price_band: int = 0
    n_order_rate: int = 0
    n_cancel_rate: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return asdict(self)


class _Limits:
    # One instrument's limits and latest mid, raws at its scales.
    __slots__ = ("inst", "max_notional", "max_qty", "mid_x2")

    def __init__(self, inst: Instrument, max_qty: int, max_notional: int) -> None:
        self.inst = inst
        self.max_qty = max_qty  # raw at qty_dp; 0 = no per-symbol bound
        self.max_notional = max_notional  # Python int at price_dp + qty_dp
        self.mid_x2 = 0  # best bid + best ask, raw at price_dp; 0 = no market data


class PreTrade:
    """Pre-trade checks over a fixed set of instruments, addressed by slot number.

    Parameters
    ----------
    cfg : RiskConfig
        The limits.
    instruments : sequence of Instrument
        The instruments orders may be checked for; slot ``i`` is ``instruments[i]``.

    Raises
    ------
    ConfigError
        A ``max_order_qty`` symbol that is not among `instruments`, or a limit with more
        decimals than the instrument's scale allows.
    """

    def __init__(self, cfg: RiskConfig, instruments: Sequence[Instrument]) -> None:
        self.config = cfg
        self.counters = PreTradeCounters()
        symbols = {inst.symbol for inst in instruments}
        for symbol in cfg.max_order_qty:
            if symbol not in symbols:
                raise ConfigError(
                    f"risk.max_order_qty.{symbol}: not a symbol of this gateway "
                    f"({', '.join(sorted(symbols)) or 'none'})"
                )
        notional_raw, notional_dp = _decimal("max_notional", cfg.max_notional)
        self._slots: list[_Limits] = []
        self._by_symbol: dict[str, int] = {}
        for inst in instruments:
            max_qty = 0
            text = cfg.max_order_qty.get(inst.symbol)
            if text is not None:
                raw, dp = _decimal(f"max_order_qty.{inst.symbol}", text)
                scaled = _at_dp(raw, dp, inst.qty_dp)
                if scaled is None:
                    raise ConfigError(
                        f"risk.max_order_qty.{inst.symbol}={text!r}: more decimals than the "
                        f"quantity scale ({inst.qty_dp})"
                    )
                max_qty = scaled
            max_notional = _at_dp(notional_raw, notional_dp, inst.notional_dp)
            if max_notional is None:
                raise ConfigError(
                    f"risk.max_notional={cfg.max_notional!r}: more decimals than "
                    f"{inst.symbol}'s notional scale ({inst.notional_dp})"
                )
            self._by_symbol[inst.symbol] = len(self._slots)
            self._slots.append(_Limits(inst, max_qty, max_notional))
        burst = max(1.0, cfg.max_orders_per_s)
        self._orders = TokenBucket(cfg.max_orders_per_s, burst)
        self._cancels = TokenBucket(cfg.max_cancels_per_s, max(1.0, cfg.max_cancels_per_s))

    # ---- instruments and market data ------------------------------------------------------

    def slot(self, symbol: str) -> int:
        """Return the slot of `symbol`. Raises KeyError for a symbol not given at start."""
        return self._by_symbol[symbol]

    def instrument(self, slot: int) -> Instrument:
        """Return the instrument of `slot`."""
        return self._slots[slot].inst

    def set_mid(self, slot: int, bid_px: int, ask_px: int) -> None:
        """Record the best bid and ask (raws at the instrument's price_dp). O(1).

        A side missing (<= 0) or a crossed pair clears the mid instead.
        """
        lim = self._slots[slot]
        lim.mid_x2 = bid_px + ask_px if 0 < bid_px <= ask_px else 0

    def clear_mid(self, slot: int) -> None:
        """Forget the mid (the feed went stale): orders wait for new market data."""
        self._slots[slot].mid_x2 = 0

    def mid_x2(self, slot: int) -> int:
        """Best bid + best ask raw (twice the mid), 0 when unknown."""
        return self._slots[slot].mid_x2

    # ---- checks ----------------------------------------------------------------------------

    def check_new(
        self, slot: int, is_buy: bool, is_market: bool, px: int, qty: int, now_ns: int
    ) -> str | None:
        """Check a new order; return None when it may go, else the refusal text.

        Rules in order: market data, ``max_order_qty``, ``max_notional``, ``price_band``
        (limit orders), ``order_rate`` (last, so a refused order costs no token). The text
        starts with the rule's name: ``"max_notional: 61234.50 > 50000.00 USDT"``. O(1).

        Parameters
        ----------
        slot : int
            The instrument's slot.
        is_buy, is_market : bool
            Side, and MARKET (no price) versus a priced order.
        px : int
            Limit price raw at price_dp (ignored for market orders).
        qty : int
            Quantity raw at qty_dp.
        now_ns : int
            CLOCK_MONOTONIC ns, for the rate bucket.
        """
        lim = self._slots[slot]
        inst = lim.inst
        c = self.counters
        mid_x2 = lim.mid_x2
        if not mid_x2 and (is_market or self.config.require_market_data):
            c.n_no_market_data += 1
            what = "a market order needs a mid" if is_market else "no BBO or book yet"
            return f"no_market_data: {inst.symbol}: {what}"
        if lim.max_qty and qty > lim.max_qty:
            c.n_max_order_qty += 1
            return f"max_order_qty: {inst.qty_text(qty)} > {inst.qty_text(lim.max_qty)} {inst.base}"
        band = self.config.price_band_bps
        if is_market:
            # Reference price x2: BUY at mid + band (rounded up), SELL at mid.
            ref_x2 = -(-mid_x2 * (_BPS + band) // _BPS) if is_buy else mid_x2
            notional_x2 = ref_x2 * qty
        else:
            notional_x2 = 2 * px * qty
        if notional_x2 > 2 * lim.max_notional:
            c.n_max_notional += 1
            unit = 2 * 10**inst.qty_dp
            shown = -(-notional_x2 // unit)  # rounded up to price_dp: never shows "<= limit"
            limit = lim.max_notional // (unit // 2)
            ref = " (market, at the band's worst price)" if is_market else ""
            return (
                f"max_notional: {_text(shown, inst.price_dp)} > {_text(limit, inst.price_dp)} "
                f"{inst.quote}{ref}"
            )
        if not is_market and mid_x2:
            off = abs(2 * px - mid_x2)
            if off * _BPS > band * mid_x2:
                c.n_price_band += 1
                return (
                    f"price_band: {inst.px_text(px)} is {off * _BPS // mid_x2} bps from mid "
                    f"{_mid_text(mid_x2, inst.price_dp)} (max {band} bps)"
                )
        wait_s = self._orders.take(now_ns)
        if wait_s > 0:
            c.n_order_rate += 1
            return f"order_rate: over {self._orders.rate:g} orders/s (next in {wait_s:.3f} s)"
        c.n_orders_passed += 1
        return None

    def check_cancel(self, now_ns: int) -> str | None:
        """Check one cancel or cancel-all against the cancel rate; None = may go. O(1)."""
        wait_s = self._cancels.take(now_ns)
        if wait_s > 0:
            self.counters.n_cancel_rate += 1
            return f"cancel_rate: over {self._cancels.rate:g} cancels/s (next in {wait_s:.3f} s)"
        self.counters.n_cancels_passed += 1
        return None


def _text(value: int, dp: int) -> str:
    # A Python-int amount at dp as text; past int64 (a fat-finger order) only its bound.
    if -_INT64_MAX <= value <= _INT64_MAX:
        return fixed.to_text(value, dp)
    return f">{fixed.to_text(_INT64_MAX, dp)}"


def _mid_text(mid_x2: int, dp: int) -> str:
    # The exact mid: half a tick needs one more decimal.
    if mid_x2 % 2 == 0 or dp >= 18:
        return fixed.to_text(mid_x2 // 2, dp)
    return fixed.to_text(mid_x2 * 5, dp + 1)
