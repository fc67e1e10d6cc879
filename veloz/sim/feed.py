"""SimFeed: the market data of the simulated exchange, per symbol and without I/O.

Owns the per-symbol state record, turns level and trade changes of an engine call into depth
diffs, book tickers, trades, aggTrades and klines, sends the periodic klines and mark prices,
and answers the public market-data queries. It must not match, settle orders or move
balances (`veloz.sim.exchange` does), and reads the clock only through `clock_ms`.
"""

from collections import deque
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from veloz._core import fixed
from veloz._core.matching import MatchingEngine
from veloz._core.matching import OrdSide
from veloz.model.instrument import Instrument
from veloz.sim.accounts import FEES_PPM
from veloz.sim.errors import BinanceApiError
from veloz.sim.instruments import padding
from veloz.sim.md import AggTradeEvent
from veloz.sim.md import BookTickerEvent
from veloz.sim.md import DepthDiff
from veloz.sim.md import KlineEvent
from veloz.sim.md import MarkPriceEvent
from veloz.sim.md import TradeEvent
from veloz.sim.orders import Fmt
from veloz.sim.orders import SimOrder
from veloz.sim.orders import mandatory
from veloz.sim.orders import parse_int_param

__all__ = ["SimFeed", "Sym"]

_MINUTE_MS = 60_000
_N_TRADES_KEPT = 5000  # trades and aggTrades kept per symbol for REST
_N_BARS_KEPT = 10_000  # 1m bars kept per symbol
_USDM_DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)
_INTERVAL_MIN = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}
_FUNDING_MS = 8 * 3_600_000


@dataclass(slots=True)
class _Bar:
    # One 1m kline; prices raw at price dp, volumes raw at qty dp, quote raws at notional dp.
    open_ms: int
    o: int
    h: int
    lo: int
    c: int
    v: int = 0
    q: int = 0
    tv: int = 0
    tq: int = 0
    n: int = 0
    first_id: int = -1
    last_id: int = -1


class Sym:
    # Everything the exchange keeps per symbol: engine, book mirror, user orders, tape.
    # levels[side][px] mirrors the engine's level totals; resting[order_id] = [side, px, left]
    # for every resting order, so one engine call tells which levels changed without scanning
    # the book.
    __slots__ = (
        "agg_id",
        "aggs",
        "bars",
        "eng",
        "fmt",
        "inst",
        "kline_sent",
        "levels",
        "mul_px",
        "mul_qty",
        "n_submitted",
        "open_cids",
        "orders",
        "resting",
        "top",
        "trade_id",
        "trades",
        "update_id",
    )

    def __init__(self, inst: Instrument, venue: str) -> None:
        maker, taker = FEES_PPM[venue]
        self.inst = inst
        self.fmt = Fmt(inst, padding(inst))
        self.eng = MatchingEngine(inst.price_dp, inst.qty_dp, maker, taker)
        # Text of a raw: fixed.to_text(raw * mul, pad) (pads are never coarser than the grid).
        self.mul_px = 10 ** (self.fmt.pad.price - inst.price_dp)
        self.mul_qty = 10 ** (self.fmt.pad.qty - inst.qty_dp)
        self.levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.resting: dict[int, list[int]] = {}
        self.orders: dict[int, SimOrder] = {}
        self.open_cids: dict[tuple[int, str], int] = {}
        self.update_id = 0
        self.n_submitted = 0  # engine order ids handed out (the next one is n_submitted + 1)
        self.trade_id = 0
        self.agg_id = 0
        self.trades: deque[tuple[int, int, int, int, int, bool]] = deque(maxlen=_N_TRADES_KEPT)
        self.aggs: deque[AggTradeEvent] = deque(maxlen=_N_TRADES_KEPT)
        self.bars: deque[_Bar] = deque(maxlen=_N_BARS_KEPT)
        self.kline_sent = 0  # open_ms of the last bar sent closed
        self.top: tuple[Any, Any] = (None, None)

    def px_text(self, raw: int) -> str:
        return fixed.to_text(raw * self.mul_px, self.fmt.pad.price)

    def qty_text(self, raw: int) -> str:
        return fixed.to_text(raw * self.mul_qty, self.fmt.pad.qty)


