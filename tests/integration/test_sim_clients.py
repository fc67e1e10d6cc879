"""Proof by real clients: ccxt and python-binance trade against `veloz sim` as a process.

Each library is used as shipped; only its base URLs are pointed at the simulator (every URL
it knows is rewritten to 127.0.0.1, and name resolution of any other host is refused for the
module), so no call can reach a real Binance host. ccxt's two wallet/margin look-ups at
market load (``sapi`` endpoints the simulator does not serve) are switched off by option.
"""

import asyncio
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import ccxt
import pytest
from binance import AsyncClient
from binance import BinanceSocketManager
from binance import Client

from bench.sim_load import SimProc

pytestmark = pytest.mark.integration

LOOPBACK = ("127.0.0.1", "localhost", "::1")
QTY = 0.01  # above both venues' minimum notional at ~60 000 and inside the demo balances
WAIT_S = 5.0  # per awaited event


@pytest.fixture(scope="module", autouse=True)
def loopback_only() -> Iterator[None]:
    # Defence in depth: a URL we missed fails on resolution instead of leaving the machine.
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOOPBACK:
            raise OSError(f"test_sim_clients: refused to resolve {name!r}: sim only")
        return real(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket, "getaddrinfo", guarded)
        yield


@pytest.fixture(scope="module")
def sim() -> Iterator[dict[str, str]]:
    with SimProc(
        200, seed=11, venue="both", symbols="BTCUSDT,ETHUSDT", log_level=None, start_timeout_s=30
    ) as proc:
        # The base URL, then one line per demo account, all printed before the ready file.
        lines = proc.stdout.splitlines()[:3]
        trader = proc.accounts[0]
        assert trader["id"] == "1" and trader["scopes"] == "read+trade", lines
        assert proc.urls["rest"] == lines[0]
        yield {**proc.urls, "key": trader["key"], "secret": trader["secret"]}


def _to_sim(url: str, sim: dict[str, str]) -> str:
    # Keep the path (/api/v3, /fapi/v1, /ws-api/v3, ...), swap scheme and host for the sim's.
    parts = urlsplit(url)
    base = sim["ws"] if parts.scheme in ("ws", "wss") else sim["rest"]
    return base + parts.path + (f"?{parts.query}" if parts.query else "")


def _on_sim(url: str, sim: dict[str, str]) -> bool:
    return any(url == base or url.startswith(base + "/") for base in (sim["rest"], sim["ws"]))


# ---- ccxt ---------------------------------------------------------------------------------------


