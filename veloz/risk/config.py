"""The ``[risk]`` table: the pre-trade limits and the risk state triggers.

Owns `RiskLimits` (the issue-5 keys keep their meaning and defaults), its range checks, and
the decimal-text to raw conversions the engine needs. Must not load files
(``veloz.config.loader.build`` does) or hold runtime state.
"""

from dataclasses import dataclass
from dataclasses import field

from veloz._core import fixed
from veloz.errors import ConfigError
from veloz.errors import NumberError

__all__ = ["RiskLimits", "decimal_limit", "decimal_raw"]

_BPS = 10_000
_MIN_RATE, _MAX_RATE = 0.001, 1e9  # what the core's token buckets can hold


def decimal_raw(key: str, text: str, dp: int, allow_zero: bool = True) -> int:
    """Return the non-negative decimal `text` as a raw at `dp`.

    Raises
    ------
    ConfigError
        Not a plain decimal, negative, zero when `allow_zero` is False, or more decimals
        than `dp` allows; the message names `key`.
    """
    try:
        raw = fixed.parse(text, dp)
    except NumberError as exc:
        raise ConfigError(f"{key}={text!r}: not a plain decimal at {dp} decimals ({exc})") from None
    if raw < 0 or (raw == 0 and not allow_zero):
        raise ConfigError(f"{key}={text!r}: must be {'>= 0' if allow_zero else '> 0'}")
    return raw


def decimal_limit(key: str, text: str, allow_zero: bool = True) -> tuple[int, int]:
    """Return the non-negative decimal `text` as ``(raw, dp)`` at its own decimals.

    Raises
    ------
    ConfigError
        Not a plain decimal, more than 18 decimals, past int64 at its decimals, negative,
        or zero when `allow_zero` is False; the message names `key`.
    """
    try:
        dp = fixed.dp_of(text)
    except NumberError as exc:
        raise ConfigError(f"{key}={text!r}: not a plain decimal ({exc})") from None
    if dp > 18:
        raise ConfigError(f"{key}={text!r}: more than 18 decimals")
    return decimal_raw(key, text, dp, allow_zero), dp


