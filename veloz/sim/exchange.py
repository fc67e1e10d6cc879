"""SimExchange: the matching core of the embedded Binance spot or USD-M venue, without I/O.

Owns one MatchingEngine per symbol, the book's update ids, trades, klines, user orders and
accounts, and turns every engine call into Binance-shaped market-data and user-data events.
It must not open sockets, sleep or read the wall clock itself (the caller passes `clock_ms`),
and never imports `veloz.venues` (STYLE §1).
"""

import random
from collections import deque
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from veloz._core import fixed
from veloz._core.matching import EvKind
from veloz._core.matching import MatchingEngine
from veloz._core.matching import OrdKind
from veloz._core.matching import OrdSide
from veloz._core.matching import Reason
from veloz._core.matching import Stp
from veloz._core.matching import Tif
from veloz._core.units import Nanos
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.model.instrument import Instrument
from veloz.sim.accounts import BAL_DP
from veloz.sim.accounts import MONEY_DP
from veloz.sim.accounts import FuturesAccount
from veloz.sim.accounts import SpotAccount
from veloz.sim.accounts import dec_text
from veloz.sim.accounts import to_scale
from veloz.sim.errors import BinanceApiError
from veloz.sim.instruments import exchange_info
from veloz.sim.instruments import padding
from veloz.sim.md import AggTradeEvent
from veloz.sim.md import BookTickerEvent
from veloz.sim.md import DepthDiff
from veloz.sim.md import KlineEvent
from veloz.sim.md import MarkPriceEvent
from veloz.sim.md import TradeEvent
from veloz.sim.orders import MSG_DUPLICATE
from veloz.sim.orders import MSG_INSUFFICIENT
from veloz.sim.orders import MSG_UNKNOWN_ORDER
from veloz.sim.orders import MSG_WOULD_TAKE
from veloz.sim.orders import Fill
from veloz.sim.orders import Fmt
from veloz.sim.orders import SimOrder
from veloz.sim.orders import api_error
from veloz.sim.orders import execution_report
from veloz.sim.orders import mandatory
from veloz.sim.orders import order_trade_update
from veloz.sim.orders import parse_int_param
from veloz.sim.orders import parse_new_order

__all__ = ["MARKET_ACCOUNT", "SimExchange"]

MARKET_ACCOUNT = 0  # engine account of the market-activity participants

FEES_PPM = {"spot": (1000, 1000), "usdm": (200, 500)}  # (maker, taker) parts per million
_PPM = 1_000_000
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
_CID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_SIDE_TEXT = ("BUY", "SELL")
_EV_NEW = int(EvKind.EV_NEW)
_EV_TRADE = int(EvKind.EV_TRADE)
_EV_CANCELED = int(EvKind.EV_CANCELED)
_EV_EXPIRED = int(EvKind.EV_EXPIRED)
_R_STP = int(Reason.STP_EXPIRED)
_R_MARKET = int(Reason.MARKET_REMAINDER)
_R_IOC = int(Reason.IOC_REMAINDER)
_STP = {
    "NONE": Stp.NONE,
    "EXPIRE_TAKER": Stp.EXPIRE_TAKER,
    "EXPIRE_MAKER": Stp.EXPIRE_MAKER,
    "EXPIRE_BOTH": Stp.EXPIRE_BOTH,
}
_KIND = {"LIMIT": OrdKind.LIMIT, "MARKET": OrdKind.MARKET, "LIMIT_MAKER": OrdKind.LIMIT_MAKER}


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


class _Sym:
    # Everything the exchange keeps per symbol. levels[side][px] mirrors the engine's level
    # totals; resting[order_id] = [side, px, left] for every resting order, so one engine call
    # tells which levels changed without scanning the book.
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


def _money(sym: _Sym, raw: int) -> int:
    # A raw at the symbol's notional dp (PnL, notional) at MONEY_DP.
    return (
        to_scale(raw, sym.inst.notional_dp, MONEY_DP)
        if raw >= 0
        else -to_scale(-raw, sym.inst.notional_dp, MONEY_DP)
    )


