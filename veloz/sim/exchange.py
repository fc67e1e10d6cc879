"""SimExchange: the matching core of the embedded Binance spot or USD-M venue, without I/O.

Owns one MatchingEngine per symbol, user orders and accounts: order entry, the one path every
engine call takes (mirror levels, settle fills, emit events), and the order queries. Market
data goes out through `SimFeed` (veloz.sim.feed), account bodies come from `AccountViews`
(veloz.sim.account_views); `SimExchange` stays the single public facade.
It must not open sockets, sleep or read the wall clock itself (the caller passes `clock_ms`),
and never imports `veloz.venues` (STYLE §1).
"""

import random
from collections.abc import Callable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

from veloz._core import fixed
from veloz._core.matching import EvKind
from veloz._core.matching import OrdKind
from veloz._core.matching import OrdSide
from veloz._core.matching import Reason
from veloz._core.matching import Stp
from veloz._core.matching import Tif
from veloz._core.units import Nanos
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.model.instrument import Instrument
from veloz.sim.account_views import AccountViews
from veloz.sim.accounts import BAL_DP
from veloz.sim.accounts import FEES_PPM
from veloz.sim.accounts import MONEY_DP
from veloz.sim.accounts import FuturesAccount
from veloz.sim.accounts import SpotAccount
from veloz.sim.accounts import dec_text
from veloz.sim.accounts import to_money
from veloz.sim.accounts import to_scale
from veloz.sim.errors import MSG_CANCEL_UNKNOWN_ORDER
from veloz.sim.errors import MSG_DUPLICATE_ORDER
from veloz.sim.errors import MSG_INSUFFICIENT_BALANCE
from veloz.sim.errors import MSG_WOULD_TAKE
from veloz.sim.errors import BinanceApiError
from veloz.sim.feed import SimFeed
from veloz.sim.feed import Sym
from veloz.sim.instruments import exchange_info
from veloz.sim.instruments import padding
from veloz.sim.limits import RateLimitConfig
from veloz.sim.mytrades import TradeHistory
from veloz.sim.mytrades import TradeRow
from veloz.sim.orders import Fill
from veloz.sim.orders import SimOrder
from veloz.sim.orders import execution_report
from veloz.sim.orders import order_trade_update
from veloz.sim.orders import parse_int_param
from veloz.sim.orders import parse_new_order

__all__ = ["MARKET_ACCOUNT", "SimExchange"]

MARKET_ACCOUNT = 0  # engine account of the market-activity participants

