"""`veloz.Strategy`: the class users subclass, and the per-strategy context it acts through.

Owns the callback set, the order actions (argument checks, local venue-rule checks, client
order ids, ORDER_CMD encoding) and read access to books, instruments, positions and PnL.
Must not own sockets or the loop (`runtime.py` does) and never talks to a venue: commands
leave through the context's ``send`` callable, which the runtime (or a backtest) provides.
"""

import logging
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import ClassVar

from veloz._core import fixed
from veloz._core import wire
from veloz._core.latency import now_ns
from veloz._core.position import Position
from veloz.errors import NumberError
from veloz.errors import OrderRejected
from veloz.model.instrument import Instrument
from veloz.strategy.orders import OrderIds
from veloz.strategy.orders import OrderState
from veloz.strategy.orders import OrderTracker

__all__ = [
    "FEE_DP",
    "Market",
    "PnlTotals",
    "PositionView",
    "Strategy",
    "StrategyContext",
    "StrategyState",
]

# Fees and realized PnL on FILL messages are raws at this scale (wire ASSET_DP).
FEE_DP = 8

_TIFS = {"GTC": wire.Tif.GTC, "IOC": wire.Tif.IOC, "FOK": wire.Tif.FOK, "GTX": wire.Tif.GTX}
_BUY = int(wire.Side.BUY)
_SELL = int(wire.Side.SELL)


class StrategyState:
    """Lifecycle of one strategy in its process (plain ints, compared on the hot path)."""

    WAITING = 0  # loaded; waiting for the instruments of its symbols
    RUNNING = 1  # on_start returned; receives market data and events
    STOPPING = 2  # inside on_stop: may still cancel, may not open orders
    STOPPED = 3  # stopped cleanly (shutdown)
    FAILED = 4  # a callback raised, or its instruments never came
    NAMES: ClassVar[dict[int, str]] = {
        0: "WAITING",
        1: "RUNNING",
        2: "STOPPING",
        3: "STOPPED",
        4: "FAILED",
    }


class Market:
    """What the process knows of one (venue, symbol): instrument, inst id, book, liveness.

    Shared by every strategy of the process trading that symbol; written only by the
    runtime. ``inst`` is the feed's instrument id (from its INSTRUMENT message header),
    -1 until known; order commands carry it so the gateway knows the symbol. ``last_seq`` is
    the header seq of the feed's last message seen and ``n_lost`` the messages its seq gaps
    say were dropped on the way (a slow consumer past the feed's high-water mark).
    """

    __slots__ = (
        "book",
        "has_book",
        "inst",
        "instrument",
        "is_live",
        "last_seq",
        "n_lost",
        "symbol",
        "venue",
    )

    def __init__(self, venue: str, symbol: str) -> None:
        self.venue = venue
        self.symbol = symbol
        self.inst = -1
        self.instrument: Instrument | None = None
        self.book = wire.BookView()
        self.has_book = False
        self.is_live = False
        self.last_seq = 0
        self.n_lost = 0


@dataclass(frozen=True, slots=True)
class PositionView:
    """A snapshot of one symbol's position, exact ints.

    ``qty`` is signed (negative short) at ``qty_dp``; ``entry_px`` the average entry at
    ``price_dp`` (0 when flat); ``realized_pnl`` and ``unrealized_pnl`` are raws at
    ``pnl_dp = price_dp + qty_dp`` in the quote asset. Unrealized PnL marks a long at the
    best bid and a short at the best ask (what closing would get), 0 with no book.
    ``fees`` maps fee asset to the sum of fees paid, raws at `FEE_DP`.
    """

    symbol: str
    quote: str
    qty: int
    entry_px: int
    realized_pnl: int
    unrealized_pnl: int
    price_dp: int
    qty_dp: int
    pnl_dp: int
    n_fills: int
    fees: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PnlTotals:
    """PnL of a strategy summed over its symbols, raws at ``dp`` (the largest pnl_dp).

    Sums across quote assets are only meaningful when all symbols share one quote asset
    (``quotes`` lists them); use `Strategy.position` per symbol otherwise. ``fees`` is per
    fee asset at `FEE_DP`.
    """

    realized: int
    unrealized: int
    dp: int
    quotes: tuple[str, ...]
    fees: dict[str, int] = field(default_factory=dict)