def _repoint_urls(value: Any, sim: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith(("http://", "https://", "ws://", "wss://")):
        return _to_sim(value, sim)
    if isinstance(value, dict):
        return {k: _repoint_urls(v, sim) for k, v in value.items()}
    if isinstance(value, list):
        return [_repoint_urls(v, sim) for v in value]
    return value


def _ccxt(venue: str, sim: dict[str, str]) -> Any:
    options = {
        "adjustForTimeDifference": False,  # no time sync call
        "fetchCurrencies": False,  # sapi capital/config/getall: wallet, not simulated
        "fetchMargins": False,  # sapi margin pairs: not simulated
    }
    if venue == "spot":
        ex = ccxt.binance({**_keys(sim), "options": {**options, "fetchMarkets": ["spot"]}})
    else:
        ex = ccxt.binanceusdm({**_keys(sim), "options": options})
    ex.urls = _repoint_urls(ex.urls, sim)
    assert all(_on_sim(u, sim) for u in ex.urls["api"].values()), ex.urls["api"]
    return ex


def _keys(sim: dict[str, str]) -> dict[str, str]:
    return {"apiKey": sim["key"], "secret": sim["secret"]}


CCXT_SYMBOL = {"spot": "BTC/USDT", "usdm": "BTC/USDT:USDT"}


@pytest.mark.parametrize("venue", ["spot", "usdm"])
def test_ccxt_loads_markets_and_reads_book_trades_klines(sim: dict[str, str], venue: str) -> None:
    ex = _ccxt(venue, sim)
    markets = ex.load_markets()
    symbol = CCXT_SYMBOL[venue]
    assert {symbol, symbol.replace("BTC", "ETH")} <= set(markets)
    assert markets[symbol]["limits"]["amount"]["min"] > 0
    book = ex.fetch_order_book(symbol, 5)
    assert 0 < len(book["bids"]) <= 5 and 0 < len(book["asks"]) <= 5
    assert book["bids"][0][0] < book["asks"][0][0]
    trades = ex.fetch_trades(symbol, limit=5)
    assert trades and all(t["symbol"] == symbol and t["amount"] > 0 for t in trades)
    bars = ex.fetch_ohlcv(symbol, "1m", limit=5)
    assert bars and all(len(b) == 6 and b[2] >= b[3] for b in bars)


@pytest.mark.parametrize("venue", ["spot", "usdm"])
def test_ccxt_limit_order_places_queries_and_cancels(sim: dict[str, str], venue: str) -> None:
    ex = _ccxt(venue, sim)
    symbol = CCXT_SYMBOL[venue]
    bid = ex.fetch_order_book(symbol, 5)["bids"][0][0]
    price = float(ex.price_to_precision(symbol, bid * 0.9))  # rests: far below the book
    placed = ex.create_order(symbol, "limit", "buy", QTY, price)
    assert placed["status"] == "open" and placed["price"] == price
    got = ex.fetch_order(placed["id"], symbol)
    assert (got["id"], got["status"], got["amount"]) == (placed["id"], "open", QTY)
    canceled = ex.cancel_order(placed["id"], symbol)
    assert canceled["status"] == "canceled"
    assert ex.fetch_order(placed["id"], symbol)["status"] == "canceled"


def test_ccxt_spot_market_order_fills_and_moves_balances(sim: dict[str, str]) -> None:
    ex = _ccxt("spot", sim)
    before = ex.fetch_balance()
    order = ex.create_order("BTC/USDT", "market", "buy", QTY)
    assert order["status"] == "closed" and order["filled"] == QTY
    assert order["trades"] and order["average"] > 0
    after = ex.fetch_balance()
    # the 0.1 % taker fee is taken in the base asset bought
    assert after["BTC"]["free"] - before["BTC"]["free"] == pytest.approx(QTY * 0.999)
    assert after["USDT"]["free"] < before["USDT"]["free"]


def _net(positions: list[dict[str, Any]]) -> float:
    return sum(p["contracts"] * (1 if p["side"] == "long" else -1) for p in positions)


def test_ccxt_usdm_market_order_fills_and_moves_position(sim: dict[str, str]) -> None:
    ex = _ccxt("usdm", sim)
    symbol = CCXT_SYMBOL["usdm"]
    before = _net(ex.fetch_positions([symbol]))
    order = ex.create_order(symbol, "market", "buy", QTY, params={"newOrderRespType": "RESULT"})
    assert order["status"] == "closed" and order["filled"] == QTY
    positions = ex.fetch_positions([symbol])
    assert _net(positions) - before == pytest.approx(QTY)
    assert positions[0]["entryPrice"] > 0 and positions[0]["marginMode"] == "cross"
    balance = ex.fetch_balance()
    assert balance["USDT"]["total"] > 0


# ---- python-binance -----------------------------------------------------------------------------


def _repoint_attrs(obj: Any, sim: dict[str, str]) -> None:
    # Every *_URL the object knows (live, testnet and demo variants) goes to the sim.
    for name in dir(obj):
        value = getattr(obj, name)
        if name.endswith("_URL") and isinstance(value, str) and "://" in value:
            setattr(obj, name, _to_sim(value, sim))
            assert _on_sim(getattr(obj, name), sim)


def _binance(cls: Any, sim: dict[str, str], **kwargs: Any) -> Any:
    client = cls(sim["key"], sim["secret"], **kwargs)
    _repoint_attrs(client, sim)
    # The WS-API connections are built in the constructor from the class URLs.
    client.ws_api._url = sim["ws"] + "/ws-api/v3"
    client.ws_future._url = sim["ws"] + "/ws-fapi/v1"
    return client


def test_python_binance_spot_rest_reads_trades_and_balances(sim: dict[str, str]) -> None:
    client = _binance(Client, sim, ping=False)  # ping=False: no call before the URLs are set
    assert client.ping() == {}
    info = client.get_symbol_info("BTCUSDT")
    assert info is not None and info["status"] == "TRADING"
    book = client.get_order_book(symbol="BTCUSDT", limit=5)
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    assert client.get_recent_trades(symbol="BTCUSDT", limit=5)
    assert len(client.get_klines(symbol="BTCUSDT", interval="1m", limit=5)[0]) == 12
    price = f"{float(book['bids'][0][0]) * 0.9:.2f}"
    placed = client.order_limit_buy(symbol="BTCUSDT", quantity=str(QTY), price=price)
    assert placed["status"] == "NEW"
    got = client.get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert got["status"] == "NEW" and got["price"] == f"{price}000000"
    canceled = client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert canceled["status"] == "CANCELED"
    before = float(client.get_asset_balance(asset="BTC")["free"])
    filled = client.order_market_buy(symbol="BTCUSDT", quantity=str(QTY))
    assert filled["status"] == "FILLED" and filled["fills"]
    after = float(client.get_asset_balance(asset="BTC")["free"])
    assert after - before == pytest.approx(QTY * 0.999)
    client.close_connection()


def test_python_binance_usdm_rest_reads_trades_and_positions(sim: dict[str, str]) -> None:
    client = _binance(Client, sim, ping=False)
    assert client.futures_ping() == {}
    symbols = {s["symbol"] for s in client.futures_exchange_info()["symbols"]}
    assert {"BTCUSDT", "ETHUSDT"} <= symbols
    book = client.futures_order_book(symbol="BTCUSDT", limit=5)
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])
    assert client.futures_recent_trades(symbol="BTCUSDT", limit=5)
    assert client.futures_klines(symbol="BTCUSDT", interval="1m", limit=5)
    price = f"{float(book['bids'][0][0]) * 0.9:.1f}"
    placed = client.futures_create_order(
        symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity=QTY, price=price
    )
    got = client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert got["status"] == "NEW"
    canceled = client.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert canceled["status"] == "CANCELED"

    def amount() -> float:
        rows = client.futures_position_information(symbol="BTCUSDT")
        return float(rows[0]["positionAmt"]) if rows else 0.0

    before = amount()
    filled = client.futures_create_order(
        symbol="BTCUSDT", side="SELL", type="MARKET", quantity=QTY, newOrderRespType="RESULT"
    )
    assert filled["status"] == "FILLED"
    assert amount() - before == pytest.approx(-QTY)
    (usdt,) = client.futures_account_balance()
    assert usdt["asset"] == "USDT" and float(usdt["balance"]) > 0
    client.close_connection()


