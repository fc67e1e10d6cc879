"""MarketActivity: seeded background participants that keep a simulated book deep and trading.

Owns the behaviour only (a random-walk reference mid, Poisson arrivals of passive limit
orders, cancels and marketable orders); the server owns the clock and calls `step`. It must
not read time or draw from a global random generator: one `random.Random(seed)` drives all.
"""

import random

from veloz._core import fixed
from veloz._core.matching import OrdKind
from veloz._core.matching import OrdSide
from veloz._core.matching import Tif
from veloz.sim.exchange import MARKET_ACCOUNT
from veloz.sim.exchange import SimExchange

__all__ = ["MarketActivity"]

_P_LIMIT = 0.55  # share of arrivals that add a passive limit order
_P_CANCEL = 0.40  # share that cancel a random resting participant order
# the rest (5 %) are marketable orders that trade
_P_WALK = 0.05  # chance per arrival that the reference mid moves one tick
_SEED_LEVELS = 400  # levels per side placed at construction
_MEAN_OFFSET_TICKS = 150.0  # mean distance of a passive order from the mid, ticks
_MAX_OFFSET_TICKS = 3000


# Actions per slice of `step_slice`: ~64 x 6.7 us keeps each hold of the event loop short.
SLICE_ACTIONS = 64


class MarketActivity:
    """Background order flow on one symbol of a `SimExchange`.

    Parameters
    ----------
    exchange : SimExchange
        The exchange to trade on (orders go through ``submit_internal``).
    symbol : str
        Symbol to animate.
    seed : int
        Seed of the generator: the same seed and the same ``step`` times give the same orders.
    updates_per_s : float
        Mean arrival rate of actions (each changes one or more levels), > 0.
    mid_px_text : str
        Starting reference mid, decimal text (snapped down to the tick).

    Notes
    -----
    The book is seeded at construction with `_SEED_LEVELS` levels per side around the mid.
    Arrival times are exponential with mean ``1000 / updates_per_s`` ms.
    """

    __slots__ = (
        "_mid",
        "_next_ms",
        "_orders",
        "_rate_per_ms",
        "_rng",
        "_size_steps",
        "_step",
        "_tick",
        "exchange",
        "n_actions",
        "symbol",
    )

    def __init__(
        self, exchange: SimExchange, symbol: str, seed: int, updates_per_s: float, mid_px_text: str
    ) -> None:
        if updates_per_s <= 0:
            raise ValueError(f"updates_per_s must be > 0, got {updates_per_s}")
        inst = exchange.instrument(symbol)
        self.exchange = exchange
        self.symbol = symbol
        self.n_actions = 0
        self._rng = random.Random(seed)  # noqa: S311 - simulation, not secrets
        self._rate_per_ms = updates_per_s / 1000.0
        self._tick = inst.tick_raw
        self._step = inst.step_raw
        # typical order size: about 20 minimum lots, at least one step
        base = max(inst.min_qty_raw, inst.step_raw)
        self._size_steps = max(1, base * 20 // inst.step_raw)
        self._mid = fixed.parse(mid_px_text, inst.price_dp) // self._tick * self._tick
        self._orders: list[int] = []  # participant order ids that may still rest
        self._next_ms: float | None = None
        for i in range(1, _SEED_LEVELS + 1):
            self._place(OrdSide.BUY, self._mid - i * self._tick)
            self._place(OrdSide.SELL, self._mid + i * self._tick)

    @property
    def mid_px(self) -> int:
        """Reference mid, raw at the instrument's price dp."""
        return self._mid

    def _qty(self) -> int:
        return max(1, int(self._rng.expovariate(1.0 / self._size_steps))) * self._step

    def _place(self, side: int, px: int) -> None:
        if px <= 0:
            return
        oid = self.exchange.submit_internal(
            self.symbol, MARKET_ACCOUNT, side, OrdKind.LIMIT, Tif.GTC, px, self._qty()
        )
        self._orders.append(oid)

    def _act(self) -> None:
        rng = self._rng
        if rng.random() < _P_WALK:
            self._mid += self._tick if rng.random() < 0.5 else -self._tick
        u = rng.random()
        if u < _P_LIMIT:
            offset = 1 + min(int(rng.expovariate(1.0 / _MEAN_OFFSET_TICKS)), _MAX_OFFSET_TICKS)
            if rng.random() < 0.5:
                self._place(OrdSide.BUY, self._mid - offset * self._tick)
            else:
                self._place(OrdSide.SELL, self._mid + offset * self._tick)
        elif u < _P_LIMIT + _P_CANCEL:
            orders = self._orders
            while orders:
                i = rng.randrange(len(orders))
                oid = orders[i]
                orders[i] = orders[-1]
                orders.pop()
                if self.exchange.cancel_internal(self.symbol, oid):
                    break
        else:
            side = OrdSide.BUY if rng.random() < 0.5 else OrdSide.SELL
            self.exchange.submit_internal(
                self.symbol, MARKET_ACCOUNT, side, OrdKind.MARKET, Tif.IOC, 0, self._qty()
            )

    def step(self, now_ms: int, max_actions: int | None = None) -> int:
        """Run the actions due up to `now_ms`, at most `max_actions` of them; return how many.

        Actions left over by the cap stay due and run on the next call, in the same order,
        so slicing never changes what happens. The first call only schedules the first
        arrival after `now_ms`. O(actions).
        """
        if self._next_ms is None:
            self._next_ms = now_ms + self._rng.expovariate(self._rate_per_ms)
            return 0
        n = 0
        while self._next_ms <= now_ms and n != max_actions:
            self._act()
            n += 1
            self._next_ms += self._rng.expovariate(self._rate_per_ms)
        self.n_actions += n
        return n

    def step_slice(self, now_ms: int) -> bool:
        """Run one bounded slice of the due actions; True while more are due.

        The server's timer calls this until it returns False, yielding to the event loop
        between slices, so a backlog at 50k actions/s (about 6.7 us each) never holds the
        loop for more than ~0.5 ms and order requests are served in between.
        """
        return self.step(now_ms, SLICE_ACTIONS) == SLICE_ACTIONS
