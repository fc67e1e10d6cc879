"""`VenueExec`: what the gateway needs from one venue's order entry and user-data stream.

Owns the seam between `veloz.oms` and `veloz.venues.<v>` (STYLE §1: the OMS reaches a venue
only through this protocol; `procs/gateway.py` wires a concrete one, e.g.
`veloz.venues.binance.gateway_exec.BinanceVenue`). The new-order request it takes,
`NewOrder`, is plain data in `veloz.model.orders`. Must not hold behaviour.
"""

from collections.abc import Callable
from collections.abc import Mapping
from typing import Protocol

from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.model.orders import NewOrder

__all__ = ["ExecSink", "OnSent", "VenueExec"]

# Called with the CLOCK_MONOTONIC ns at which a request's bytes were handed to the socket.
OnSent = Callable[[int], None]


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

    async def trades(
        self,
        symbol: str,
        *,
        from_id: int | None = None,
        start_ms: int | None = None,
        limit: int = 1000,
    ) -> list[Fill]:
        """Return one page of the account's trades of `symbol` as fills, oldest first.

        `from_id`: trades with id >= it; `start_ms`: trades since then (not both); neither:
        the most recent. At most `limit` (<= 1000) rows: page on with ``from_id`` = last id
        + 1 while a page is full. ``client_order_id`` may be "" (the venue does not list
        it; map ``order_id``).
        """
        ...