async def _until(socket_: Any, match: Any) -> list[dict[str, Any]]:
    # Read events until one matches; each read is bounded, and so is the whole wait.
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(3 * WAIT_S):
        while not seen or not match(seen[-1]):
            event = await asyncio.wait_for(socket_.recv(), WAIT_S)
            assert event.get("e") != "error", event
            seen.append(event)
    return seen


def _async_client(sim: dict[str, str]) -> Any:
    client = _binance(AsyncClient, sim)
    # The library's read loops poll every TIMEOUT s and closing waits for one poll (10 s by
    # default): a short poll keeps teardown fast without changing what is sent.
    client.ws_api.TIMEOUT = 2
    return client


def _socket_manager(client: Any, sim: dict[str, str]) -> Any:
    bsm = BinanceSocketManager(client)
    _repoint_attrs(bsm, sim)
    return bsm


def test_python_binance_spot_user_stream_receives_fill(sim: dict[str, str]) -> None:
    async def main() -> list[dict[str, Any]]:
        client = _async_client(sim)
        try:
            user = _socket_manager(client, sim).user_socket()
            async with user:  # WS-API userDataStream.subscribe.signature, then unsubscribe
                order = await client.order_market_buy(symbol="BTCUSDT", quantity=str(QTY))
                assert order["status"] == "FILLED"
                return await _until(user, lambda e: e.get("X") == "FILLED")
        finally:
            await client.close_connection()

    events = asyncio.run(main())
    fill = events[-1]
    assert (fill["e"], fill["s"], fill["S"], fill["X"]) == (
        "executionReport",
        "BTCUSDT",
        "BUY",
        "FILLED",
    )
    assert float(fill["z"]) == QTY and float(fill["L"]) > 0 and fill["x"] == "TRADE"


def test_python_binance_usdm_user_stream_receives_fill(sim: dict[str, str]) -> None:
    async def main() -> list[dict[str, Any]]:
        client = _async_client(sim)
        try:
            user = _socket_manager(client, sim).futures_user_socket()
            user.TIMEOUT = 2  # see _async_client
            async with user:  # POST /fapi/v1/listenKey, then /private/ws?listenKey=
                order = await client.futures_create_order(
                    symbol="BTCUSDT", side="BUY", type="MARKET", quantity=QTY
                )
                assert order["orderId"] > 0
                trade = await _until(
                    user, lambda e: e.get("e") == "ORDER_TRADE_UPDATE" and e["o"]["X"] == "FILLED"
                )
                update = await _until(user, lambda e: e.get("e") == "ACCOUNT_UPDATE")
                return trade + update
        finally:
            await client.close_connection()

    events = asyncio.run(main())
    fill = next(
        e["o"] for e in events if e.get("e") == "ORDER_TRADE_UPDATE" and e["o"]["X"] == "FILLED"
    )
    assert (fill["s"], fill["S"], fill["x"], float(fill["z"])) == ("BTCUSDT", "BUY", "TRADE", QTY)
    account = events[-1]["a"]
    assert account["m"] == "ORDER" and account["P"][0]["s"] == "BTCUSDT"
