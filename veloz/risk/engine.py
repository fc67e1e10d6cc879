"""The risk state machine: ACTIVE -> REDUCE_ONLY -> CANCEL_ONLY -> HALTED, and its triggers.

Owns the conditions (drawdown, daily loss, stale feed, book not live, latency, reject/error
spike, operator kill), their hysteresis, the `RiskEvent` of every change and applying the
state to a `PreTradeRisk` (global mode, and per-symbol modes for feed problems). Must not
send orders or cancels (it says when they are needed), read a clock for decisions (monotonic
ns are passed in; only event stamps read the wall clock), or block on a webhook.

Triggers (level reached; recovery after the condition is gone for ``recover_after_s``):

================  ==================================================  ============  ======
trigger           condition                                           state         scope
================  ==================================================  ============  ======
``drawdown``      peak equity - equity >= ``max_drawdown``            REDUCE_ONLY   all
``latency``       order-path p99 > ``latency_p99_us``                  REDUCE_ONLY   all
``daily_loss``    day's first equity - equity >= ``daily_loss_limit``  CANCEL_ONLY   all
``error_spike``   >= ``error_spike_count`` rejects+errors in window    CANCEL_ONLY   all
``stale_feed``    no market data for ``stale_feed_s``                  CANCEL_ONLY   symbol
``book_invalid``  book status not live (``check_book_live``)           CANCEL_ONLY   symbol
``kill``          operator `kill`; only `resume` leaves HALTED         HALTED        all
================  ==================================================  ============  ======

Feed problems are per symbol: one stale stream must not stop trading the others; the
symbol's slot in `PreTradeRisk` gets the mode and its orders are to be cancelled.
"""

import bisect
import logging
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum

from veloz._core.risk import PreTradeRisk
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.errors import ConfigError
from veloz.model.instrument import Instrument
from veloz.risk.config import RiskLimits
from veloz.risk.config import decimal_limit
from veloz.risk.config import decimal_raw

__all__ = [
    "RiskEngine",
    "RiskEvent",
    "RiskState",
    "make_pretrade_risk",
]

log = logging.getLogger(__name__)

_NS = 1_000_000_000
_GLOBAL = ""  # the scope key of conditions that apply to every symbol


class RiskState(IntEnum):
    """The engine's state; values equal `veloz._core.risk.RiskMode`."""

    ACTIVE = 0
    REDUCE_ONLY = 1
    CANCEL_ONLY = 2
    HALTED = 3


@dataclass(frozen=True, slots=True)
class RiskEvent:
    """One state change: for the bus, the log and the webhook.

    Parameters
    ----------
    old, new : RiskState
        State before and after.
    trigger : str
        The condition that degraded (``drawdown``, ``kill``, ...), ``recovered`` or ``resume``.
    detail : str
        Figures behind it, one line.
    wall_ns : int
        CLOCK_REALTIME ns of the change.
    symbol : str
        The symbol of a per-symbol change; empty for the global state.
    """

    old: RiskState
    new: RiskState
    trigger: str
    detail: str
    wall_ns: int
    symbol: str = ""

    def as_dict(self) -> dict[str, object]:
        """Return the event as JSON-ready values (states by name)."""
        return {
            "old": self.old.name,
            "new": self.new.name,
            "trigger": self.trigger,
            "detail": self.detail,
            "wall_ns": self.wall_ns,
            "symbol": self.symbol,
        }


class _Cond:
    # One condition's hysteresis: in force while active and for recover_ns after it clears.
    __slots__ = ("cleared_ns", "detail", "is_active", "level")

    def __init__(self, level: RiskState) -> None:
        self.level = level
        self.is_active = False
        self.cleared_ns: int | None = None
        self.detail = ""

    def in_force(self, now_ns: int, recover_ns: int) -> bool:
        if self.is_active:
            return True
        return self.cleared_ns is not None and now_ns - self.cleared_ns < recover_ns


