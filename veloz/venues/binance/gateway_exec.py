"""The gateway's Binance adapter: `BinanceVenue` and the trade key from the environment.

Owns `BinanceVenue`, the Binance implementation of the gateway's ``VenueExec`` protocol
(`veloz.oms.venue`, matched structurally): it wires `BinanceExec` (order entry) and the
product's user-data driver, maps the venue-neutral post-only order to each product's form
and turns "order does not exist" on a query into ``OrderRejected``. Also owns
`signer_from_env`. Must not import `veloz.oms` (layering: the OMS reaches a venue only
through its protocol), track order state, retry orders, or log a key.
"""

from collections.abc import Callable
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from veloz.errors import ConfigError
from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.model.events import Fill
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.model.orders import NewOrder
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.endpoints import endpoints
from veloz.venues.binance.execution import BinanceExec
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import Signer
from veloz.venues.binance.userdata import SpotUserData
from veloz.venues.binance.userdata import UsdmUserData
from veloz.venues.binance.userdata import UserDataSink
from veloz.venues.binance.wsapi import WsApiClient

__all__ = ["KEYS_HELP", "BinanceVenue", "signer_from_env"]

_NOT_FOUND = -2013  # Binance "Order does not exist."
KEYS_HELP = "VELOZ_API_KEY with VELOZ_API_SECRET or VELOZ_API_ED25519_KEY_FILE"

# Called with the CLOCK_MONOTONIC ns at which a request's bytes were handed to the socket.
_OnSent = Callable[[int], None]


def signer_from_env(env: Mapping[str, str]) -> Signer:
    """Build the trade key from the environment.

    Parameters
    ----------
    env : Mapping[str, str]
        ``os.environ`` or a stand-in: ``VELOZ_API_KEY`` with ``VELOZ_API_SECRET`` (HMAC) or
        ``VELOZ_API_ED25519_KEY_FILE`` (PKCS#8 PEM); the secret wins when both are set.

    Returns
    -------
    Signer
        An `HmacSigner` or `Ed25519Signer`.

    Raises
    ------
    ConfigError
        A missing variable (the message names what to set) or an unreadable key file.
    """
    key = env.get("VELOZ_API_KEY", "")
    secret = env.get("VELOZ_API_SECRET", "")
    pem_file = env.get("VELOZ_API_ED25519_KEY_FILE", "")
    if not key or not (secret or pem_file):
        raise ConfigError(f"no trade key in the environment: set {KEYS_HELP}")
    if secret:
        return HmacSigner(key, secret)
    try:
        pem = Path(pem_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"VELOZ_API_ED25519_KEY_FILE: cannot read: {exc.strerror}") from None
    return Ed25519Signer(key, pem)


