"""The gateway's publishing side: ORDER_EVENT and FILL messages on the ``exec`` PUB.

Owns the ``exec`` topics (``ex.<strategy>.order|fill``, ``ex._.`` for orders no strategy
owns), the gateway's wire `Encoder`, the routing of venue answers and user-data events to the
owning strategy by client order id (each answer and fill also goes into the order's record),
the events built from a refused command or a known order's last state, the ``lat.<proc>``
snapshots, and counting sends refused by the HWM. Must not decide about orders, talk to a
venue, block on a send, or dedupe events (every one is published; a record keeps each
trade id once).
"""

import time
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Protocol

from veloz._core import wire
from veloz.metrics import LatencySet
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.oms.codes import SIDE_CODE
from veloz.oms.codes import STATUS_CODE
from veloz.oms.codes import TIF_CODE
from veloz.oms.codes import TYPE_CODE
from veloz.oms.codes import cut
from veloz.oms.counters import GatewayCounters
from veloz.oms.orders import OrderRecord

__all__ = ["NOBODY", "ExecPublisher", "Outbox"]

NOBODY = "_"  # the strategy name of orders no strategy owns


class Outbox(Protocol):
    """The bound ``exec`` PUB."""

    def send(self, topic: bytes, body: bytes) -> bool:
        """Send without blocking; False = dropped."""
        ...


