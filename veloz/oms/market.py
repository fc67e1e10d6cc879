"""The gateway's view of market data: the mid per symbol and the feeds' instrument ids.

Owns the md topics the gateway follows (book, bbo, status, instrument of each configured
symbol), the reusable `BookView` per symbol, the bus instrument id -> symbol slot map
learned from the feeds, and handing each mid (rescaled exactly to the instrument's
``price_dp``) to the gateway's risk (`MidSink`). Must not decide about orders, publish
anything, or keep more than the latest mid.
"""

import logging
from collections.abc import Sequence
from typing import Protocol

from veloz._core import fixed
from veloz._core import wire
from veloz.errors import NumberError
from veloz.errors import WireError
from veloz.log import RateLimitedLog
from veloz.model.instrument import Instrument
from veloz.oms.counters import GatewayCounters

__all__ = ["MarketData", "MidSink"]

log = logging.getLogger(__name__)

_BOOK, _BBO, _STATUS, _INSTRUMENT = range(4)
_MD_KINDS = {b"book": _BOOK, b"bbo": _BBO, b"status": _STATUS, b"instrument": _INSTRUMENT}


class MidSink(Protocol):
    """Takes the mids: `veloz.oms.riskwire.GatewayRisk` (into `PreTradeRisk.set_mid`)."""

    def set_mid(self, slot: int, bid_px: int, ask_px: int) -> None: ...

    def clear_mid(self, slot: int) -> None: ...


class MarketData:
    """Mids and instrument ids of the gateway's symbols, from ``md.<venue>.<SYMBOL>``.

    Parameters
    ----------
    venue : str
        Venue name of the topics, e.g. "binance-spot".
    insts : sequence of Instrument
        The configured symbols' instruments; the index is the symbol's slot.
    pretrade : MidSink
        Takes the mids (`set_mid`, `clear_mid`); a not-live STATUS clears the mid (the
        risk engine marks the symbol's book invalid).
    counters : GatewayCounters
        ``n_md`` and ``n_md_malformed`` are counted here.
    """

    def __init__(
        self,
        venue: str,
        insts: Sequence[Instrument],
        pretrade: MidSink,
        counters: GatewayCounters,
    ) -> None:
        self._venue = venue
        self._insts = list(insts)
        self._pretrade = pretrade
        self._counters = counters
        # bus instrument id -> slot, and slot -> bus instrument id (-1 while unknown)
        self.slot_by_inst: dict[int, int] = {}
        self.inst_by_slot = [-1] * len(self._insts)
        self._views = [wire.BookView() for _ in self._insts]
        self._topics: dict[bytes, tuple[int, int]] = {}
        for slot, inst in enumerate(self._insts):
            for kind_text, kind in _MD_KINDS.items():
                topic = f"md.{venue}.{inst.symbol}.".encode() + kind_text
                self._topics[topic] = (kind, slot)
        self._bad = RateLimitedLog(log)

    def names(self) -> list[str]:
        """The md publishers to follow: ``md.<venue>.<SYMBOL>`` per symbol."""
        return [f"md.{self._venue}.{i.symbol}" for i in self._insts]

    def prefixes(self) -> list[bytes]:
        """The md topics to subscribe (book, bbo, status, instrument of each symbol)."""
        return list(self._topics)

    def on_md(self, topic: bytes, body: bytes) -> None:
        """Take one md message: a mid from BBO/BOOK, the feed's instrument id, liveness."""
        key = self._topics.get(topic)
        if key is None:
            return
        kind, slot = key
        inst = self._insts[slot]
        try:
            if kind == _BBO:
                m = wire.decode(body)
                if not isinstance(m, wire.BboMsg):
                    raise WireError(f"not a BBO body on {topic!r}")
                self._learn(slot, int(m.header.inst))
                self._set_mid(slot, m.bid_px, m.ask_px, m.price_dp, inst)
            elif kind == _BOOK:
                view = self._views[slot]
                view.update(body)
                self._learn(slot, int(view.inst))
                bid = view.best_bid()
                ask = view.best_ask()
                bid_px = bid[0] if bid is not None else 0
                ask_px = ask[0] if ask is not None else 0
                self._set_mid(slot, bid_px, ask_px, view.price_dp, inst)
            elif kind == _STATUS:
                s = wire.decode(body)
                if not isinstance(s, wire.StatusMsg):
                    raise WireError(f"not a STATUS body on {topic!r}")
                if not s.is_live:
                    self._pretrade.clear_mid(slot)
                    log.info("gateway.md_not_live symbol=%s reason=%s", inst.symbol, s.reason)
            else:
                i = wire.decode(body)
                if not isinstance(i, wire.InstrumentMsg):
                    raise WireError(f"not an INSTRUMENT body on {topic!r}")
                if i.symbol != inst.symbol:
                    raise WireError(f"instrument {i.symbol!r} on the topic of {inst.symbol}")
                self._learn(slot, int(i.header.inst))
        except (WireError, NumberError) as exc:
            self._counters.n_md_malformed += 1
            self._bad.warning("gateway.md_malformed topic=%.80r error=%s", topic, exc)
            return
        self._counters.n_md += 1

    def _set_mid(self, slot: int, bid_px: int, ask_px: int, dp: int, inst: Instrument) -> None:
        if dp != inst.price_dp:
            bid_px = fixed.rescale(bid_px, dp, inst.price_dp) if bid_px else 0
            ask_px = fixed.rescale(ask_px, dp, inst.price_dp) if ask_px else 0
        self._pretrade.set_mid(slot, bid_px, ask_px)

    def _learn(self, slot: int, inst_id: int) -> None:
        old = self.inst_by_slot[slot]
        if old == inst_id:
            return
        if old >= 0:
            self.slot_by_inst.pop(old, None)
        self.inst_by_slot[slot] = inst_id
        self.slot_by_inst[inst_id] = slot
        log.info("gateway.instrument symbol=%s inst=%d", self._insts[slot].symbol, inst_id)
