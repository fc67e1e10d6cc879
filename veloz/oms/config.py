"""`GatewayConfig`: the strict TOML of `veloz gateway` (example: config/examples/gateway.toml).

Owns the gateway's config keys, their defaults and their range checks. Must not hold
secrets: the trade key comes from the key store (``veloz gateway --key NAME``) or the
environment (``VELOZ_API_KEY`` with ``VELOZ_API_SECRET`` or ``VELOZ_API_ED25519_KEY_FILE``),
never from this file.
"""

from dataclasses import dataclass
from dataclasses import field
from urllib.parse import urlsplit

from veloz.bus.endpoints import BusConfig
from veloz.errors import ConfigError
from veloz.risk.config import RiskLimits

__all__ = ["LEVELS", "TRANSPORTS", "VENUES", "GatewayConfig"]

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
VENUES = ("binance-spot", "binance-usdm")
TRANSPORTS = ("wsapi", "rest")
JOURNAL_SYNCS = ("data", "write")


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    """What one gateway trades and how.

    Defaults: ``log_level="INFO"``, ``venue="binance-spot"``, ``rest_url=None`` and
    ``ws_url=None`` (real Binance), ``transport="wsapi"``, ``symbols=["BTCUSDT"]``,
    ``latency_interval_s=1.0``, ``status_interval_s=10.0``, ``journal_sync="data"``,
    ``risk`` = `RiskLimits` defaults, ``bus`` = `BusConfig` defaults.

    Parameters
    ----------
    venue : str
        "binance-spot" or "binance-usdm".
    rest_url, ws_url : str or None
        ``http://host:port`` and ``ws://host:port`` bases (the simulator); the WS API and
        private streams are reached under `ws_url` at the product's usual paths.
    transport : str
        Place, cancel and query over "wsapi" (default) or "rest".
    symbols : list of str
        Symbols orders may be sent for (upper case); the gateway follows their market
        data ``md.<venue>.<SYMBOL>`` for the mid.
    latency_interval_s : float
        Seconds between ``lat.gateway`` snapshots on ``exec``.
    status_interval_s : float
        Seconds between ``gateway.status`` log lines.
    journal_sync : str
        When a command's journal record must be on disk: "data" (default): fdatasync'd
        before the send, so it survives a machine crash; "write": handed to the kernel
        before the send (survives a crash of the process, not of the machine) and
        fdatasync'd within 50 ms. "write" takes the disk's sync time (here 0.1-4 ms at
        p99 under load) off trigger-to-send; an order a machine crash drops from the journal
        is still found by recovery (open orders, trade history), owned by nobody.
    risk : RiskLimits
        Pre-trade limits and risk state triggers (``[risk]``).
    bus : BusConfig
        Run dir and transport (``[bus]``); ``--run-dir`` overrides ``run_dir``.

    Raises
    ------
    ConfigError
        A value outside its rule; the message starts with the key.
    """

    log_level: str = "INFO"
    venue: str = "binance-spot"
    rest_url: str | None = None
    ws_url: str | None = None
    transport: str = "wsapi"
    symbols: list[str] = field(default_factory=lambda: ["BTCUSDT"])
    latency_interval_s: float = 1.0
    status_interval_s: float = 10.0
    journal_sync: str = "data"
    risk: RiskLimits = field(default_factory=RiskLimits)
    bus: BusConfig = field(default_factory=BusConfig)

    def __post_init__(self) -> None:
        if self.log_level not in LEVELS:
            raise ConfigError(f"log_level={self.log_level!r}: must be one of {', '.join(LEVELS)}")
        if self.venue not in VENUES:
            raise ConfigError(f"venue={self.venue!r}: must be one of {', '.join(VENUES)}")
        if self.transport not in TRANSPORTS:
            raise ConfigError(
                f"transport={self.transport!r}: must be one of {', '.join(TRANSPORTS)}"
            )
        _url("rest_url", self.rest_url, ("http", "https"))
        _url("ws_url", self.ws_url, ("ws", "wss"))
        if not self.symbols:
            raise ConfigError("symbols=[]: need at least one symbol")
        for sym in self.symbols:
            if not sym or sym != sym.upper() or not sym.isalnum():
                raise ConfigError(f"symbols: {sym!r} must be an upper-case symbol (A-Z, 0-9)")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(f"symbols={self.symbols!r}: listed twice")
        if not self.latency_interval_s > 0:
            raise ConfigError(f"latency_interval_s={self.latency_interval_s}: must be > 0")
        if not self.status_interval_s > 0:
            raise ConfigError(f"status_interval_s={self.status_interval_s}: must be > 0")
        if self.journal_sync not in JOURNAL_SYNCS:
            raise ConfigError(
                f"journal_sync={self.journal_sync!r}: must be one of {', '.join(JOURNAL_SYNCS)}"
            )
        for key, table in (
            ("max_order_qty", self.risk.max_order_qty),
            ("max_position", self.risk.max_position),
        ):
            for sym in table:
                if sym not in self.symbols:
                    raise ConfigError(
                        f"risk.{key}.{sym}: not in symbols ({', '.join(self.symbols)})"
                    )


def _url(key: str, url: str | None, schemes: tuple[str, str]) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.netloc:
        raise ConfigError(f"{key}={url!r}: expected {' or '.join(schemes)}://host[:port]")
