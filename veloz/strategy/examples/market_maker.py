"""Example: a one-symbol market maker. Quotes one bid and one ask around the mid.

Owns only its quoting rule; copy it and change the rule. Must not block or sleep: every
callback returns at once, and all prices and sizes are exact ints (raws), never floats.

Params (``[strategies.params]``), all optional:

- ``size`` (str, default: the smallest size the venue accepts at the first mid, i.e. the
  minimum quantity, raised to meet the minimum notional): quantity of each quote.
- ``half_spread_ticks`` (int, default 2): distance of each quote from the mid, in ticks.
- ``requote_ticks`` (int, default 1): requote when the mid moved more than this many ticks.
- ``max_inventory`` (str, default 10 x size): stop quoting the side that adds to a
  position of this size or more.
- ``skew_ticks`` (int, default 1): shift both quotes by this many ticks per ``size`` of
  inventory, away from the side we hold (long -> lower prices, so we sell more easily).

Strays: an open order of ours that is no longer one of the two quotes (a replaced quote
whose cancel the bus refused while the gateway was down, or an order the gateway
republishes after its restart) is cancelled, again at every book until the cancel is sent.
"""

from veloz._core import wire
from veloz.errors import OrderRejected
from veloz.strategy.base import Strategy


class MarketMaker(Strategy):
    """Quote ``size`` at ``mid -/+ half_spread`` on one symbol, skewed by inventory."""

    def on_start(self) -> None:
        """Read the params once; everything below is in raws of the instrument."""
        self.symbol = self.symbols[0]
        ins = self.instrument(self.symbol)
        if ins is None:  # cannot happen: on_start runs once the instrument is known
            raise RuntimeError(f"no instrument for {self.symbol}")
        self.ins = ins
        self.tick = ins.tick_raw
        p = self.params
        self.size = ins.qty(p["size"]) if "size" in p else 0  # 0: chosen at the first mid
        self.half_spread = int(p.get("half_spread_ticks", 2)) * self.tick
        self.requote = int(p.get("requote_ticks", 1)) * self.tick
        self.max_inventory = ins.qty(p["max_inventory"]) if "max_inventory" in p else 0
        self.skew_ticks = int(p.get("skew_ticks", 1))
        self.bid_id: str | None = None
        self.ask_id: str | None = None
        self.strays: set[str] = set()  # ids to cancel: open, but no longer a quote
        self.quoted_mid = 0  # mid (raw) the live quotes were placed around
        self.n_quotes = 0
        self.log.info(
            "mm.start symbol=%s half_spread=%s", self.symbol, ins.px_text(self.half_spread)
        )

    def smallest_size(self, mid: int) -> int:
        """The smallest quantity (raw) on the step that meets min qty and min notional at mid."""
        ins = self.ins
        size = max(ins.min_qty_raw, ins.step_raw)
        if ins.min_notional_raw:
            # notional = px * qty is at price_dp + qty_dp, like min_notional_raw: ceil-divide,
            # at 90 % of mid so the bid (below mid) and a skewed quote still qualify.
            size = max(size, -(-ins.min_notional_raw // (mid * 9 // 10)))
        return -(-size // ins.step_raw) * ins.step_raw  # round up to the step

    def on_book(self, book: wire.BookView) -> None:
        """Requote when the mid moved more than ``requote_ticks`` or a quote is missing."""
        mid_x2 = book.mid_x2()
        if mid_x2 is None:
            return
        mid = mid_x2 // 2
        if self.size == 0:
            self.size = self.smallest_size(mid)
        if self.max_inventory == 0:
            self.max_inventory = 10 * self.size
        if abs(mid - self.quoted_mid) > self.requote:
            self.cancel_quotes()
            self.quoted_mid = mid
        else:
            if self.strays:
                self.cancel_strays()
            if self.bid_id is not None and self.ask_id is not None:
                return
        pos = self.position(self.symbol)
        inventory = pos.qty if pos is not None else 0
        # Skew: whole ticks per `size` of inventory (integer division keeps it exact).
        skew = (inventory * self.skew_ticks // self.size) * self.tick
        bid = (mid - self.half_spread - skew) // self.tick * self.tick  # round down to tick
        ask = -(-(mid + self.half_spread - skew) // self.tick) * self.tick  # round up
        if self.bid_id is None and inventory < self.max_inventory and bid > 0:
            self.bid_id = self.quote("buy", bid)
        if self.ask_id is None and inventory > -self.max_inventory:
            self.ask_id = self.quote("sell", ask)

    def quote(self, side: str, px: int) -> str | None:
        """Place one post-only quote; return its id, or None if it was refused."""
        try:
            if side == "buy":
                cid = self.buy(self.symbol, self.size, px, post_only=True)
            else:
                cid = self.sell(self.symbol, self.size, px, post_only=True)
        except OrderRejected as exc:
            self.log.warning("mm.quote_refused side=%s reason=%s", side, exc.reason)
            return None
        self.n_quotes += 1
        return cid

    def cancel_quotes(self) -> None:
        """Cancel both live quotes (their slots free up at once; a cancel the bus refuses is
        sent again at the next book)."""
        for cid in (self.bid_id, self.ask_id):
            if cid is not None:
                self.strays.add(cid)
        self.bid_id = self.ask_id = None
        self.cancel_strays()

    def cancel_strays(self) -> None:
        """Send a cancel for every stray; keep those the bus refused for the next try."""
        for cid in sorted(self.strays):
            try:
                self.cancel(cid)  # False: already finished, nothing to send
            except OrderRejected as exc:
                self.log.warning("mm.cancel_refused cid=%s reason=%s", cid, exc.reason)
                if exc.by == "bus":
                    return  # the gateway is away: try again at the next book
            self.strays.discard(cid)

    def on_order(self, update: wire.OrderEventMsg) -> None:
        """Free a quote's slot once it is finished (filled, cancelled, rejected, expired);
        an open order that is not a quote and not being cancelled becomes a stray."""
        cid = update.client_order_id
        if update.status in (wire.Status.NEW, wire.Status.PARTIALLY_FILLED):
            if cid not in (self.bid_id, self.ask_id) and cid not in self.strays:
                mine = self.open_orders(self.symbol)
                if any(o.client_order_id == cid and not o.cancel_sent for o in mine):
                    self.log.info("mm.stray cid=%s", cid)
                    self.strays.add(cid)
            return
        self.strays.discard(cid)
        if update.client_order_id == self.bid_id:
            self.bid_id = None
        elif update.client_order_id == self.ask_id:
            self.ask_id = None
        if update.status == wire.Status.REJECTED:
            self.log.warning("mm.rejected cid=%s reason=%s", update.client_order_id, update.reason)

    def on_fill(self, fill: wire.FillMsg) -> None:
        """Log the fill and the new inventory; the next book requotes with the new skew."""
        pos = self.position(self.symbol)
        self.log.info(
            "mm.fill side=%s px=%d qty=%d inventory=%d",
            fill.side.name if fill.side is not None else "?",
            fill.px,
            fill.qty,
            pos.qty if pos is not None else 0,
        )

    def on_stop(self) -> None:
        """Pull both quotes (the runtime also cancels anything left open)."""
        self.cancel_quotes()
        self.log.info("mm.stop quotes=%d pnl=%s", self.n_quotes, self.pnl())
