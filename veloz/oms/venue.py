"""`VenueExec`: what the gateway needs from one venue's order entry and user-data stream.

Owns the seam between `veloz.oms` and `veloz.venues.<v>` (STYLE §1: the OMS reaches a venue
only through this protocol; `procs/gateway.py` wires a concrete one). Also owns the
venue-neutral new-order request `NewOrder`. Must not hold behaviour.
"""

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from veloz.model.events import ExecEvent
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument

__all__ = ["ExecSink", "NewOrder", "OnSent", "VenueExec"]

# Called with the CLOCK_MONOTONIC ns at which a request's bytes were handed to the socket.
OnSent = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A new order as the gateway hands it to a venue.

    Parameters
    ----------
    symbol : str
        Venue symbol.
    side : str
        "BUY" or "SELL".
    order_type : str
        "LIMIT", "MARKET" or "LIMIT_MAKER" (post-only; a venue maps it to its own form).
    qty, px : int
        Raws at the instrument's qty_dp and price_dp; px 0 for MARKET.
    tif : str
        "GTC", "IOC", "FOK" or "GTX" ("" for MARKET and LIMIT_MAKER).
    client_order_id : str
        The strategy's id of the order (never empty here).
    reduce_only : bool
        Futures only.
    """

    symbol: str
    side: str
    order_type: str
    qty: int
    px: int
    tif: str
    client_order_id: str
    reduce_only: bool = False


class ExecSink(Protocol):
    """Where a venue sends its user-data events and stream restarts."""

    def on_event(self, ev: ExecEvent) -> None:
        """Take one normalized event, in venue order."""
        ...

    def on_restart(self, reason: str) -> None:
        """Learn that the user stream restarted: events may have been missed."""
        ...


class VenueExec(Protocol):
    """Order entry and user data of one venue product, as the gateway drives them.

    Errors follow `veloz.venues.binance.execution.BinanceExec`: ``OrderRejected`` (``by``
    "local" or "venue", with the venue's code) for final refusals, ``VenueError`` for
    retryable refusals and unknown outcomes (``is_unknown``: query before acting),
    ``WireError`` for an unreadable answer (the order may exist).
    """

    @property
    def venue(self) -> str:
        """Venue name, e.g. "binance-spot"."""
        ...

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        """Tradable instruments by symbol."""
        ...

    async def start(self, sink: ExecSink) -> None:
        """Connect order entry and the user-data stream; events and restarts go to `sink`."""
        ...

    async def close(self) -> None:
        """Stop the user-data stream and close the connections."""
        ...

    async def place(self, order: NewOrder, *, on_sent: OnSent | None = None) -> OrderUpdate:
        """Send a new order; return its state from the venue's answer."""
        ...

    async def cancel(
        self,
        symbol: str,
        *,
        client_order_id: str = "",
        order_id: int = 0,
        on_sent: OnSent | None = None,
    ) -> OrderUpdate:
        """Cancel one order (venue id preferred); return its state after the cancel."""
        ...

    async def cancel_all(self, symbol: str, *, on_sent: OnSent | None = None) -> list[OrderUpdate]:
        """Cancel every open order on `symbol`; return the orders canceled."""
        ...

    async def query(
        self, symbol: str, *, client_order_id: str = "", order_id: int = 0
    ) -> OrderUpdate:
        """Return one order's current state."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        """Return the open orders of `symbol`, or of every symbol."""
        ...