def make_pretrade_risk(cfg: RiskLimits, instruments: Sequence[Instrument]) -> PreTradeRisk:
    """Build a `PreTradeRisk` with slot ``i`` = ``instruments[i]`` and every limit of `cfg`.

    Per slot: the instrument's tick, step, min qty and min notional; ``max_order_qty``,
    ``max_notional`` (at its own decimals, exact at any scale), ``max_position`` and
    ``price_band_bps``; globally the order and cancel buckets (burst ``max(1, rate)``),
    ``max_gross_notional`` (raw at the smallest price_dp: the gross figures' scale) and
    ``require_market_data``.

    Raises
    ------
    ConfigError
        A per-symbol key for a symbol not among `instruments`, or a quantity limit with
        more decimals than the instrument's scale allows.
    """
    if not instruments:
        raise ConfigError("risk: no instruments")
    symbols = {inst.symbol for inst in instruments}
    for key, table in (("max_order_qty", cfg.max_order_qty), ("max_position", cfg.max_position)):
        for symbol in table:
            if symbol not in symbols:
                raise ConfigError(
                    f"risk.{key}.{symbol}: not a symbol of this gateway "
                    f"({', '.join(sorted(symbols))})"
                )
    gross_dp = min(inst.price_dp for inst in instruments)
    max_notional, max_notional_dp = decimal_limit("risk.max_notional", cfg.max_notional)
    risk = PreTradeRisk(
        len(instruments),
        cfg.max_orders_per_s,
        max(1.0, cfg.max_orders_per_s),
        cfg.max_cancels_per_s,
        max(1.0, cfg.max_cancels_per_s),
        decimal_raw("risk.max_gross_notional", cfg.max_gross_notional, gross_dp),
        gross_dp,
        cfg.require_market_data,
    )
    for slot, inst in enumerate(instruments):
        sym = inst.symbol
        max_qty = cfg.max_order_qty.get(sym, "0")
        max_pos = cfg.max_position.get(sym, "0")
        risk.configure(
            slot,
            inst.price_dp,
            inst.qty_dp,
            Px(inst.tick_raw),
            Qty(inst.step_raw),
            Qty(inst.min_qty_raw),
            Qty(decimal_raw(f"risk.max_order_qty.{sym}", max_qty, inst.qty_dp)),
            inst.min_notional_raw,
            inst.notional_dp,
            max_notional,
            max_notional_dp,
            Qty(decimal_raw(f"risk.max_position.{sym}", max_pos, inst.qty_dp)),
            cfg.price_band_bps,
        )
    return risk


