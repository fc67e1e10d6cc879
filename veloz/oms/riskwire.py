"""The gateway's risk wiring: pre-trade checks on the order path and the risk state engine.

Owns `GatewayRisk`, which puts the issue-5 `PreTrade` rules (their refusal texts are the
strategies' contract), the Cython `PreTradeRisk` (modes, positions, gross, tick/step/min
rules) and the `RiskEngine` (ACTIVE / REDUCE_ONLY / CANCEL_ONLY / HALTED) behind the one
interface the gateway and `MarketData` call: mids in, positions in, checks out, a tick per
second. Must not publish, audit, send webhooks or cancel orders: every `RiskEvent` goes to
the ``on_event`` callback, and the gateway acts on it.
"""

import logging
import time
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any
from typing import cast

from veloz._core.risk import PreTradeRisk
from veloz._core.risk import Reason
from veloz._core.units import Nanos
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz.model.events import ASSET_DP
from veloz.model.instrument import Instrument
from veloz.oms.state import ExecState
from veloz.risk.config import RiskLimits
from veloz.risk.engine import RiskEngine
from veloz.risk.engine import RiskEvent
from veloz.risk.engine import RiskState
from veloz.risk.engine import make_pretrade_risk
from veloz.risk.pretrade import PreTrade
from veloz.risk.pretrade import PreTradeCounters

__all__ = ["GatewayRisk"]

log = logging.getLogger(__name__)

_BUY, _SELL = 0, 1  # PreTradeRisk side codes


class _WithoutNotional:
    # `cfg` as make_pretrade_risk reads it, with max_notional off ("0" is refused by
    # RiskLimits itself, which is why this is a view and not dataclasses.replace).
    max_notional = "0"

    def __init__(self, cfg: RiskLimits) -> None:
        self._cfg = cfg

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cfg, name)


