"""`Market`: the seeded true book of one symbol, its update ids, and the history `truth_at` reads.

Owns the price/quantity grid (ints at 1e-8, text as Binance writes it), the random walk of the
levels, the id chaining of depth events, and the JSON of the events the truth generates
(depthUpdate, bookTicker, trade, a foreign-symbol copy). Knows nothing of sockets or HTTP.
"""

import contextlib
import random
from collections import OrderedDict
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson

from tests.integration.hostile.counters import HostileCounters

__all__ = ["E8", "OTHER_SYMBOL", "DepthStep", "Market", "text_e8"]

E8 = 10**8  # every price / quantity is held as an int at 1e-8, Binance's engine scale
OTHER_SYMBOL = "ETHUSDT"  # the symbol of `wrong_symbol()` frames

# Depth-event id layout: spot events chain U == prev u + 1; USD-M ids jump between events
# and chain by pu == prev u (protocol notes §5.2).
_SPOT_FIRST_ID = 1_000_000_000
_USDM_FIRST_ID = 5_000_000_000


def text_e8(value_e8: int, decimals: int) -> str:
    """Write a non-negative int at 1e-8 as Binance does, with `decimals` places.

    Exact: the value must sit on that grid (AssertionError otherwise).
    """
    whole, frac = divmod(value_e8, E8)
    frac_txt = f"{frac:08d}"
    if decimals < 8:
        assert frac_txt[decimals:] == "0" * (8 - decimals), (value_e8, decimals)
        frac_txt = frac_txt[:decimals]
    return f"{whole}.{frac_txt}" if decimals else str(whole)


def _raw(text: str, dp: int) -> int:
    # Decimal text -> int at dp, exact (the truth's own reading, independent of _core.fixed).
    scaled = Decimal(text).scaleb(dp)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text!r} is not representable at dp={dp}")
    return int(scaled)


@dataclass(frozen=True, slots=True)
class DepthStep:
    """One move of the truth: changed levels (price ticks -> qty steps, 0 deletes) and ids."""

    bids: dict[int, int]
    asks: dict[int, int]
    first: int  # U
    last: int  # u
    prev_u: int  # pu: the u of the event before


