"""`BenchTrigger`: the strategy `veloz-bench` runs to trigger orders at a steady pace.

Owns one order cycle per symbol: every ``order_every`` market-data messages it places a
post-only buy ``away_ticks`` below the best bid (it never fills, so the run stays flat),
and cancels it when the venue acknowledges it. Each cycle gives two trigger-to-send samples
(place, cancel) and at least two receipt-to-strategy samples (NEW, CANCELED). Must not
block; it is a benchmark load, not a trading idea.

An order with no answer within ``ack_timeout_s`` (an event lost while the strategy's
subscription was still joining) is cancelled by id and its slot freed, so one lost answer
cannot stall the run; such timeouts are counted.

Params: ``order_every`` (int, default 50), ``away_ticks`` (int, default 200),
``ack_timeout_s`` (float, default 1.0).
"""

from veloz._core import wire
from veloz._core.latency import now_ns
from veloz.errors import OrderRejected
from veloz.strategy.base import Strategy

__all__ = ["BenchTrigger"]


class BenchTrigger(Strategy):
    """Place and cancel one far-away post-only order per symbol every N md messages."""

    def on_start(self) -> None:
        """Read the params; one live order slot per symbol."""
        self.every = max(1, int(self.params.get("order_every", 50)))
        self.away_ticks = max(1, int(self.params.get("away_ticks", 200)))
        self.ack_timeout_ns = int(float(self.params.get("ack_timeout_s", 1.0)) * 1e9)
        self.n_md = 0
        self.n_orders = 0
        self.n_refused = 0
        self.n_timeouts = 0
        self.live: dict[str, str | None] = dict.fromkeys(self.symbols)
        self.sent_ns: dict[str, int] = {}
        self.bid: dict[str, int] = {}
        self.set_timer(0.25)

    def on_stop(self) -> None:
        """Say how much load this run put through."""
        self.log.info(
            "bench.stop md=%d orders=%d refused=%d ack_timeouts=%d",
            self.n_md,
            self.n_orders,
            self.n_refused,
            self.n_timeouts,
        )

    def on_timer(self, now_ns: int) -> None:
        """Free a slot whose order got no answer in time (cancel it by id first)."""
        for symbol, cid in self.live.items():
            if cid is None or now_ns - self.sent_ns.get(symbol, now_ns) < self.ack_timeout_ns:
                continue
            self.n_timeouts += 1
            try:
                self.cancel(cid)
            except OrderRejected as exc:
                self.log.warning("bench.cancel_refused cid=%s reason=%s", cid, exc)
            self.live[symbol] = None

    def _tick(self, symbol: str | None) -> None:
        self.n_md += 1
        if symbol is None or self.n_md % self.every or self.live.get(symbol, 1) is not None:
            return
        bid = self.bid.get(symbol, 0)
        ins = self.instrument(symbol)
        if ins is None or bid <= 0:
            return
        px = bid - self.away_ticks * ins.tick_raw
        qty = max(ins.min_qty_raw, ins.step_raw)
        if ins.min_notional_raw and px > 0:
            qty = max(qty, -(-ins.min_notional_raw // px))
            qty = -(-qty // ins.step_raw) * ins.step_raw
        if px <= 0:
            return
        try:
            self.live[symbol] = self.buy(symbol, qty, px, post_only=True)
            self.sent_ns[symbol] = now_ns()
            self.n_orders += 1
        except OrderRejected as exc:
            self.n_refused += 1
            self.log.warning("bench.refused symbol=%s reason=%s", symbol, exc)

    def on_bbo(self, msg: wire.BboMsg) -> None:
        """Track the best bid; count the message."""
        symbol = self.symbol_of(msg.header.inst)
        if symbol is not None:
            self.bid[symbol] = msg.bid_px
        self._tick(symbol)

    def on_book(self, book: wire.BookView) -> None:
        """Track the best bid; count the message."""
        symbol = self.symbol_of(book.inst)
        best = book.best_bid()
        if symbol is not None and best is not None:
            self.bid[symbol] = best[0]
        self._tick(symbol)

    def on_trade(self, msg: wire.TradeMsg) -> None:
        """Count the message."""
        self._tick(self.symbol_of(msg.header.inst))

    def on_order(self, update: wire.OrderEventMsg) -> None:
        """Cancel our order once acknowledged; free the slot when it is done."""
        for symbol, cid in self.live.items():
            if cid != update.client_order_id:
                continue
            if update.status == wire.Status.NEW:
                self.cancel(cid)
            elif update.status not in (wire.Status.NEW, wire.Status.PARTIALLY_FILLED):
                self.live[symbol] = None
            return
