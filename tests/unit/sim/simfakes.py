"""Test-local stand-ins for the exchange core (md events, accumulator, SimExchange).

They satisfy the protocols `veloz.sim.streams` and `veloz.sim.server` consume, so the server
side is tested without the real md.py / exchange.py.
"""

import asyncio
import hashlib
import hmac
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp.test_utils import TestClient
from aiohttp.test_utils import TestServer

from veloz.sim.auth import ApiKey
from veloz.sim.auth import KeyStore
from veloz.sim.errors import BinanceApiError
from veloz.sim.limits import RateLimitConfig
from veloz.sim.server import SimServer

T0 = 1_700_000_040_000
TRADER = "T" * 64
READER = "R" * 64
SECRET = b"trader-secret"
READ_SECRET = b"reader-secret"


@dataclass(frozen=True)
class Trade:
    symbol: str
    trade_id: int

    def streams(self) -> tuple[str, ...]:
        return (self.symbol.lower() + "@trade",)

    def payload(self) -> dict[str, Any]:
        return {"e": "trade", "s": self.symbol, "t": self.trade_id}


@dataclass(frozen=True)
class Diff:
    symbol: str
    first_id: int
    last_id: int
    prev_id: int
    bids: tuple[tuple[str, str], ...]

    def streams(self) -> tuple[str, ...]:
        sym = self.symbol.lower()
        return (sym + "@depth", sym + "@depth@100ms")

    def payload(self, venue: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "e": "depthUpdate",
            "s": self.symbol,
            "U": self.first_id,
            "u": self.last_id,
            "b": [list(b) for b in self.bids],
            "a": [],
        }
        if venue == "usdm":
            body["pu"] = self.prev_id
        return body


class Acc:
    """Merges diffs: U of the first, u of the last, last value per price."""

    def __init__(self, symbol: str, venue: str) -> None:
        self.symbol = symbol
        self.pending: list[Diff] = []
        self.last_u = 0

    def add(self, diff: Diff) -> None:
        self.pending.append(diff)

    def flush(self, now_ms: int) -> Diff | None:
        if not self.pending:
            return None
        bids = dict(b for d in self.pending for b in d.bids)
        out = Diff(
            self.symbol,
            self.pending[0].first_id,
            self.pending[-1].last_id,
            self.last_u,
            tuple(bids.items()),
        )
        self.last_u = out.last_id
        self.pending = []
        return out


class FakeExchange:
    """A few SimExchange methods; `account` crashes on purpose (for the -1000 test)."""

    def __init__(self) -> None:
        self.md: list[Callable[[object], None]] = []
        self.user: list[Callable[[int, dict[str, Any]], None]] = []
        self.calls: list[tuple[str, int, dict[str, str]]] = []
        self.next_id = 1
        self.seconds: list[int] = []  # every tick_second call's now_ms

    def tick_second(self, now_ms: int) -> None:
        self.seconds.append(now_ms)

    def listen(self, cb: Callable[[object], None]) -> None:
        self.md.append(cb)

    def listen_user(self, cb: Callable[[int, dict[str, Any]], None]) -> None:
        self.user.append(cb)

    def emit(self, event: object) -> None:
        for cb in self.md:
            cb(event)

    def emit_user(self, account: int, event: dict[str, Any]) -> None:
        for cb in self.user:
            cb(account, event)

    def exchange_info(self, limits: RateLimitConfig | None = None) -> dict[str, Any]:
        orders = [w.limit for w in limits.orders] if limits is not None else []
        return {"timezone": "UTC", "symbols": [], "orderLimits": orders}

    def depth(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("symbol") != "BTCUSDT":
            raise BinanceApiError(-1121)
        return {"lastUpdateId": 7, "bids": [], "asks": []}

    def new_order(self, account: int, params: dict[str, str]) -> dict[str, Any]:
        self.calls.append(("new_order", account, dict(params)))
        order_id = self.next_id
        self.next_id += 1
        self.emit_user(account, {"e": "executionReport", "i": order_id, "X": "NEW"})
        return {"symbol": params["symbol"], "orderId": order_id, "status": "NEW"}

    def get_order(self, account: int, params: dict[str, str]) -> dict[str, Any]:
        self.calls.append(("get_order", account, dict(params)))
        return {"orderId": int(params["orderId"]), "status": "NEW"}

    def cancel_order(self, account: int, params: dict[str, str]) -> dict[str, Any]:
        raise BinanceApiError(-2011, "Unknown order sent.")

    def account(self, account_id: int) -> dict[str, Any]:
        raise RuntimeError("boom: simulated handler bug")

    def futures_balance(self, account_id: int) -> list[dict[str, Any]]:
        return [{"asset": "USDT", "balance": "1000.00000000"}]


def key_store() -> tuple[KeyStore, dict[str, int]]:
    store = KeyStore()
    store.add(ApiKey(TRADER, "HMAC", SECRET, frozenset({"read", "trade"})))
    store.add(ApiKey(READER, "HMAC", READ_SECRET, frozenset({"read"})))
    return store, {TRADER: 1, READER: 2}


def signed_query(params: dict[str, str], secret: bytes = SECRET) -> str:
    query = urlencode(params)
    sig = hmac.new(secret, query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={sig}"


def ws_sign(params: dict[str, Any], secret: bytes = SECRET) -> dict[str, Any]:
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    sig = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()
    return {**params, "signature": sig}


class Clock:
    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


Body = Callable[[SimServer, TestClient[Any, Any], dict[str, FakeExchange], Clock], Awaitable[None]]


def run(body: Body, venues: tuple[str, ...] = ("spot", "usdm"), **kwargs: Any) -> None:
    """Serve fakes for `venues` on 127.0.0.1 and run `body` within 15 s."""

    async def main() -> None:
        clock = Clock()
        exchanges = {v: FakeExchange() for v in venues}
        store, accounts = key_store()
        kwargs.setdefault("tick_s", 3600.0)  # tests drive `tick` themselves
        server = SimServer(
            exchanges, store, accounts, clock_ms=clock, accumulator_factory=Acc, **kwargs
        )
        async with TestClient(TestServer(server.app(), host="127.0.0.1")) as client:
            await body(server, client, exchanges, clock)

    asyncio.run(asyncio.wait_for(main(), 15))


async def wait_for(cond: Callable[[], bool], limit_s: float = 3.0) -> None:
    """Wait until `cond` (a server counter) holds, failing after `limit_s`."""
    async with asyncio.timeout(limit_s):
        while not cond():  # noqa: ASYNC110 - the counters have no event to await
            await asyncio.sleep(0.005)