class StrategyContext:
    """Everything a strategy acts through; built by the runtime (or a backtest).

    Parameters
    ----------
    name : str
        Strategy name (topics ``cmd.<name>``, ``ex.<name>.*``; id prefix).
    venue : str
        ``"binance-spot"`` or ``"binance-usdm"``.
    markets : mapping of symbol to Market
        The strategy's symbols (shared Market objects).
    send : callable
        ``send(topic, body) -> bool``: push one ORDER_CMD; False when the bus refused it
        (gateway queue full).
    encoder : wire.Encoder or None
        This strategy's encoder (one per strategy, so ``seq`` counts its commands);
        a new one for `venue` when None.
    ids : OrderIds or None
        Client order id source; a new one from `name` when None.
    on_timer_change : callable or None
        Called after `Strategy.set_timer` changes the timer, so the loop can recompute its
        next wake-up.
    """

    __slots__ = (
        "encoder",
        "fees",
        "ids",
        "markets",
        "n_errors",
        "n_timers",
        "name",
        "next_timer_ns",
        "on_timer_change",
        "orders",
        "positions",
        "send",
        "state",
        "timer_ns",
        "topic",
        "venue",
    )

    def __init__(
        self,
        name: str,
        venue: str,
        markets: Mapping[str, Market],
        send: Callable[[bytes, bytes], bool],
        encoder: wire.Encoder | None = None,
        ids: OrderIds | None = None,
        on_timer_change: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.on_timer_change = on_timer_change
        self.venue = venue
        self.markets = dict(markets)
        self.send = send
        self.encoder = encoder if encoder is not None else wire.Encoder(wire.venue_id(venue))
        self.ids = ids if ids is not None else OrderIds(name)
        self.topic = f"cmd.{name}".encode()
        self.orders = OrderTracker()
        self.positions: dict[str, Position] = {}
        self.fees: dict[str, dict[str, int]] = {}
        self.state = StrategyState.WAITING
        self.timer_ns = 0  # timer interval, 0 = off
        self.next_timer_ns = 0  # CLOCK_MONOTONIC deadline of the next on_timer
        self.n_errors = 0
        self.n_timers = 0

    def position_of(self, symbol: str) -> Position | None:
        """Return the exact `Position` of `symbol`, created when its instrument is known."""
        pos = self.positions.get(symbol)
        if pos is None:
            market = self.markets.get(symbol)
            if market is None or market.instrument is None:
                return None
            ins = market.instrument
            pos = self.positions[symbol] = Position(ins.price_dp, ins.qty_dp)
        return pos


def _raw(value: object, dp: int, what: str) -> int:
    # A price or quantity argument as a raw at `dp`: an int is taken as a raw, a str is
    # parsed exactly; a float (or bool) is refused (STYLE §3).
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(
            f"{what}={value!r}: pass a decimal str such as '0.001' or an int raw at "
            f"{dp} decimal places, not {type(value).__name__} (floats are never accepted)"
        )
    if isinstance(value, int):
        return value
    try:
        return fixed.parse(value, dp)
    except NumberError as exc:
        raise OrderRejected(f"{what}={value!r}: {exc}", by="strategy") from None


class Strategy:
    """Base class of a trading strategy: override the callbacks you need.

    The runtime constructs it as ``cls(name, params)``, binds it to its context, then calls
    `on_start` once the instruments of all its symbols are known. Callbacks run on the
    process's single loop thread: keep them short. An exception in any callback stops this
    strategy only (its `on_stop` runs and its open orders are cancelled).

    Prices and quantities are exact ints: raws at the instrument's ``price_dp`` /
    ``qty_dp`` (``self.instrument(sym).px("1.5")`` converts text), or decimal ``str``
    where an action accepts them. Floats are refused with ``TypeError``.

    Parameters
    ----------
    name : str
        The strategy's name from config.
    params : mapping or None
        The ``[strategies.params]`` table (``self.params``).

    Attributes
    ----------
    name : str
    params : dict
    log : logging.Logger
        ``veloz.strategy.<name>``.
    """

    def __init__(self, name: str, params: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.params: dict[str, Any] = dict(params or {})
        self.log = logging.getLogger(f"veloz.strategy.{name}")
        self._ctx: StrategyContext | None = None

    # ---- callbacks (override) -------------------------------------------------------------
    def on_start(self) -> None:
        """Called once, when the instruments of all the strategy's symbols are known."""

    def on_stop(self) -> None:
        """Called once at shutdown or after a failing callback; may still `cancel`."""

    def on_book(self, book: wire.BookView) -> None:
        """A new book of one symbol: ``book.inst``; symbol via `symbol_of`; read, do not keep."""

    def on_bbo(self, msg: wire.BboMsg) -> None:
        """A best bid/offer update."""

    def on_trade(self, msg: wire.TradeMsg) -> None:
        """A public trade (``is_buyer_maker`` True: the aggressor sold)."""

    def on_kline(self, msg: wire.KlineMsg) -> None:
        """A candle update (``is_closed`` once final)."""

    def on_order(self, update: wire.OrderEventMsg) -> None:
        """A change of one of this strategy's orders (new status or filled qty); never twice."""

    def on_fill(self, fill: wire.FillMsg) -> None:
        """A fill of one of this strategy's orders; the position already includes it."""

    def on_timer(self, now_ns: int) -> None:
        """The timer set with `set_timer` fired; `now_ns` is CLOCK_MONOTONIC ns."""

    # ---- actions ----------------------------------------------------------------------------
    def buy(
        self,
        symbol: str,
        qty: int | str,
        px: int | str | None = None,
        *,
        tif: str = "GTC",
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> str:
        """Send a buy order; return its client order id.

        Parameters
        ----------
        symbol : str
            One of the strategy's symbols.
        qty : int or str
            Quantity: raw at the instrument's qty_dp, or decimal text ("0.001").
        px : int or str or None
            Limit price (raw at price_dp, or text); None sends a market order.
        tif : str
            "GTC", "IOC", "FOK" or "GTX" (limit orders; market orders are IOC).
        post_only : bool
            Maker only: spot LIMIT_MAKER, USD-M GTX. Needs a price.
        reduce_only : bool
            USD-M only: never increase the position.

        Raises
        ------
        TypeError
            `qty` or `px` is a float (or another non-int, non-str type).
        OrderRejected
            ``by="strategy"``: unknown symbol, strategy not running, a venue rule broken
            (tick, step, min/max qty or price, min notional), bad option;
            ``by="bus"``: the gateway's queue is full (the order was not sent).
        """
        return self._new_order(now_ns(), _BUY, symbol, qty, px, tif, post_only, reduce_only)

    def sell(
        self,
        symbol: str,
        qty: int | str,
        px: int | str | None = None,
        *,
        tif: str = "GTC",
        post_only: bool = False,
        reduce_only: bool = False,
    ) -> str:
        """Send a sell order; return its client order id. As `buy`."""
        return self._new_order(now_ns(), _SELL, symbol, qty, px, tif, post_only, reduce_only)

    def cancel(self, client_order_id: str) -> bool:
        """Ask the gateway to cancel one open order of this strategy.

        Returns
        -------
        bool
            True when the cancel was sent; False when the order is already finished.

        Raises
        ------
        OrderRejected
            ``by="strategy"``: an id this strategy does not know, or the strategy is
            stopped; ``by="bus"``: the gateway's queue is full.
        """
        trigger_ns = now_ns()
        ctx = self._context(allow_stopping=True)
        order = ctx.orders.get(client_order_id)
        if order is None:
            raise OrderRejected(f"unknown client order id {client_order_id!r}", by="strategy")
        if not order.is_open:
            return False
        body = ctx.encoder.order_cmd(
            order.inst,
            wire.Action.CANCEL,
            ctx.name,
            client_order_id,
            order.side,
            order.ord_type,
            order.tif,
            order.price_dp,
            order.qty_dp,
            0,
            0,
            False,
            trigger_ns,
        )
        if not ctx.send(ctx.topic, body):
            raise OrderRejected("gateway queue full", by="bus")
        order.cancel_sent = True
        ctx.orders.await_answer(client_order_id, trigger_ns)
        return True

    def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open order of this strategy (of `symbol`, or of all its symbols).

        Sends one CANCEL per open order not already being cancelled, so orders of other
        strategies on the same account are never touched. Returns the number sent.

        Raises
        ------
        OrderRejected
            As `cancel`; also for a symbol the strategy does not trade.
        """
        ctx = self._context(allow_stopping=True)
        if symbol is not None and symbol not in ctx.markets:
            raise OrderRejected(f"unknown symbol {symbol!r}", by="strategy")
        n = 0
        for order in ctx.orders.open_orders(symbol):
            if not order.cancel_sent and self.cancel(order.client_order_id):
                n += 1
        return n

    def set_timer(self, interval_s: float | None) -> None:
        """Call `on_timer` every `interval_s` seconds (> 0); None or 0 turns it off."""
        ctx = self._context(allow_stopping=True)
        if interval_s is None or interval_s == 0:
            ctx.timer_ns = 0
            ctx.next_timer_ns = 0
        else:
            if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float)):
                raise TypeError(f"interval_s={interval_s!r}: seconds as a number")
            if not interval_s > 0:
                raise ValueError(f"interval_s={interval_s!r}: must be > 0")
            ctx.timer_ns = max(1, int(interval_s * 1_000_000_000))
            ctx.next_timer_ns = now_ns() + ctx.timer_ns
        if ctx.on_timer_change is not None:
            ctx.on_timer_change()

    # ---- read access ----------------------------------------------------------------------
    @property
    def symbols(self) -> list[str]:
        """The strategy's symbols, as configured."""
        return list(self._attached().markets)

    @property
    def venue(self) -> str:
        """The strategy's venue ("binance-spot" or "binance-usdm")."""
        return self._attached().venue

    def symbol_of(self, inst: int) -> str | None:
        """Return the symbol whose feed uses instrument id `inst` (``book.inst``), or None."""
        for sym, market in self._attached().markets.items():
            if market.inst == inst:
                return sym
        return None

    def book(self, symbol: str) -> wire.BookView | None:
        """Return the latest book of `symbol` (updated in place; do not keep), or None."""
        market = self._attached().markets.get(symbol)
        if market is None or not market.has_book:
            return None
        return market.book

    def instrument(self, symbol: str) -> Instrument | None:
        """Return the instrument of `symbol` (scales, tick, step, bounds), or None."""
        market = self._attached().markets.get(symbol)
        return None if market is None else market.instrument

    def position(self, symbol: str) -> PositionView | None:
        """Return the position of `symbol` (exact ints), or None before its instrument."""
        ctx = self._attached()
        pos = ctx.position_of(symbol)
        market = ctx.markets.get(symbol)
        if pos is None or market is None or market.instrument is None:
            return None
        unrealized = 0
        if pos.qty and market.has_book:
            mark = market.book.best_bid() if pos.qty > 0 else market.book.best_ask()
            if mark is not None:
                unrealized = pos.unrealized_pnl(mark[0])
        return PositionView(
            symbol=symbol,
            quote=market.instrument.quote,
            qty=pos.qty,
            entry_px=pos.entry_px,
            realized_pnl=pos.realized_pnl,
            unrealized_pnl=unrealized,
            price_dp=pos.price_dp,
            qty_dp=pos.qty_dp,
            pnl_dp=pos.price_dp + pos.qty_dp,
            n_fills=pos.n_fills,
            fees=dict(ctx.fees.get(symbol, {})),
        )

    def pnl(self) -> PnlTotals:
        """Return realized and unrealized PnL summed over the strategy's symbols."""
        views = [v for v in map(self.position, self.symbols) if v is not None]
        dp = max((v.pnl_dp for v in views), default=0)
        fees: dict[str, int] = {}
        for v in views:
            for asset, fee in v.fees.items():
                fees[asset] = fees.get(asset, 0) + fee
        return PnlTotals(
            realized=sum(v.realized_pnl * 10 ** (dp - v.pnl_dp) for v in views),
            unrealized=sum(v.unrealized_pnl * 10 ** (dp - v.pnl_dp) for v in views),
            dp=dp,
            quotes=tuple(sorted({v.quote for v in views})),
            fees=fees,
        )

    def open_orders(self, symbol: str | None = None) -> list[OrderState]:
        """Return this strategy's open orders (of `symbol` or all), oldest first.

        Includes orders sent but not yet acknowledged (status PENDING). Read only.
        """
        return self._attached().orders.open_orders(symbol)

    # ---- internals --------------------------------------------------------------------------
    def _bind(self, ctx: StrategyContext) -> None:
        # Called once by the runtime before any callback.
        self._ctx = ctx

    def _attached(self) -> StrategyContext:
        ctx = self._ctx
        if ctx is None:
            raise OrderRejected("strategy is not attached to a runtime yet", by="strategy")
        return ctx

    def _context(self, allow_stopping: bool = False) -> StrategyContext:
        # The context for an action: opening orders needs RUNNING; cancelling and timers
        # also work while WAITING or STOPPING (inside on_stop).
        ctx = self._attached()
        state = ctx.state
        if state != StrategyState.RUNNING and not (
            allow_stopping and state in (StrategyState.STOPPING, StrategyState.WAITING)
        ):
            name = StrategyState.NAMES.get(state, str(state))
            raise OrderRejected(f"strategy {ctx.name} is {name}", by="strategy")
        return ctx

    def _new_order(
        self,
        trigger_ns: int,
        side: int,
        symbol: str,
        qty: int | str,
        px: int | str | None,
        tif: str,
        post_only: bool,
        reduce_only: bool,
    ) -> str:
        ctx = self._context()
        market = ctx.markets.get(symbol)
        if market is None:
            raise OrderRejected(f"unknown symbol {symbol!r}", by="strategy")
        ins = market.instrument
        if ins is None or market.inst < 0:
            raise OrderRejected(f"{symbol}: instrument not known yet", by="strategy")
        qty_raw = _raw(qty, ins.qty_dp, "qty")
        tif_code = _TIFS.get(tif)
        if tif_code is None:
            raise OrderRejected(f"tif={tif!r}: must be GTC, IOC, FOK or GTX", by="strategy")
        if reduce_only and ctx.venue != "binance-usdm":
            raise OrderRejected("reduce_only: only USD-M futures orders", by="strategy")
        if px is None:
            if post_only:
                raise OrderRejected("post_only needs a limit price", by="strategy")
            px_raw = 0
            ord_type = wire.OrdType.MARKET
            tif_code = wire.Tif.IOC
            why = ins.check_qty(qty_raw)
        else:
            px_raw = _raw(px, ins.price_dp, "px")
            ord_type = wire.OrdType.LIMIT
            if post_only:
                if ctx.venue == "binance-usdm":
                    tif_code = wire.Tif.GTX
                else:
                    ord_type = wire.OrdType.LIMIT_MAKER
            why = ins.check_order(px_raw, qty_raw)
        if why is not None:
            raise OrderRejected(f"{symbol}: {why}", by="strategy")
        cid = ctx.ids.next()
        body = ctx.encoder.order_cmd(
            market.inst,
            wire.Action.NEW,
            ctx.name,
            cid,
            side,
            ord_type,
            tif_code,
            ins.price_dp,
            ins.qty_dp,
            px_raw,
            qty_raw,
            reduce_only,
            trigger_ns,
        )
        if not ctx.send(ctx.topic, body):
            raise OrderRejected("gateway queue full", by="bus")
        ctx.orders.add(
            OrderState(
                client_order_id=cid,
                symbol=symbol,
                inst=market.inst,
                side=side,
                ord_type=int(ord_type),
                tif=int(tif_code),
                px=px_raw,
                qty=qty_raw,
                price_dp=ins.price_dp,
                qty_dp=ins.qty_dp,
                sent_mono_ns=trigger_ns,
            )
        )
        return cid
