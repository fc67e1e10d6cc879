from enum import IntEnum
from typing import Any
from typing import final

from veloz._core.units import Nanos

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
    RISK_STATE = 19
    LATENCY = 32

class Action(IntEnum):
    NEW = 1
    CANCEL = 2
    CANCEL_ALL = 3
    SYNC = 4

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
