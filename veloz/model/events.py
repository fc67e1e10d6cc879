"""Normalized execution events: order updates, fills, balances and positions, venue-neutral.

Every venue's user-data stream and order answers are turned into these (in
`venues/<v>/userdata.py` and `venues/<v>/execution.py`); the gateway, OMS and strategies read
only these. Plain frozen data with exact integer raws: prices at the instrument's
``price_dp``, quantities at its ``qty_dp``, asset amounts (fees, balances, PnL) at
`ASSET_DP`. Must not parse venue JSON or hold behaviour beyond small derived properties.
"""

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ASSET_DP",
    "BalanceUpdate",
    "ExecEvent",
    "Fill",
    "OrderStatus",
    "OrderUpdate",
    "PositionUpdate",
]

# Scale of asset amounts (balances, fees, PnL): Binance reports assets with 8 decimals.
ASSET_DP = 8


class OrderStatus(StrEnum):
    """Order life cycle. Venue statuses map onto these (Binance EXPIRED_IN_MATCH -> EXPIRED)."""

    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        """True once no further fill can happen."""
        return self not in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """The state of one order after a venue event (or an order-entry answer).

    Parameters
    ----------
    venue, symbol : str
        "binance-spot" / "binance-usdm" and the venue symbol.
    client_order_id : str
        Our id of the order (for a cancel event: the id of the order canceled).
    order_id : int
        The venue's order id; 0 when the venue has not assigned one (a local rejection).
    side : str
        "BUY" or "SELL".
    order_type, tif : str
        Venue texts ("LIMIT", "MARKET", "LIMIT_MAKER"; "GTC", "IOC", "FOK", "GTX").
    status : OrderStatus
        Status after this event.
    exec_type : str
        What happened, venue text ("NEW", "TRADE", "CANCELED", "REJECTED", "EXPIRED", ...).
    px, qty : int
        Limit price raw at price_dp (0 for a market order); ordered quantity raw at qty_dp.
    filled_qty : int
        Cumulative filled quantity raw at qty_dp.
    reason : str
        Venue reject or expiry reason, or "" (kept verbatim).
    exch_ns : int
        Venue event/transaction time, ns since the epoch.
    recv_ns : int
        CLOCK_MONOTONIC ns when the frame or answer carrying it was received.
    """

    venue: str
    symbol: str
    client_order_id: str
    order_id: int
    side: str
    order_type: str
    tif: str
    status: OrderStatus
    exec_type: str
    px: int
    qty: int
    filled_qty: int
    reason: str
    exch_ns: int
    recv_ns: int


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one order; ``(venue, symbol, trade_id)`` identifies it (dedupe key).

    ``px`` raw at price_dp, ``qty`` raw at qty_dp, ``fee`` and ``realized_pnl`` raws at
    `ASSET_DP` in ``fee_asset`` and the quote asset (``realized_pnl`` is 0 on spot).
    """

    venue: str
    symbol: str
    client_order_id: str
    order_id: int
    trade_id: int
    side: str
    px: int
    qty: int
    fee: int
    fee_asset: str
    is_maker: bool
    realized_pnl: int
    exch_ns: int
    recv_ns: int


@dataclass(frozen=True, slots=True)
class BalanceUpdate:
    """One asset's balance after a venue event, raws at `ASSET_DP`.

    Spot: ``wallet`` = free + locked, ``available`` = free. USD-M: ``wallet`` = wallet
    balance, ``available`` = cross wallet balance. ``reason`` is the venue's reason text
    ("ORDER", "FUNDING_FEE", ...) or "".
    """

    venue: str
    asset: str
    wallet: int
    available: int
    reason: str
    exch_ns: int
    recv_ns: int


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """A futures position after a venue event (one-way mode).

    ``qty`` signed raw at qty_dp (negative = short), ``entry_px`` raw at price_dp,
    ``unrealized_pnl`` raw at `ASSET_DP` in the quote asset.
    """

    venue: str
    symbol: str
    qty: int
    entry_px: int
    unrealized_pnl: int
    exch_ns: int
    recv_ns: int


ExecEvent = OrderUpdate | Fill | BalanceUpdate | PositionUpdate
