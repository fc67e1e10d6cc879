from enum import IntEnum
from typing import Any
from typing import final

from typing_extensions import disjoint_base

from veloz._core.book import Book
from veloz._core.units import InstId
from veloz._core.units import Nanos
from veloz._core.units import Px
from veloz._core.units import Qty

HEADER_SIZE: int
VERSION: int
MAGIC: bytes
ASSET_DP: int

class MsgType(IntEnum):
    BOOK = 1
    BBO = 2
    TRADE = 3
    KLINE = 4
    STATUS = 5
    INSTRUMENT = 6
    ORDER_CMD = 16
    ORDER_EVENT = 17
    FILL = 18
    LATENCY = 32

class Action(IntEnum):
    NEW = 1
    CANCEL = 2
    CANCEL_ALL = 3

class Side(IntEnum):
    BUY = 1
    SELL = 2

class OrdType(IntEnum):
    LIMIT = 1
    MARKET = 2
    LIMIT_MAKER = 3

class Tif(IntEnum):
    GTC = 1
    IOC = 2
    FOK = 3
    GTX = 4

class Status(IntEnum):
    NEW = 1
    PARTIALLY_FILLED = 2
    FILLED = 3
    CANCELED = 4
    REJECTED = 5
    EXPIRED = 6

def venue_id(name: str) -> int: ...
def venue_name(vid: int) -> str: ...

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

@final
class Header:
    @property
    def version(self) -> int: ...
    @property
    def msg_type(self) -> int: ...
    @property
    def venue(self) -> int: ...
    @property
    def flags(self) -> int: ...
    @property
    def inst(self) -> int: ...
    @property
    def payload_len(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def exch_ns(self) -> Nanos: ...
    @property
    def ingest_ns(self) -> Nanos: ...
    @property
    def publish_ns(self) -> Nanos: ...
    def to_dict(self) -> dict[str, Any]: ...

def header(body: bytes | bytearray | memoryview) -> Header: ...
def msg_type(body: bytes | bytearray | memoryview) -> int: ...
def ingest_ns(body: bytes | bytearray | memoryview) -> Nanos: ...

@disjoint_base
class Msg:
    @property
    def header(self) -> Header: ...
    def to_dict(self) -> dict[str, Any]: ...

@final
class BookMsg(Msg):
    @property
    def update_id(self) -> int: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def bids(self) -> tuple[tuple[Px, Qty], ...]: ...
    @property
    def asks(self) -> tuple[tuple[Px, Qty], ...]: ...

@final
class BboMsg(Msg):
    @property
    def update_id(self) -> int: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def bid_px(self) -> Px: ...
    @property
    def bid_qty(self) -> Qty: ...
    @property
    def ask_px(self) -> Px: ...
    @property
    def ask_qty(self) -> Qty: ...

@final
class TradeMsg(Msg):
    @property
    def trade_id(self) -> int: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def px(self) -> Px: ...
    @property
    def qty(self) -> Qty: ...
    @property
    def is_buyer_maker(self) -> bool: ...

@final
class KlineMsg(Msg):
    @property
    def open_ns(self) -> Nanos: ...
    @property
    def close_ns(self) -> Nanos: ...
    @property
    def interval_s(self) -> int: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def open_px(self) -> Px: ...
    @property
    def high_px(self) -> Px: ...
    @property
    def low_px(self) -> Px: ...
    @property
    def close_px(self) -> Px: ...
    @property
    def volume(self) -> Qty: ...
    @property
    def n_trades(self) -> int: ...
    @property
    def is_closed(self) -> bool: ...

@final
class StatusMsg(Msg):
    @property
    def is_live(self) -> bool: ...
    @property
    def reason(self) -> str: ...

@final
class InstrumentMsg(Msg):
    @property
    def symbol(self) -> str: ...
    @property
    def base(self) -> str: ...
    @property
    def quote(self) -> str: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def tick_raw(self) -> Px: ...
    @property
    def step_raw(self) -> Qty: ...
    @property
    def min_qty_raw(self) -> Qty: ...
    @property
    def max_qty_raw(self) -> Qty: ...
    @property
    def min_notional_raw(self) -> Px: ...

@final
class OrderCmdMsg(Msg):
    @property
    def action(self) -> Action: ...
    @property
    def strategy(self) -> str: ...
    @property
    def client_order_id(self) -> str: ...
    @property
    def side(self) -> Side | None: ...
    @property
    def ord_type(self) -> OrdType | None: ...
    @property
    def tif(self) -> Tif | None: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def px(self) -> Px: ...
    @property
    def qty(self) -> Qty: ...
    @property
    def reduce_only(self) -> bool: ...

@final
class OrderEventMsg(Msg):
    @property
    def strategy(self) -> str: ...
    @property
    def client_order_id(self) -> str: ...
    @property
    def venue_order_id(self) -> int: ...
    @property
    def status(self) -> Status: ...
    @property
    def side(self) -> Side | None: ...
    @property
    def ord_type(self) -> OrdType | None: ...
    @property
    def tif(self) -> Tif | None: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def px(self) -> Px: ...
    @property
    def qty(self) -> Qty: ...
    @property
    def filled_qty(self) -> Qty: ...
    @property
    def error_code(self) -> int: ...
    @property
    def reason(self) -> str: ...

@final
class FillMsg(Msg):
    @property
    def strategy(self) -> str: ...
    @property
    def client_order_id(self) -> str: ...
    @property
    def venue_order_id(self) -> int: ...
    @property
    def trade_id(self) -> int: ...
    @property
    def side(self) -> Side | None: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def px(self) -> Px: ...
    @property
    def qty(self) -> Qty: ...
    @property
    def fee(self) -> int: ...
    @property
    def fee_asset(self) -> str: ...
    @property
    def is_maker(self) -> bool: ...
    @property
    def realized_pnl(self) -> int: ...

@final
class LatencyMsg(Msg):
    @property
    def name(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def p50_ns(self) -> Nanos: ...
    @property
    def p90_ns(self) -> Nanos: ...
    @property
    def p99_ns(self) -> Nanos: ...
    @property
    def p999_ns(self) -> Nanos: ...
    @property
    def max_ns(self) -> Nanos: ...
    @property
    def hdr(self) -> bytes: ...

def decode(body: bytes | bytearray | memoryview) -> Msg: ...

@final
class BookView:
    @property
    def update_id(self) -> int: ...
    @property
    def inst(self) -> int: ...
    @property
    def venue(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def price_dp(self) -> int: ...
    @property
    def qty_dp(self) -> int: ...
    @property
    def n_bids(self) -> int: ...
    @property
    def n_asks(self) -> int: ...
    @property
    def exch_ns(self) -> Nanos: ...
    @property
    def ingest_ns(self) -> Nanos: ...
    @property
    def publish_ns(self) -> Nanos: ...
    @property
    def n_updates(self) -> int: ...
    def __init__(self, capacity: int = ...) -> None: ...
    def update(self, body: bytes | bytearray | memoryview) -> None: ...
    def bid(self, i: int) -> tuple[Px, Qty]: ...
    def ask(self, i: int) -> tuple[Px, Qty]: ...
    def best_bid(self) -> tuple[Px, Qty] | None: ...
    def best_ask(self) -> tuple[Px, Qty] | None: ...
    def mid_x2(self) -> int | None: ...
