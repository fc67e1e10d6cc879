"""Where Binance spot and USD-M live: base URLs, REST paths and stream URL building.

Owns every Binance URL and path the clients use, and the USD-M rule that high-frequency
public streams (depth, bookTicker) and regular market streams (trades, klines, mark price)
are served on different paths (`/public`, `/market`) since 2026-03. Must not open sockets.
"""

from dataclasses import dataclass
from dataclasses import replace
from urllib.parse import urlsplit

from veloz.errors import ConfigError

__all__ = ["SPOT", "USDM", "VENUES", "Endpoints", "endpoints"]

# USD-M stream kinds served on /public (FD "Important WebSocket Change Notice"); the rest
# go to /market. Keyed by the text after "<symbol>@" up to the next "@".
_USDM_PUBLIC_KINDS = frozenset({"depth", "depth5", "depth10", "depth20", "bookTicker"})


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Base URLs and REST paths of one Binance product.

    ``rest_url`` and ``ws_url`` are bases without a trailing slash; ``ws_api_url`` is the
    full WebSocket-API URL. Paths are absolute (start with "/").
    """

    venue: str
    is_usdm: bool
    rest_url: str
    ws_url: str
    ws_api_url: str
    time_path: str
    exchange_info_path: str
    depth_path: str
    order_path: str
    open_orders_path: str
    cancel_all_path: str
    account_path: str
    listen_key_path: str
    snapshot_limit_max: int

    def stream_url(self, streams: list[str]) -> str:
        """Return the combined-stream URL for `streams` (lower-case names, e.g. btcusdt@depth).

        On USD-M every stream must belong to the same path group (`/public` or `/market`);
        mixing them is a ValueError because the venue would silently send nothing for the
        misplaced ones.
        """
        if not streams:
            raise ValueError("no streams to subscribe")
        if not self.is_usdm:
            return f"{self.ws_url}/stream?streams={'/'.join(streams)}"
        groups = {self.stream_group(s) for s in streams}
        if len(groups) != 1:
            raise ValueError(f"USD-M streams span /public and /market: {streams}")
        return f"{self.ws_url}/{groups.pop()}/stream?streams={'/'.join(streams)}"

    def stream_group(self, stream: str) -> str:
        """Return "public" or "market" for a USD-M stream name, "" on spot."""
        if not self.is_usdm:
            return ""
        kind = stream.split("@", 2)[1] if "@" in stream else stream
        return "public" if kind in _USDM_PUBLIC_KINDS else "market"

    def private_url(self, listen_key: str) -> str:
        """Return the USD-M user-data stream URL for `listen_key` (ValueError on spot)."""
        if not self.is_usdm:
            raise ValueError("spot user data comes over the WS API, not a listenKey stream")
        return f"{self.ws_url}/private/ws/{listen_key}"

    def with_urls(
        self, rest_url: str | None = None, ws_url: str | None = None, ws_api_url: str | None = None
    ) -> "Endpoints":
        """Return a copy pointing at other hosts (the simulator, a test server).

        A URL is checked for scheme and host; ConfigError names the bad one.
        """
        return replace(
            self,
            rest_url=_checked("rest_url", rest_url, self.rest_url, ("http", "https")),
            ws_url=_checked("ws_url", ws_url, self.ws_url, ("ws", "wss")),
            ws_api_url=_checked("ws_api_url", ws_api_url, self.ws_api_url, ("ws", "wss")),
        )

    def at_base(self, base_url: str) -> "Endpoints":
        """Return a copy with every URL on one host, as `veloz sim` serves them.

        `base_url` is ``http://host:port``; websocket URLs use ``ws://`` on the same port.
        """
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"base_url={base_url!r}: expected http(s)://host[:port]")
        ws_scheme = "wss" if parts.scheme == "https" else "ws"
        ws_base = f"{ws_scheme}://{parts.netloc}"
        api_path = urlsplit(self.ws_api_url).path
        return self.with_urls(base_url, ws_base, ws_base + api_path)


def _checked(name: str, url: str | None, current: str, schemes: tuple[str, str]) -> str:
    # The new URL without a trailing slash, or `current` when none is given.
    if url is None:
        return current
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{name}={url!r}: expected {' or '.join(schemes)}://host[:port]")
    return url.rstrip("/")


SPOT = Endpoints(
    venue="binance-spot",
    is_usdm=False,
    rest_url="https://api.binance.com",
    ws_url="wss://stream.binance.com:9443",
    ws_api_url="wss://ws-api.binance.com:443/ws-api/v3",
    time_path="/api/v3/time",
    exchange_info_path="/api/v3/exchangeInfo",
    depth_path="/api/v3/depth",
    order_path="/api/v3/order",
    open_orders_path="/api/v3/openOrders",
    cancel_all_path="/api/v3/openOrders",
    account_path="/api/v3/account",
    listen_key_path="",
    snapshot_limit_max=5000,
)

USDM = Endpoints(
    venue="binance-usdm",
    is_usdm=True,
    rest_url="https://fapi.binance.com",
    ws_url="wss://fstream.binance.com",
    ws_api_url="wss://ws-fapi.binance.com/ws-fapi/v1",
    time_path="/fapi/v1/time",
    exchange_info_path="/fapi/v1/exchangeInfo",
    depth_path="/fapi/v1/depth",
    order_path="/fapi/v1/order",
    open_orders_path="/fapi/v1/openOrders",
    cancel_all_path="/fapi/v1/allOpenOrders",
    account_path="/fapi/v3/account",
    listen_key_path="/fapi/v1/listenKey",
    snapshot_limit_max=1000,
)

VENUES: dict[str, Endpoints] = {SPOT.venue: SPOT, USDM.venue: USDM}


def endpoints(venue: str) -> Endpoints:
    """Return the real-venue endpoints of "binance-spot" or "binance-usdm" (ConfigError else)."""
    try:
        return VENUES[venue]
    except KeyError:
        raise ConfigError(f"venue={venue!r}: expected one of {', '.join(VENUES)}") from None
