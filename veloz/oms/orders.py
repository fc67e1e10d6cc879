"""The gateway's order records: which strategy owns an order and its last known state.

Owns `OrderRecord` (owner, bus instrument id, request and last state of one order, with
the reason and venue code of its last answer and its fills, so a SYNC naming the order can
repeat what was published about it), the table of them by client order id with its bound
(`remember`: finished orders are kept, up to `MAX_ORDERS`), and `SentStamp`, the on-sent
hook that records trigger-to-send once per request. Must not talk to a venue or the bus,
dedupe events (strategies do), or decide anything about an order.
"""

from collections.abc import Callable

from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.orders import NewOrder

__all__ = ["MAX_FILLS_KEPT", "MAX_ORDERS", "OrderRecord", "SentStamp", "remember"]

# Orders remembered for routing; past this the oldest finished ones are forgotten.
MAX_ORDERS = 100_000
# Fills kept per order for a SYNC's answer; past this the later ones are not kept (the
# answer's filled_qty still says how much filled).
MAX_FILLS_KEPT = 1000


class OrderRecord:
    """What the gateway knows of one order: its owner and its last known state.

    Parameters
    ----------
    strategy : str
        Name of the strategy that sent the order.
    inst : int
        Bus instrument id the strategy used.
    slot : int
        Index of the symbol in the gateway's configured symbols.
    order : NewOrder
        The request as sent to the venue.
    """

    __slots__ = (
        "error_code",
        "filled_qty",
        "fills",
        "inst",
        "ord_type",
        "order_id",
        "px",
        "qty",
        "reason",
        "side",
        "slot",
        "status",
        "strategy",
        "symbol",
        "tif",
    )

    def __init__(self, strategy: str, inst: int, slot: int, order: NewOrder) -> None:
        self.strategy = strategy
        self.inst = inst  # bus instrument id the strategy used
        self.slot = slot
        self.symbol = order.symbol
        self.side = order.side
        self.ord_type = order.order_type
        self.tif = order.tif
        self.px = order.px
        self.qty = order.qty
        self.order_id = 0
        self.status: OrderStatus | None = None  # None: sent, no answer yet
        self.filled_qty = 0
        self.reason = ""  # why, of the last answer that had one (a rejection's text)
        self.error_code = 0  # venue error code of that answer, 0 none
        self.fills: list[Fill] | None = None  # distinct fills published, None: none yet

    @property
    def is_live(self) -> bool:
        """True until a terminal status is known (an unanswered order is live)."""
        return self.status is None or not self.status.is_terminal

    def apply(self, u: OrderUpdate, why: str = "", code: int = 0) -> None:
        """Take the venue's state of the order (with the gateway's `why` and `code`, if
        any); a late non-terminal state after a final one is ignored here (the strategy
        dedupes, the bookkeeping stays final)."""
        if u.order_id:
            self.order_id = u.order_id
        if self.status is not None and self.status.is_terminal and not u.status.is_terminal:
            return
        self.status = u.status
        self.filled_qty = max(self.filled_qty, u.filled_qty)
        if why or u.reason:
            self.reason = why or u.reason
            self.error_code = code

    def keep_fill(self, f: Fill) -> bool:
        """Keep `f` for a SYNC's answer unless its trade id is kept already or
        `MAX_FILLS_KEPT` are; return True when kept. O(fills of the order)."""
        fills = self.fills
        if fills is None:
            self.fills = [f]
            return True
        if len(fills) >= MAX_FILLS_KEPT or any(k.trade_id == f.trade_id for k in fills):
            return False
        fills.append(f)
        return True


def remember(orders: dict[str, OrderRecord], cid: str, rec: OrderRecord) -> None:
    """Put `rec` in `orders` as the newest; past `MAX_ORDERS` forget old finished orders."""
    orders.pop(cid, None)  # a reused id becomes the newest
    orders[cid] = rec
    if len(orders) > MAX_ORDERS:
        # Forget the oldest finished orders (insertion order); live ones stay.
        for old in [k for k, r in orders.items() if not r.is_live][: len(orders) // 10]:
            del orders[old]


class SentStamp:
    """The on-sent hook of one request: records trigger-to-send once (a resend is not a
    trigger).

    Parameters
    ----------
    record : callable
        Takes the duration in ns (``Latency.record``).
    trigger_ns : int
        CLOCK_MONOTONIC ns the strategy's order call entered (0: nothing to record).
    """

    __slots__ = ("_record", "_trigger_ns")

    def __init__(self, record: Callable[[int], None], trigger_ns: int) -> None:
        self._record = record
        self._trigger_ns = trigger_ns

    def __call__(self, sent_ns: int) -> None:
        if self._trigger_ns:
            self._record(sent_ns - self._trigger_ns)
            self._trigger_ns = 0
