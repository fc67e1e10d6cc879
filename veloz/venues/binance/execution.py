"""Binance order entry facade for the gateway: place, cancel, cancel-all, query, open orders,
and the account's trade history (spot ``myTrades``, USD-M ``userTrades``).

Owns the choice of transport per call (REST, or the WS API where the product's WS API has
the method; the rest always goes over REST), client order id assignment, the local check
before anything is sent, and the turn of answers into `OrderUpdate` and of venue refusals
into `OrderRejected`, and of trade-history rows into `Fill`. Must not retry orders, track
order state (the OMS does) or read the user-data stream.
"""

import logging
import time
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

from veloz._core import fixed
from veloz.errors import ConfigError
from veloz.errors import NumberError
from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.model.events import ASSET_DP
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.orders import ClientOrderIds
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.orders import new_order_params
from veloz.venues.binance.orders import order_update_from_answer
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import Signer
from veloz.venues.binance.wsapi import WsApiClient

__all__ = ["MAX_TRADES_LIMIT", "TRANSPORTS", "BinanceExec", "ExecCounters"]

log = logging.getLogger(__name__)

TRANSPORTS = ("rest", "wsapi")


@dataclass(frozen=True, slots=True)
class _Weights:
    # Request weights (SD rest-api.md / web-socket-api.md; FD trade pages).
    place: int
    cancel: int
    query: int
    open_one: int  # open orders of one symbol
    open_all: int  # open orders of every symbol
    cancel_all: int
    trades: int  # account trade list of one symbol (no orderId)


_SPOT_WEIGHTS = _Weights(
    place=1, cancel=1, query=4, open_one=6, open_all=80, cancel_all=1, trades=20
)
_USDM_WEIGHTS = _Weights(
    place=0, cancel=1, query=1, open_one=1, open_all=40, cancel_all=1, trades=5
)
# Account trade list paths (not in `Endpoints` yet) and the most rows one call returns.
_SPOT_TRADES_PATH = "/api/v3/myTrades"
_USDM_TRADES_PATH = "/fapi/v1/userTrades"
MAX_TRADES_LIMIT = 1000
_MS = 1_000_000  # ns per ms
# WS-API methods used when transport="wsapi"; spot and USD-M both have these three. Spot's
# openOrders.status / openOrders.cancelAll exist on Binance but not on `veloz sim`, and
# USD-M has no equivalent: open orders and cancel-all always go over REST.
_WS_PLACE = "order.place"
_WS_CANCEL = "order.cancel"
_WS_QUERY = "order.status"


@dataclass(slots=True)
class ExecCounters:
    """What a `BinanceExec` did.

    n_placed: orders the venue accepted. n_rejected_local: refused before sending.
    n_rejected_venue: refused by the venue (final). n_canceled: cancel answers.
    n_bad_answers: answers that could not be read (logged, skipped or raised).
    n_unknown_symbols: open orders of symbols without an instrument (skipped).
    """

    n_placed: int = 0
    n_rejected_local: int = 0
    n_rejected_venue: int = 0
    n_canceled: int = 0
    n_bad_answers: int = 0
    n_unknown_symbols: int = 0