class GatewayRisk:
    """Pre-trade checks and the risk state of one gateway's symbols (slot = symbol index).

    Parameters
    ----------
    cfg : RiskLimits
        The ``[risk]`` table.
    insts : sequence of Instrument
        The gateway's instruments; slot ``i`` is ``insts[i]``.
    on_event : callable, optional
        Called with every `RiskEvent` (the gateway's publisher); must not block.
    mono_clock : callable
        CLOCK_MONOTONIC ns (injectable for tests).

    Raises
    ------
    ConfigError
        A limit that does not fit an instrument's scale, a symbol not among `insts`.
    """

    def __init__(
        self,
        cfg: RiskLimits,
        insts: Sequence[Instrument],
        on_event: Callable[[RiskEvent], None] | None = None,
        mono_clock: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.config = cfg
        self._insts = list(insts)
        self._now = mono_clock
        self.rules = PreTrade(cfg.pretrade(), self._insts)
        # max_notional stays with `rules` (Python ints): at price_dp + qty_dp (16 for many
        # Binance pairs) a quote limit like 100000 does not fit PreTradeRisk's int64.
        self.core: PreTradeRisk = make_pretrade_risk(
            cast(RiskLimits, _WithoutNotional(cfg)), self._insts
        )
        self.engine = RiskEngine(
            cfg,
            [i.symbol for i in self._insts],
            ASSET_DP,
            pretrade=self.core,
            on_event=on_event,
        )
        self._quote = self._insts[0].quote
        self.n_refused_mode = 0
        self.n_refused_core = 0

    # ---- the PreTrade face MarketData and the tests use --------------------------------------

    @property
    def counters(self) -> PreTradeCounters:
        """The issue-5 rule counters (``n_max_notional``, ...)."""
        return self.rules.counters

    def mid_x2(self, slot: int) -> int:
        """Best bid + best ask raw (twice the mid), 0 when unknown."""
        return self.rules.mid_x2(slot)

    def set_mid(self, slot: int, bid_px: int, ask_px: int) -> None:
        """Record the best bid and ask of `slot` (raws at price_dp): ref px and md arrival."""
        self.rules.set_mid(slot, bid_px, ask_px)
        mid_x2 = self.rules.mid_x2(slot)
        self.core.set_ref_px(slot, Px(mid_x2 // 2))
        now = self._now()
        sym = self._insts[slot].symbol
        self.engine.on_market_data(sym, now)
        if self.engine.symbol_state[sym] != RiskState.ACTIVE:
            self.engine.on_book_status(sym, True, now)

    def clear_mid(self, slot: int) -> None:
        """The feed of `slot` is not live: forget the mid; the symbol's book is invalid."""
        self.rules.clear_mid(slot)
        self.core.set_ref_px(slot, Px(0))
        self.engine.on_book_status(self._insts[slot].symbol, False, self._now())

    # ---- checks --------------------------------------------------------------------------

    def check_new(
        self, slot: int, is_buy: bool, is_market: bool, px: int, qty: int, now_ns: int
    ) -> str | None:
        """Check a new order; None when it may go, else the refusal text (rule name first).

        The risk state first (``halted: ...``, ``cancel_only: ...``), then the issue-5 rules
        with their texts, then `PreTradeRisk` (reduce-only, position, gross, tick, ...).
        """
        sym = self._insts[slot].symbol
        state = self.engine.state_of(sym)
        if state >= RiskState.CANCEL_ONLY:
            self.n_refused_mode += 1
            return f"{state.name.lower()}: {sym}: new orders are refused ({self._why(sym)})"
        why = self.rules.check_new(slot, is_buy, is_market, px, qty, now_ns)
        if why is not None:
            return why
        code = self.core.check_new(
            slot, _BUY if is_buy else _SELL, is_market, Px(px), Qty(qty), Nanos(now_ns)
        )
        if code == Reason.R_OK:
            return None
        self.n_refused_core += 1
        return f"{self.core.reason_text(code)} ({sym}, risk state {state.name})"

    def check_cancel(self, now_ns: int) -> str | None:
        """Check one cancel against the cancel rate (allowed in every state); None = go."""
        return self.rules.check_cancel(now_ns)

    def _why(self, sym: str) -> str:
        # The latest event that set the state of `sym` (or the global one), for the text.
        for ev in reversed(self.engine.events):
            if ev.symbol in ("", sym) and ev.new >= RiskState.CANCEL_ONLY:
                return f"{ev.trigger}: {ev.detail}"[:120]
        return "risk state"

    # ---- inputs ----------------------------------------------------------------------------

    def sync_positions(self, state: ExecState) -> None:
        """Feed every slot's position (the whole account) from `state` to `PreTradeRisk`."""
        acct = state.positions.account()
        for slot, inst in enumerate(self._insts):
            view = acct.position(inst)
            qty = view.qty
            if view.qty_dp > inst.qty_dp:
                qty = int(qty / 10 ** (view.qty_dp - inst.qty_dp))  # toward zero
            elif view.qty_dp < inst.qty_dp:
                qty *= 10 ** (inst.qty_dp - view.qty_dp)
            self.core.set_position(slot, Qty(qty))

    def equity(self, state: ExecState) -> int:
        """Net PnL (realized + unrealized at the mids - fees) in the first quote asset."""
        marks: dict[tuple[str, str], int] = {}
        for slot, inst in enumerate(self._insts):
            mid_x2 = self.rules.mid_x2(slot)
            if mid_x2:
                marks[inst.venue, inst.symbol] = mid_x2 // 2
        return state.positions.net_pnl(marks).get(self._quote, 0)

    def tick(self, state: ExecState, p99_ns: int, now_ns: int) -> None:
        """The once-a-second inputs: positions, equity, the order-path p99, timers."""
        self.sync_positions(state)
        self.engine.on_equity(self.equity(state), now_ns)
        self.engine.on_latency_p99(p99_ns, now_ns)
        self.engine.evaluate(now_ns)

    def status(self) -> dict[str, object]:
        """The engine's status plus the limits and the refusal counters."""
        st = dict(self.engine.status())
        cfg = self.config
        st["limits"] = {
            "max_notional": cfg.max_notional,
            "max_order_qty": dict(cfg.max_order_qty),
            "max_position": dict(cfg.max_position),
            "max_gross_notional": cfg.max_gross_notional,
            "max_drawdown": cfg.max_drawdown,
            "daily_loss_limit": cfg.daily_loss_limit,
            "price_band_bps": cfg.price_band_bps,
            "max_orders_per_s": cfg.max_orders_per_s,
            "max_cancels_per_s": cfg.max_cancels_per_s,
            "stale_feed_s": cfg.stale_feed_s,
            "latency_p99_us": cfg.latency_p99_us,
            "error_spike_count": cfg.error_spike_count,
            "recover_after_s": cfg.recover_after_s,
        }
        counters: dict[str, int] = dict(self.rules.counters.as_dict())
        counters.update(self.core.counters())
        counters["n_refused_mode"] = self.n_refused_mode
        counters["n_refused_core"] = self.n_refused_core
        st["counters"] = counters
        return st
