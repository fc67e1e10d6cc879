"""Event builders for the OMS state tests (instruments, updates, fills)."""

from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument

SPOT = Instrument("binance-spot", "BTCUSDT", "BTC", "USDT", "TRADING", 2, 5, 1, 1, 0, 0, 0, 0, 0)
FUT = Instrument("binance-usdm", "BTCUSDT", "BTC", "USDT", "TRADING", 1, 3, 1, 1, 0, 0, 0, 0, 0)


def upd(
    cid: str,
    status: OrderStatus,
    filled: int,
    qty: int = 1000,
    inst: Instrument = FUT,
    side: str = "BUY",
    reason: str = "",
) -> OrderUpdate:
    return OrderUpdate(
        inst.venue,
        inst.symbol,
        cid,
        7,
        side,
        "LIMIT",
        "GTC",
        status,
        status.value,
        1000,
        qty,
        filled,
        reason,
        1,
        1,
    )


def fill(
    cid: str,
    trade_id: int,
    px: int,
    qty: int,
    side: str = "BUY",
    inst: Instrument = FUT,
    fee: int = 0,
    fee_asset: str = "USDT",
) -> Fill:
    return Fill(
        inst.venue, inst.symbol, cid, 7, trade_id, side, px, qty, fee, fee_asset, False, 0, 1, 1
    )
