from typing import final

from veloz._core.book import Book
from veloz._core.units import InstId
from veloz._core.units import Nanos
from veloz._core.units import Px
from veloz._core.units import Qty
from veloz._core.wire_decode import BboMsg as BboMsg
from veloz._core.wire_decode import BookMsg as BookMsg
from veloz._core.wire_decode import BookView as BookView
from veloz._core.wire_decode import FillMsg as FillMsg
from veloz._core.wire_decode import InstrumentMsg as InstrumentMsg
from veloz._core.wire_decode import KlineMsg as KlineMsg
from veloz._core.wire_decode import LatencyMsg as LatencyMsg
from veloz._core.wire_decode import Msg as Msg
from veloz._core.wire_decode import OrderCmdMsg as OrderCmdMsg
from veloz._core.wire_decode import OrderEventMsg as OrderEventMsg
from veloz._core.wire_decode import RiskStateMsg as RiskStateMsg
from veloz._core.wire_decode import StatusMsg as StatusMsg
from veloz._core.wire_decode import TradeMsg as TradeMsg
from veloz._core.wire_decode import decode as decode
from veloz._core.wire_layout import ASSET_DP as ASSET_DP
from veloz._core.wire_layout import HEADER_SIZE as HEADER_SIZE
from veloz._core.wire_layout import MAGIC as MAGIC
from veloz._core.wire_layout import VERSION as VERSION
from veloz._core.wire_layout import Action as Action
from veloz._core.wire_layout import Header as Header
from veloz._core.wire_layout import MsgType as MsgType
from veloz._core.wire_layout import OrdType as OrdType
from veloz._core.wire_layout import Side as Side
from veloz._core.wire_layout import Status as Status
from veloz._core.wire_layout import Tif as Tif
from veloz._core.wire_layout import header as header
from veloz._core.wire_layout import ingest_ns as ingest_ns
from veloz._core.wire_layout import msg_type as msg_type
from veloz._core.wire_layout import venue_id as venue_id
from veloz._core.wire_layout import venue_name as venue_name

@final
class Encoder:
    @property
    def venue(self) -> int: ...
    @property
    def max_levels(self) -> int: ...
    @property
    def seq(self) -> int: ...
    def __init__(self, venue: int, max_levels: int = ...) -> None: ...
    def book(
        self,
        inst: InstId | int,
        book: Book,
        n_levels: int,
        update_id: int,
        exch_ns: Nanos | int,
        ingest_ns: Nanos | int,
    ) -> bytes: ...
    def bbo(
        self,
        inst: InstId | int,
        update_id: int,
        price_dp: int,
        qty_dp: int,
        bid_px: Px | int,
        bid_qty: Qty | int,
        ask_px: Px | int,
        ask_qty: Qty | int,
        exch_ns: Nanos | int,
        ingest_ns: Nanos | int,
    ) -> bytes: ...
    def trade(
        self,
        inst: InstId | int,
        trade_id: int,
        price_dp: int,
        qty_dp: int,
        px: Px | int,
        qty: Qty | int,
        is_buyer_maker: bool,
        exch_ns: Nanos | int,
        ingest_ns: Nanos | int,
    ) -> bytes: ...
    def kline(
        self,
        inst: InstId | int,
        open_ns: Nanos | int,
        close_ns: Nanos | int,
        interval_s: int,
        price_dp: int,
        qty_dp: int,
        open_px: Px | int,
        high_px: Px | int,
        low_px: Px | int,
        close_px: Px | int,
        volume: Qty | int,
        n_trades: int,
        is_closed: bool,
        exch_ns: Nanos | int,
        ingest_ns: Nanos | int,
    ) -> bytes: ...
    def status(
        self, inst: InstId | int, is_live: bool, reason: str, mono_ns: Nanos | int
    ) -> bytes: ...
    def instrument(
        self,
        inst: InstId | int,
        symbol: str,
        base: str,
        quote: str,
        price_dp: int,
        qty_dp: int,
        tick_raw: Px | int,
        step_raw: Qty | int,
        min_qty_raw: Qty | int,
        max_qty_raw: Qty | int,
        min_notional_raw: Px | int,
    ) -> bytes: ...
    def order_cmd(
        self,
        inst: InstId | int,
        action: int,
        strategy: str,
        client_order_id: str,
        side: int,
        ord_type: int,
        tif: int,
        price_dp: int,
        qty_dp: int,
        px: Px | int,
        qty: Qty | int,
        reduce_only: bool,
        trigger_ns: Nanos | int,
    ) -> bytes: ...
    def order_event(
        self,
        inst: InstId | int,
        strategy: str,
        client_order_id: str,
        venue_order_id: int,
        status: int,
        side: int,
        ord_type: int,
        tif: int,
        price_dp: int,
        qty_dp: int,
        px: Px | int,
        qty: Qty | int,
        filled_qty: Qty | int,
        error_code: int,
        reason: str,
        exch_ns: Nanos | int,
        recv_ns: Nanos | int,
    ) -> bytes: ...
    def fill(
        self,
        inst: InstId | int,
        strategy: str,
        client_order_id: str,
        venue_order_id: int,
        trade_id: int,
        side: int,
        price_dp: int,
        qty_dp: int,
        px: Px | int,
        qty: Qty | int,
        fee: int,
        fee_asset: str,
        is_maker: bool,
        realized_pnl: int,
        exch_ns: Nanos | int,
        recv_ns: Nanos | int,
    ) -> bytes: ...
    def risk_state(
        self,
        old_state: int,
        new_state: int,
        scope: str,
        trigger: str,
        detail: str,
        mono_ns: Nanos | int,
    ) -> bytes: ...
    def latency(
        self,
        name: str,
        count: int,
        p50_ns: Nanos | int,
        p90_ns: Nanos | int,
        p99_ns: Nanos | int,
        p999_ns: Nanos | int,
        max_ns: Nanos | int,
        hdr: bytes,
        mono_ns: Nanos | int,
    ) -> bytes: ...