class Market:
    """The true book of `symbol`, moved one seeded random event at a time.

    Levels are kept within ``levels`` .. ``2 * levels`` per side; every generated ``u`` is
    recorded (as text) for the last `history` steps.
    """

    def __init__(
        self,
        *,
        is_usdm: bool,
        symbol: str,
        seed: int,
        levels: int,
        trade_prob: float,
        history: int,
        counters: HostileCounters,
    ) -> None:
        self.is_usdm = is_usdm
        self.symbol = symbol
        self.levels = levels
        self.trade_prob = trade_prob
        self._counters = counters
        # Grid: prices and quantities are ints at 1e-8; text decimals as Binance writes them.
        if is_usdm:
            self.tick_e8, self.step_e8 = 10_000_000, 100_000  # 0.10 and 0.001
            self.px_decimals, self.qty_decimals = 2, 3
        else:
            self.tick_e8, self.step_e8 = 1_000_000, 1_000  # 0.01 and 0.00001
            self.px_decimals = self.qty_decimals = 8
        self._rng = random.Random(seed)
        self._center = 65_000 * E8 // self.tick_e8  # in ticks; bids below, asks above
        self._bids: dict[int, int] = {}  # price ticks -> qty steps
        self._asks: dict[int, int] = {}
        self._last_u = (_USDM_FIRST_ID if is_usdm else _SPOT_FIRST_ID) - 1
        self._trade_id = 7_000_000
        self._history: OrderedDict[int, tuple[dict[str, str], dict[str, str]]] = OrderedDict()
        self._history_max = history
        self._ids: deque[int] = deque(maxlen=history)  # generated u values, ascending
        self._seed_book()

    @property
    def update_id(self) -> int:
        """The u of the newest generated depth event (the truth's current id)."""
        return self._last_u

    @property
    def trade_id(self) -> int:
        """The id of the newest generated trade."""
        return self._trade_id

    def px_text(self, ticks: int) -> str:
        """A price in ticks as Binance writes it."""
        return text_e8(ticks * self.tick_e8, self.px_decimals)

    def qty_text(self, steps: int) -> str:
        """A quantity in steps as Binance writes it."""
        return text_e8(steps * self.step_e8, self.qty_decimals)

    def best_bid(self) -> int:
        """The best bid price, in ticks."""
        return max(self._bids)

    def best_ask(self) -> int:
        """The best ask price, in ticks."""
        return min(self._asks)

    # -- truth ----------------------------------------------------------------------------

    def truth_at(self, update_id: int) -> tuple[dict[str, str], dict[str, str]]:
        """Return copies of (bids, asks), price text -> qty text, as the book stood at `update_id`.

        KeyError for an id that ended no generated event, or one older than the kept history.
        """
        bids, asks = self._history[update_id]
        return dict(bids), dict(asks)

    def truth_levels(
        self, update_id: int, price_dp: int, qty_dp: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Return the truth at `update_id` as (px_raw, qty_raw) lists, best level first."""
        bids, asks = self.truth_at(update_id)
        b = sorted(((_raw(p, price_dp), _raw(q, qty_dp)) for p, q in bids.items()), reverse=True)
        a = sorted((_raw(p, price_dp), _raw(q, qty_dp)) for p, q in asks.items())
        return b, a

    def known_ids(self) -> list[int]:
        """Every update id `truth_at` can answer, ascending."""
        return list(self._history)

    def old_id(self, old_by: int, anchor_u: int | None) -> int:
        """The u `old_by` events before `anchor_u`, clamped to the kept history.

        Counts back from the newest event when `anchor_u` is None or no longer kept.
        """
        ids = list(self._ids)
        anchor = len(ids) - 1
        if anchor_u is not None:
            with contextlib.suppress(ValueError):
                anchor = ids.index(anchor_u)
        return ids[max(0, anchor - old_by)]

    # -- generator ------------------------------------------------------------------------

    def _seed_book(self) -> None:
        n = self.levels + self.levels // 2
        for book, sign in ((self._bids, -1), (self._asks, 1)):
            while len(book) < n:
                book[self._new_px(sign)] = self._qty()

    def _new_px(self, sign: int) -> int:
        # A price on `sign`'s side (-1 bids, 1 asks) within 3 * levels ticks of the centre.
        return self._center + sign * self._rng.randint(1, 3 * self.levels)

    def _qty(self) -> int:
        return self._rng.randint(1, 200_000) if not self.is_usdm else self._rng.randint(1, 5_000)

    def step(self) -> DepthStep:
        """Move the truth one event (1-4 level changes, ids advanced) and record it."""
        rng = self._rng
        bid_ch: dict[int, int] = {}
        ask_ch: dict[int, int] = {}
        if rng.random() < 0.08:  # the touch moves: levels that would cross are deleted
            self._center += rng.choice((-2, -1, 1, 2))
            for px in [p for p in self._bids if p >= self._center]:
                bid_ch[px] = 0
                del self._bids[px]
            for px in [p for p in self._asks if p <= self._center]:
                ask_ch[px] = 0
                del self._asks[px]
        for _ in range(rng.randint(1, 4)):
            is_bid = rng.random() < 0.5
            book, ch, sign = (self._bids, bid_ch, -1) if is_bid else (self._asks, ask_ch, 1)
            roll = rng.random()
            if roll < 0.05:  # delete a price the book does not hold: normal on Binance
                px = self._center + sign * (4 * self.levels + rng.randint(1, 50))
                if px not in book:
                    ch[px] = 0
                continue
            if (roll < 0.55 and book) or len(book) >= 2 * self.levels:
                px = rng.choice(list(book))
                if roll < 0.3 and len(book) > self.levels:
                    del book[px]
                    ch[px] = 0
                else:
                    book[px] = ch[px] = self._qty()
            else:
                px = self._new_px(sign)
                book[px] = ch[px] = self._qty()
        for book, ch, sign in ((self._bids, bid_ch, -1), (self._asks, ask_ch, 1)):
            while len(book) < self.levels:
                px = self._new_px(sign)
                book[px] = ch[px] = self._qty()
        prev_u = self._last_u
        first = prev_u + 1 + (rng.randint(0, 5) if self.is_usdm else 0)
        last = first + rng.randint(0, 2)
        self._last_u = last
        self._record(last)
        self._counters.n_steps += 1
        return DepthStep(bid_ch, ask_ch, first, last, prev_u)

    def _record(self, update_id: int) -> None:
        self._history[update_id] = (self._side_text(self._bids), self._side_text(self._asks))
        self._ids.append(update_id)
        while len(self._history) > self._history_max:
            self._history.popitem(last=False)

    def _side_text(self, book: dict[int, int]) -> dict[str, str]:
        return {self.px_text(p): self.qty_text(q) for p, q in book.items()}

    # -- events as Binance writes them ----------------------------------------------------

    def depth_event(self, step: DepthStep, ms: int) -> dict[str, Any]:
        """The ``depthUpdate`` of `step`, event time `ms` (``T`` and ``pu`` on USD-M)."""
        depth: dict[str, Any] = {"e": "depthUpdate", "E": ms}
        if self.is_usdm:
            depth["T"] = ms - 1
        depth["s"] = self.symbol
        depth["U"] = step.first
        depth["u"] = step.last
        if self.is_usdm:
            depth["pu"] = step.prev_u
        depth["b"] = self._levels_json(step.bids, reverse=True)
        depth["a"] = self._levels_json(step.asks, reverse=False)
        return depth

    def _levels_json(self, changes: dict[int, int], reverse: bool) -> list[list[str]]:
        return [
            [self.px_text(p), self.qty_text(q)] for p, q in sorted(changes.items(), reverse=reverse)
        ]

    def wrong_symbol_payload(self, depth: dict[str, Any], prev_u: int) -> str:
        """A depth event for OTHER_SYMBOL whose ids would continue this stream.

        Its one level sits far below the book: applied by mistake, it shows in a published book.
        """
        other = dict(depth)
        other["s"] = OTHER_SYMBOL
        other["U"] = other["u"] = prev_u + 1
        if self.is_usdm:
            other["pu"] = prev_u
        far = self._center - 10 * self.levels
        other["b"] = [[self.px_text(far), text_e8(E8, self.qty_decimals)]]
        other["a"] = []
        return orjson.dumps(other).decode()

    def book_ticker(self, last: int, ms: int) -> str:
        """The ``bookTicker`` of the current touch, tagged with update id `last`."""
        bid = self.best_bid()
        ask = self.best_ask()
        head = {"e": "bookTicker", "u": last, "E": ms, "T": ms - 1} if self.is_usdm else {"u": last}
        body: dict[str, Any] = dict(head)
        body.update(
            {
                "s": self.symbol,
                "b": self.px_text(bid),
                "B": self.qty_text(self._bids[bid]),
                "a": self.px_text(ask),
                "A": self.qty_text(self._asks[ask]),
            }
        )
        return orjson.dumps(body).decode()

    def maybe_trade(self, ms: int) -> str | None:
        """A trade at the touch (``aggTrade`` on USD-M) with probability `trade_prob`."""
        return self._trade(ms) if self._rng.random() < self.trade_prob else None

    def _trade(self, ms: int) -> str:
        self._trade_id += 1
        self._counters.n_trades += 1
        is_buyer_maker = self._rng.random() < 0.5
        px = self.best_bid() if is_buyer_maker else self.best_ask()
        p = self.px_text(px)
        q = self.qty_text(self._qty())
        if self.is_usdm:
            body: dict[str, Any] = {"e": "aggTrade", "E": ms, "s": self.symbol, "a": self._trade_id}
            body.update({"p": p, "q": q, "f": self._trade_id * 3, "l": self._trade_id * 3 + 2})
            body.update({"T": ms - 1, "m": is_buyer_maker})
        else:
            body = {"e": "trade", "E": ms, "s": self.symbol, "t": self._trade_id, "p": p, "q": q}
            body.update({"T": ms - 1, "m": is_buyer_maker, "M": True})
        return orjson.dumps(body).decode()
