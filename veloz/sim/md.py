"""Market-data events of the simulated exchange and their exact Binance stream payloads.

Owns the event dataclasses, their payload shapes per venue and the depth-diff accumulator the
server runs per (symbol, speed). Plain data only: no clock, no sockets, no matching; prices
and quantities arrive here as padded decimal text made by the exchange.
"""

from dataclasses import dataclass
from typing import Any

__all__ = [
    "AggTradeEvent",
    "BookTickerEvent",
    "DepthAccumulator",
    "DepthDiff",
    "KlineEvent",
    "Levels",
    "MarkPriceEvent",
    "TradeEvent",
]

Levels = tuple[tuple[str, str], ...]


def _check_venue(venue: str) -> None:
    if venue not in ("spot", "usdm"):
        raise ValueError(f"venue must be 'spot' or 'usdm', got {venue!r}")


@dataclass(frozen=True, slots=True)
class DepthDiff:
    """The level changes one or more book updates made: a ``depthUpdate`` event.

    Parameters
    ----------
    symbol : str
        Upper-case symbol.
    first_id, last_id : int
        ``U`` and ``u``: the first and last update id the diff covers.
    prev_id : int
        ``pu`` (USD-M): ``u`` of the previous event on the same stream.
    event_ms, txn_ms : int
        ``E`` (event time) and ``T`` (matching time), ms.
    bids, asks : tuple of (str, str)
        Changed levels as (price text, new total qty text); a zero qty deletes the level.
    """

    symbol: str
    first_id: int
    last_id: int
    prev_id: int
    event_ms: int
    txn_ms: int
    bids: Levels
    asks: Levels

    def payload(self, venue: str) -> dict[str, Any]:
        """Return the ``depthUpdate`` object: spot shape, or USD-M with ``T`` and ``pu``."""
        _check_venue(venue)
        bids = [list(lv) for lv in self.bids]
        asks = [list(lv) for lv in self.asks]
        if venue == "spot":
            return {
                "e": "depthUpdate",
                "E": self.event_ms,
                "s": self.symbol,
                "U": self.first_id,
                "u": self.last_id,
                "b": bids,
                "a": asks,
            }
        return {
            "e": "depthUpdate",
            "E": self.event_ms,
            "T": self.txn_ms,
            "s": self.symbol,
            "U": self.first_id,
            "u": self.last_id,
            "pu": self.prev_id,
            "b": bids,
            "a": asks,
        }

    def streams(self) -> tuple[str, ...]:
        """Return the diff-depth streams this feeds (through the server's accumulators)."""
        s = self.symbol.lower()
        return (f"{s}@depth", f"{s}@depth@100ms")


class DepthAccumulator:
    """Merge consecutive depth diffs of one symbol into one event per stream interval.

    Parameters
    ----------
    symbol : str
        Upper-case symbol.
    venue : {"spot", "usdm"}
        Decides how ``pu`` chains: USD-M ``pu`` is the ``u`` of the previously flushed event.

    Notes
    -----
    ``add`` is O(levels in the diff); ``flush`` is O(distinct levels since the last flush).
    The last value per price wins and a level keeps the position of its first change.
    """

    __slots__ = (
        "_asks",
        "_bids",
        "_first_id",
        "_last_flushed",
        "_last_id",
        "_txn_ms",
        "symbol",
        "venue",
    )

    def __init__(self, symbol: str, venue: str) -> None:
        _check_venue(venue)
        self.symbol = symbol
        self.venue = venue
        self._bids: dict[str, str] = {}
        self._asks: dict[str, str] = {}
        self._first_id = 0
        self._last_id = 0
        self._txn_ms = 0
        self._last_flushed: int | None = None

    @property
    def is_empty(self) -> bool:
        """Whether nothing was added since the last flush."""
        return self._first_id == 0

    def add(self, diff: DepthDiff) -> None:
        """Merge `diff` into the pending event. O(levels in diff).

        Raises
        ------
        ValueError
            If `diff` is for another symbol.
        """
        if diff.symbol != self.symbol:
            raise ValueError(f"diff for {diff.symbol} added to accumulator of {self.symbol}")
        if self._first_id == 0:
            self._first_id = diff.first_id
            if self._last_flushed is None:
                self._last_flushed = diff.prev_id
        self._last_id = diff.last_id
        self._txn_ms = diff.txn_ms
        for px, qty in diff.bids:
            self._bids[px] = qty
        for px, qty in diff.asks:
            self._asks[px] = qty

    def flush(self, now_ms: int) -> DepthDiff | None:
        """Return the merged event stamped ``E = now_ms`` and start a new one, or None.

        Returns
        -------
        DepthDiff or None
            None when nothing was added since the last flush.
        """
        if self._first_id == 0:
            return None
        prev = self._last_flushed if self._last_flushed is not None else self._first_id - 1
        out = DepthDiff(
            self.symbol,
            self._first_id,
            self._last_id,
            prev,
            now_ms,
            self._txn_ms,
            tuple(self._bids.items()),
            tuple(self._asks.items()),
        )
        self._last_flushed = self._last_id
        self._first_id = 0
        self._bids = {}
        self._asks = {}
        return out


