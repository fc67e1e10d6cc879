"""The admin book view: the simulator's own order book at an update id a client has seen.

``GET /admin/book?venue=spot|usdm&symbol=BTCUSDT`` first sends every pending depth diff of
the symbol on its streams, then answers the engine's whole book with the update id the last
sent diff ended at: ``{"lastUpdateId": u, "bids": [[px, qty], ...], "asks": [...]}``, best
first, decimal text. A client that has applied the diff ending at ``u`` must hold exactly
this book (tests compare against it). Must not change the book or any account.
"""

from collections.abc import Callable
from collections.abc import Mapping

import orjson
from aiohttp import web

from veloz.sim.exchange import SimExchange
from veloz.sim.streams import StreamHub

__all__ = ["BookView"]


_ALL_LEVELS = 1_000_000


class BookView:
    """Serves ``GET /admin/book`` for the venues in `exchanges` (keyed "spot"/"usdm")."""

    def __init__(
        self,
        exchanges: Mapping[str, SimExchange],
        hubs: Mapping[str, StreamHub],
        clock_ms: Callable[[], int],
    ) -> None:
        self._exchanges = exchanges
        self._hubs = hubs
        self._clock_ms = clock_ms

    def routes(self) -> list[web.RouteDef]:
        """The route: ``GET /admin/book``."""
        return [web.get("/admin/book", self._get_book)]

    async def _get_book(self, request: web.Request) -> web.Response:
        venue = request.query.get("venue", "")
        symbol = request.query.get("symbol", "").upper()
        ex = self._exchanges.get(venue)
        if ex is None:
            return _json(400, {"error": f"venue must be one of {sorted(self._exchanges)}"})
        if symbol not in ex.symbols:
            return _json(400, {"error": f"unknown symbol {symbol!r} on {venue}"})
        # No await from here on: the flush and the book read see the same engine state.
        self._hubs[venue].flush_symbol(symbol, self._clock_ms())
        inst = ex.instrument(symbol)
        bids, asks = ex.engine_depth(symbol, _ALL_LEVELS)
        px_text, qty_text = inst.px_text, inst.qty_text
        return _json(
            200,
            {
                "lastUpdateId": ex.update_id(symbol),
                "bids": [[px_text(p), qty_text(q)] for p, q in bids],
                "asks": [[px_text(p), qty_text(q)] for p, q in asks],
            },
        )


def _json(status: int, body: object) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
