"""`NewOrder`: a new order as the gateway hands it to a venue, venue-neutral plain data.

Owns the shape of a new-order request between `veloz.oms` (which builds it from a checked
ORDER_CMD) and `veloz.venues.<v>` (which maps it to the venue's form). Must not hold
behaviour, parse venue text or know a venue's spelling of post-only.
"""

from dataclasses import dataclass

__all__ = ["NewOrder"]


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A new order as the gateway hands it to a venue.

    Parameters
    ----------
    symbol : str
        Venue symbol.
    side : str
        "BUY" or "SELL".
    order_type : str
        "LIMIT", "MARKET" or "LIMIT_MAKER" (post-only; a venue maps it to its own form).
    qty, px : int
        Raws at the instrument's qty_dp and price_dp; px 0 for MARKET.
    tif : str
        "GTC", "IOC", "FOK" or "GTX" ("" for MARKET and LIMIT_MAKER).
    client_order_id : str
        The strategy's id of the order (never empty here).
    reduce_only : bool
        Futures only.
    """

    symbol: str
    side: str
    order_type: str
    qty: int
    px: int
    tif: str
    client_order_id: str
    reduce_only: bool = False