class BinanceVenue:
    """``VenueExec`` over `BinanceExec` and the product's user-data driver.

    Parameters
    ----------
    venue : str
        "binance-spot" or "binance-usdm".
    signer : Signer
        The trade key.
    rest_url, ws_url : str or None
        ``http://host:port`` and ``ws://host:port`` bases (the simulator), None for real
        Binance; the WS API is reached under `ws_url` at the product's usual path.
    transport : str
        Place, cancel and query over "wsapi" (default) or "rest".
    """

    def __init__(
        self,
        venue: str,
        signer: Signer,
        *,
        rest_url: str | None = None,
        ws_url: str | None = None,
        transport: str = "wsapi",
    ) -> None:
        base = endpoints(venue)
        api = f"{ws_url.rstrip('/')}{urlsplit(base.ws_api_url).path}" if ws_url else None
        self._ep: Endpoints = base.with_urls(rest_url, ws_url, api)
        self._signer = signer
        self._transport = transport
        self._rest = RestClient(self._ep, signer)
        self._ws: WsApiClient | None = None
        if transport == "wsapi" or not self._ep.is_usdm:  # spot user data rides the WS API
            rest = self._rest
            self._ws = WsApiClient(self._ep, signer, limits=rest.limits, clock_ms=rest.now_ms)
        self._instruments: dict[str, Instrument] = {}
        self._ex: BinanceExec | None = None
        self._user: SpotUserData | UsdmUserData | None = None

    @property
    def venue(self) -> str:
        """Venue name, e.g. "binance-spot"."""
        return self._ep.venue

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        """Tradable instruments by symbol (empty until `load`)."""
        return self._instruments

    async def load(self) -> None:
        """Sync the clock, load the rate limits and every instrument (exchangeInfo)."""
        await self._rest.start()
        info = await self._rest.get_public(self._ep.exchange_info_path, weight=20)
        self._instruments = instruments_from_exchange_info(info, self._ep.venue)

    async def start(self, sink: UserDataSink) -> None:
        """Connect order entry and the user-data stream; events and restarts go to `sink`."""
        ex = BinanceExec(
            self._ep,
            self._signer,
            self._instruments,
            transport=self._transport,
            rest=self._rest,
            ws=self._ws,
        )
        await ex.start()
        self._ex = ex
        if self._ws is not None and not self._ep.is_usdm:
            self._user = SpotUserData(self._ws, self._signer, self._instruments, sink)
        else:
            self._user = UsdmUserData(self._rest, self._ep, self._instruments, sink)
        await self._user.start()

    async def close(self) -> None:
        """Stop the user-data stream and close the connections."""
        user, self._user = self._user, None
        if user is not None:
            await user.stop()
        if self._ws is not None:
            await self._ws.close()
        await self._rest.close()

    def _exec(self) -> BinanceExec:
        if self._ex is None:
            raise VenueError(0, "gateway venue not started", retryable=True)
        return self._ex

    async def place(self, order: NewOrder, *, on_sent: _OnSent | None = None) -> OrderUpdate:
        """Send a new order (post-only in the product's form); return its state."""
        kind, tif = order.order_type, order.tif
        if self._ep.is_usdm and kind == "LIMIT_MAKER":
            kind, tif = "LIMIT", "GTX"  # USD-M post-only
        elif not self._ep.is_usdm and kind == "LIMIT" and tif == "GTX":
            kind = "LIMIT_MAKER"  # spot post-only
        req = OrderRequest(
            order.symbol, order.side, kind, order.qty, order.px, tif or "GTC",
            order.client_order_id, order.reduce_only,
        )  # fmt: skip
        return await self._exec().place(req, on_sent=on_sent)

    async def cancel(
        self,
        symbol: str,
        *,
        client_order_id: str = "",
        order_id: int = 0,
        on_sent: _OnSent | None = None,
    ) -> OrderUpdate:
        """Cancel one order (venue id preferred); return its state after the cancel."""
        ex = self._exec()
        return await ex.cancel(
            symbol, client_order_id=client_order_id, order_id=order_id, on_sent=on_sent
        )

    async def cancel_all(self, symbol: str, *, on_sent: _OnSent | None = None) -> list[OrderUpdate]:
        """Cancel every open order on `symbol`; return the orders canceled."""
        return await self._exec().cancel_all(symbol, on_sent=on_sent)

    async def query(
        self, symbol: str, *, client_order_id: str = "", order_id: int = 0
    ) -> OrderUpdate:
        """Return one order's state; ``OrderRejected`` when Binance does not know it."""
        try:
            return await self._exec().query(
                symbol, client_order_id=client_order_id, order_id=order_id
            )
        except VenueError as exc:
            if exc.code == _NOT_FOUND:  # the protocol's "the venue does not know it"
                raise OrderRejected(exc.msg, by="venue", code=exc.code) from exc
            raise

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        """Return the open orders of `symbol`, or of every symbol."""
        return await self._exec().open_orders(symbol)

    async def trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Fill]:
        """Return the account's trades of `symbol` as fills, oldest first (one page; see
        `BinanceExec.trades`); ``client_order_id`` is "" (Binance does not list it)."""
        return await self._exec().trades(symbol, from_id=from_id, start_ms=start_ms, limit=limit)