@dataclass(frozen=True, slots=True)
class TradeEvent:
    """One trade: the ``@trade`` payload (spot has no ``b``/``a`` since 2024-06).

    Parameters
    ----------
    symbol : str
        Upper-case symbol.
    venue : {"spot", "usdm"}
        USD-M adds ``"X": "MARKET"`` (undocumented stream) and has no ``M``.
    trade_id : int
        ``t``.
    px, qty : str
        Padded decimal text.
    trade_ms, event_ms : int
        ``T`` and ``E``, ms.
    is_buyer_maker : bool
        ``m``.
    """

    symbol: str
    venue: str
    trade_id: int
    px: str
    qty: str
    trade_ms: int
    event_ms: int
    is_buyer_maker: bool

    def payload(self) -> dict[str, Any]:
        """Return the ``trade`` object."""
        if self.venue == "spot":
            return {
                "e": "trade",
                "E": self.event_ms,
                "s": self.symbol,
                "t": self.trade_id,
                "p": self.px,
                "q": self.qty,
                "T": self.trade_ms,
                "m": self.is_buyer_maker,
                "M": True,
            }
        return {
            "e": "trade",
            "E": self.event_ms,
            "T": self.trade_ms,
            "s": self.symbol,
            "t": self.trade_id,
            "p": self.px,
            "q": self.qty,
            "X": "MARKET",
            "m": self.is_buyer_maker,
        }

    def streams(self) -> tuple[str, ...]:
        """Return ``("<symbol>@trade",)``."""
        return (f"{self.symbol.lower()}@trade",)


@dataclass(frozen=True, slots=True)
class AggTradeEvent:
    """Trades of one taker order at one price: the ``@aggTrade`` payload.

    Parameters
    ----------
    symbol, venue : str
        Upper-case symbol; "spot" (with ``M``) or "usdm" (without).
    agg_id : int
        ``a``.
    px, qty : str
        Price and summed quantity, padded text.
    first_trade_id, last_trade_id : int
        ``f`` and ``l``.
    trade_ms, event_ms : int
        ``T`` and ``E``, ms.
    is_buyer_maker : bool
        ``m``.
    """

    symbol: str
    venue: str
    agg_id: int
    px: str
    qty: str
    first_trade_id: int
    last_trade_id: int
    trade_ms: int
    event_ms: int
    is_buyer_maker: bool

    def payload(self) -> dict[str, Any]:
        """Return the ``aggTrade`` object."""
        out: dict[str, Any] = {
            "e": "aggTrade",
            "E": self.event_ms,
            "s": self.symbol,
            "a": self.agg_id,
            "p": self.px,
            "q": self.qty,
            "f": self.first_trade_id,
            "l": self.last_trade_id,
            "T": self.trade_ms,
            "m": self.is_buyer_maker,
        }
        if self.venue == "spot":
            out["M"] = True
        return out

    def rest(self) -> dict[str, Any]:
        """Return the REST ``aggTrades`` row (``a p q f l T m`` and spot ``M``)."""
        out: dict[str, Any] = {
            "a": self.agg_id,
            "p": self.px,
            "q": self.qty,
            "f": self.first_trade_id,
            "l": self.last_trade_id,
            "T": self.trade_ms,
            "m": self.is_buyer_maker,
        }
        if self.venue == "spot":
            out["M"] = True
        return out

    def streams(self) -> tuple[str, ...]:
        """Return ``("<symbol>@aggTrade",)``."""
        return (f"{self.symbol.lower()}@aggTrade",)