class SimExchange:
    """The simulated Binance spot or USD-M exchange of several symbols.

    Parameters
    ----------
    venue : {"spot", "usdm"}
        API whose shapes, rules and fees (spot 0.1 %/0.1 %; USD-M 0.02 % maker, 0.05 % taker)
        apply.
    instruments : sequence of Instrument
        Symbols traded (see `veloz.sim.instruments`); dp no finer than the text padding.
    clock_ms : callable
        Returns the exchange's time in ms; read once per call.

    Notes
    -----
    Every public call runs synchronously: matching, account updates and the listener
    callbacks happen before it returns. REST-shaped calls take parameters as received and
    raise `BinanceApiError` with Binance's code, message and HTTP status.
    """

    def __init__(
        self, venue: str, instruments: Sequence[Instrument], clock_ms: Callable[[], int]
    ) -> None:
        if venue not in FEES_PPM:
            raise ValueError(f"venue must be 'spot' or 'usdm', got {venue!r}")
        self.venue = venue
        self._clock_ms = clock_ms
        self._syms: dict[str, _Sym] = {}
        for inst in instruments:
            pad = padding(inst)
            if pad.price < inst.price_dp or pad.qty < inst.qty_dp or inst.qty_dp > BAL_DP:
                raise ValueError(f"{inst.symbol}: dp finer than its text padding or 8")
            self._syms[inst.symbol] = _Sym(inst, venue)
        self._instruments = tuple(instruments)
        self._md: list[Callable[[object], None]] = []
        self._user: list[Callable[[int, dict[str, Any]], None]] = []
        self._spot: dict[int, SpotAccount] = {}
        self._fut: dict[int, FuturesAccount] = {}
        self._rng = random.Random(0x5EED)  # noqa: S311 - client order ids, not secrets
        # Per-call scratch: user events in order, then accounts whose balances moved.
        self._out_user: list[tuple[int, dict[str, Any]]] = []
        self._touched: dict[int, set[str]] = {}

    # ---- wiring ---------------------------------------------------------------------------------

    @property
    def symbols(self) -> tuple[str, ...]:
        """Symbols traded, in construction order."""
        return tuple(self._syms)

    def instrument(self, symbol: str) -> Instrument:
        """Return the instrument of `symbol` (KeyError if unknown)."""
        return self._syms[symbol].inst

    def listen(self, callback: Callable[[object], None]) -> None:
        """Register a consumer of market-data events (called synchronously, in order)."""
        self._md.append(callback)

    def listen_user(self, callback: Callable[[int, dict[str, Any]], None]) -> None:
        """Register a consumer of user-data events ``(account_id, event dict)``."""
        self._user.append(callback)

    def add_account(self, account_id: int, balances: Mapping[str, str]) -> None:
        """Create an account: spot asset balances, or for USD-M the ``USDT`` wallet.

        Raises
        ------
        ValueError
            For the reserved `MARKET_ACCOUNT`, an existing id, or a bad amount.
        """
        if account_id == MARKET_ACCOUNT or account_id in self._spot or account_id in self._fut:
            raise ValueError(f"account {account_id} is reserved or exists")
        if self.venue == "spot":
            acct = SpotAccount()
            for asset, amount in balances.items():
                acct.free[asset] = fixed.parse(amount, BAL_DP)
                acct.locked[asset] = 0
            self._spot[account_id] = acct
        else:
            fut = FuturesAccount()
            fut.wallet = fixed.parse(balances.get("USDT", "0"), 8) * 10 ** (MONEY_DP - 8)
            self._fut[account_id] = fut

    # ---- helpers --------------------------------------------------------------------------------

    def _sym(self, params: Mapping[str, str]) -> _Sym:
        symbol = mandatory(params, "symbol")
        sym = self._syms.get(symbol)
        if sym is None:
            raise BinanceApiError(-1121)
        return sym

    def _ref_px(self, sym: _Sym) -> int:
        if sym.trades:
            return sym.trades[-1][1]
        bid, ask = sym.eng.best_bid(), sym.eng.best_ask()
        if bid is not None and ask is not None:
            return (bid[0] + ask[0]) // 2
        return 0

    def _new_cid(self) -> str:
        return "".join(self._rng.choice(_CID_CHARS) for _ in range(22))

    def _emit_user(self, account: int, event: dict[str, Any]) -> None:
        self._out_user.append((account, event))

    # ---- the one path every engine call takes ---------------------------------------------------

    def _absorb(
        self,
        sym: _Sym,
        side: int,
        px: int,
        now_ms: int,
        cancel_cids: Mapping[int, str] | None = None,
    ) -> None:
        # Drain the engine, mirror level totals, settle user orders and emit every event.
        evs = sym.eng.drain()
        levels = sym.levels
        resting = sym.resting
        uorders = sym.orders
        changed: dict[tuple[int, int], None] = {}
        fills: list[tuple[int, int, int, int]] = []  # (trade id, px, qty, maker side)
        taker = 0
        t_left = 0
        t_closed = False
        for ev in evs:
            kind = ev[0]
            if kind == _EV_TRADE:
                mid, fpx, q, mside = ev[2], ev[3], ev[4], ev[7]
                r = resting[mid]
                r[2] -= q
                if r[2] == 0:
                    del resting[mid]
                book = levels[mside]
                nq = book[fpx] - q
                if nq:
                    book[fpx] = nq
                else:
                    del book[fpx]
                changed[(mside, fpx)] = None
                t_left -= q
                sym.trade_id += 1
                fills.append((sym.trade_id, fpx, q, mside))
                if uorders:
                    if ev[1] in uorders:
                        self._on_fill(sym, uorders[ev[1]], fpx, q, False, now_ms)
                    if mid in uorders:
                        self._on_fill(sym, uorders[mid], fpx, q, True, now_ms)
            elif kind == _EV_NEW:
                taker = ev[1]
                t_left = ev[4]
                if taker in uorders:
                    self._on_new(sym, uorders[taker], now_ms)
            else:  # CANCELED, EXPIRED, REJECTED
                oid = ev[1]
                rest = resting.pop(oid, None)
                if rest is not None:
                    book = levels[rest[0]]
                    nq = book[rest[1]] - rest[2]
                    if nq:
                        book[rest[1]] = nq
                    else:
                        del book[rest[1]]
                    changed[(rest[0], rest[1])] = None
                elif oid == taker:
                    t_closed = True
                if oid in uorders:
                    cid = cancel_cids.get(oid) if cancel_cids else None
                    self._on_close(sym, uorders[oid], kind, ev[8], now_ms, cid)
        if taker and not t_closed and t_left > 0:
            resting[taker] = [side, px, t_left]
            book = levels[side]
            book[px] = book.get(px, 0) + t_left
            changed[(side, px)] = None
            if taker in uorders:
                uorders[taker].is_working = True
        if changed:
            self._emit_depth(sym, changed, now_ms)
        if fills:
            self._emit_trades(sym, fills, now_ms)
        if self._out_user:
            self._flush_user(sym, now_ms)

    def _emit_depth(self, sym: _Sym, changed: dict[tuple[int, int], None], now_ms: int) -> None:
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

    def _book_ticker(self, sym: _Sym, now_ms: int) -> BookTickerEvent:
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

    def _emit_trades(self, sym: _Sym, fills: list[tuple[int, int, int, int]], now_ms: int) -> None:
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

    def _emit_agg(self, sym: _Sym, group: list[tuple[int, int, int, int]], now_ms: int) -> None:
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

    def _roll_bars(self, sym: _Sym, now_ms: int) -> None:
        # Append empty bars (o=h=l=c=last close) up to the minute of now_ms.
        minute = now_ms - now_ms % _MINUTE_MS
        if not sym.bars:
            return
        while sym.bars[-1].open_ms < minute:
            c = sym.bars[-1].c
            sym.bars.append(_Bar(sym.bars[-1].open_ms + _MINUTE_MS, c, c, c, c))

    def _bar_add(
        self, sym: _Sym, now_ms: int, px: int, q: int, is_taker_buy: bool, tid: int
    ) -> None:
        if not sym.bars:
            sym.bars.append(_Bar(now_ms - now_ms % _MINUTE_MS, px, px, px, px))
        self._roll_bars(sym, now_ms)
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

    def _kline(
        self, sym: _Sym, bar: _Bar, minutes: int, now_ms: int, is_closed: bool
    ) -> KlineEvent:
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
            self._roll_bars(sym, now_ms)
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
                mark = sym.px_text(self._mark_px(sym))
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

    def _mark_px(self, sym: _Sym) -> int:
        bid, ask = sym.eng.best_bid(), sym.eng.best_ask()
        if bid is not None and ask is not None:
            # mid rounded down to the price text's grid so it formats exactly
            return int((bid[0] + ask[0]) // 2)
        return sym.trades[-1][1] if sym.trades else 0

    # ---- participants ---------------------------------------------------------------------------

    def submit_internal(
        self,
        symbol: str,
        account_id: int,
        side: int,
        kind: int,
        tif: int,
        px_raw: int,
        qty_raw: int,
    ) -> int:
        """Submit a participant order: no balances, no filters; return the engine order id.

        Parameters are the engine's (`OrdSide`, `OrdKind`, `Tif`, raws at the instrument's
        dp). STP is NONE. Emits market data like any order. O(log n + fills).
        """
        sym = self._syms[symbol]
        now_ms = self._clock_ms()
        sym.n_submitted += 1
        oid = sym.eng.submit(
            account_id, 0, side, kind, tif, Px(px_raw), Qty(qty_raw), 0, Nanos(now_ms * 1_000_000)
        )
        self._absorb(sym, side, px_raw, now_ms)
        return oid

    def cancel_internal(self, symbol: str, order_id: int) -> bool:
        """Cancel a participant order; False when it no longer rests. O(log n)."""
        sym = self._syms[symbol]
        if order_id in sym.orders:
            return False
        now_ms = self._clock_ms()
        if not sym.eng.cancel(order_id, now_ms * 1_000_000):
            return False
        self._absorb(sym, 0, 0, now_ms)
        return True

    def engine_depth(
        self, symbol: str, n: int
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Return the best `n` (bids, asks) of `symbol` as (px, qty) raws, best first."""
        eng = self._syms[symbol].eng
        return (
            [(int(p), int(q)) for p, q in eng.depth(OrdSide.BUY, n)],
            [(int(p), int(q)) for p, q in eng.depth(OrdSide.SELL, n)],
        )

    def update_id(self, symbol: str) -> int:
        """Return the last book update id of `symbol`."""
        return self._syms[symbol].update_id

    # ---- user orders: settlement and events -----------------------------------------------------

    def _on_new(self, sym: _Sym, o: SimOrder, now_ms: int) -> None:
        o.is_working = o.type != "MARKET"
        if self.venue == "spot":
            self._emit_user(o.account, execution_report(o, sym.fmt, "NEW", now_ms))
        else:
            self._emit_user(o.account, order_trade_update(o, sym.fmt, "NEW", now_ms, None, 0))

    def _on_fill(
        self, sym: _Sym, o: SimOrder, px: int, q: int, is_maker: bool, now_ms: int
    ) -> None:
        inst = sym.inst
        nd = inst.notional_dp
        notional = px * q  # raw at notional dp
        o.executed += q
        o.cum_quote += notional
        o.status = "FILLED" if o.executed == o.qty else "PARTIALLY_FILLED"
        o.update_ms = now_ms
        ppm = FEES_PPM[self.venue][0 if is_maker else 1]
        if self.venue == "spot":
            acct = self._spot[o.account]
            q_bal = to_scale(q, inst.qty_dp, BAL_DP)
            if o.side == "BUY":
                fee = q_bal * ppm // _PPM  # commission in the base asset received
                cost = to_scale(notional, nd, BAL_DP, round_up=True)
                if o.type == "MARKET":
                    acct.add_free(inst.quote, -cost)
                else:
                    new_lock = to_scale(o.px * (o.qty - o.executed), nd, BAL_DP, round_up=True)
                    release = o.lock - new_lock
                    o.lock = new_lock
                    acct.spend_locked(inst.quote, release)
                    acct.add_free(inst.quote, release - cost)
                acct.add_free(inst.base, q_bal - fee)
                fill = Fill(q, px, fee, inst.base, sym.trade_id, is_maker)
            else:
                gain = to_scale(notional, nd, BAL_DP)
                fee = gain * ppm // _PPM  # commission in the quote asset received
                if o.type == "MARKET":
                    acct.add_free(inst.base, -q_bal)
                else:
                    o.lock -= q_bal
                    acct.spend_locked(inst.base, q_bal)
                acct.add_free(inst.quote, gain - fee)
                fill = Fill(q, px, fee, inst.quote, sym.trade_id, is_maker)
            acct.update_ms = now_ms
            self._touched.setdefault(o.account, set()).update((inst.base, inst.quote))
            o.fills.append(
                {
                    "price": sym.fmt.px(px),
                    "qty": sym.fmt.qty(q),
                    "commission": dec_text(fee, BAL_DP, BAL_DP),
                    "commissionAsset": fill.fee_asset,
                    "tradeId": sym.trade_id,
                }
            )
            self._emit_user(o.account, execution_report(o, sym.fmt, "TRADE", now_ms, fill))
            return
        fut = self._fut[o.account]
        pos = fut.position(inst.symbol)
        pnl = pos.apply_fill(o.side == "BUY", px, q) * 10 ** (MONEY_DP - nd)
        fee = to_scale(notional, nd, MONEY_DP) * ppm // _PPM
        pos.update_ms = now_ms
        fut.wallet += pnl - fee
        fut.update_ms = now_ms
        self._touched.setdefault(o.account, set()).add(inst.symbol)
        fill = Fill(q, px, fee, "USDT", sym.trade_id, is_maker, pnl)
        self._emit_user(o.account, order_trade_update(o, sym.fmt, "TRADE", now_ms, fill, 0))

    def _on_close(
        self, sym: _Sym, o: SimOrder, kind: int, reason: int, now_ms: int, cancel_cid: str | None
    ) -> None:
        o.update_ms = now_ms
        o.is_working = False
        sym.open_cids.pop((o.account, o.client_id), None)
        if kind == _EV_CANCELED:
            o.status, x = "CANCELED", "CANCELED"
        elif reason == _R_STP:
            o.status = "EXPIRED_IN_MATCH"
            x = "TRADE_PREVENTION" if self.venue == "spot" else "EXPIRED"
        elif kind == _EV_EXPIRED:
            o.status, x = "EXPIRED", "EXPIRED"
        else:
            o.status, x = "REJECTED", "REJECTED"
        if self.venue == "spot":
            if o.lock:
                acct = self._spot[o.account]
                asset = sym.inst.quote if o.side == "BUY" else sym.inst.base
                acct.unlock(asset, o.lock)
                o.lock = 0
                acct.update_ms = now_ms
                self._touched.setdefault(o.account, set()).add(asset)
            self._emit_user(o.account, execution_report(o, sym.fmt, x, now_ms, None, cancel_cid))
            return
        er = 0
        if reason == _R_STP:
            er = 1
        elif reason == _R_IOC:
            er = 2
        elif reason == _R_MARKET:
            er = 9
        self._emit_user(o.account, order_trade_update(o, sym.fmt, x, now_ms, None, er))

    def _flush_user(self, sym: _Sym, now_ms: int) -> None:
        # Send the order events of this call, then one balance/position event per account.
        out = self._out_user
        touched = self._touched
        self._out_user = []
        self._touched = {}
        for account, assets in touched.items():
            if self.venue == "spot":
                acct = self._spot[account]
                rows = [acct.row(a) for a in sorted(assets)]
                out.append(
                    (
                        account,
                        {
                            "e": "outboundAccountPosition",
                            "E": now_ms,
                            "u": acct.update_ms,
                            "B": [
                                {"a": r["asset"], "f": r["free"], "l": r["locked"]} for r in rows
                            ],
                        },
                    )
                )
            else:
                out.append((account, self._account_update(account, sym, now_ms)))
        for cb in self._user:
            for account, event in out:
                cb(account, event)

    def _account_update(self, account: int, sym: _Sym, now_ms: int) -> dict[str, Any]:
        fut = self._fut[account]
        wb = sym.fmt.money(fut.wallet)
        pos = fut.position(sym.inst.symbol)
        return {
            "e": "ACCOUNT_UPDATE",
            "E": now_ms,
            "T": now_ms,
            "a": {
                "m": "ORDER",
                "B": [{"a": "USDT", "wb": wb, "cw": wb, "bc": "0"}],
                "P": [
                    {
                        "s": sym.inst.symbol,
                        "pa": sym.fmt.qty(pos.qty),
                        "ep": dec_text(pos.entry_px(), sym.inst.price_dp, 8),
                        "bep": dec_text(pos.entry_px(), sym.inst.price_dp, 8),
                        "cr": sym.fmt.money(_money(sym, pos.realized)),
                        "up": sym.fmt.money(_money(sym, pos.unrealized(self._mark_px(sym)))),
                        "mt": "cross",
                        "iw": "0",
                        "ps": "BOTH",
                    }
                ],
            },
        }

    # ---- signed REST-shaped calls ---------------------------------------------------------------

    def _check_account(self, account_id: int) -> None:
        if account_id not in (self._spot if self.venue == "spot" else self._fut):
            raise BinanceApiError(-2015)

    def _walk(self, sym: _Sym, side: str, qty: int, quote: int) -> tuple[int, int]:
        # Walk the opposite side like a market order: for `qty` return (qty, cost); for a
        # quote budget return the largest qty on the step it buys or sells and its cost.
        levels = sym.eng.depth(OrdSide.SELL if side == "BUY" else OrdSide.BUY, 1 << 30)
        step = sym.inst.step_raw
        got = 0
        cost = 0
        for px, lq in levels:
            take = min(lq, qty - got) if qty else min(lq, (quote - cost) // px // step * step)
            got += take
            cost += px * take
            if (qty and got == qty) or take < lq:
                break
        return got, cost

    def new_order(self, account_id: int, params: Mapping[str, str]) -> dict[str, Any]:
        """Place an order (``POST /api/v3/order`` or ``/fapi/v1/order``); return the body.

        Spot answers ACK, RESULT or FULL (``newOrderRespType``); USD-M answers its order
        shape: ACK as accepted (status NEW), RESULT after matching.

        Raises
        ------
        BinanceApiError
            -1102/-1100/-1111/-1115/-1116/-1117/-1106 bad parameters, -1121 unknown symbol,
            -1013 (spot) or -4xxx (USD-M) filter failures, -2010 insufficient balance,
            duplicate client order id, or a LIMIT_MAKER that would take.
        """
        self._check_account(account_id)
        sym = self._sym(params)
        req = parse_new_order(self.venue, sym.inst, sym.fmt.pad, params, self._ref_px(sym))
        now_ms = self._clock_ms()
        cid = req.client_id if req.client_id is not None else self._new_cid()
        if (account_id, cid) in sym.open_cids:
            raise api_error(-2010, MSG_DUPLICATE)
        side = OrdSide.BUY if req.side == "BUY" else OrdSide.SELL
        if req.type == "LIMIT_MAKER":
            best = sym.eng.best_ask() if side == OrdSide.BUY else sym.eng.best_bid()
            if best is not None and (
                req.px >= best[0] if side == OrdSide.BUY else req.px <= best[0]
            ):
                raise api_error(-2010, MSG_WOULD_TAKE)
        qty = req.qty
        lock = 0
        if self.venue == "spot":
            acct = self._spot[account_id]
            inst = sym.inst
            nd = inst.notional_dp
            if req.type == "MARKET":
                if req.quote_qty:
                    qty, _ = self._walk(sym, req.side, 0, req.quote_qty * 10**inst.qty_dp)
                    if qty == 0:
                        raise api_error(-1013, "Filter failure: LOT_SIZE")
                if req.side == "BUY":
                    _, cost = self._walk(sym, req.side, qty, 0)
                    if to_scale(cost, nd, BAL_DP, round_up=True) > acct.free.get(inst.quote, 0):
                        raise api_error(-2010, MSG_INSUFFICIENT)
                elif to_scale(qty, inst.qty_dp, BAL_DP) > acct.free.get(inst.base, 0):
                    raise api_error(-2010, MSG_INSUFFICIENT)
            else:
                asset = inst.quote if req.side == "BUY" else inst.base
                lock = (
                    to_scale(req.px * qty, nd, BAL_DP, round_up=True)
                    if req.side == "BUY"
                    else to_scale(qty, inst.qty_dp, BAL_DP)
                )
                if not acct.lock(asset, lock):
                    raise api_error(-2010, MSG_INSUFFICIENT)
                acct.update_ms = now_ms
                self._touched.setdefault(account_id, set()).add(asset)
        tif = Tif[req.tif]
        if req.type == "MARKET":
            tif = Tif.GTC
        o = SimOrder(
            sym.inst.symbol,
            0,
            account_id,
            cid,
            req.side,
            req.type,
            req.tif,
            req.stp,
            req.px,
            qty,
            req.quote_qty,
            now_ms,
            req.reduce_only,
            lock=lock,
            update_ms=now_ms,
            working_ms=now_ms,
        )
        ack = None
        # The engine assigns the id at submit; register the record first under the id it will
        # get so the NEW event finds it.
        next_id = sym.n_submitted + 1
        o.order_id = next_id
        sym.orders[next_id] = o
        sym.open_cids[(account_id, cid)] = next_id
        if self.venue == "usdm":
            ack = o.usdm_json(sym.fmt, False)
        sym.n_submitted += 1
        got = sym.eng.submit(
            account_id,
            0,
            side,
            _KIND[req.type],
            tif,
            Px(req.px),
            Qty(qty),
            _STP[req.stp],
            Nanos(now_ms * 1_000_000),
        )
        if got != next_id:
            raise AssertionError(f"engine id {got} != expected {next_id}")
        self._absorb(sym, side, req.px, now_ms)
        if self.venue == "usdm":
            if req.resp_type == "ACK" and ack is not None:
                return ack
            return o.usdm_json(sym.fmt, False)
        if req.resp_type == "ACK":
            return {
                "symbol": o.symbol,
                "orderId": o.order_id,
                "orderListId": -1,
                "clientOrderId": o.client_id,
                "transactTime": now_ms,
            }
        body = o.spot_result(sym.fmt, now_ms)
        if req.resp_type == "FULL":
            body["fills"] = list(o.fills)
        return body

    def _find(self, account_id: int, sym: _Sym, params: Mapping[str, str]) -> SimOrder | None:
        # The account's order by orderId or origClientOrderId (-1102 when neither is sent).
        oid = parse_int_param(params, "orderId", None)
        if oid is not None:
            o = sym.orders.get(oid)
            return o if o is not None and o.account == account_id else None
        cid = params.get("origClientOrderId")
        if not cid:
            raise api_error(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        open_id = sym.open_cids.get((account_id, cid))
        if open_id is not None:
            return sym.orders[open_id]
        found = [o for o in sym.orders.values() if o.account == account_id and o.client_id == cid]
        return found[-1] if found else None

    def _order_json(self, sym: _Sym, o: SimOrder) -> dict[str, Any]:
        return o.spot_json(sym.fmt) if self.venue == "spot" else o.usdm_json(sym.fmt, True)

    def _cancel_json(self, sym: _Sym, o: SimOrder, cancel_cid: str, now_ms: int) -> dict[str, Any]:
        if self.venue == "usdm":
            return o.usdm_json(sym.fmt, False)
        body = o.spot_result(sym.fmt, now_ms)
        del body["workingTime"]
        body["clientOrderId"] = cancel_cid
        return {"symbol": o.symbol, "origClientOrderId": o.client_id, **body}

    def _cancel(self, sym: _Sym, o: SimOrder, cancel_cid: str, now_ms: int) -> None:
        sym.eng.cancel(o.order_id, now_ms * 1_000_000)
        self._absorb(sym, 0, 0, now_ms, {o.order_id: cancel_cid})

    def cancel_order(self, account_id: int, params: Mapping[str, str]) -> dict[str, Any]:
        """Cancel an open order by ``orderId`` or ``origClientOrderId``; return it canceled.

        Raises
        ------
        BinanceApiError
            -1102 without an id, -1121 unknown symbol, -2011 "Unknown order sent." when the
            order is not the account's or no longer open.
        """
        self._check_account(account_id)
        sym = self._sym(params)
        o = self._find(account_id, sym, params)
        if o is None or not o.is_open:
            raise api_error(-2011, MSG_UNKNOWN_ORDER)
        now_ms = self._clock_ms()
        cancel_cid = params.get("newClientOrderId") or self._new_cid()
        self._cancel(sym, o, cancel_cid, now_ms)
        return self._cancel_json(sym, o, cancel_cid, now_ms)

    def get_order(self, account_id: int, params: Mapping[str, str]) -> dict[str, Any]:
        """Return one of the account's orders (-2013 "Order does not exist." if unknown)."""
        self._check_account(account_id)
        sym = self._sym(params)
        o = self._find(account_id, sym, params)
        if o is None:
            raise BinanceApiError(-2013)
        return self._order_json(sym, o)

    def open_orders(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the account's open orders, of one symbol or of all, by order id."""
        self._check_account(account_id)
        syms = [self._sym(params)] if params.get("symbol") else list(self._syms.values())
        return [
            self._order_json(s, o)
            for s in syms
            for o in s.orders.values()
            if o.account == account_id and o.is_open
        ]

    def all_orders(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the account's orders of a symbol (``orderId`` >=, time range, ``limit``
        default 500, max 1000), oldest first."""
        self._check_account(account_id)
        sym = self._sym(params)
        from_id = parse_int_param(params, "orderId", 0) or 0
        start = parse_int_param(params, "startTime", 0) or 0
        end = parse_int_param(params, "endTime", None)
        limit = min(parse_int_param(params, "limit", 500) or 500, 1000)
        rows = [
            o
            for o in sym.orders.values()
            if o.account == account_id
            and o.order_id >= from_id
            and o.time_ms >= start
            and (end is None or o.time_ms <= end)
        ]
        return [self._order_json(sym, o) for o in rows[:limit]]

    def cancel_open_orders(self, account_id: int, params: Mapping[str, str]) -> Any:
        """Cancel every open order of the account on a symbol.

        Spot returns the canceled orders (-2011 when there are none); USD-M returns
        ``{"code": 200, "msg": "The operation of cancel all open order is done."}``.
        """
        self._check_account(account_id)
        sym = self._sym(params)
        now_ms = self._clock_ms()
        todo = [o for o in sym.orders.values() if o.account == account_id and o.is_open]
        if self.venue == "spot" and not todo:
            raise api_error(-2011, MSG_UNKNOWN_ORDER)
        out = []
        for o in todo:
            cancel_cid = self._new_cid()
            self._cancel(sym, o, cancel_cid, now_ms)
            out.append(self._cancel_json(sym, o, cancel_cid, now_ms))
        if self.venue == "usdm":
            return {"code": 200, "msg": "The operation of cancel all open order is done."}
        return out

    def account(self, account_id: int) -> dict[str, Any]:
        """Return the spot ``GET /api/v3/account`` body."""
        self._check_account(account_id)
        acct = self._spot[account_id]
        rate = dec_text(FEES_PPM["spot"][1], 6, 8)
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": rate,
                "taker": rate,
                "buyer": dec_text(0, 0, 8),
                "seller": dec_text(0, 0, 8),
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": acct.update_ms,
            "accountType": "SPOT",
            "balances": [acct.row(a) for a in sorted(acct.free)],
            "permissions": ["SPOT"],
            "uid": account_id,
        }

    def _unrealized(self, fut: FuturesAccount) -> int:
        return sum(
            _money(self._syms[s], p.unrealized(self._mark_px(self._syms[s])))
            for s, p in fut.positions.items()
            if p.qty
        )

    def futures_balance(self, account_id: int) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v2/balance`` body (the USDT row)."""
        self._check_account(account_id)
        fut = self._fut[account_id]
        fmt = next(iter(self._syms.values())).fmt
        wb = fmt.money(fut.wallet)
        return [
            {
                "accountAlias": "SgsR",
                "asset": "USDT",
                "balance": wb,
                "crossWalletBalance": wb,
                "crossUnPnl": fmt.money(self._unrealized(fut)),
                "availableBalance": fmt.money(fut.wallet + self._unrealized(fut)),
                "maxWithdrawAmount": wb,
                "marginAvailable": True,
                "updateTime": fut.update_ms,
            }
        ]

    def position_risk(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v2/positionRisk`` rows (one-way, cross, 20x)."""
        self._check_account(account_id)
        fut = self._fut[account_id]
        syms = [self._sym(params)] if params.get("symbol") else list(self._syms.values())
        out = []
        for sym in syms:
            pos = fut.position(sym.inst.symbol)
            mark = self._mark_px(sym)
            ep = dec_text(pos.entry_px(), sym.inst.price_dp, 8)
            out.append(
                {
                    "symbol": sym.inst.symbol,
                    "positionAmt": sym.fmt.qty(pos.qty),
                    "entryPrice": ep,
                    "breakEvenPrice": ep,
                    "markPrice": dec_text(mark, sym.inst.price_dp, 8),
                    "unRealizedProfit": sym.fmt.money(_money(sym, pos.unrealized(mark))),
                    "liquidationPrice": "0",
                    "leverage": "20",
                    "maxNotionalValue": "250000",
                    "marginType": "cross",
                    "isolatedMargin": "0.00000000",
                    "isAutoAddMargin": "false",
                    "positionSide": "BOTH",
                    "notional": sym.fmt.money(_money(sym, mark * pos.qty)),
                    "isolatedWallet": "0",
                    "updateTime": pos.update_ms,
                }
            )
        return out

    def futures_account(self, account_id: int) -> dict[str, Any]:
        """Return a USD-M ``GET /fapi/v2/account`` body (no margin model: margins are 0)."""
        self._check_account(account_id)
        fut = self._fut[account_id]
        fmt = next(iter(self._syms.values())).fmt
        wb = fmt.money(fut.wallet)
        up = fmt.money(self._unrealized(fut))
        avail = fmt.money(fut.wallet + self._unrealized(fut))
        zero = fmt.money(0)
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "updateTime": fut.update_ms,
            "multiAssetsMargin": False,
            "totalInitialMargin": zero,
            "totalMaintMargin": zero,
            "totalWalletBalance": wb,
            "totalUnrealizedProfit": up,
            "totalMarginBalance": avail,
            "totalPositionInitialMargin": zero,
            "totalOpenOrderInitialMargin": zero,
            "totalCrossWalletBalance": wb,
            "totalCrossUnPnl": up,
            "availableBalance": avail,
            "maxWithdrawAmount": wb,
            "assets": [
                {
                    "asset": "USDT",
                    "walletBalance": wb,
                    "unrealizedProfit": up,
                    "marginBalance": avail,
                    "maintMargin": zero,
                    "initialMargin": zero,
                    "positionInitialMargin": zero,
                    "openOrderInitialMargin": zero,
                    "crossWalletBalance": wb,
                    "crossUnPnl": up,
                    "availableBalance": avail,
                    "maxWithdrawAmount": wb,
                    "marginAvailable": True,
                    "updateTime": fut.update_ms,
                }
            ],
            "positions": [
                {
                    "symbol": r["symbol"],
                    "initialMargin": zero,
                    "maintMargin": zero,
                    "unrealizedProfit": r["unRealizedProfit"],
                    "positionInitialMargin": zero,
                    "openOrderInitialMargin": zero,
                    "leverage": "20",
                    "isolated": False,
                    "entryPrice": r["entryPrice"],
                    "maxNotional": "250000",
                    "positionSide": "BOTH",
                    "positionAmt": r["positionAmt"],
                    "notional": r["notional"],
                    "isolatedWallet": "0",
                    "updateTime": r["updateTime"],
                }
                for r in self.position_risk(account_id, {})
            ],
        }

    def _is_active(self, account_id: int, sym: _Sym) -> bool:
        # V3 account endpoints list a symbol only with a position or an open order.
        if self._fut[account_id].position(sym.inst.symbol).qty:
            return True
        return any(o.account == account_id and o.is_open for o in sym.orders.values())

    def position_risk_v3(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v3/positionRisk`` rows: only symbols with a position
        or open orders (Binance's V3 rule), no leverage fields."""
        self._check_account(account_id)
        syms = [self._sym(params)] if params.get("symbol") else list(self._syms.values())
        zero = next(iter(self._syms.values())).fmt.money(0)
        out = []
        for sym in syms:
            if not self._is_active(account_id, sym):
                continue
            (r,) = self.position_risk(account_id, {"symbol": sym.inst.symbol})
            out.append(
                {
                    "symbol": r["symbol"],
                    "positionSide": "BOTH",
                    "positionAmt": r["positionAmt"],
                    "entryPrice": r["entryPrice"],
                    "breakEvenPrice": r["breakEvenPrice"],
                    "markPrice": r["markPrice"],
                    "unRealizedProfit": r["unRealizedProfit"],
                    "liquidationPrice": "0",
                    "isolatedMargin": zero,
                    "notional": r["notional"],
                    "marginAsset": sym.inst.quote,
                    "isolatedWallet": "0",
                    "initialMargin": zero,
                    "maintMargin": zero,
                    "positionInitialMargin": zero,
                    "openOrderInitialMargin": zero,
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "updateTime": r["updateTime"],
                }
            )
        return out

    def futures_account_v3(self, account_id: int) -> dict[str, Any]:
        """Return a USD-M ``GET /fapi/v3/account`` body: V2's totals and assets without the
        account flags, positions only for symbols with a position or open orders."""
        v2 = self.futures_account(account_id)
        for flag in ("feeTier", "canTrade", "canDeposit", "canWithdraw", "updateTime"):
            del v2[flag]
        del v2["multiAssetsMargin"]
        for asset in v2["assets"]:
            del asset["marginAvailable"]
        active = {s for s, sym in self._syms.items() if self._is_active(account_id, sym)}
        v2["positions"] = [
            {
                "symbol": p["symbol"],
                "positionSide": "BOTH",
                "positionAmt": p["positionAmt"],
                "unrealizedProfit": p["unrealizedProfit"],
                "isolatedMargin": v2["totalInitialMargin"],  # no margin model: zero
                "notional": p["notional"],
                "isolatedWallet": "0",
                "initialMargin": p["initialMargin"],
                "maintMargin": p["maintMargin"],
                "updateTime": p["updateTime"],
            }
            for p in v2["positions"]
            if p["symbol"] in active
        ]
        return v2

    def leverage_bracket(self, account_id: int, params: Mapping[str, str]) -> Any:
        """Return USD-M ``GET /fapi/v1/leverageBracket``: one bracket per symbol matching the
        fixed 20x, 250 000 notional cap and 2.5 % maintenance that positionRisk and
        exchangeInfo state; an object for one ``symbol``, else a list."""
        self._check_account(account_id)

        def row(sym: _Sym) -> dict[str, Any]:
            bracket = {
                "bracket": 1,
                "initialLeverage": 20,
                "notionalCap": 250000,
                "notionalFloor": 0,
                "maintMarginRatio": 0.025,
                "cum": 0.0,
            }
            return {"symbol": sym.inst.symbol, "notionalCoef": 1.0, "brackets": [bracket]}

        if params.get("symbol"):
            return row(self._sym(params))
        return [row(s) for s in self._syms.values()]

    # ---- public REST-shaped calls ---------------------------------------------------------------

    def exchange_info(self) -> dict[str, Any]:
        """Return the ``exchangeInfo`` body of this venue."""
        return exchange_info(self.venue, self._instruments, self._clock_ms())

    def depth(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Return the REST depth snapshot (spot limit default 100, max 5000; USD-M limit
        default 500, snapped up to 5/10/20/50/100/500/1000)."""
        sym = self._sym(params)
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
            raise api_error(
                -1100, f"Illegal characters found in parameter 'limit'; legal range is '1-{most}'."
            )
        return limit

    def trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return recent trades (``limit`` default 500, max 1000), oldest first."""
        sym = self._sym(params)
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
        sym = self._sym(params)
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
        sym = self._sym(params)
        interval = mandatory(params, "interval")
        minutes = _INTERVAL_MIN.get(interval)
        if minutes is None:
            raise api_error(
                -1100,
                "Illegal characters found in parameter 'interval'; legal "
                f"range is '{', '.join(_INTERVAL_MIN)}'.",
            )
        limit = self._limit(params, 500, 1000 if self.venue == "spot" else 1500)
        start = parse_int_param(params, "startTime", None)
        end = parse_int_param(params, "endTime", None)
        now_ms = self._clock_ms()
        self._roll_bars(sym, now_ms)
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

    def _ticker(self, sym: _Sym) -> dict[str, Any]:
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
            return self._ticker(self._sym(params))
        return [self._ticker(s) for s in self._syms.values()]

    def _price(self, sym: _Sym) -> dict[str, Any]:
        row: dict[str, Any] = {"symbol": sym.inst.symbol, "price": sym.px_text(self._ref_px(sym))}
        if self.venue == "usdm":
            row["time"] = self._clock_ms()
        return row

    def ticker_price(self, params: Mapping[str, str]) -> Any:
        """Return ``ticker/price`` (last trade, else mid) of one symbol or of all."""
        if params.get("symbol"):
            return self._price(self._sym(params))
        return [self._price(s) for s in self._syms.values()]

    def _premium(self, sym: _Sym) -> dict[str, Any]:
        now_ms = self._clock_ms()
        mark = sym.px_text(self._mark_px(sym))
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
            return self._premium(self._sym(params))
        return [self._premium(s) for s in self._syms.values()]
