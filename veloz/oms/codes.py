"""Wire enum codes of order messages <-> the venue-neutral texts of `NewOrder`/`OrderUpdate`.

Owns the tables between `veloz._core.wire` enum codes (0 = none) and the side, order type,
time-in-force and status texts the gateway hands to and gets from a venue, and the cut of
venue texts to what a wire string can carry. Must not encode or decode messages (that is
`_core/wire`) or know a venue's spelling (that is `venues/<v>/mapping.py`).
"""

from veloz._core import wire
from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.model.events import OrderStatus

__all__ = [
    "REASON_BYTES",
    "SIDE_CODE",
    "SIDE_TEXT",
    "STATUS_CODE",
    "TIF_CODE",
    "TIF_TEXT",
    "TYPE_CODE",
    "TYPE_TEXT",
    "code_text",
    "cut",
]

REASON_BYTES = 200  # venue texts are cut to this many UTF-8 bytes (wire strings hold 255)

SIDE_TEXT = {int(wire.Side.BUY): "BUY", int(wire.Side.SELL): "SELL"}
TYPE_TEXT = {
    int(wire.OrdType.LIMIT): "LIMIT",
    int(wire.OrdType.MARKET): "MARKET",
    int(wire.OrdType.LIMIT_MAKER): "LIMIT_MAKER",
}
TIF_TEXT = {
    int(wire.Tif.GTC): "GTC",
    int(wire.Tif.IOC): "IOC",
    int(wire.Tif.FOK): "FOK",
    int(wire.Tif.GTX): "GTX",
}
SIDE_CODE = {text: code for code, text in SIDE_TEXT.items()}
TYPE_CODE = {text: code for code, text in TYPE_TEXT.items()}
TIF_CODE = {text: code for code, text in TIF_TEXT.items()}
STATUS_CODE = {
    OrderStatus.NEW: int(wire.Status.NEW),
    OrderStatus.PARTIALLY_FILLED: int(wire.Status.PARTIALLY_FILLED),
    OrderStatus.FILLED: int(wire.Status.FILLED),
    OrderStatus.CANCELED: int(wire.Status.CANCELED),
    OrderStatus.REJECTED: int(wire.Status.REJECTED),
    OrderStatus.EXPIRED: int(wire.Status.EXPIRED),
}


def code_text(exc: OrderRejected | VenueError | WireError) -> tuple[int, str]:
    """The venue's code and own words of a refusal (0 and the message for a WireError)."""
    if isinstance(exc, OrderRejected):
        return exc.code, exc.reason
    if isinstance(exc, VenueError):
        return exc.code, exc.msg
    return 0, str(exc)


def cut(text: str) -> str:
    """`text` cut to `REASON_BYTES` UTF-8 bytes (never mid-character)."""
    raw = text.encode("utf-8")
    if len(raw) <= REASON_BYTES:
        return text
    return raw[:REASON_BYTES].decode("utf-8", "ignore")
