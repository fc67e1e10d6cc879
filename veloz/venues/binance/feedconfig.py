"""What one Binance feed is asked to do (`FeedConfig`), what it reports (`FeedCounters`), and
the ``veloz feed`` config file around it (`FeedProcessConfig`).

Owns the feed's settings, their validation against the venue's rules (stream speeds, snapshot
limits) and the stream names they imply, and the counters' names. Must not open connections,
touch books or log: the feed (`feed`) and its connections (`feedlinks`) do.
"""

from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field

from veloz.bus.endpoints import BusConfig
from veloz.errors import ConfigError
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.endpoints import endpoints

__all__ = ["KLINE_INTERVAL_S", "FeedConfig", "FeedCounters", "FeedProcessConfig"]

_SPEEDS = {"binance-spot": (100, 1000), "binance-usdm": (100, 250, 500)}
_DEFAULT_SPEED_MS = {"binance-spot": 1000, "binance-usdm": 250}  # the bare "@depth" stream
_USDM_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# Binance kline intervals -> nominal seconds ("1M" = 30 days; its real bounds are in the
# message's open and close times). "1s" exists on spot only.
KLINE_INTERVAL_S = {
    "1s": 1,
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "2h": 7200,
    "4h": 14400,
    "6h": 21600,
    "8h": 28800,
    "12h": 43200,
    "1d": 86400,
    "3d": 259200,
    "1w": 604800,
    "1M": 2592000,
}


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """What one feed subscribes to and how it keeps the connections and the book alive.

    Defaults: ``venue="binance-spot"``, ``symbol="BTCUSDT"``, ``ws_url=None`` and
    ``rest_url=None`` (real Binance), ``depth_speed_ms=100``, ``snapshot_limit=1000``,
    ``trades=True``, ``book_ticker=False``, ``klines=()``, ``redundant=False``,
    ``silence_timeout_s=10.0``,
    ``rollover_after_s=82800.0`` (23 h), ``reconnect_min_s=0.2``, ``reconnect_max_s=30.0``,
    ``snapshot_timeout_s=10.0``, ``max_buffered=10000``.

    Parameters
    ----------
    venue : str
        ``"binance-spot"`` or ``"binance-usdm"``.
    symbol : str
        Venue symbol, e.g. ``"BTCUSDT"`` (any case; streams use lower case).
    ws_url, rest_url : str or None
        Bases (``ws://127.0.0.1:PORT``, ``http://127.0.0.1:PORT``); None means real Binance.
    depth_speed_ms : int
        Diff-depth period: spot 100 or 1000 (``@depth``); USD-M 100, 250 (``@depth``) or 500.
    snapshot_limit : int
        REST snapshot depth: spot 1..5000; USD-M 5, 10, 20, 50, 100, 500 or 1000.
    trades : bool
        Subscribe to trades (spot ``@trade`` on the depth connection; USD-M ``@aggTrade`` on
        a second connection to ``/market`` that never affects the book's validity).
    book_ticker : bool
        Subscribe to ``@bookTicker`` (published through ``Publisher.bbo``).
    klines : tuple of str
        Kline intervals to subscribe (``["1m"]`` -> ``@kline_1m``, published through
        ``Publisher.kline``); spot on the depth connection, USD-M beside the trades.
    redundant : bool
        Open two identical depth connections into one sync machine.
    silence_timeout_s : float
        A connection with no frame of any kind for this long is dead; also the connect and
        rollover-join timeout.
    rollover_after_s : float
        Age at which a connection is replaced (make-before-break), plus a little jitter.
    reconnect_min_s, reconnect_max_s : float
        Reconnect backoff bounds (exponential, full jitter between them).
    snapshot_timeout_s : float
        Timeout of one REST snapshot request.
    max_buffered : int
        Diffs buffered while waiting for a snapshot.

    Raises
    ------
    ConfigError
        A value outside its rule; the message starts with the field name.
    """

    venue: str = "binance-spot"
    symbol: str = "BTCUSDT"
    ws_url: str | None = None
    rest_url: str | None = None
    depth_speed_ms: int = 100
    snapshot_limit: int = 1000
    trades: bool = True
    book_ticker: bool = False
    klines: tuple[str, ...] = ()
    redundant: bool = False
    silence_timeout_s: float = 10.0
    rollover_after_s: float = 23 * 3600.0
    reconnect_min_s: float = 0.2
    reconnect_max_s: float = 30.0
    snapshot_timeout_s: float = 10.0
    max_buffered: int = 10000

    def __post_init__(self) -> None:
        ep = endpoints(self.venue)  # ConfigError naming venue
        _need(
            bool(self.symbol) and self.symbol.isascii() and self.symbol.isalnum(),
            "symbol",
            self.symbol,
            "letters and digits, e.g. BTCUSDT",
        )
        ep.with_urls(rest_url=self.rest_url, ws_url=self.ws_url)  # ConfigError naming the URL
        speeds = _SPEEDS[self.venue]
        _need(
            self.depth_speed_ms in speeds,
            "depth_speed_ms",
            self.depth_speed_ms,
            f"one of {', '.join(map(str, speeds))} on {self.venue}",
        )
        if ep.is_usdm:
            _need(
                self.snapshot_limit in _USDM_LIMITS,
                "snapshot_limit",
                self.snapshot_limit,
                f"one of {', '.join(map(str, _USDM_LIMITS))} on binance-usdm",
            )
        else:
            _need(
                1 <= self.snapshot_limit <= ep.snapshot_limit_max,
                "snapshot_limit",
                self.snapshot_limit,
                f"1..{ep.snapshot_limit_max} on binance-spot",
            )
        for name in ("silence_timeout_s", "rollover_after_s", "reconnect_min_s"):
            _need(getattr(self, name) > 0, name, getattr(self, name), "> 0")
        _need(self.snapshot_timeout_s > 0, "snapshot_timeout_s", self.snapshot_timeout_s, "> 0")
        _need(
            self.reconnect_max_s >= self.reconnect_min_s,
            "reconnect_max_s",
            self.reconnect_max_s,
            f">= reconnect_min_s ({self.reconnect_min_s})",
        )
        _need(self.max_buffered >= 1, "max_buffered", self.max_buffered, ">= 1")
        for interval in self.klines:
            _need(
                interval in KLINE_INTERVAL_S and not (ep.is_usdm and interval == "1s"),
                "klines",
                interval,
                f"a Binance kline interval ({', '.join(KLINE_INTERVAL_S)}; no 1s on USD-M)",
            )
        _need(len(set(self.klines)) == len(self.klines), "klines", self.klines, "without repeats")

    def endpoints(self) -> Endpoints:
        """The venue's endpoints with `ws_url` / `rest_url` applied."""
        return endpoints(self.venue).with_urls(rest_url=self.rest_url, ws_url=self.ws_url)

    def depth_stream(self) -> str:
        """The diff-depth stream name, e.g. ``btcusdt@depth@100ms``."""
        sym = self.symbol.lower()
        if self.depth_speed_ms == _DEFAULT_SPEED_MS[self.venue]:
            return f"{sym}@depth"
        return f"{sym}@depth@{self.depth_speed_ms}ms"

    def depth_streams(self) -> list[str]:
        """Streams of one depth connection (spot trades ride along; USD-M trades do not)."""
        sym = self.symbol.lower()
        streams = [self.depth_stream()]
        if self.trades and self.venue == "binance-spot":
            streams.append(f"{sym}@trade")
        if self.book_ticker:
            streams.append(f"{sym}@bookTicker")
        if self.venue == "binance-spot":
            streams.extend(f"{sym}@kline_{i}" for i in self.klines)
        return streams

    def trade_streams(self) -> list[str]:
        """Streams of the separate USD-M ``/market`` connection: aggTrade and klines (empty on
        spot, or without trades and klines)."""
        if self.venue != "binance-usdm":
            return []
        sym = self.symbol.lower()
        streams = [f"{sym}@aggTrade"] if self.trades else []
        return streams + [f"{sym}@kline_{i}" for i in self.klines]


