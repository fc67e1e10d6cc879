"""Example: a momentum taker. Crosses the spread with IOC orders in the direction of flow.

Owns only its signal; copy it and change the signal. Must not block or sleep, and keeps
every price and size an exact int (raw), never a float.

Signal, over a sliding window of ``window_s`` seconds:

- trade flow: aggressive buy volume minus aggressive sell volume (a trade whose buyer was
  the maker was an aggressive sell), and
- mid change: mid now minus the mid at the start of the window, in ticks.

When both point the same way (flow beyond ``flow_threshold`` and the mid moved at least
``min_move_ticks``), send an IOC limit order at the far touch (best ask to buy, best bid to
sell) for ``size``, unless the position would pass ``max_position``. After an order, wait
``cooldown_s`` seconds before the next one.

Params (``[strategies.params]``), all optional: ``size`` (str, default: minimum order
size), ``window_s`` (default 5), ``flow_threshold`` (str, base qty; default 5 x size),
``min_move_ticks`` (default 2), ``max_position`` (str; default 5 x size),
``cooldown_s`` (default 2).
"""

from collections import deque

from veloz._core import wire
from veloz._core.latency import now_ns
from veloz.errors import OrderRejected
from veloz.strategy.base import Strategy

_NS = 1_000_000_000


class Momentum(Strategy):
    """Take liquidity in the direction of recent trade flow and mid movement."""

    def on_start(self) -> None:
        """Read the params; keep a window of (mono ns, signed qty) trades and of mids."""
        self.symbol = self.symbols[0]
        ins = self.instrument(self.symbol)
        if ins is None:  # cannot happen: on_start runs once the instrument is known
            raise RuntimeError(f"no instrument for {self.symbol}")
        self.tick = ins.tick_raw
        p = self.params
        self.size = ins.qty(p["size"]) if "size" in p else max(ins.min_qty_raw, ins.step_raw)
        self.window_ns = int(float(p.get("window_s", 5)) * _NS)
        self.flow_threshold = (
            ins.qty(p["flow_threshold"]) if "flow_threshold" in p else 5 * self.size
        )
        self.min_move = int(p.get("min_move_ticks", 2)) * self.tick
        self.max_position = ins.qty(p["max_position"]) if "max_position" in p else 5 * self.size
        self.cooldown_ns = int(float(p.get("cooldown_s", 2)) * _NS)
        self.trades: deque[tuple[int, int]] = deque()  # (mono ns, +qty buy / -qty sell)
        self.flow = 0  # sum of the signed quantities in `trades`
        self.mids: deque[tuple[int, int]] = deque()  # (mono ns, mid raw) on each book
        self.next_order_ns = 0
        self.n_orders = 0
        self.set_timer(1.0)  # a heartbeat line; trading is driven by market data

    def on_trade(self, msg: wire.TradeMsg) -> None:
        """Add the trade to the flow window, then check the signal."""
        now = now_ns()
        signed = -msg.qty if msg.is_buyer_maker else msg.qty
        self.trades.append((now, signed))
        self.flow += signed
        self.expire(now)
        self.check(now)

    def on_book(self, book: wire.BookView) -> None:
        """Track the mid for the window's mid change."""
        mid_x2 = book.mid_x2()
        if mid_x2 is None:
            return
        now = now_ns()
        self.mids.append((now, mid_x2 // 2))
        self.expire(now)

    def expire(self, now: int) -> None:
        """Drop what fell out of the window (keep one mid older than it as the base)."""
        start = now - self.window_ns
        while self.trades and self.trades[0][0] < start:
            self.flow -= self.trades.popleft()[1]
        while len(self.mids) > 1 and self.mids[1][0] < start:
            self.mids.popleft()

    def check(self, now: int) -> None:
        """Send one IOC order when flow and mid change agree, within position and cooldown."""
        if now < self.next_order_ns or len(self.mids) < 2:
            return
        move = self.mids[-1][1] - self.mids[0][1]
        pos = self.position(self.symbol)
        qty = pos.qty if pos is not None else 0
        book = self.book(self.symbol)
        if book is None:
            return
        if self.flow >= self.flow_threshold and move >= self.min_move:
            touch = book.best_ask()
            if touch is None or qty + self.size > self.max_position:
                return
            self.take("buy", touch[0], now)
        elif self.flow <= -self.flow_threshold and move <= -self.min_move:
            touch = book.best_bid()
            if touch is None or qty - self.size < -self.max_position:
                return
            self.take("sell", touch[0], now)

    def take(self, side: str, px: int, now: int) -> None:
        """Cross the spread at `px` with an IOC order; start the cooldown either way."""
        self.next_order_ns = now + self.cooldown_ns
        try:
            if side == "buy":
                self.buy(self.symbol, self.size, px, tif="IOC")
            else:
                self.sell(self.symbol, self.size, px, tif="IOC")
        except OrderRejected as exc:
            self.log.warning("momentum.refused side=%s reason=%s", side, exc.reason)
            return
        self.n_orders += 1
        self.log.info("momentum.take side=%s px=%d flow=%d", side, px, self.flow)

    def on_timer(self, now_ns: int) -> None:
        """Once a second: expire the window even without trades, log the state."""
        self.expire(now_ns)
        pos = self.position(self.symbol)
        self.log.debug(
            "momentum.state flow=%d trades=%d position=%d orders=%d",
            self.flow,
            len(self.trades),
            pos.qty if pos is not None else 0,
            self.n_orders,
        )

    def on_stop(self) -> None:
        """IOC orders never rest; log the outcome."""
        self.log.info("momentum.stop orders=%d pnl=%s", self.n_orders, self.pnl())
