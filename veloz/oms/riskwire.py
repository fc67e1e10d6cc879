"""The gateway's risk wiring: pre-trade checks on the order path and the risk state engine.

Owns `GatewayRisk`, which puts the Cython `PreTradeRisk` (every pre-trade rule: mode,
reduce-only, market data, tick/step/quantity/notional, band, position, gross, order and
cancel rates) and the `RiskEngine` (ACTIVE / REDUCE_ONLY / CANCEL_ONLY / HALTED, which sets
the core's modes) behind the one interface the gateway and `MarketData` call: mids in,
positions in, checks out, a tick per second. Must not publish, audit, send webhooks or
cancel orders: every `RiskEvent` goes to the ``on_event`` callback, and the gateway acts on it.
"""

import logging
import time
from collections.abc import Callable
from collections.abc import Sequence

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

__all__ = ["GatewayRisk"]

log = logging.getLogger(__name__)

_BUY, _SELL = 0, 1  # PreTradeRisk side codes
# Refusals set by the risk state: their text also says which condition set it.
_MODE_LEVEL = {
    Reason.R_REDUCE_ONLY: RiskState.REDUCE_ONLY,
    Reason.R_CANCEL_ONLY: RiskState.CANCEL_ONLY,
    Reason.R_HALTED: RiskState.HALTED,
}


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
        self.core: PreTradeRisk = make_pretrade_risk(cfg, self._insts)
        self.engine = RiskEngine(
            cfg,
            [i.symbol for i in self._insts],
            ASSET_DP,
            pretrade=self.core,
            on_event=on_event,
        )
        self._quote = self._insts[0].quote

    # ---- market data (`veloz.oms.market.MidSink`) ---------------------------------------------

    def mid_x2(self, slot: int) -> int:
        """Best bid + best ask raw (twice the mid), 0 when unknown."""
        return self.core.mid_x2(slot)

    def set_mid(self, slot: int, bid_px: int, ask_px: int) -> None:
        """Record the best bid and ask of `slot` (raws at price_dp): mid and md arrival."""
        self.core.set_mid(slot, Px(bid_px), Px(ask_px))
        now = self._now()
        sym = self._insts[slot].symbol
        self.engine.on_market_data(sym, now)
        if self.engine.symbol_state[sym] != RiskState.ACTIVE:
            self.engine.on_book_status(sym, True, now)

    def clear_mid(self, slot: int) -> None:
        """The feed of `slot` is not live: forget the mid; the symbol's book is invalid."""
        self.core.set_mid(slot, Px(0), Px(0))
        self.engine.on_book_status(self._insts[slot].symbol, False, self._now())

    # ---- checks --------------------------------------------------------------------------

    def check_new(
        self, slot: int, is_buy: bool, is_market: bool, px: int, qty: int, now_ns: int
    ) -> str | None:
        """Check a new order with `PreTradeRisk`; None when it may go, else the refusal text.

        The text starts with the rule name (``max_notional: 150000.00 > 100000.00 USDT``);
        a refusal by the risk state also names the condition that set it. O(1) when it
        passes; a refusal builds its text (cold path).
        """
        code = self.core.check_new(
            slot, _BUY if is_buy else _SELL, is_market, Px(px), Qty(qty), Nanos(now_ns)
        )
        if code == Reason.R_OK:
            return None
        inst = self._insts[slot]
        text = self.core.reason_text(code, inst.base, inst.quote)
        level = _MODE_LEVEL.get(Reason(code))
        if level is not None:
            text = f"{text} ({self._why(inst.symbol, level)})"
        return text

    def check_cancel(self, now_ns: int) -> str | None:
        """Check one cancel against the cancel rate (allowed in every state); None = go."""
        code = self.core.check_cancel(Nanos(now_ns))
        if code == Reason.R_OK:
            return None
        return self.core.reason_text(code)

    def _why(self, sym: str, level: RiskState) -> str:
        # The latest event that set `level` (or stricter) for `sym` or globally, for the text.
        for ev in reversed(self.engine.events):
            if ev.symbol in ("", sym) and ev.new >= level:
                scope = f"{ev.symbol} " if ev.symbol else ""
                return f"{scope}{ev.trigger}: {ev.detail}"[:120]
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
            mid_x2 = self.mid_x2(slot)
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
        """The engine's status plus the limits and the pre-trade counters (per rule)."""
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
            "require_market_data": cfg.require_market_data,
            "stale_feed_s": cfg.stale_feed_s,
            "latency_p99_us": cfg.latency_p99_us,
            "error_spike_count": cfg.error_spike_count,
            "recover_after_s": cfg.recover_after_s,
        }
        st["counters"] = self.core.counters()
        return st
