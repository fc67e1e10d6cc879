from enum import IntEnum
from typing import final

from veloz._core.units import Nanos
from veloz._core.units import Px
from veloz._core.units import Qty

REASON_NAMES: tuple[str, ...]

class RiskMode(IntEnum):
    MODE_ACTIVE = 0
    MODE_REDUCE_ONLY = 1
    MODE_CANCEL_ONLY = 2
    MODE_HALTED = 3

class Reason(IntEnum):
    R_OK = 0
    R_BAD_SLOT = 1
    R_BAD_INPUT = 2
    R_HALTED = 3
    R_CANCEL_ONLY = 4
    R_REDUCE_ONLY = 5
    R_NO_MARKET_DATA = 6
    R_TICK = 7
    R_STEP = 8
    R_MIN_QTY = 9
    R_MAX_ORDER_QTY = 10
    R_MIN_NOTIONAL = 11
    R_MAX_NOTIONAL = 12
    R_PRICE_BAND = 13
    R_POSITION_LIMIT = 14
    R_GROSS_LIMIT = 15
    R_ORDER_RATE = 16
    R_CANCEL_RATE = 17
    R_N_REASONS = 18

@final
class PreTradeRisk:
    @property
    def n_slots(self) -> int: ...
    @property
    def gross_dp(self) -> int: ...
    @property
    def max_gross(self) -> int: ...
    @property
    def gross_total(self) -> int: ...
    @property
    def mode(self) -> int: ...
    @property
    def require_ref_px(self) -> bool: ...
    def __init__(
        self,
        n_slots: int,
        max_orders_per_s: float,
        order_burst: float,
        max_cancels_per_s: float,
        cancel_burst: float,
        max_gross: int = ...,
        gross_dp: int = ...,
        require_ref_px: bool = ...,
    ) -> None: ...
    def configure(
        self,
        slot: int,
        price_dp: int,
        qty_dp: int,
        tick: Px,
        step: Qty,
        min_qty: Qty,
        max_qty: Qty,
        min_notional: int,
        min_notional_dp: int,
        max_notional: int,
        max_notional_dp: int,
        max_position: Qty,
        band_bps: int,
    ) -> int: ...
    def set_mid(self, slot: int, bid_px: Px, ask_px: Px) -> int: ...
    def set_ref_px(self, slot: int, px: Px) -> int: ...
    def set_position(self, slot: int, qty: Qty) -> int: ...
    def set_mode(self, mode: int) -> int: ...
    def set_slot_mode(self, slot: int, mode: int) -> int: ...
    def check_new(
        self, slot: int, side: int, is_market: bool, px: Px, qty: Qty, now_ns: Nanos
    ) -> int: ...
    def check_cancel(self, now_ns: Nanos) -> int: ...
    def n_reason(self, code: int) -> int: ...
    def counters(self) -> dict[str, int]: ...
    def position(self, slot: int) -> Qty: ...
    def mid_x2(self, slot: int) -> int: ...
    def ref_px(self, slot: int) -> Px: ...
    def slot_gross(self, slot: int) -> int: ...
    def slot_mode(self, slot: int) -> int: ...
    def reason_text(self, code: int, base: str = ..., quote: str = ...) -> str: ...
    def check_invariants(self) -> int: ...