class ExecPublisher:
    """Encode and send the gateway's order events and fills, each to its strategy's topic.

    Parameters
    ----------
    venue : str
        Venue name (the encoder's venue id).
    out : Outbox
        The ``exec`` PUB.
    counters : GatewayCounters
        ``n_order_events``, ``n_fills``, ``n_unowned`` and ``n_dropped`` are counted here.
    orders : dict of str to OrderRecord
        The gateway's order records by client order id (read, and updated with each answer).
    insts : sequence of Instrument
        The configured symbols' instruments; the index is the symbol's slot.
    inst_by_slot : list of int
        Bus instrument id per slot, -1 while unknown (`MarketData.inst_by_slot`, shared).
    listed : Mapping[str, Instrument]
        Every instrument the venue lists (scales of events on other symbols).
    """

    def __init__(
        self,
        venue: str,
        out: Outbox,
        counters: GatewayCounters,
        orders: dict[str, OrderRecord],
        insts: Sequence[Instrument],
        inst_by_slot: list[int],
        listed: Mapping[str, Instrument],
    ) -> None:
        self.encoder = wire.Encoder(wire.venue_id(venue))
        self._out = out
        self._counters = counters
        self._orders = orders
        self._insts = list(insts)
        self._slot_by_symbol = {inst.symbol: i for i, inst in enumerate(self._insts)}
        self._inst_by_slot = inst_by_slot
        self._listed = listed
        self._topic_cache: dict[str, tuple[bytes, bytes]] = {}

    def _topics(self, strategy: str) -> tuple[bytes, bytes]:
        t = self._topic_cache.get(strategy)
        if t is None:
            t = (f"ex.{strategy}.order".encode(), f"ex.{strategy}.fill".encode())
            self._topic_cache[strategy] = t
        return t

    def _send(self, topic: bytes, body: bytes) -> None:
        if not self._out.send(topic, body):
            self._counters.n_dropped += 1

    def _owner(self, cid: str, symbol: str) -> tuple[str, int, OrderRecord | None]:
        rec = self._orders.get(cid)
        if rec is not None:
            return rec.strategy, rec.inst, rec
        self._counters.n_unowned += 1
        slot = self._slot_by_symbol.get(symbol)
        inst = self._inst_by_slot[slot] if slot is not None else 0
        return NOBODY, max(inst, 0), None

    def _scales(self, symbol: str) -> tuple[int, int]:
        slot = self._slot_by_symbol.get(symbol)
        if slot is not None:
            inst = self._insts[slot]
            return inst.price_dp, inst.qty_dp
        other = self._listed.get(symbol)
        return (other.price_dp, other.qty_dp) if other is not None else (0, 0)

    def update(self, u: OrderUpdate, *, why: str = "", code: int = 0) -> None:
        """Publish an order's state from the venue to its owner (and update its record)."""
        strategy, inst, rec = self._owner(u.client_order_id, u.symbol)
        if rec is not None:
            rec.apply(u, why, code)
        price_dp, qty_dp = self._scales(u.symbol)
        body = self.encoder.order_event(
            inst,
            strategy,
            u.client_order_id,
            u.order_id,
            STATUS_CODE[u.status],
            SIDE_CODE.get(u.side, 0),
            TYPE_CODE.get(u.order_type, 0),
            TIF_CODE.get(u.tif, 0),
            price_dp,
            qty_dp,
            u.px,
            u.qty,
            u.filled_qty,
            code,
            cut(why or u.reason),
            u.exch_ns,
            u.recv_ns,
        )
        self._counters.n_order_events += 1
        self._send(self._topics(strategy)[0], body)

    def fill(self, f: Fill, *, keep: bool = True) -> None:
        """Publish a fill to the owner of its order (and, with `keep`, keep it in the
        order's record for a SYNC's answer)."""
        strategy, inst, rec = self._owner(f.client_order_id, f.symbol)
        if keep and rec is not None:
            rec.keep_fill(f)
        price_dp, qty_dp = self._scales(f.symbol)
        body = self.encoder.fill(
            inst,
            strategy,
            f.client_order_id,
            f.order_id,
            f.trade_id,
            SIDE_CODE.get(f.side, 0),
            price_dp,
            qty_dp,
            f.px,
            f.qty,
            f.fee,
            cut(f.fee_asset),
            f.is_maker,
            f.realized_pnl,
            f.exch_ns,
            f.recv_ns,
        )
        self._counters.n_fills += 1
        self._send(self._topics(strategy)[1], body)

    def record(self, cid: str, rec: OrderRecord, why: str, code: int = 0) -> None:
        """Publish the order's last known state (REJECTED after a refusal) with `why`; the
        receive time is now."""
        inst = self._insts[rec.slot]
        status = rec.status if rec.status is not None else OrderStatus.NEW
        body = self.encoder.order_event(
            rec.inst,
            rec.strategy,
            cid,
            rec.order_id,
            STATUS_CODE[status],
            SIDE_CODE.get(rec.side, 0),
            TYPE_CODE.get(rec.ord_type, 0),
            TIF_CODE.get(rec.tif, 0),
            inst.price_dp,
            inst.qty_dp,
            rec.px,
            rec.qty,
            rec.filled_qty,
            code,
            cut(why),
            0,
            time.monotonic_ns(),
        )
        self._counters.n_order_events += 1
        self._send(self._topics(rec.strategy)[0], body)

    def state(self, msg: "wire.OrderCmdMsg", rec: OrderRecord | None, why: str) -> None:
        """A refused cancel: the order stays as it was; tell the strategy why."""
        if rec is not None:
            self.record(msg.client_order_id, rec, why)
        else:
            self.from_cmd(msg, OrderStatus.NEW, 0, why)

    def from_cmd(self, msg: "wire.OrderCmdMsg", status: OrderStatus, code: int, why: str) -> None:
        """Publish an order event built from the command itself (it never reached a venue)."""
        body = self.encoder.order_event(
            int(msg.header.inst),
            msg.strategy,
            msg.client_order_id,
            0,
            STATUS_CODE[status],
            int(msg.side or 0),
            int(msg.ord_type or 0),
            int(msg.tif or 0),
            msg.price_dp,
            msg.qty_dp,
            msg.px,
            msg.qty,
            0,
            code,
            cut(why),
            0,
            time.monotonic_ns(),
        )
        self._counters.n_order_events += 1
        self._send(self._topics(msg.strategy)[0], body)

    def latency(self, latency: LatencySet) -> None:
        """Fold `latency` and publish its ``lat.<proc>`` snapshots (a drop loses one)."""
        for topic, body in latency.messages(self.encoder):
            self._send(topic, body)