_PPM = 1_000_000
_CID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
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
        self._syms: dict[str, Sym] = {}
        for inst in instruments:
            pad = padding(inst)
            if pad.price < inst.price_dp or pad.qty < inst.qty_dp or inst.qty_dp > BAL_DP:
                raise ValueError(f"{inst.symbol}: dp finer than its text padding or 8")
            self._syms[inst.symbol] = Sym(inst, venue)
        self._instruments = tuple(instruments)
        self._user: list[Callable[[int, dict[str, Any]], None]] = []
        self._spot: dict[int, SpotAccount] = {}
        self._fut: dict[int, FuturesAccount] = {}
        self._feed = SimFeed(venue, self._syms, clock_ms)
        self._views = AccountViews(venue, self._feed, self._syms, self._spot, self._fut)
        self._history = TradeHistory(venue)
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
        self._feed.listen(callback)

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

    def _new_cid(self) -> str:
        return "".join(self._rng.choice(_CID_CHARS) for _ in range(22))

    def _emit_user(self, account: int, event: dict[str, Any]) -> None:
        self._out_user.append((account, event))

    # ---- the one path every engine call takes ---------------------------------------------------

    def _absorb(
        self,
        sym: Sym,
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
            self._feed.emit_depth(sym, changed, now_ms)
        if fills:
            self._feed.emit_trades(sym, fills, now_ms)
        if self._out_user:
            self._flush_user(sym, now_ms)

    def tick_second(self, now_ms: int) -> None:
        """Emit the periodic market data: klines of every symbol and USD-M mark prices.

        The server calls this once a second. Per symbol it sends each 1m bar that closed
        since the last call (``x`` true), then the current bar (``x`` false); on USD-M it
        also sends a `MarkPriceEvent` with mark = index = book mid (last trade if a side is
        empty) and funding rate 0.0001.
        """
        self._feed.tick_second(now_ms)

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

    def _on_new(self, sym: Sym, o: SimOrder, now_ms: int) -> None:
        o.is_working = o.type != "MARKET"
        if self.venue == "spot":
            self._emit_user(o.account, execution_report(o, sym.fmt, "NEW", now_ms))
        else:
            self._emit_user(o.account, order_trade_update(o, sym.fmt, "NEW", now_ms, None, 0))

    def _on_fill(self, sym: Sym, o: SimOrder, px: int, q: int, is_maker: bool, now_ms: int) -> None:
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
            self._record(sym, o, fill, notional, now_ms)
            self._emit_user(o.account, execution_report(o, sym.fmt, "TRADE", now_ms, fill))
            return
        fut = self._fut[o.account]
        pos = fut.position(inst)
        side = OrdSide.BUY if o.side == "BUY" else OrdSide.SELL
        pnl = to_money(pos.apply_fill(side, Px(px), Qty(q)), nd)
        fee = to_money(notional, nd) * ppm // _PPM
        fut.position_ms[inst.symbol] = now_ms
        fut.wallet += pnl - fee
        fut.update_ms = now_ms
        self._touched.setdefault(o.account, set()).add(inst.symbol)
        fill = Fill(q, px, fee, "USDT", sym.trade_id, is_maker, pnl)
        self._record(sym, o, fill, notional, now_ms)
        self._emit_user(o.account, order_trade_update(o, sym.fmt, "TRADE", now_ms, fill, 0))

    def _record(self, sym: Sym, o: SimOrder, fill: Fill, notional: int, now_ms: int) -> None:
        row = TradeRow(
            fill.trade_id, o.order_id, o.side, fill.px, fill.qty, notional, fill.fee,
            fill.fee_asset, fill.is_maker, fill.realized, now_ms,
        )  # fmt: skip
        self._history.add(o.account, sym.inst.symbol, row)

    def _on_close(
        self, sym: Sym, o: SimOrder, kind: int, reason: int, now_ms: int, cancel_cid: str | None
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

    def _flush_user(self, sym: Sym, now_ms: int) -> None:
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
                out.append((account, self._views.account_update(account, sym, now_ms)))
        for cb in self._user:
            for account, event in out:
                cb(account, event)

    # ---- signed REST-shaped calls ---------------------------------------------------------------
    def _walk(self, sym: Sym, side: str, qty: int, quote: int) -> tuple[int, int]:
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
        self._views.check_account(account_id)
        sym = self._feed.sym(params)
        req = parse_new_order(self.venue, sym.inst, sym.fmt.pad, params, self._feed.ref_px(sym))
        now_ms = self._clock_ms()
        cid = req.client_id if req.client_id is not None else self._new_cid()
        if (account_id, cid) in sym.open_cids:
            raise BinanceApiError(-2010, MSG_DUPLICATE_ORDER)
        side = OrdSide.BUY if req.side == "BUY" else OrdSide.SELL
        if req.type == "LIMIT_MAKER":
            best = sym.eng.best_ask() if side == OrdSide.BUY else sym.eng.best_bid()
            if best is not None and (
                req.px >= best[0] if side == OrdSide.BUY else req.px <= best[0]
            ):
                raise BinanceApiError(-2010, MSG_WOULD_TAKE)
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
                        raise BinanceApiError(-1013, "Filter failure: LOT_SIZE")
                if req.side == "BUY":
                    _, cost = self._walk(sym, req.side, qty, 0)
                    if to_scale(cost, nd, BAL_DP, round_up=True) > acct.free.get(inst.quote, 0):
                        raise BinanceApiError(-2010, MSG_INSUFFICIENT_BALANCE)
                elif to_scale(qty, inst.qty_dp, BAL_DP) > acct.free.get(inst.base, 0):
                    raise BinanceApiError(-2010, MSG_INSUFFICIENT_BALANCE)
            else:
                asset = inst.quote if req.side == "BUY" else inst.base
                lock = (
                    to_scale(req.px * qty, nd, BAL_DP, round_up=True)
                    if req.side == "BUY"
                    else to_scale(qty, inst.qty_dp, BAL_DP)
                )
                if not acct.lock(asset, lock):
                    raise BinanceApiError(-2010, MSG_INSUFFICIENT_BALANCE)
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

    def _find(self, account_id: int, sym: Sym, params: Mapping[str, str]) -> SimOrder | None:
        # The account's order by orderId or origClientOrderId (-1102 when neither is sent).
        oid = parse_int_param(params, "orderId", None)
        if oid is not None:
            o = sym.orders.get(oid)
            return o if o is not None and o.account == account_id else None
        cid = params.get("origClientOrderId")
        if not cid:
            raise BinanceApiError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        open_id = sym.open_cids.get((account_id, cid))
        if open_id is not None:
            return sym.orders[open_id]
        found = [o for o in sym.orders.values() if o.account == account_id and o.client_id == cid]
        return found[-1] if found else None

    def _order_json(self, sym: Sym, o: SimOrder) -> dict[str, Any]:
        return o.spot_json(sym.fmt) if self.venue == "spot" else o.usdm_json(sym.fmt, True)

    def _cancel_json(self, sym: Sym, o: SimOrder, cancel_cid: str, now_ms: int) -> dict[str, Any]:
        if self.venue == "usdm":
            return o.usdm_json(sym.fmt, False)
        body = o.spot_result(sym.fmt, now_ms)
        del body["workingTime"]
        body["clientOrderId"] = cancel_cid
        return {"symbol": o.symbol, "origClientOrderId": o.client_id, **body}

    def _cancel(self, sym: Sym, o: SimOrder, cancel_cid: str, now_ms: int) -> None:
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
        self._views.check_account(account_id)
        sym = self._feed.sym(params)
        o = self._find(account_id, sym, params)
        if o is None or not o.is_open:
            raise BinanceApiError(-2011, MSG_CANCEL_UNKNOWN_ORDER)
        now_ms = self._clock_ms()
        cancel_cid = params.get("newClientOrderId") or self._new_cid()
        self._cancel(sym, o, cancel_cid, now_ms)
        return self._cancel_json(sym, o, cancel_cid, now_ms)

    def get_order(self, account_id: int, params: Mapping[str, str]) -> dict[str, Any]:
        """Return one of the account's orders (-2013 "Order does not exist." if unknown)."""
        self._views.check_account(account_id)
        sym = self._feed.sym(params)
        o = self._find(account_id, sym, params)
        if o is None:
            raise BinanceApiError(-2013)
        return self._order_json(sym, o)

    def open_orders(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the account's open orders, of one symbol or of all, by order id."""
        self._views.check_account(account_id)
        syms = [self._feed.sym(params)] if params.get("symbol") else list(self._syms.values())
        return [
            self._order_json(s, o)
            for s in syms
            for o in s.orders.values()
            if o.account == account_id and o.is_open
        ]

    def all_orders(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the account's orders of a symbol (``orderId`` >=, time range, ``limit``
        default 500, max 1000), oldest first."""
        self._views.check_account(account_id)
        sym = self._feed.sym(params)
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

    def my_trades(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the account's trades of a symbol: spot ``GET /api/v3/myTrades``, USD-M
        ``GET /fapi/v1/userTrades`` (``orderId``, ``fromId``, ``startTime``, ``endTime``,
        ``limit`` default 500, max 1000; see `veloz.sim.mytrades`)."""
        self._views.check_account(account_id)
        sym = self._feed.sym(params)
        return self._history.query(account_id, sym.fmt, params)

    def cancel_open_orders(self, account_id: int, params: Mapping[str, str]) -> Any:
        """Cancel every open order of the account on a symbol.

        Spot returns the canceled orders (-2011 when there are none); USD-M returns
        ``{"code": 200, "msg": "The operation of cancel all open order is done."}``.
        """
        self._views.check_account(account_id)
        sym = self._feed.sym(params)
        now_ms = self._clock_ms()
        todo = [o for o in sym.orders.values() if o.account == account_id and o.is_open]
        if self.venue == "spot" and not todo:
            raise BinanceApiError(-2011, MSG_CANCEL_UNKNOWN_ORDER)
        out = []
        for o in todo:
            cancel_cid = self._new_cid()
            self._cancel(sym, o, cancel_cid, now_ms)
            out.append(self._cancel_json(sym, o, cancel_cid, now_ms))
        if self.venue == "usdm":
            return {"code": 200, "msg": "The operation of cancel all open order is done."}
        return out

    # ---- account views --------------------------------------------------------------------------

    def account(self, account_id: int) -> dict[str, Any]:
        """Return the spot ``GET /api/v3/account`` body."""
        return self._views.account(account_id)

    def futures_balance(self, account_id: int) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v2/balance`` body (the USDT row)."""
        return self._views.futures_balance(account_id)

    def position_risk(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v2/positionRisk`` rows (one-way, cross, 20x)."""
        return self._views.position_risk(account_id, params)

    def futures_account(self, account_id: int) -> dict[str, Any]:
        """Return a USD-M ``GET /fapi/v2/account`` body (no margin model: margins are 0)."""
        return self._views.futures_account(account_id)

    def position_risk_v3(self, account_id: int, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return the USD-M ``GET /fapi/v3/positionRisk`` rows (active symbols only)."""
        return self._views.position_risk_v3(account_id, params)

    def futures_account_v3(self, account_id: int) -> dict[str, Any]:
        """Return a USD-M ``GET /fapi/v3/account`` body (active symbols only)."""
        return self._views.futures_account_v3(account_id)

    def leverage_bracket(self, account_id: int, params: Mapping[str, str]) -> Any:
        """Return USD-M ``GET /fapi/v1/leverageBracket`` (object for one symbol, else list)."""
        return self._views.leverage_bracket(account_id, params)

    # ---- public REST-shaped calls ---------------------------------------------------------------

    def exchange_info(self, limits: RateLimitConfig | None = None) -> dict[str, Any]:
        """Return the ``exchangeInfo`` body of this venue, publishing `limits` (the server's
        enforced rate limits; the limiter's defaults when omitted)."""
        return exchange_info(self.venue, self._instruments, self._clock_ms(), limits)

    def depth(self, params: Mapping[str, str]) -> dict[str, Any]:
        """Return the REST depth snapshot (see `SimFeed.depth`)."""
        return self._feed.depth(params)

    def trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return recent trades (``limit`` default 500, max 1000), oldest first."""
        return self._feed.trades(params)

    def agg_trades(self, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Return aggregate trades (see `SimFeed.agg_trades`)."""
        return self._feed.agg_trades(params)

    def klines(self, params: Mapping[str, str]) -> list[list[Any]]:
        """Return klines built from this run's trades (see `SimFeed.klines`)."""
        return self._feed.klines(params)

    def book_ticker(self, params: Mapping[str, str]) -> Any:
        """Return ``ticker/bookTicker`` of one symbol (dict) or of all (list)."""
        return self._feed.book_ticker(params)

    def ticker_price(self, params: Mapping[str, str]) -> Any:
        """Return ``ticker/price`` (last trade, else mid) of one symbol or of all."""
        return self._feed.ticker_price(params)

    def premium_index(self, params: Mapping[str, str]) -> Any:
        """Return USD-M ``premiumIndex`` (mark = index = mid) of one symbol or of all."""
        return self._feed.premium_index(params)
