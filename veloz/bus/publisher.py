"""The `Publisher` protocol: the one seam between a feed process and whatever carries its
events (the ZeroMQ bus of issue #5, stdout, a test recorder).

A publisher must not block: it is called on the feed's hot path, once per applied event,
and must copy what it keeps (the book passed in is the feed's live book).
"""

from typing import Protocol

from veloz._core.book import Book

__all__ = ["Publisher"]


class Publisher(Protocol):
    """Receives a feed's events. Every price and quantity is a raw at the instrument's scale.

    Times: ``exch_ns`` is the venue's event time converted to ns (wall clock);
    ``ingest_ns`` is CLOCK_MONOTONIC when the websocket frame was received, before parsing.
    Only events from a valid (LIVE) book are published; ``status`` tells consumers when the
    book stops or starts being valid.
    """

    def book(self, inst: int, book: Book, update_id: int, exch_ns: int, ingest_ns: int) -> None:
        """A depth event was applied; `book` is now at `update_id` (read it, do not keep it)."""
        ...

    def bbo(
        self,
        inst: int,
        update_id: int,
        bid_px: int,
        bid_qty: int,
        ask_px: int,
        ask_qty: int,
        exch_ns: int,
        ingest_ns: int,
    ) -> None:
        """A best bid/offer update (bookTicker stream)."""
        ...

    def trade(
        self,
        inst: int,
        trade_id: int,
        px: int,
        qty: int,
        is_buyer_maker: bool,
        exch_ns: int,
        ingest_ns: int,
    ) -> None:
        """A public trade (spot ``trade``, USD-M ``aggTrade``: `trade_id` is its agg id)."""
        ...

    def kline(
        self,
        inst: int,
        open_ns: int,
        close_ns: int,
        interval_s: int,
        open_px: int,
        high_px: int,
        low_px: int,
        close_px: int,
        volume: int,
        n_trades: int,
        is_closed: bool,
        exch_ns: int,
        ingest_ns: int,
    ) -> None:
        """A candle update (only when the feed subscribes to klines): prices at price_dp,
        `volume` base quantity at qty_dp; `open_ns`/`close_ns` wall ns; `is_closed` = final."""
        ...

    def status(self, inst: int, is_live: bool, reason: str, mono_ns: int) -> None:
        """The book became valid (`is_live`) or stopped being valid, and why."""
        ...
