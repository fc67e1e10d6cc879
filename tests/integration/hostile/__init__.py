"""A scripted hostile Binance spot / USD-M server on 127.0.0.1 that misbehaves on cue.

`HostileServer` (in `server`) is the entry point; `market`, `streams`, `rest` and `orders` hold
the true book, the websockets, the public REST gate and the signed orders. Written from the
protocol notes, apart from `veloz.sim` and `veloz.venues` on purpose: it must not share a
client's misreading. Test code only: never imported by `veloz`, never binds beyond 127.0.0.1.
"""

from tests.integration.hostile.counters import HostileCounters
from tests.integration.hostile.market import OTHER_SYMBOL
from tests.integration.hostile.orders import DEMO_KEY
from tests.integration.hostile.orders import DEMO_SECRET
from tests.integration.hostile.rest import RestCall
from tests.integration.hostile.server import HostileServer
from tests.integration.hostile.streams import WsConn

__all__ = [
    "DEMO_KEY",
    "DEMO_SECRET",
    "OTHER_SYMBOL",
    "HostileCounters",
    "HostileServer",
    "RestCall",
    "WsConn",
]