class SimFeed:
    """Market-data production and public market queries of one venue's symbols.

    Parameters
    ----------
    venue : {"spot", "usdm"}
        API whose stream and REST shapes apply.
    syms : dict of str to Sym
        The exchange's symbols, shared (not copied): the exchange mutates them.
    clock_ms : callable
        Returns the exchange's time in ms.
    """

    def __init__(self, venue: str, syms: dict[str, Sym], clock_ms: Callable[[], int]) -> None:
        self.venue = venue
        self._syms = syms
        self._clock_ms = clock_ms
        self._md: list[Callable[[object], None]] = []

    def listen(self, callback: Callable[[object], None]) -> None:
        """Register a consumer of market-data events (called synchronously, in order)."""
        self._md.append(callback)

    def sym(self, params: Mapping[str, str]) -> Sym:
        """Return the symbol named by ``params["symbol"]`` (-1102 missing, -1121 unknown)."""
        symbol = mandatory(params, "symbol")
        sym = self._syms.get(symbol)
        if sym is None:
            raise BinanceApiError(-1121)
        return sym

    def ref_px(self, sym: Sym) -> int:
        """Return the reference price raw: last trade, else book mid, else 0."""
        if sym.trades:
            return sym.trades[-1][1]
        bid, ask = sym.eng.best_bid(), sym.eng.best_ask()
        if bid is not None and ask is not None:
            return (bid[0] + ask[0]) // 2
        return 0

    def emit_depth(self, sym: Sym, changed: dict[tuple[int, int], None], now_ms: int) -> None:
        prev = sym.update_id
        sym.update_id = prev + len(changed)
        md = self._md
        if md:
            bids: list[tuple[str, str]] = []
            asks: list[tuple[str, str]] = []
            levels = sym.levels
            for side, px in changed:
                item = (sym.px_text(px), sym.qty_text(levels[side].get(px, 0)))
                (bids if side == 0 else asks).append(item)
            diff = DepthDiff(
                sym.inst.symbol,
                prev + 1,
                sym.update_id,
                prev,
                now_ms,
                now_ms,
                tuple(bids),
                tuple(asks),
            )
            for cb in md:
                cb(diff)
        top = (sym.eng.best_bid(), sym.eng.best_ask())
        if top != sym.top:
            sym.top = top
            if md:
                bt = self._book_ticker(sym, now_ms)
                for cb in md:
                    cb(bt)

    def _book_ticker(self, sym: Sym, now_ms: int) -> BookTickerEvent:
        bid, ask = sym.top
        bpx, bq = bid if bid is not None else (0, 0)
        apx, aq = ask if ask is not None else (0, 0)
        return BookTickerEvent(
            sym.inst.symbol,
            self.venue,
            sym.update_id,
            sym.px_text(bpx),
            sym.qty_text(bq),
            sym.px_text(apx),
            sym.qty_text(aq),
            now_ms,
            now_ms,
        )

    def emit_trades(self, sym: Sym, fills: list[tuple[int, int, int, int]], now_ms: int) -> None:
        # All fills of one engine call share one taker: consecutive ones at one price form one
        # aggregate trade.
        md = self._md
        symbol = sym.inst.symbol
        group: list[tuple[int, int, int, int]] = []
        for fill in fills:
            tid, px, q, mside = fill
            is_buyer_maker = mside == 0
            sym.trades.append((tid, px, q, px * q, now_ms, is_buyer_maker))
            self._bar_add(sym, now_ms, px, q, not is_buyer_maker, tid)
            if md:
                te = TradeEvent(
                    symbol,
                    self.venue,
                    tid,
                    sym.px_text(px),
                    sym.qty_text(q),
                    now_ms,
                    now_ms,
                    is_buyer_maker,
                )
                for cb in md:
                    cb(te)
            if group and group[-1][1] != px:
                self._emit_agg(sym, group, now_ms)
                group = []
            group.append(fill)
        if group:
            self._emit_agg(sym, group, now_ms)

    def _emit_agg(self, sym: Sym, group: list[tuple[int, int, int, int]], now_ms: int) -> None:
        sym.agg_id += 1
        qty = sum(g[2] for g in group)
        ev = AggTradeEvent(
            sym.inst.symbol,
            self.venue,
            sym.agg_id,
            sym.px_text(group[0][1]),
            sym.qty_text(qty),
            group[0][0],
            group[-1][0],
            now_ms,
            now_ms,
            group[0][3] == 0,
        )
        sym.aggs.append(ev)
        for cb in self._md:
            cb(ev)

    # ---- klines ---------------------------------------------------------------------------------

    def roll_bars(self, sym: Sym, now_ms: int) -> None:
        # Append empty bars (o=h=l=c=last close) up to the minute of now_ms.
        minute = now_ms - now_ms % _MINUTE_MS
        if not sym.bars:
            return
        while sym.bars[-1].open_ms < minute:
            c = sym.bars[-1].c
            sym.bars.append(_Bar(sym.bars[-1].open_ms + _MINUTE_MS, c, c, c, c))

    def _bar_add(
        self, sym: Sym, now_ms: int, px: int, q: int, is_taker_buy: bool, tid: int
    ) -> None:
        if not sym.bars:
            sym.bars.append(_Bar(now_ms - now_ms % _MINUTE_MS, px, px, px, px))
        self.roll_bars(sym, now_ms)
        bar = sym.bars[-1]
        if bar.n == 0:
            bar.o = bar.h = bar.lo = px
            bar.first_id = tid
        bar.h = max(bar.h, px)
        bar.lo = min(bar.lo, px)
        bar.c = px
        bar.v += q
        bar.q += px * q
        if is_taker_buy:
            bar.tv += q
            bar.tq += px * q
        bar.n += 1
        bar.last_id = tid

    def _kline(self, sym: Sym, bar: _Bar, minutes: int, now_ms: int, is_closed: bool) -> KlineEvent:
        interval = next(k for k, v in _INTERVAL_MIN.items() if v == minutes)
        fq = sym.fmt.quote
        return KlineEvent(
            sym.inst.symbol,
            self.venue,
            interval,
            now_ms,
            bar.open_ms,
            bar.open_ms + minutes * _MINUTE_MS - 1,
            bar.first_id,
            bar.last_id,
            sym.px_text(bar.o),
            sym.px_text(bar.c),
            sym.px_text(bar.h),
            sym.px_text(bar.lo),
            sym.qty_text(bar.v),
            fq(bar.q),
            sym.qty_text(bar.tv),
            fq(bar.tq),
            bar.n,
            is_closed,
        )

    def tick_second(self, now_ms: int) -> None:
        """Emit the periodic market data: klines of every symbol and USD-M mark prices.

        The server calls this once a second. Per symbol it sends each 1m bar that closed
        since the last call (``x`` true), then the current bar (``x`` false); on USD-M it
        also sends a `MarkPriceEvent` with mark = index = book mid (last trade if a side is
        empty) and funding rate 0.0001.
        """
        md = self._md
        for sym in self._syms.values():
            self.roll_bars(sym, now_ms)
            if sym.bars and md:
                for bar in list(sym.bars)[-3:]:
                    closed = bar.open_ms + _MINUTE_MS <= now_ms
                    if closed and bar.open_ms <= sym.kline_sent:
                        continue
                    ev = self._kline(sym, bar, 1, now_ms, closed)
                    if closed:
                        sym.kline_sent = bar.open_ms
                    for cb in md:
                        cb(ev)
            if self.venue == "usdm" and md:
                mark = sym.px_text(self.mark_px(sym))
                mp = MarkPriceEvent(
                    sym.inst.symbol,
                    now_ms,
                    mark,
                    mark,
                    mark,
                    "0.00010000",
                    now_ms - now_ms % _FUNDING_MS + _FUNDING_MS,
                )
                for cb in md:
                    cb(mp)

    def mark_px(self, sym: Sym) -> int:
        bid, ask = sym.eng.best_bid(), sym.eng.best_ask()
        if bid is not None and ask is not None:
            # mid rounded down to the price text's grid so it formats exactly
            return int((bid[0] + ask[0]) // 2)
        return sym.trades[-1][1] if sym.trades else 0

    # ---- public REST-shaped calls ---------------------------------------------------------------

    def depth(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Return the REST depth snapshot (spot limit default 100, max 5000; USD-M limit
        default 500, snapped up to 5/10/20/50/100/500/1000)."""
        sym = self.sym(params)
        if self.venue == "spot":
            limit = min(parse_int_param(params, "limit", 100) or 100, 5000)
        else:
            want = parse_int_param(params, "limit", 500) or 500
            limit = next((n for n in _USDM_DEPTH_LIMITS if n >= want), 1000)
        bids = [[sym.px_text(p), sym.qty_text(q)] for p, q in sym.eng.depth(OrdSide.BUY, limit)]
        asks = [[sym.px_text(p), sym.qty_text(q)] for p, q in sym.eng.depth(OrdSide.SELL, limit)]
        if self.venue == "spot":
            return {"lastUpdateId": sym.update_id, "bids": bids, "asks": asks}
        now_ms = self._clock_ms()
        return {"lastUpdateId": sym.update_id, "E": now_ms, "T": now_ms, "bids": bids, "asks": asks}

    def _limit(self, params: Mapping[str, str], default: int, most: int) -> int:
        limit = parse_int_param(params, "limit", default) or default
        if limit > most:
            raise BinanceApiError(
                -1100, f"Illegal characters found in parameter 'limit'; legal range is '1-{most}'."
            )
        return limit

    def trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return recent trades (``limit`` default 500, max 1000), oldest first."""
        sym = self.sym(params)
        limit = self._limit(params, 500, 1000)
        out = []
        for tid, px, q, quote, ms, ibm in list(sym.trades)[-limit:]:
            row: dict[str, Any] = {
                "id": tid,
                "price": sym.px_text(px),
                "qty": sym.qty_text(q),
                "quoteQty": sym.fmt.quote(quote),
                "time": ms,
                "isBuyerMaker": ibm,
            }
            if self.venue == "spot":
                row["isBestMatch"] = True
            out.append(row)
        return out

    def agg_trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return aggregate trades: ``fromId``, or ``startTime``/``endTime``, else the most
        recent; ``limit`` default 500, max 1000."""
        sym = self.sym(params)
        limit = self._limit(params, 500, 1000)
        from_id = parse_int_param(params, "fromId", None)
        start = parse_int_param(params, "startTime", None)
        end = parse_int_param(params, "endTime", None)
        rows = list(sym.aggs)
        if from_id is not None:
            rows = [a for a in rows if a.agg_id >= from_id][:limit]
        elif start is not None or end is not None:
            rows = [
                a
                for a in rows
                if (start is None or a.trade_ms >= start) and (end is None or a.trade_ms <= end)
            ][:limit]
        else:
            rows = rows[-limit:]
        return [a.rest() for a in rows]

    def klines(self, params: Mapping[str, str]) -> list[list[Any]]:
        """Return klines built from this run's trades (intervals 1m..1d from 1m bars;
        ``limit`` default 500, max 1000 spot / 1500 USD-M; ``startTime``/``endTime``)."""
        sym = self.sym(params)
        interval = mandatory(params, "interval")
        minutes = _INTERVAL_MIN.get(interval)
        if minutes is None:
            raise BinanceApiError(
                -1100,
                "Illegal characters found in parameter 'interval'; legal "
                f"range is '{', '.join(_INTERVAL_MIN)}'.",
            )
        limit = self._limit(params, 500, 1000 if self.venue == "spot" else 1500)
        start = parse_int_param(params, "startTime", None)
        end = parse_int_param(params, "endTime", None)
        now_ms = self._clock_ms()
        self.roll_bars(sym, now_ms)
        span = minutes * _MINUTE_MS
        merged: list[_Bar] = []
        for bar in sym.bars:
            open_ms = bar.open_ms - bar.open_ms % span
            if merged and merged[-1].open_ms == open_ms:
                m = merged[-1]
                if bar.n:
                    if m.n == 0:
                        m.o = bar.o
                        m.h, m.lo = bar.h, bar.lo
                        m.first_id = bar.first_id
                    m.h, m.lo = max(m.h, bar.h), min(m.lo, bar.lo)
                    m.last_id = bar.last_id
                m.c = bar.c
                m.v += bar.v
                m.q += bar.q
                m.tv += bar.tv
                m.tq += bar.tq
                m.n += bar.n
            else:
                merged.append(
                    _Bar(
                        open_ms,
                        bar.o,
                        bar.h,
                        bar.lo,
                        bar.c,
                        bar.v,
                        bar.q,
                        bar.tv,
                        bar.tq,
                        bar.n,
                        bar.first_id,
                        bar.last_id,
                    )
                )
        rows = [
            b
            for b in merged
            if (start is None or b.open_ms >= start) and (end is None or b.open_ms <= end)
        ]
        rows = rows[:limit] if start is not None else rows[-limit:]
        return [
            self._kline(sym, b, minutes, now_ms, b.open_ms + span <= now_ms).rest() for b in rows
        ]

    def _ticker(self, sym: Sym) -> dict[str, Any]:
        bid, ask = sym.eng.best_bid(), sym.eng.best_ask()
        bpx, bq = bid if bid is not None else (0, 0)
        apx, aq = ask if ask is not None else (0, 0)
        row: dict[str, Any] = {
            "symbol": sym.inst.symbol,
            "bidPrice": sym.px_text(bpx),
            "bidQty": sym.qty_text(bq),
            "askPrice": sym.px_text(apx),
            "askQty": sym.qty_text(aq),
        }
        if self.venue == "usdm":
            row = {"lastUpdateId": sym.update_id, **row, "time": self._clock_ms()}
        return row

    def book_ticker(self, params: Mapping[str, str]) -> Any:
        """Return ``ticker/bookTicker`` of one symbol (dict) or of all (list)."""
        if params.get("symbol"):
            return self._ticker(self.sym(params))
        return [self._ticker(s) for s in self._syms.values()]

    def _price(self, sym: Sym) -> dict[str, Any]:
        row: dict[str, Any] = {"symbol": sym.inst.symbol, "price": sym.px_text(self.ref_px(sym))}
        if self.venue == "usdm":
            row["time"] = self._clock_ms()
        return row

    def ticker_price(self, params: Mapping[str, str]) -> Any:
        """Return ``ticker/price`` (last trade, else mid) of one symbol or of all."""
        if params.get("symbol"):
            return self._price(self.sym(params))
        return [self._price(s) for s in self._syms.values()]

    def _premium(self, sym: Sym) -> dict[str, Any]:
        now_ms = self._clock_ms()
        mark = sym.px_text(self.mark_px(sym))
        return {
            "symbol": sym.inst.symbol,
            "markPrice": mark,
            "indexPrice": mark,
            "estimatedSettlePrice": mark,
            "lastFundingRate": "0.00010000",
            "interestRate": "0.00010000",
            "nextFundingTime": now_ms - now_ms % _FUNDING_MS + _FUNDING_MS,
            "time": now_ms,
        }

    def premium_index(self, params: Mapping[str, str]) -> Any:
        """Return USD-M ``premiumIndex`` (mark = index = mid) of one symbol or of all."""
        if params.get("symbol"):
            return self._premium(self.sym(params))
        return [self._premium(s) for s in self._syms.values()]
