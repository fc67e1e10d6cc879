from enum import IntEnum
from typing import Any
from typing import final

from veloz._core.units import Nanos
from veloz._core.units import Px
from veloz._core.units import Qty

class OrdSide(IntEnum):
    BUY = 0
    SELL = 1

class OrdKind(IntEnum):
    LIMIT = 0
    MARKET = 1
    LIMIT_MAKER = 2

class Tif(IntEnum):
    GTC = 0
    IOC = 1
    FOK = 2
    GTX = 3

class Stp(IntEnum):
    NONE = 0
    EXPIRE_TAKER = 1
    EXPIRE_MAKER = 2
    EXPIRE_BOTH = 3

class OrdStatus(IntEnum):
    NEW = 0
    PARTIALLY_FILLED = 1
    FILLED = 2
    CANCELED = 3
    EXPIRED = 4
    REJECTED = 5

class EvKind(IntEnum):
    EV_NEW = 0
    EV_TRADE = 1
    EV_CANCELED = 2
    EV_EXPIRED = 3
    EV_REJECTED = 4

class Reason(IntEnum):
    NO_REASON = 0
    IOC_REMAINDER = 1
    MARKET_REMAINDER = 2
    FOK_NOT_FILLABLE = 3
    POST_ONLY_WOULD_TAKE = 4
    STP_EXPIRED = 5
    BAD_SIDE = 6
    BAD_KIND = 7
    BAD_TIF = 8
    BAD_STP = 9
    BAD_QTY = 10
    BAD_PX = 11
    OVERFLOW = 12

@final
class MatchingEngine:
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def maker_fee_ppm(self) -> int: ...
    @property
    def taker_fee_ppm(self) -> int: ...
    @property
    def n_trades(self) -> int: ...
    def __init__(
        self, price_dp: int, qty_dp: int, maker_fee_ppm: int, taker_fee_ppm: int
    ) -> None: ...
    def submit(
        self,
        account: int,
        client_id: int,
        side: int,
        kind: int,
        tif: int,
        px: Px,
        qty: Qty,
        stp: int,
        ts_ns: Nanos,
    ) -> int: ...
    def cancel(self, order_id: int, ts_ns: int = ...) -> bool: ...
    def cancel_all(self, account: int, ts_ns: int = ...) -> int: ...
    def drain(
        self,
    ) -> list[tuple[int, int, int, int, int, int, int, int, int, int]]: ...
    def order(self, order_id: int) -> dict[str, Any]: ...
    def best_bid(self) -> tuple[Px, Qty] | None: ...
    def best_ask(self) -> tuple[Px, Qty] | None: ...
    def depth(self, side: int, n: int) -> list[tuple[Px, Qty]]: ...
    def open_orders(self, account: int) -> list[int]: ...
    def check_invariants(self) -> int: ...
