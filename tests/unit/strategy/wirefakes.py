"""Bus bodies for strategy tests, encoded by the real `wire.Encoder` (a feed's, a gateway's).

BTCUSDT-like: price_dp 2 with tick 0.10, qty_dp 5 with step 0.00010, min qty 0.00010,
min notional 5 USDT. Feed instrument id 7.
"""

from collections.abc import Callable

from veloz._core import wire
from veloz._core.book import Book
from veloz._core.book import Side as BookSide
from veloz._core.latency import now_ns
from veloz.strategy.base import Strategy
from veloz.strategy.config import StrategySpec
from veloz.strategy.runtime import Runtime
from veloz.strategy.runtime import Slot
from veloz.strategy.summary import ACTION_OFFSET

VENUE = "binance-spot"
SYMBOL = "BTCUSDT"
INST = 7
PRICE_DP = 2
QTY_DP = 5
MD = f"md.{VENUE}.{SYMBOL}."


def topic(kind: str) -> bytes:
    return (MD + kind).encode()


class FeedFake:
    """Encodes what a feed publishes for BTCUSDT."""

    def __init__(self) -> None:
        self.enc = wire.Encoder(wire.venue_id(VENUE))
        self.book = Book(PRICE_DP, QTY_DP)
        self.update_id = 0

    def instrument(self, symbol: str = SYMBOL, inst: int = INST) -> bytes:
        # tick 0.10, step 0.00010, min qty 0.00010, no max, min notional 5.00 (at price_dp)
        return self.enc.instrument(
            inst, symbol, "BTC", "USDT", PRICE_DP, QTY_DP, 10, 10, 10, 0, 500
        )

    def book_body(self, bid: int, ask: int, qty: int = 100_000, ingest_ns: int = 0) -> bytes:
        self.book.clear()
        self.book.apply_level(BookSide.BID, bid, qty)
        self.book.apply_level(BookSide.ASK, ask, qty)
        self.update_id += 1
        return self.enc.book(INST, self.book, 5, self.update_id, 0, ingest_ns or now_ns())

    def trade(self, px: int, qty: int, is_buyer_maker: bool, trade_id: int = 1) -> bytes:
        return self.enc.trade(
            INST, trade_id, PRICE_DP, QTY_DP, px, qty, is_buyer_maker, 0, now_ns()
        )

    def bbo(self, bid: int, ask: int) -> bytes:
        return self.enc.bbo(INST, 1, PRICE_DP, QTY_DP, bid, 1000, ask, 1000, 0, now_ns())

    def status(self, is_live: bool) -> bytes:
        return self.enc.status(INST, is_live, "test", now_ns())


class GatewayFake:
    """Encodes what the gateway publishes back to strategy `name`."""

    def __init__(self) -> None:
        self.enc = wire.Encoder(wire.venue_id(VENUE))

    def event(
        self,
        name: str,
        cid: str,
        status: wire.Status,
        filled: int = 0,
        side: wire.Side = wire.Side.BUY,
        px: int = 5_000_000,
        qty: int = 100,
        reason: str = "",
    ) -> bytes:
        return self.enc.order_event(
            INST,
            name,
            cid,
            42,
            status,
            side,
            wire.OrdType.LIMIT,
            wire.Tif.GTC,
            PRICE_DP,
            QTY_DP,
            px,
            qty,
            filled,
            0,
            reason,
            0,
            now_ns(),
        )

    def fill(
        self,
        name: str,
        cid: str,
        trade_id: int,
        side: wire.Side,
        px: int,
        qty: int,
        fee: int = 0,
    ) -> bytes:
        return self.enc.fill(
            INST,
            name,
            cid,
            42,
            trade_id,
            side,
            PRICE_DP,
            QTY_DP,
            px,
            qty,
            fee,
            "USDT",
            True,
            0,
            0,
            now_ns(),
        )


class Sent:
    """A fake PUSH: records (topic, body); `ok` False refuses like a full gateway queue.

    SYNC commands (the runtime's resync requests) go to `syncs`, the rest to `msgs`.
    """

    def __init__(self) -> None:
        self.msgs: list[tuple[bytes, bytes]] = []
        self.syncs: list[tuple[bytes, bytes]] = []
        self.ok = True

    def __call__(self, topic: bytes, body: bytes) -> bool:
        if self.ok:
            is_sync = body[ACTION_OFFSET] == wire.Action.SYNC
            (self.syncs if is_sync else self.msgs).append((topic, body))
        return self.ok

    def decoded(self) -> list[wire.OrderCmdMsg]:
        out = []
        for _, body in self.msgs:
            msg = wire.decode(body)
            assert isinstance(msg, wire.OrderCmdMsg)
            out.append(msg)
        return out


def spec(
    name: str = "s1", symbols: tuple[str, ...] = (SYMBOL,), venue: str = VENUE
) -> StrategySpec:
    return StrategySpec(name=name, path="x:Y", symbols=list(symbols), venue=venue)  # type: ignore[arg-type]


def runtime(
    *strategies: Strategy,
    sent: Sent | None = None,
    start: bool = True,
    on_failed: Callable[[Slot], None] | None = None,
) -> tuple[Runtime, Sent, FeedFake]:
    """A runtime with `strategies` (each spec'd on BTCUSDT by its name), instrument known."""
    sent = sent or Sent()
    rt = Runtime("t", [(spec(s.name), s) for s in strategies], sent, on_failed=on_failed)
    feed = FeedFake()
    rt.begin()
    if start:
        rt.dispatch(topic("instrument"), feed.instrument())
    return rt, sent, feed