class RiskEngine:
    """Degrade and recover the risk state from the figures it is fed.

    Parameters
    ----------
    cfg : RiskLimits
        Thresholds; ``max_drawdown`` and ``daily_loss_limit`` are read at `equity_dp`.
    symbols : sequence of str
        Symbols in slot order (slot ``i`` of `pretrade` is ``symbols[i]``).
    equity_dp : int
        Scale of the equity raws given to `on_equity`.
    pretrade : PreTradeRisk or None
        Gets the global mode and the per-symbol modes on every change.
    on_event : callable or None
        Called with every `RiskEvent` (the bus publisher, the webhook sender's `post`);
        must not block.
    wall_clock : callable
        CLOCK_REALTIME ns for event stamps and the UTC day of the daily loss.

    Raises
    ------
    ConfigError
        A limit with more decimals than `equity_dp`.
    """

    def __init__(
        self,
        cfg: RiskLimits,
        symbols: Sequence[str],
        equity_dp: int,
        pretrade: PreTradeRisk | None = None,
        on_event: Callable[[RiskEvent], None] | None = None,
        wall_clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.config = cfg
        self.symbols = tuple(symbols)
        self._slots = {sym: i for i, sym in enumerate(self.symbols)}
        self._pretrade = pretrade
        self._on_event = on_event
        self._wall = wall_clock
        self._max_dd = decimal_raw("risk.max_drawdown", cfg.max_drawdown, equity_dp)
        self._max_day_loss = decimal_raw("risk.daily_loss_limit", cfg.daily_loss_limit, equity_dp)
        self._recover_ns = int(cfg.recover_after_s * _NS)
        self._stale_ns = int(cfg.stale_feed_s * _NS)
        self._p99_limit_ns = int(cfg.latency_p99_us * 1000)
        self._window_ns = int(cfg.error_spike_window_s * _NS)
        self._conds: dict[tuple[str, str], _Cond] = {
            ("drawdown", _GLOBAL): _Cond(RiskState.REDUCE_ONLY),
            ("latency", _GLOBAL): _Cond(RiskState.REDUCE_ONLY),
            ("daily_loss", _GLOBAL): _Cond(RiskState.CANCEL_ONLY),
            ("error_spike", _GLOBAL): _Cond(RiskState.CANCEL_ONLY),
        }
        for sym in self.symbols:
            self._conds["stale_feed", sym] = _Cond(RiskState.CANCEL_ONLY)
            self._conds["book_invalid", sym] = _Cond(RiskState.CANCEL_ONLY)
        self.state = RiskState.ACTIVE
        self.symbol_state = dict.fromkeys(self.symbols, RiskState.ACTIVE)
        self.is_killed = False
        self.events: deque[RiskEvent] = deque(maxlen=256)  # the latest changes, for status
        self.peak_equity: int | None = None
        self.day_start_equity: int | None = None
        self._day: int | None = None
        self._last_md_ns: dict[str, int | None] = dict.fromkeys(self.symbols)
        self._start_ns: int | None = None
        self._errors: list[int] = []  # mono ns of rejects and errors within the window
        self.n_events = 0
        self.n_rejects = 0
        self.n_errors = 0

    # ---- queries -----------------------------------------------------------------------------

    def state_of(self, symbol: str) -> RiskState:
        """Return the state that applies to `symbol`: the stricter of global and its own."""
        return max(self.state, self.symbol_state[symbol])

    @property
    def is_cancel_all_needed(self) -> bool:
        """True in CANCEL_ONLY and HALTED: every open order is to be cancelled."""
        return self.state >= RiskState.CANCEL_ONLY

    def symbols_to_cancel(self) -> list[str]:
        """Return the symbols whose open orders are to be cancelled now."""
        return [s for s in self.symbols if self.state_of(s) >= RiskState.CANCEL_ONLY]

    def status(self) -> dict[str, object]:
        """Return the state, per-symbol states, conditions in force and counters."""
        return {
            "state": self.state.name,
            "symbols": {s: st.name for s, st in self.symbol_state.items()},
            "conditions": {
                f"{name}{'.' + sym if sym else ''}": c.detail
                for (name, sym), c in self._conds.items()
                if c.is_active
            },
            "is_killed": self.is_killed,
            "n_events": self.n_events,
            "n_rejects": self.n_rejects,
            "n_errors": self.n_errors,
        }

    # ---- inputs ------------------------------------------------------------------------------

    def on_equity(self, equity: int, mono_ns: int) -> list[RiskEvent]:
        """Feed account equity (raw at equity_dp): drawdown and daily loss. O(1)."""
        day = self._wall() // (86_400 * _NS)
        day_start = self.day_start_equity
        if day != self._day or day_start is None:
            self._day = day
            self.day_start_equity = day_start = equity
        if self.peak_equity is None or equity > self.peak_equity:
            self.peak_equity = equity
        dd = self.peak_equity - equity
        self._set(
            "drawdown",
            _GLOBAL,
            bool(self._max_dd) and dd >= self._max_dd,
            f"drawdown={dd} peak={self.peak_equity} limit={self._max_dd}",
            mono_ns,
        )
        loss = day_start - equity
        self._set(
            "daily_loss",
            _GLOBAL,
            bool(self._max_day_loss) and loss >= self._max_day_loss,
            f"loss={loss} day_start={day_start} limit={self._max_day_loss}",
            mono_ns,
        )
        return self.evaluate(mono_ns)

    def on_market_data(self, symbol: str, mono_ns: int) -> list[RiskEvent]:
        """Record market data for `symbol` at `mono_ns` (clears its stale condition). O(1)."""
        if symbol not in self._last_md_ns:
            return []
        self._last_md_ns[symbol] = mono_ns
        cond = self._conds["stale_feed", symbol]
        if not cond.is_active:
            return []
        self._set("stale_feed", symbol, False, "market data again", mono_ns)
        return self.evaluate(mono_ns)

    def on_book_status(self, symbol: str, is_live: bool, mono_ns: int) -> list[RiskEvent]:
        """Record whether `symbol`'s book is live (synced); not live -> CANCEL_ONLY there."""
        if symbol not in self._last_md_ns:
            return []
        bad = self.config.check_book_live and not is_live
        self._set("book_invalid", symbol, bad, "book not live" if bad else "book live", mono_ns)
        return self.evaluate(mono_ns)

    def on_latency_p99(self, p99_ns: int, mono_ns: int) -> list[RiskEvent]:
        """Feed the order-path p99 of a recent window (`veloz.metrics.Latency.recent_p99_ns`).

        0 means no figure (too few orders in the window): no evidence of slowness, so the
        condition clears after `recover_after_s` like any other. Holding it instead would
        leave a flat book in REDUCE_ONLY for good: it sends nothing, so no figure comes.
        """
        limit = self._p99_limit_ns
        high = bool(limit) and p99_ns > limit
        self._set("latency", _GLOBAL, high, f"p99_ns={p99_ns} limit_ns={limit}", mono_ns)
        return self.evaluate(mono_ns)

    def on_reject(self, mono_ns: int) -> list[RiskEvent]:
        """Count one order reject (by the venue or risk) toward the error spike."""
        self.n_rejects += 1
        return self._count_error(mono_ns)

    def on_error(self, mono_ns: int) -> list[RiskEvent]:
        """Count one venue or transport error toward the error spike."""
        self.n_errors += 1
        return self._count_error(mono_ns)

    def kill(self, reason: str, mono_ns: int) -> list[RiskEvent]:
        """Operator kill: HALTED until `resume`; every order is to be cancelled."""
        self.is_killed = True
        return self._apply(mono_ns, "kill", reason)

    def resume(self, mono_ns: int, operator: str = "operator") -> list[RiskEvent]:
        """Leave HALTED: the state becomes what the conditions in force say."""
        if not self.is_killed:
            return []
        self.is_killed = False
        return self._apply(mono_ns, "resume", f"by {operator}")

    def evaluate(self, mono_ns: int) -> list[RiskEvent]:
        """Re-check stale feeds and recovery timers at `mono_ns`; call it about once a second."""
        if self._stale_ns:
            for sym, last in self._last_md_ns.items():
                # A symbol never heard from is stale once the engine has run stale_feed_s.
                since = last if last is not None else self._first_ns(mono_ns)
                if mono_ns - since >= self._stale_ns:
                    self._set("stale_feed", sym, True, f"no md for {mono_ns - since} ns", mono_ns)
        if self._errors:
            self._count_error(mono_ns, add=False)
        return self._apply(mono_ns, "", "")

    # ---- internals ---------------------------------------------------------------------------

    def _first_ns(self, mono_ns: int) -> int:
        # The engine's first evaluation counts as the start of waiting for market data.
        if self._start_ns is None:
            self._start_ns = mono_ns
        return self._start_ns

    def _count_error(self, mono_ns: int, add: bool = True) -> list[RiskEvent]:
        errs = self._errors
        if add:
            bisect.insort(errs, mono_ns)
        del errs[: bisect.bisect_right(errs, mono_ns - self._window_ns)]
        n = len(errs)
        limit = self.config.error_spike_count
        self._set(
            "error_spike",
            _GLOBAL,
            bool(limit) and n >= limit,
            f"n={n} in {self.config.error_spike_window_s:g} s limit={limit}",
            mono_ns,
        )
        return self._apply(mono_ns, "", "") if add else []

    def _set(self, name: str, scope: str, is_active: bool, detail: str, mono_ns: int) -> None:
        cond = self._conds[name, scope]
        if is_active:
            cond.is_active = True
            cond.cleared_ns = None
            cond.detail = detail
        elif cond.is_active:
            cond.is_active = False
            cond.cleared_ns = mono_ns

    def _target(self, scope: str, mono_ns: int) -> tuple[RiskState, str, str]:
        # The strictest level in force for `scope`, with the condition that sets it.
        best, trigger, detail = RiskState.ACTIVE, "recovered", ""
        for (name, sym), c in self._conds.items():
            if sym == scope and c.level > best and c.in_force(mono_ns, self._recover_ns):
                best, trigger, detail = c.level, name, c.detail
        return best, trigger, detail

    def _apply(self, mono_ns: int, op_trigger: str, op_detail: str) -> list[RiskEvent]:
        out: list[RiskEvent] = []
        gone = f"conditions gone for {self.config.recover_after_s:g} s"
        target, trigger, detail = self._target(_GLOBAL, mono_ns)
        if self.is_killed:
            target, trigger, detail = RiskState.HALTED, "kill", op_detail or "operator kill"
        elif op_trigger == "resume":
            trigger, detail = "resume", op_detail
        if target != self.state:
            if target < self.state and trigger != "resume":
                trigger, detail = "recovered", gone
            out.append(self._emit(self.state, target, trigger, detail, ""))
            self.state = target
            if self._pretrade is not None:
                self._pretrade.set_mode(int(target))
        for sym in self.symbols:
            t, trig, det = self._target(sym, mono_ns)
            old = self.symbol_state[sym]
            if t != old:
                if t < old:
                    trig, det = "recovered", gone
                out.append(self._emit(old, t, trig, det, sym))
                self.symbol_state[sym] = t
                if self._pretrade is not None:
                    self._pretrade.set_slot_mode(self._slots[sym], int(t))
        return out

    def _emit(
        self, old: RiskState, new: RiskState, trigger: str, detail: str, symbol: str
    ) -> RiskEvent:
        ev = RiskEvent(old, new, trigger, detail, self._wall(), symbol)
        self.events.append(ev)
        self.n_events += 1
        log.warning(
            "risk_state old=%s new=%s trigger=%s symbol=%s detail=%s",
            old.name,
            new.name,
            trigger,
            symbol or "*",
            detail,
        )
        if self._on_event is not None:
            self._on_event(ev)
        return ev