def _check_symbol(key: str, symbol: str) -> None:
    if symbol != symbol.upper() or not symbol.isalnum():
        raise ConfigError(f"{key}.{symbol}: symbol must be upper-case A-Z0-9")


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The ``[risk]`` table of the gateway config (issue 6).

    Defaults: ``max_order_qty={}``, ``max_notional="50000"``, ``price_band_bps=500``,
    ``max_orders_per_s=5.0``, ``max_cancels_per_s=10.0``, ``require_market_data=True``,
    ``max_position={}``, ``max_gross_notional="0"``,
    ``max_drawdown="0"``, ``daily_loss_limit="0"``, ``stale_feed_s=5.0``,
    ``check_book_live=True``, ``latency_p99_us=0.0``, ``error_spike_count=20``,
    ``error_spike_window_s=10.0``, ``recover_after_s=30.0``, ``webhook_url=""``,
    ``webhook_timeout_s=2.0``. A decimal limit of ``"0"`` (or 0.0) switches that rule off,
    except ``max_notional`` and ``max_order_qty``, which must be > 0.

    Parameters
    ----------
    max_order_qty : dict of str to str
        Largest quantity of one order per symbol, decimal text in the base asset
        (``{BTCUSDT = "0.5"}``). A symbol left out is bounded by `max_notional` alone; a
        symbol the gateway does not trade is a config error (a typo must not pass).
    max_notional : str
        Largest ``price * quantity`` of one order, decimal text in the quote asset (every
        symbol; exact at any number of decimals). Market orders are valued at a reference
        price: BUY at mid raised by `price_band_bps` (the worst the band tolerates), SELL
        at mid (a sell fills at or below the bid); without a mid a market order is refused.
    price_band_bps : int
        A limit order's price may be at most this many basis points away from mid
        (either side, exact against the half-tick mid), 1..10000.
    max_orders_per_s : float
        New orders per second over all symbols (token bucket, burst ``max(1, rate)``),
        0.001..1e9. Default 5: Binance spot allows 50 per 10 s per account (USD-M 300 per
        10 s).
    max_cancels_per_s : float
        Cancels (and cancel-alls) per second, token bucket as above. Binance counts no
        cancel limit of its own beyond request weight; 10/s keeps us far from that.
    require_market_data : bool
        Refuse every order of a symbol until a BBO or book has given it a mid. When False,
        limit orders without a mid skip the price band (market orders are still refused:
        they need the mid for the notional check).
    max_position : dict of str to str
        Largest ``|position|`` per symbol after an order, base asset (orders that shrink the
        position always pass this rule).
    max_gross_notional : str
        Largest sum over symbols of ``|position| * mid``, quote asset (one quote assumed).
    max_drawdown : str
        Equity drop from its peak, quote asset, that degrades to REDUCE_ONLY.
    daily_loss_limit : str
        Equity drop from the UTC day's first equity, quote asset, that degrades to CANCEL_ONLY.
    stale_feed_s : float
        A symbol without market data for this long is CANCEL_ONLY (that symbol only); 0 = off.
    check_book_live : bool
        A symbol whose book is not live (resyncing) is CANCEL_ONLY (that symbol only).
    latency_p99_us : float
        Order-path p99 latency above this degrades to REDUCE_ONLY; 0 = off.
    error_spike_count, error_spike_window_s : int, float
        That many rejects plus errors within the window degrade to CANCEL_ONLY; count 0 = off.
    recover_after_s : float
        A condition must have been gone this long before the state steps back up.
    webhook_url : str
        ``http(s)://`` URL every state change is POSTed to as JSON; empty = none.
    webhook_timeout_s : float
        Timeout of one webhook POST.

    Raises
    ------
    ConfigError
        A limit text that is not a plain decimal (or not positive where it must be), a band
        outside 1..10000, a rate outside 0.001..1e9, a negative duration or count, a bad URL.
    """

    max_order_qty: dict[str, str] = field(default_factory=dict)
    max_notional: str = "50000"
    price_band_bps: int = 500
    max_orders_per_s: float = 5.0
    max_cancels_per_s: float = 10.0
    require_market_data: bool = True
    max_position: dict[str, str] = field(default_factory=dict)
    max_gross_notional: str = "0"
    max_drawdown: str = "0"
    daily_loss_limit: str = "0"
    stale_feed_s: float = 5.0
    check_book_live: bool = True
    latency_p99_us: float = 0.0
    error_spike_count: int = 20
    error_spike_window_s: float = 10.0
    recover_after_s: float = 30.0
    webhook_url: str = ""
    webhook_timeout_s: float = 2.0

    def __post_init__(self) -> None:
        for symbol, text in self.max_order_qty.items():
            _check_symbol("max_order_qty", symbol)
            decimal_limit(f"max_order_qty.{symbol}", text, allow_zero=False)
        decimal_limit("max_notional", self.max_notional, allow_zero=False)
        if not 1 <= self.price_band_bps <= _BPS:
            raise ConfigError(f"price_band_bps={self.price_band_bps}: must be 1..10000")
        for key in ("max_orders_per_s", "max_cancels_per_s"):
            if not _MIN_RATE <= getattr(self, key) <= _MAX_RATE:
                raise ConfigError(f"{key}={getattr(self, key)}: must be 0.001..1e9")
        for symbol, text in self.max_position.items():
            _check_symbol("max_position", symbol)
            decimal_limit(f"max_position.{symbol}", text)
        for key in ("max_gross_notional", "max_drawdown", "daily_loss_limit"):
            decimal_limit(key, getattr(self, key))
        for key in ("stale_feed_s", "latency_p99_us", "recover_after_s"):
            if not getattr(self, key) >= 0:
                raise ConfigError(f"{key}={getattr(self, key)}: must be >= 0")
        if self.error_spike_count < 0:
            raise ConfigError(f"error_spike_count={self.error_spike_count}: must be >= 0")
        if not self.error_spike_window_s > 0:
            raise ConfigError(f"error_spike_window_s={self.error_spike_window_s}: must be > 0")
        if not self.webhook_timeout_s > 0:
            raise ConfigError(f"webhook_timeout_s={self.webhook_timeout_s}: must be > 0")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ConfigError(f"webhook_url={self.webhook_url!r}: must start with http(s)://")
