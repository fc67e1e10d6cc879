"""`StdoutPublisher`: a `Publisher` that writes one JSON object per event to a text stream.

Owns the JSON-lines form of feed events for people and scripts (``veloz feed --print``):
prices and quantities as decimal text at the instrument's scale, times as int ns. Must not
be used on a latency path: it formats text and writes (and by default flushes) per event,
and a slow reader of the stream slows the feed.
"""

import sys
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any
from typing import TextIO

import orjson

from veloz._core import fixed
from veloz._core.book import Book
from veloz._core.book import Side
from veloz.model.instrument import Instrument

__all__ = ["StdoutPublisher"]


class StdoutPublisher:
    """Write feed events as JSON lines; implements `veloz.bus.publisher.Publisher`.

    Lines (keys in this order)::

        {"type":"book","inst":0,"symbol":"BTCUSDT","update_id":N,"exch_ns":N,"ingest_ns":N,
         "bids":[["60000.10","0.5"],...],"asks":[...]}           (top `depth_levels`, best first)
        {"type":"bbo","inst":0,"symbol":..,"update_id":N,"bid_px":"..","bid_qty":"..",
         "ask_px":"..","ask_qty":"..","exch_ns":N,"ingest_ns":N}
        {"type":"trade","inst":0,"symbol":..,"trade_id":N,"px":"..","qty":"..",
         "is_buyer_maker":false,"exch_ns":N,"ingest_ns":N}
        {"type":"kline","inst":0,"symbol":..,"open_ns":N,"close_ns":N,"interval_s":60,
         "open":"..","high":"..","low":"..","close":"..","volume":"..","n_trades":N,
         "is_closed":false,"exch_ns":N,"ingest_ns":N}
        {"type":"status","inst":0,"symbol":..,"is_live":true,"reason":"synced","mono_ns":N}

    Decimal text is `fixed.to_text` at the instrument's ``price_dp`` / ``qty_dp`` (the book's
    own scales for book lines). An ``inst`` missing from `instruments` prints ``"symbol":
    null`` and, on bbo and trade lines, raw integers (``"px_raw"`` etc.) instead of text.

    Parameters
    ----------
    out : TextIO, optional
        Where lines go; ``sys.stdout`` when omitted (looked up at each write, so pytest's
        capture and redirections work).
    instruments : mapping of int to Instrument, optional
        The instruments by id, for symbols and scales.
    depth_levels : int
        Levels per side on book lines, >= 1.
    flush : bool
        Flush after every line (a live view through a pipe); False leaves it to the stream.
    on_closed : callable, optional
        Called once when the reader goes away (``BrokenPipeError``, e.g. ``| head``); later
        events are dropped silently, so a closed pipe ends the run instead of failing each
        event.

    Raises
    ------
    ValueError
        `depth_levels` < 1.
    """

    __slots__ = (
        "_depth_levels",
        "_flush",
        "_instruments",
        "_on_closed",
        "_out",
        "is_closed",
        "n_lines",
    )

    def __init__(
        self,
        out: TextIO | None = None,
        *,
        instruments: Mapping[int, Instrument] | None = None,
        depth_levels: int = 5,
        flush: bool = True,
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        if depth_levels < 1:
            raise ValueError(f"depth_levels must be >= 1, got {depth_levels}")
        self._out = out
        self._instruments = dict(instruments or {})
        self._depth_levels = depth_levels
        self._flush = flush
        self._on_closed = on_closed
        self.is_closed = False
        self.n_lines = 0

    def _write(self, obj: dict[str, Any]) -> None:
        if self.is_closed:
            return
        out = self._out if self._out is not None else sys.stdout
        try:
            out.write(orjson.dumps(obj).decode() + "\n")
            if self._flush:
                out.flush()
        except BrokenPipeError:
            self.is_closed = True
            if self._on_closed is not None:
                self._on_closed()
            return
        self.n_lines += 1

    def _symbol(self, inst: int) -> str | None:
        instrument = self._instruments.get(inst)
        return instrument.symbol if instrument is not None else None

    def book(self, inst: int, book: Book, update_id: int, exch_ns: int, ingest_ns: int) -> None:
        """Write the top `depth_levels` of each side of `book` (copied now, not kept)."""
        pdp, qdp = book.price_dp, book.qty_dp
        sides = []
        for side in (Side.BID, Side.ASK):
            px, qty = book.top_n(side, self._depth_levels)
            sides.append(
                [
                    [fixed.to_text(int(p), pdp), fixed.to_text(int(q), qdp)]
                    for p, q in zip(px, qty, strict=True)
                ]
            )
        self._write(
            {
                "type": "book",
                "inst": inst,
                "symbol": self._symbol(inst),
                "update_id": update_id,
                "exch_ns": exch_ns,
                "ingest_ns": ingest_ns,
                "bids": sides[0],
                "asks": sides[1],
            }
        )

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
        """Write one best bid/offer line."""
        obj: dict[str, Any] = {
            "type": "bbo",
            "inst": inst,
            "symbol": self._symbol(inst),
            "update_id": update_id,
        }
        instrument = self._instruments.get(inst)
        if instrument is not None:
            pdp, qdp = instrument.price_dp, instrument.qty_dp
            obj["bid_px"] = fixed.to_text(bid_px, pdp)
            obj["bid_qty"] = fixed.to_text(bid_qty, qdp)
            obj["ask_px"] = fixed.to_text(ask_px, pdp)
            obj["ask_qty"] = fixed.to_text(ask_qty, qdp)
        else:
            obj |= {"bid_px_raw": bid_px, "bid_qty_raw": bid_qty}
            obj |= {"ask_px_raw": ask_px, "ask_qty_raw": ask_qty}
        obj["exch_ns"] = exch_ns
        obj["ingest_ns"] = ingest_ns
        self._write(obj)

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
        """Write one trade line."""
        obj: dict[str, Any] = {
            "type": "trade",
            "inst": inst,
            "symbol": self._symbol(inst),
            "trade_id": trade_id,
        }
        instrument = self._instruments.get(inst)
        if instrument is not None:
            obj["px"] = fixed.to_text(px, instrument.price_dp)
            obj["qty"] = fixed.to_text(qty, instrument.qty_dp)
        else:
            obj |= {"px_raw": px, "qty_raw": qty}
        obj["is_buyer_maker"] = is_buyer_maker
        obj["exch_ns"] = exch_ns
        obj["ingest_ns"] = ingest_ns
        self._write(obj)

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
        """Write one kline line (raws as ``*_raw`` when the instrument is unknown)."""
        obj: dict[str, Any] = {
            "type": "kline",
            "inst": inst,
            "symbol": self._symbol(inst),
            "open_ns": open_ns,
            "close_ns": close_ns,
            "interval_s": interval_s,
        }
        instrument = self._instruments.get(inst)
        pxs = {"open": open_px, "high": high_px, "low": low_px, "close": close_px}
        if instrument is not None:
            obj |= {k: fixed.to_text(v, instrument.price_dp) for k, v in pxs.items()}
            obj["volume"] = fixed.to_text(volume, instrument.qty_dp)
        else:
            obj |= {f"{k}_raw": v for k, v in pxs.items()} | {"volume_raw": volume}
        obj |= {"n_trades": n_trades, "is_closed": is_closed}
        obj |= {"exch_ns": exch_ns, "ingest_ns": ingest_ns}
        self._write(obj)

    def status(self, inst: int, is_live: bool, reason: str, mono_ns: int) -> None:
        """Write one status line (the book became valid or stopped being valid)."""
        self._write(
            {
                "type": "status",
                "inst": inst,
                "symbol": self._symbol(inst),
                "is_live": is_live,
                "reason": reason,
                "mono_ns": mono_ns,
            }
        )