class BinanceExec:
    """Order entry on one Binance product over REST or the WebSocket API.

    Parameters
    ----------
    ep : Endpoints
        The product (`SPOT` or `USDM`, or pointed at the simulator).
    signer : Signer
        The trading key the clients were built with (they sign; this facade does not).
    instruments : mapping of str to Instrument
        Tradable instruments by symbol; orders on others are refused locally.
    transport : {"rest", "wsapi"}
        Where place, cancel and query go; open orders and cancel-all always use REST.
    rest : RestClient
        The product's REST client (also does the clock sync and the fallbacks).
    ws : WsApiClient or None
        The product's WS-API client; required for ``transport="wsapi"``.

    Raises
    ------
    ConfigError
        An unknown transport, "wsapi" without `ws`, or clients of another product.
    """

    def __init__(
        self,
        ep: Endpoints,
        signer: Signer,
        instruments: Mapping[str, Instrument],
        *,
        transport: str = "rest",
        rest: RestClient,
        ws: WsApiClient | None = None,
    ) -> None:
        if transport not in TRANSPORTS:
            raise ConfigError(f"transport={transport!r}: expected one of {', '.join(TRANSPORTS)}")
        if transport == "wsapi" and ws is None:
            raise ConfigError("transport='wsapi' needs a WsApiClient (ws=None)")
        if rest.endpoints.venue != ep.venue:
            raise ConfigError(f"rest client is for {rest.endpoints.venue}, not {ep.venue}")
        self._ep = ep
        self._signer = signer
        self._instruments = dict(instruments)
        self._is_ws = transport == "wsapi"
        self._rest = rest
        self._ws = ws
        self._weights = _USDM_WEIGHTS if ep.is_usdm else _SPOT_WEIGHTS
        self._ids = ClientOrderIds()
        self._counters = ExecCounters()
        self._bad_log = RateLimitedLog(log)

    @property
    def counters(self) -> ExecCounters:
        """Order and answer counts."""
        return self._counters

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        """The instruments orders may be placed on, by symbol."""
        return self._instruments

    @property
    def transport(self) -> str:
        """The transport of place, cancel and query: "rest" or "wsapi"."""
        return "wsapi" if self._is_ws else "rest"

    async def start(self) -> None:
        """Open and warm the connections and sync the clock; call before the first order.

        Raises
        ------
        VenueError, WireError
            A connection, the time sync or exchangeInfo failed.
        """
        await self._rest.start()
        if self._ws is not None:
            await self._ws.connect()
        log.info("exec_started venue=%s transport=%s", self._ep.venue, self.transport)

    async def close(self) -> None:
        """Close the connections."""
        if self._ws is not None:
            await self._ws.close()
        await self._rest.close()

    # ---- orders ----------------------------------------------------------------------------

    async def place(
        self, req: OrderRequest, *, on_sent: Callable[[int], None] | None = None
    ) -> OrderUpdate:
        """Check and send a new order; return its state from the venue's answer.

        An empty ``client_order_id`` gets a fresh one. `on_sent` is called with the
        CLOCK_MONOTONIC ns at which the request bytes were handed to the socket (WS API:
        right after picows ``transport.send``; REST: aiohttp's ``on_request_headers_sent``,
        see `RestClient.send_signed`); not called when the order is refused before sending.

        Raises
        ------
        OrderRejected
            ``by="local"`` (nothing was sent) or ``by="venue"`` with the venue's code and
            message (a final refusal; the VenueError is the ``__cause__``).
        VenueError
            Retryable refusals (throttling, clock) and unknown outcomes (``is_unknown``:
            query the order by its client order id before acting).
        WireError
            An answer that cannot be read (the order may exist).
        """
        if not req.client_order_id:
            req = replace(req, client_order_id=self._ids.next())
        try:
            inst = self._inst(req.symbol)
            params = new_order_params(req, inst, self._ep.is_usdm)
        except OrderRejected as exc:
            self._counters.n_rejected_local += 1
            log.info(
                "order_rejected_local symbol=%s cid=%s reason=%s",
                req.symbol,
                req.client_order_id,
                exc.reason,
            )
            raise
        w = self._weights.place
        try:
            if self._ws is not None and self._is_ws:
                doc = await self._ws.request(
                    _WS_PLACE, dict(params), signed=True, weight=w, is_order=True, on_sent=on_sent
                )
            else:
                doc = await self._rest.send_signed(
                    "POST", self._ep.order_path, params, weight=w, is_order=True, on_sent=on_sent
                )
        except VenueError as exc:
            if exc.retryable or exc.is_unknown:
                raise
            self._counters.n_rejected_venue += 1
            log.info(
                "order_rejected_venue symbol=%s cid=%s code=%d msg=%s",
                req.symbol,
                req.client_order_id,
                exc.code,
                exc.msg[:200],
            )
            raise OrderRejected(exc.msg, by="venue", code=exc.code) from exc
        update = self._update(doc, inst)
        self._counters.n_placed += 1
        return update

    async def cancel(
        self,
        symbol: str,
        *,
        client_order_id: str = "",
        order_id: int = 0,
        on_sent: Callable[[int], None] | None = None,
    ) -> OrderUpdate:
        """Cancel one order by venue id (preferred: fastest) or client order id.

        `on_sent` as in `place`.

        Raises
        ------
        ValueError
            Neither id given.
        OrderRejected
            An unknown symbol (``by="local"``, nothing sent).
        VenueError
            The venue's refusal (-2011 "Unknown order sent." when not open), throttling, or
            an unknown outcome.
        WireError
            An answer that cannot be read.
        """
        inst = self._inst(symbol)
        params = [("symbol", symbol), *_order_ref(client_order_id, order_id)]
        w = self._weights.cancel
        if self._ws is not None and self._is_ws:
            doc = await self._ws.request(
                _WS_CANCEL, dict(params), signed=True, weight=w, on_sent=on_sent
            )
        else:
            doc = await self._rest.send_signed(
                "DELETE", self._ep.order_path, params, weight=w, on_sent=on_sent
            )
        self._counters.n_canceled += 1
        return self._update(doc, inst)

    async def cancel_all(
        self, symbol: str, *, on_sent: Callable[[int], None] | None = None
    ) -> list[OrderUpdate]:
        """Cancel every open order on `symbol` (REST); return the orders canceled.

        `on_sent` is called when the cancel-all request itself went out (as in `place`).

        Spot returns each canceled order as the venue reports it ([] when none was open).
        USD-M's cancel-all answers only "done": the orders listed open just before are
        returned as CANCELED; one that filled in between is corrected by the user stream.

        Raises
        ------
        OrderRejected
            An unknown symbol (``by="local"``, nothing sent).
        VenueError
            The venue's refusal, throttling or an unknown outcome.
        """
        inst = self._inst(symbol)
        params = [("symbol", symbol)]
        w = self._weights.cancel_all
        if self._ep.is_usdm:
            open_now = await self.open_orders(symbol)
            await self._rest.send_signed(
                "DELETE", self._ep.cancel_all_path, params, weight=w, on_sent=on_sent
            )
            done = [
                replace(u, status=OrderStatus.CANCELED, exec_type="CANCELED", recv_ns=_mono())
                for u in open_now
            ]
            self._counters.n_canceled += len(done)
            return done
        try:
            docs = await self._rest.send_signed(
                "DELETE", self._ep.cancel_all_path, params, weight=w, on_sent=on_sent
            )
        except VenueError as exc:
            if exc.code == -2011:  # spot: nothing was open
                return []
            raise
        out = self._updates(_flatten_order_lists(docs), inst)
        self._counters.n_canceled += len(out)
        return out

    async def query(
        self, symbol: str, *, client_order_id: str = "", order_id: int = 0
    ) -> OrderUpdate:
        """Return an order's current state by venue id or client order id.

        Raises
        ------
        ValueError
            Neither id given.
        OrderRejected
            An unknown symbol (``by="local"``, nothing sent).
        VenueError
            -2013 "Order does not exist.", throttling, or a transport failure.
        WireError
            An answer that cannot be read.
        """
        inst = self._inst(symbol)
        params = [("symbol", symbol), *_order_ref(client_order_id, order_id)]
        w = self._weights.query
        if self._ws is not None and self._is_ws:
            doc = await self._ws.request(_WS_QUERY, dict(params), signed=True, weight=w)
        else:
            doc = await self._rest.send_signed("GET", self._ep.order_path, params, weight=w)
        return self._update(doc, inst)

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        """Return the open orders of `symbol`, or of every symbol (REST).

        Orders on symbols without an instrument, and entries that cannot be read, are
        counted, logged and skipped.

        Raises
        ------
        OrderRejected
            An unknown `symbol` (``by="local"``, nothing sent).
        VenueError
            The venue's refusal, throttling or a transport failure.
        """
        if symbol is not None:
            self._inst(symbol)
            params = [("symbol", symbol)]
            w = self._weights.open_one
        else:
            params, w = [], self._weights.open_all
        docs = await self._rest.send_signed("GET", self._ep.open_orders_path, params, weight=w)
        if not isinstance(docs, list):
            self._bad("open_orders_not_a_list", repr(docs))
            return []
        out: list[OrderUpdate] = []
        for doc in docs:
            sym = doc.get("symbol") if isinstance(doc, dict) else None
            inst = self._instruments.get(sym) if isinstance(sym, str) else None
            if inst is None:
                self._counters.n_unknown_symbols += 1
                self._bad_log.warning(
                    "open_order_unknown_symbol venue=%s symbol=%.40r", self._ep.venue, sym
                )
                continue
            out.extend(self._updates([doc], inst))
        return out

    async def trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        limit: int = MAX_TRADES_LIMIT,
    ) -> list[Fill]:
        """Return the account's trades of `symbol` as fills, oldest first (one REST call).

        Spot ``GET /api/v3/myTrades`` (weight 20), USD-M ``GET /fapi/v1/userTrades``
        (weight 5). With `from_id`: trades with id >= it; with `start_ms`: trades since then;
        with neither: the most recent ones. Page by calling again with ``from_id`` = the
        last id + 1 while a full page comes back. Binance does not list the client order id
        of a trade: ``client_order_id`` is "" (the caller maps ``order_id``). Rows that
        cannot be read are counted, logged and skipped.

        Raises
        ------
        ValueError
            Both `from_id` and `start_ms` (Binance refuses the combination), or a `limit`
            outside 1..1000.
        OrderRejected
            An unknown `symbol` (``by="local"``, nothing sent).
        VenueError
            The venue's refusal, throttling or a transport failure.
        """
        if from_id is not None and start_ms is not None:
            raise ValueError("from_id and start_ms cannot be combined")
        if not 1 <= limit <= MAX_TRADES_LIMIT:
            raise ValueError(f"limit={limit}: expected 1..{MAX_TRADES_LIMIT}")
        inst = self._inst(symbol)
        params = [("symbol", symbol)]
        if from_id is not None:
            params.append(("fromId", str(from_id)))
        if start_ms is not None:
            params.append(("startTime", str(start_ms)))
        params.append(("limit", str(limit)))
        path = _USDM_TRADES_PATH if self._ep.is_usdm else _SPOT_TRADES_PATH
        docs = await self._rest.send_signed("GET", path, params, weight=self._weights.trades)
        if not isinstance(docs, list):
            self._bad("trades_not_a_list", repr(docs))
            return []
        out: list[Fill] = []
        recv_ns = _mono()
        for doc in docs:
            try:
                out.append(self._fill(doc, inst, recv_ns))
            except WireError as exc:
                self._bad("trade_row_bad", f"{exc}: {doc!r}")
        return out

    def _fill(self, doc: Any, inst: Instrument, recv_ns: int) -> Fill:
        # One trade-history row -> Fill; WireError names what is wrong.
        if not isinstance(doc, dict):
            raise WireError("trade row is not an object")
        usdm = self._ep.is_usdm
        try:
            trade_id = doc["id"]
            order_id = doc["orderId"]
            time_ms = doc["time"]
            is_buyer = doc["buyer" if usdm else "isBuyer"]
            is_maker = doc["maker" if usdm else "isMaker"]
            fee_asset = doc["commissionAsset"]
            px = fixed.parse(doc["price"], inst.price_dp)
            qty = fixed.parse(doc["qty"], inst.qty_dp)
            fee = fixed.parse(doc["commission"], ASSET_DP, True)
            pnl = fixed.parse(doc["realizedPnl"], ASSET_DP, True) if usdm else 0
        except KeyError as exc:
            raise WireError(f"trade row: missing field {exc.args[0]!r}") from None
        except (NumberError, TypeError) as exc:
            raise WireError(f"trade row: bad number: {exc}") from None
        ints = (trade_id, order_id, time_ms)
        if any(isinstance(v, bool) or not isinstance(v, int) for v in ints):
            raise WireError("trade row: id, orderId and time must be integers")
        if not (isinstance(is_buyer, bool) and isinstance(is_maker, bool)):
            raise WireError("trade row: buyer/maker flags must be booleans")
        if not isinstance(fee_asset, str):
            raise WireError("trade row: commissionAsset must be a string")
        return Fill(
            venue=self._ep.venue,
            symbol=inst.symbol,
            client_order_id="",
            order_id=order_id,
            trade_id=trade_id,
            side="BUY" if is_buyer else "SELL",
            px=px,
            qty=qty,
            fee=fee,
            fee_asset=fee_asset,
            is_maker=is_maker,
            realized_pnl=pnl,
            exch_ns=time_ms * _MS,
            recv_ns=recv_ns,
        )

    # ---- internals -------------------------------------------------------------------------

    def _inst(self, symbol: str) -> Instrument:
        try:
            return self._instruments[symbol]
        except KeyError:
            raise OrderRejected(
                f"no instrument {symbol!r} on {self._ep.venue}", by="local"
            ) from None

    def _update(self, doc: Any, inst: Instrument) -> OrderUpdate:
        # One answer that must be read: a bad one is counted, logged and raised.
        try:
            return order_update_from_answer(doc, inst, self._ep.venue, _mono())
        except WireError as exc:
            self._bad("order_answer_bad", f"{exc}: {doc!r}")
            raise

    def _updates(self, docs: Any, inst: Instrument) -> list[OrderUpdate]:
        # Answers in a list: a bad entry is counted, logged and skipped.
        if not isinstance(docs, list):
            self._bad("order_answers_not_a_list", repr(docs))
            return []
        out: list[OrderUpdate] = []
        recv_ns = _mono()
        for doc in docs:
            try:
                out.append(order_update_from_answer(doc, inst, self._ep.venue, recv_ns))
            except WireError as exc:
                self._bad("order_answer_bad", f"{exc}: {doc!r}")
        return out

    def _bad(self, event: str, detail: str) -> None:
        self._counters.n_bad_answers += 1
        self._bad_log.warning("%s venue=%s detail=%s", event, self._ep.venue, detail[:200])


def _order_ref(client_order_id: str, order_id: int) -> list[tuple[str, str]]:
    # The venue id alone when known (fastest lookup), else our id.
    if order_id:
        return [("orderId", str(order_id))]
    if client_order_id:
        return [("origClientOrderId", client_order_id)]
    raise ValueError("need client_order_id or order_id")


def _flatten_order_lists(docs: Any) -> Any:
    # Spot cancel-all lists plain orders and, for OCO/OTO lists, {"orderReports": [...]}.
    if not isinstance(docs, list):
        return docs
    out: list[Any] = []
    for doc in docs:
        reports = doc.get("orderReports") if isinstance(doc, dict) else None
        out.extend(reports if isinstance(reports, list) else [doc])
    return out


def _mono() -> int:
    return time.monotonic_ns()
