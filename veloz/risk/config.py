"""The ``[risk]`` table: pre-trade limits (issue 5 keys kept) plus issue 6's limits and triggers.

Owns `RiskLimits`, a strict superset of `veloz.risk.pretrade.RiskConfig` (every existing key
keeps its meaning and default), its range checks, and the decimal-text to raw conversions the
engine needs. Must not load files (``veloz.config.loader.build`` does) or hold runtime state.
"""

from dataclasses import dataclass
from dataclasses import field

from veloz._core import fixed
from veloz.errors import ConfigError
from veloz.errors import NumberError
from veloz.risk.pretrade import RiskConfig

__all__ = ["RiskLimits", "decimal_raw"]


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


def _check_decimal(key: str, text: str) -> None:
    # A non-negative plain decimal at its own scale (the instrument's scale is checked later).
    try:
        dp = fixed.dp_of(text)
    except NumberError as exc:
        raise ConfigError(f"{key}={text!r}: not a plain decimal ({exc})") from None
    decimal_raw(key, text, dp)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """The ``[risk]`` table of the gateway config (issue 6).

    Keys of `RiskConfig` (``max_order_qty``, ``max_notional``, ``price_band_bps``,
    ``max_orders_per_s``, ``max_cancels_per_s``, ``require_market_data``) keep their meaning
    and defaults. New keys and defaults: ``max_position={}``, ``max_gross_notional="0"``,
    ``max_drawdown="0"``, ``daily_loss_limit="0"``, ``stale_feed_s=5.0``,
    ``check_book_live=True``, ``latency_p99_us=0.0``, ``error_spike_count=20``,
    ``error_spike_window_s=10.0``, ``recover_after_s=30.0``, ``webhook_url=""``,
    ``webhook_timeout_s=2.0``. A decimal limit of ``"0"`` (or 0.0) switches that rule off.

    Parameters
    ----------
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
        As `RiskConfig`, plus a bad decimal, a negative duration or count, a bad URL.
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
        self.pretrade()  # the issue 5 rules, unchanged
        for symbol, text in self.max_position.items():
            if symbol != symbol.upper() or not symbol.isalnum():
                raise ConfigError(f"max_position.{symbol}: symbol must be upper-case A-Z0-9")
            _check_decimal(f"max_position.{symbol}", text)
        for key in ("max_gross_notional", "max_drawdown", "daily_loss_limit"):
            _check_decimal(key, getattr(self, key))
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

    def pretrade(self) -> RiskConfig:
        """Return the issue 5 `RiskConfig` subset (what the gateway's `PreTrade` takes)."""
        return RiskConfig(
            max_order_qty=dict(self.max_order_qty),
            max_notional=self.max_notional,
            price_band_bps=self.price_band_bps,
            max_orders_per_s=self.max_orders_per_s,
            max_cancels_per_s=self.max_cancels_per_s,
            require_market_data=self.require_market_data,
        )