@dataclass(frozen=True, slots=True)
class FeedProcessConfig:
    """The ``veloz feed`` config file: process keys at the top, ``[feed]``, ``[bus]``.

    Defaults: ``log_level="INFO"``, ``status_interval_s=5.0``, ``depth_levels=5`` (levels
    per side in book events: ``--print`` lines and bus BOOK messages), ``feed`` =
    `FeedConfig` defaults, ``bus`` = `BusConfig` defaults (run dir from the environment).
    """

    feed: FeedConfig = field(default_factory=FeedConfig)
    bus: BusConfig = field(default_factory=BusConfig)
    log_level: str = "INFO"
    status_interval_s: float = 5.0
    depth_levels: int = 5

    def __post_init__(self) -> None:
        if self.log_level not in _LEVELS:
            raise ConfigError(f"log_level={self.log_level!r}: must be one of {', '.join(_LEVELS)}")
        if self.status_interval_s <= 0:
            raise ConfigError(f"status_interval_s={self.status_interval_s!r}: must be > 0")
        if not 1 <= self.depth_levels <= 1000:
            raise ConfigError(f"depth_levels={self.depth_levels!r}: must be 1..1000")


def _need(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise ConfigError(f"{name}={value!r}: must be {rule}")


@dataclass(slots=True)
class FeedCounters:
    """What a feed saw since it started; every field an int, read any time.

    ``n_stale`` counts depth diffs older than the book on a single depth stream;
    ``n_dup_dropped`` counts events already handled that arrived again because more than
    one connection carries the stream (redundant depth, or trades/tickers during a
    rollover's overlap). ``ingest_to_publish_*`` are CLOCK_MONOTONIC ns from frame receipt
    to the publisher call's return (book, bbo and trade events; not the first book after a
    sync, whose last diff waited for the REST snapshot).
    """

    n_frames: int = 0
    n_malformed: int = 0
    n_wrong_symbol: int = 0
    n_unknown: int = 0
    n_gaps: int = 0
    n_resyncs: int = 0
    n_reconnects: int = 0
    n_stale: int = 0
    n_snapshots: int = 0
    n_snapshot_errors: int = 0
    n_snapshots_too_old: int = 0
    n_rollovers: int = 0
    n_silence_timeouts: int = 0
    n_server_shutdowns: int = 0
    n_published: int = 0
    n_dup_dropped: int = 0
    n_connect_errors: int = 0
    n_venue_errors: int = 0
    n_internal_errors: int = 0
    ingest_to_publish_ns_sum: int = 0
    ingest_to_publish_ns_max: int = 0
    ingest_to_publish_n: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counters as a plain dict (JSON-ready)."""
        return asdict(self)
