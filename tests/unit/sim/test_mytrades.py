"""Tests for the simulator's account trade history (spot myTrades, USD-M userTrades)."""

from decimal import Decimal
from typing import Any

import pytest

from veloz._core import fixed
from veloz._core.matching import OrdKind
from veloz._core.matching import OrdSide
from veloz._core.matching import Tif
from veloz.sim.errors import BinanceApiError
from veloz.sim.exchange import MARKET_ACCOUNT
from veloz.sim.exchange import SimExchange
from veloz.sim.instruments import SPOT_INSTRUMENTS
from veloz.sim.instruments import USDM_INSTRUMENTS
from veloz.sim.routes import ROUTES

S = "BTCUSDT"
T0 = 1_700_000_000_000

SPOT_FIELDS = {
    "symbol", "id", "orderId", "orderListId", "price", "qty", "quoteQty", "commission",
    "commissionAsset", "time", "isBuyer", "isMaker", "isBestMatch",
}  # fmt: skip
USDM_FIELDS = {
    "buyer", "commission", "commissionAsset", "id", "maker", "orderId", "price", "qty",
    "quoteQty", "realizedPnl", "side", "positionSide", "symbol", "time",
}  # fmt: skip


class Env:
    def __init__(self, venue: str) -> None:
        self.now = T0
        insts = SPOT_INSTRUMENTS if venue == "spot" else USDM_INSTRUMENTS
        self.inst = next(i for i in insts if i.symbol == S)
        self.ex = SimExchange(venue, insts, lambda: self.now)
        self.ex.add_account(1, {"USDT": "100000", "BTC": "2"})
        self.ex.add_account(2, {"USDT": "100000", "BTC": "2"})

    def rest(self, side: int, price: str, amount: str) -> int:
        i = self.inst
        return self.ex.submit_internal(
            S,
            MARKET_ACCOUNT,
            side,
            OrdKind.LIMIT,
            Tif.GTC,
            fixed.parse(price, i.price_dp),
            fixed.parse(amount, i.qty_dp),
        )

    def market(self, side: str, amount: str, account: int = 1) -> dict[str, Any]:
        self.now += 1000
        return self.ex.new_order(
            account, {"symbol": S, "side": side, "type": "MARKET", "quantity": amount}
        )

    def trades(self, account: int = 1, **kw: str) -> list[dict[str, Any]]:
        return self.ex.my_trades(account, {"symbol": S, **kw})


@pytest.fixture(params=["spot", "usdm"])
def env(request: pytest.FixtureRequest) -> Env:
    e = Env(request.param)
    for k in range(5):
        e.rest(OrdSide.SELL, f"{50000 + k}", "0.01")
    return e


def test_my_trades_market_buy_over_two_levels_lists_both_fills_in_binance_shape(env: Env) -> None:
    ans = env.market("BUY", "0.015")
    rows = env.trades()
    assert len(rows) == 2
    fields = SPOT_FIELDS if env.ex.venue == "spot" else USDM_FIELDS
    assert all(set(r) == fields for r in rows)
    assert [r["orderId"] for r in rows] == [ans["orderId"]] * 2
    assert rows[0]["id"] < rows[1]["id"]
    assert [Decimal(r["price"]) for r in rows] == [Decimal(50000), Decimal(50001)]
    assert sum(Decimal(r["qty"]) for r in rows) == Decimal("0.015")
    for r in rows:
        assert Decimal(r["quoteQty"]) == Decimal(r["price"]) * Decimal(r["qty"])
        assert r["time"] == env.now
    if env.ex.venue == "spot":
        assert all(r["isBuyer"] and not r["isMaker"] and r["isBestMatch"] for r in rows)
        assert all(r["commissionAsset"] == "BTC" for r in rows)
        # 0.1 % taker fee in the base asset received
        assert Decimal(rows[0]["commission"]) == Decimal("0.01") / 1000
        assert ans["fills"][0]["tradeId"] == rows[0]["id"]
    else:
        assert all(r["buyer"] and not r["maker"] and r["side"] == "BUY" for r in rows)
        assert all(r["positionSide"] == "BOTH" and r["commissionAsset"] == "USDT" for r in rows)
        assert Decimal(rows[0]["commission"]) == Decimal("500.00") * 5 / 10000
        assert Decimal(rows[0]["realizedPnl"]) == 0


def test_my_trades_from_id_and_limit_paginate_oldest_first(env: Env) -> None:
    for _ in range(4):
        env.market("BUY", "0.01")
    all_rows = env.trades()
    ids = [r["id"] for r in all_rows]
    assert len(ids) == 4 and ids == sorted(ids)
    page1 = env.trades(fromId=str(ids[0]), limit="2")
    page2 = env.trades(fromId=str(ids[1] + 1), limit="2")
    assert [r["id"] for r in page1 + page2] == ids
    assert [r["id"] for r in env.trades(limit="2")] == ids[-2:]  # most recent by default


def test_my_trades_order_id_and_time_range_filter(env: Env) -> None:
    a = env.market("BUY", "0.01")
    b = env.market("BUY", "0.01")
    assert [r["orderId"] for r in env.trades(orderId=str(b["orderId"]))] == [b["orderId"]]
    rows = env.trades(startTime=str(T0), endTime=str(T0 + 1000))
    assert [r["orderId"] for r in rows] == [a["orderId"]]


def test_my_trades_other_account_and_maker_side_are_separate(env: Env) -> None:
    env.now += 1
    env.ex.new_order(
        2,
        {
            "symbol": S,
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "price": "49000",
            "quantity": "0.01",
        },
    )
    assert env.trades(account=2) == []
    env.market("SELL", "0.004", account=1)
    maker = env.trades(account=2)
    taker = env.trades(account=1)
    assert len(maker) == len(taker) == 1 and maker[0]["id"] == taker[0]["id"]
    key = "isMaker" if env.ex.venue == "spot" else "maker"
    assert maker[0][key] and not taker[0][key]


def test_my_trades_bad_parameters_raise_binance_errors(env: Env) -> None:
    with pytest.raises(BinanceApiError) as e1:
        env.trades(fromId="1", startTime=str(T0))
    assert e1.value.code == -1128
    with pytest.raises(BinanceApiError) as e2:
        env.trades(fromId="x")
    assert e2.value.code == -1100
    with pytest.raises(BinanceApiError) as e3:
        env.ex.my_trades(1, {})
    assert e3.value.code == -1102
    with pytest.raises(BinanceApiError) as e4:
        env.ex.my_trades(9, {"symbol": S})
    assert e4.value.code == -2015


def test_my_trades_limit_is_capped_at_1000() -> None:
    e = Env("usdm")
    for k in range(1100):
        e.rest(OrdSide.SELL, f"{50000 + k}", "0.001")
    e.market("BUY", "1.100")
    assert len(e.trades(limit="5000")) == 1000
    assert len(e.trades()) == 500


def test_routes_trade_history_weights_follow_binance() -> None:
    by = {(r.method, r.path): r for r in ROUTES}
    spot = by[("GET", "/api/v3/myTrades")]
    usdm = by[("GET", "/fapi/v1/userTrades")]
    assert (spot.call, spot.security, usdm.call, usdm.security) == (
        "my_trades", "USER_DATA", "my_trades", "USER_DATA",
    )  # fmt: skip
    assert spot.weight({"symbol": S}) == 20
    assert spot.weight({"symbol": S, "orderId": "3"}) == 5
    assert usdm.weight({"symbol": S}) == 5