@dataclass(frozen=True, slots=True)
class BookTickerEvent:
    """A new best bid or ask: the ``@bookTicker`` payload.

    Parameters
    ----------
    symbol, venue : str
        Upper-case symbol; "spot" (no ``e``/``E``/``T``) or "usdm" (with them).
    update_id : int
        ``u``: the depth update id at which this top was valid.
    bid_px, bid_qty, ask_px, ask_qty : str
        Padded text; an empty side is sent as zeros.
    event_ms, txn_ms : int
        ``E`` and ``T`` (USD-M only), ms.
    """

    symbol: str
    venue: str
    update_id: int
    bid_px: str
    bid_qty: str
    ask_px: str
    ask_qty: str
    event_ms: int
    txn_ms: int

    def payload(self) -> dict[str, Any]:
        """Return the ``bookTicker`` object."""
        if self.venue == "spot":
            return {
                "u": self.update_id,
                "s": self.symbol,
                "b": self.bid_px,
                "B": self.bid_qty,
                "a": self.ask_px,
                "A": self.ask_qty,
            }
        return {
            "e": "bookTicker",
            "u": self.update_id,
            "E": self.event_ms,
            "T": self.txn_ms,
            "s": self.symbol,
            "b": self.bid_px,
            "B": self.bid_qty,
            "a": self.ask_px,
            "A": self.ask_qty,
        }

    def streams(self) -> tuple[str, ...]:
        """Return ``("<symbol>@bookTicker",)``."""
        return (f"{self.symbol.lower()}@bookTicker",)


@dataclass(frozen=True, slots=True)
class KlineEvent:
    """The state of one bar: the ``@kline_<interval>`` payload.

    Parameters
    ----------
    symbol, venue : str
        Upper-case symbol and venue (same shape on both).
    interval : str
        ``"1m"``.
    event_ms, open_ms, close_ms : int
        ``E``, ``k.t`` and ``k.T`` (open + interval - 1), ms.
    first_trade_id, last_trade_id : int
        ``k.f`` and ``k.L``; -1 when the bar has no trade.
    open, close, high, low : str
        Padded prices.
    volume, quote_volume, taker_buy_volume, taker_buy_quote_volume : str
        ``v``, ``q``, ``V``, ``Q``.
    n_trades : int
        ``n``.
    is_closed : bool
        ``x``.
    """

    symbol: str
    venue: str
    interval: str
    event_ms: int
    open_ms: int
    close_ms: int
    first_trade_id: int
    last_trade_id: int
    open: str
    close: str
    high: str
    low: str
    volume: str
    quote_volume: str
    taker_buy_volume: str
    taker_buy_quote_volume: str
    n_trades: int
    is_closed: bool

    def payload(self) -> dict[str, Any]:
        """Return the ``kline`` object."""
        return {
            "e": "kline",
            "E": self.event_ms,
            "s": self.symbol,
            "k": {
                "t": self.open_ms,
                "T": self.close_ms,
                "s": self.symbol,
                "i": self.interval,
                "f": self.first_trade_id,
                "L": self.last_trade_id,
                "o": self.open,
                "c": self.close,
                "h": self.high,
                "l": self.low,
                "v": self.volume,
                "n": self.n_trades,
                "x": self.is_closed,
                "q": self.quote_volume,
                "V": self.taker_buy_volume,
                "Q": self.taker_buy_quote_volume,
                "B": "0",
            },
        }

    def rest(self) -> list[Any]:
        """Return the REST ``klines`` row (12 items, Binance order)."""
        return [
            self.open_ms,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume,
            self.close_ms,
            self.quote_volume,
            self.n_trades,
            self.taker_buy_volume,
            self.taker_buy_quote_volume,
            "0",
        ]

    def streams(self) -> tuple[str, ...]:
        """Return ``("<symbol>@kline_<interval>",)``."""
        return (f"{self.symbol.lower()}@kline_{self.interval}",)


@dataclass(frozen=True, slots=True)
class MarkPriceEvent:
    """USD-M mark price: the ``@markPrice`` / ``@markPrice@1s`` payload.

    Parameters
    ----------
    symbol : str
        Upper-case symbol.
    event_ms : int
        ``E``, ms.
    mark_px, index_px, est_settle_px : str
        ``p``, ``i``, ``P``: padded prices (the simulator uses the book mid for all three).
    funding_rate : str
        ``r``, e.g. ``"0.00010000"``.
    next_funding_ms : int
        ``T``, ms.
    """

    symbol: str
    event_ms: int
    mark_px: str
    index_px: str
    est_settle_px: str
    funding_rate: str
    next_funding_ms: int

    def payload(self) -> dict[str, Any]:
        """Return the ``markPriceUpdate`` object."""
        return {
            "e": "markPriceUpdate",
            "E": self.event_ms,
            "s": self.symbol,
            "p": self.mark_px,
            "i": self.index_px,
            "P": self.est_settle_px,
            "r": self.funding_rate,
            "T": self.next_funding_ms,
        }

    def streams(self) -> tuple[str, ...]:
        """Return ``("<symbol>@markPrice", "<symbol>@markPrice@1s")``."""
        s = self.symbol.lower()
        return (f"{s}@markPrice", f"{s}@markPrice@1s")
