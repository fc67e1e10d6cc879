"""`BusPublisher`: a feed's events as wire messages on its ``md.<venue>.<SYMBOL>`` PUB socket.

Owns the market-data topics (``md.<venue>.<SYMBOL>.<kind>``), one `wire.Encoder` per feed
(its ``seq`` lets readers see drops) and the periodic INSTRUMENT message strategies learn
tick and step from. Must not block, buffer or retry: a message the socket will not take is
dropped and counted. Must not decide anything about the book (the feed does).
"""

import asyncio
import logging

from veloz._core import wire
from veloz._core.book import Book
from veloz.bus.endpoints import BusConfig
from veloz.bus.sockets import PubSocket
from veloz.log import RateLimitedLog
from veloz.model.instrument import Instrument

__all__ = ["KINDS", "BusPublisher", "md_name", "md_topic"]

log = logging.getLogger(__name__)

KINDS = ("book", "bbo", "trade", "kline", "status", "instrument")


def md_name(venue: str, symbol: str) -> str:
    """Return the endpoint name of a feed: ``md.<venue>.<SYMBOL>``."""
    return f"md.{venue}.{symbol.upper()}"


def md_topic(venue: str, symbol: str, kind: str) -> bytes:
    """Return the topic ``md.<venue>.<SYMBOL>.<kind>`` as bytes (`kind` in `KINDS`)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    return f"{md_name(venue, symbol)}.{kind}".encode("ascii")


class BusPublisher:
    """Publish one feed's events on the bus; implements `veloz.bus.publisher.Publisher`.

    Binds ``md.<venue>.<SYMBOL>`` (writing its endpoint file) and sends one INSTRUMENT
    message at once; `publish_instrument` (or `run_instrument_loop`) repeats it so late
    subscribers learn the instrument within a second.

    Parameters
    ----------
    cfg : BusConfig
        Run dir, transport, HWM.
    instrument : Instrument
        The feed's instrument: symbol, scales, tick/step/limits for INSTRUMENT messages.
    venue : str
        ``"binance-spot"`` or ``"binance-usdm"`` (any name `wire.venue_id` knows).
    inst : int
        The feed's instrument id, written in every header.
    depth_levels : int
        Levels per side in BOOK messages (1..1000).
    encoder : wire.Encoder, optional
        Built for `venue` with ``max_levels=depth_levels`` when omitted.
    socket : PubSocket, optional
        Bound for the feed's name when omitted (tests pass their own).

    Raises
    ------
    ConfigError
        The name is already published by a live process, or the socket cannot bind.
    WireError
        `venue` is not a venue the wire format knows.
    ValueError
        `depth_levels` out of range.
    """

    __slots__ = (
        "_bad_log",
        "_enc",
        "_inst",
        "_instrument",
        "_levels",
        "_min_notional",
        "_price_dp",
        "_qty_dp",
        "_sock",
        "_t_bbo",
        "_t_book",
        "_t_instrument",
        "_t_kline",
        "_t_status",
        "_t_trade",
        "n_errors",
        "name",
    )

    def __init__(
        self,
        cfg: BusConfig,
        instrument: Instrument,
        venue: str,
        inst: int = 0,
        *,
        depth_levels: int = 20,
        encoder: wire.Encoder | None = None,
        socket: PubSocket | None = None,
    ) -> None:
        if not 1 <= depth_levels <= 1000:
            raise ValueError(f"depth_levels must be 1..1000, got {depth_levels}")
        vid = wire.venue_id(venue)
        self._instrument = instrument
        self._inst = inst
        self._levels = depth_levels
        self._price_dp = instrument.price_dp
        self._qty_dp = instrument.qty_dp
        # Instrument keeps min notional at price_dp + qty_dp, the wire at price_dp: round up
        # (a minimum must not loosen).
        self._min_notional = -(-instrument.min_notional_raw // 10**instrument.qty_dp)
        self._enc = encoder if encoder is not None else wire.Encoder(vid, depth_levels)
        sym = instrument.symbol
        self._t_book = md_topic(venue, sym, "book")
        self._t_bbo = md_topic(venue, sym, "bbo")
        self._t_trade = md_topic(venue, sym, "trade")
        self._t_kline = md_topic(venue, sym, "kline")
        self._t_status = md_topic(venue, sym, "status")
        self._t_instrument = md_topic(venue, sym, "instrument")
        self.name = md_name(venue, sym)
        self._bad_log = RateLimitedLog(log)
        self.n_errors = 0
        self._sock = socket if socket is not None else PubSocket(cfg, self.name)
        self.publish_instrument()

    @property
    def n_sent(self) -> int:
        """Messages the socket accepted."""
        return self._sock.n_sent

    @property
    def n_dropped(self) -> int:
        """Messages the socket refused (see `veloz.bus.sockets` on drop semantics)."""
        return self._sock.n_dropped

    @property
    def seq(self) -> int:
        """The last wire seq used."""
        return self._enc.seq

    @property
    def socket(self) -> PubSocket:
        """The PUB socket."""
        return self._sock

    def _encode_failed(self, kind: str, exc: Exception) -> None:
        # An argument the codec refuses (a dp or value out of range): a feed bug, not bad
        # venue input; the event is lost, counted, and the feed carries on.
        self.n_errors += 1
        self._bad_log.warning("bus.encode_failed name=%s kind=%s error=%s", self.name, kind, exc)

    def book(self, inst: int, book: Book, update_id: int, exch_ns: int, ingest_ns: int) -> None:
        """Send the top `depth_levels` of `book` as a BOOK message. O(depth_levels)."""
        try:
            body = self._enc.book(inst, book, self._levels, update_id, exch_ns, ingest_ns)
        except (ValueError, OverflowError) as exc:
            self._encode_failed("book", exc)
            return
        self._sock.send(self._t_book, body)

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
        """Send a BBO message (raws at the instrument's scales)."""
        try:
            body = self._enc.bbo(
                inst,
                update_id,
                self._price_dp,
                self._qty_dp,
                bid_px,
                bid_qty,
                ask_px,
                ask_qty,
                exch_ns,
                ingest_ns,
            )
        except (ValueError, OverflowError) as exc:
            self._encode_failed("bbo", exc)
            return
        self._sock.send(self._t_bbo, body)

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
        """Send a TRADE message (raws at the instrument's scales)."""
        try:
            body = self._enc.trade(
                inst,
                trade_id,
                self._price_dp,
                self._qty_dp,
                px,
                qty,
                is_buyer_maker,
                exch_ns,
                ingest_ns,
            )
        except (ValueError, OverflowError) as exc:
            self._encode_failed("trade", exc)
            return
        self._sock.send(self._t_trade, body)

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
        """Send a KLINE message (prices at price_dp, volume at qty_dp)."""
        try:
            body = self._enc.kline(
                inst,
                open_ns,
                close_ns,
                interval_s,
                self._price_dp,
                self._qty_dp,
                open_px,
                high_px,
                low_px,
                close_px,
                volume,
                n_trades,
                is_closed,
                exch_ns,
                ingest_ns,
            )
        except (ValueError, OverflowError) as exc:
            self._encode_failed("kline", exc)
            return
        self._sock.send(self._t_kline, body)

    def status(self, inst: int, is_live: bool, reason: str, mono_ns: int) -> None:
        """Send a STATUS message (the book became valid or stopped being valid)."""
        try:
            body = self._enc.status(inst, is_live, reason[:200], mono_ns)
        except (ValueError, OverflowError) as exc:
            self._encode_failed("status", exc)
            return
        self._sock.send(self._t_status, body)

    def publish_instrument(self) -> bool:
        """Send the INSTRUMENT message now; return False if it was dropped."""
        i = self._instrument
        try:
            body = self._enc.instrument(
                self._inst,
                i.symbol,
                i.base,
                i.quote,
                i.price_dp,
                i.qty_dp,
                i.tick_raw,
                i.step_raw,
                i.min_qty_raw,
                i.max_qty_raw,
                self._min_notional,
            )
        except (ValueError, OverflowError) as exc:
            self._encode_failed("instrument", exc)
            return False
        return self._sock.send(self._t_instrument, body)

    async def run_instrument_loop(self, interval_s: float = 1.0) -> None:
        """Repeat the INSTRUMENT message every `interval_s` seconds until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            self.publish_instrument()

    def close(self) -> None:
        """Close the socket and remove the endpoint file."""
        self._sock.close()
