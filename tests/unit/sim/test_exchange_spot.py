"""Tests for veloz.sim.exchange on the spot venue: orders, balances, errors, market data."""

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from veloz._core import fixed
from veloz._core.binance_md import BinanceMdDecoder
from veloz._core.binance_md import MdKind
from veloz._core.book import Book
from veloz._core.depth_sync import DepthSync
from veloz._core.depth_sync import SyncRule
from veloz._core.matching import OrdKind
from veloz._core.matching import OrdSide
from veloz._core.matching import Tif
from veloz.sim.errors import BinanceApiError
from veloz.sim.exchange import MARKET_ACCOUNT
from veloz.sim.exchange import SimExchange
from veloz.sim.instruments import SPOT_INSTRUMENTS
from veloz.sim.md import BookTickerEvent
from veloz.sim.md import DepthDiff
from veloz.sim.md import TradeEvent

S = "BTCUSDT"
T0 = 1_700_000_000_000


def px(text: str) -> int:
    return fixed.parse(text, 2)


def qty(text: str) -> int:
    return fixed.parse(text, 5)


class Env:
    def __init__(self) -> None:
        self.now = T0
        self.ex = SimExchange("spot", SPOT_INSTRUMENTS, lambda: self.now)
        self.md: list[object] = []
        self.user: list[tuple[int, dict[str, Any]]] = []
        self.ex.listen(self.md.append)
        self.ex.listen_user(lambda a, e: self.user.append((a, e)))
        self.ex.add_account(1, {"USDT": "100000", "BTC": "2"})
        self.ex.add_account(2, {"USDT": "10"})

    def rest(self, side: int, price: str, amount: str) -> int:
        return self.ex.submit_internal(
            S, MARKET_ACCOUNT, side, OrdKind.LIMIT, Tif.GTC, px(price), qty(amount)
        )

    def order(self, account: int = 1, **kw: str) -> dict[str, Any]:
        params = {"symbol": S, **kw}
        return self.ex.new_order(account, params)

    def balances(self, account: int = 1) -> dict[str, tuple[str, str]]:
        return {b["asset"]: (b["free"], b["locked"]) for b in self.ex.account(account)["balances"]}

    def reports(self) -> list[dict[str, Any]]:
        return [e for _, e in self.user if e["e"] == "executionReport"]


@pytest.fixture
def env() -> Env:
    return Env()


def limit(side: str, price: str, qty: str, tif: str = "GTC", **kw: str) -> dict[str, str]:
    return {
        "side": side,
        "type": "LIMIT",
        "timeInForce": tif,
        "price": price,
        "quantity": qty,
        **kw,
    }


# ---- lifecycle and balances ---------------------------------------------------------------------


def test_spot_limit_buy_rests_and_locks_quote(env: Env) -> None:
    r = env.order(**limit("BUY", "60000.00", "0.01"))
    assert r["status"] == "NEW" and r["fills"] == []
    assert env.balances()["USDT"] == ("99400.00000000", "600.00000000")
    assert env.ex.engine_depth(S, 1)[0] == [(px("60000"), qty("0.01"))]


def test_spot_limit_buy_partial_then_fill_settles_exact_fees(env: Env) -> None:
    r = env.order(**limit("BUY", "60000.00", "0.01", newClientOrderId="mine"))
    env.ex.submit_internal(
        S, MARKET_ACCOUNT, OrdSide.SELL, OrdKind.MARKET, Tif.IOC, 0, qty("0.004")
    )
    got = env.ex.get_order(1, {"symbol": S, "orderId": str(r["orderId"])})
    assert (got["status"], got["executedQty"]) == ("PARTIALLY_FILLED", "0.00400000")
    env.ex.submit_internal(
        S, MARKET_ACCOUNT, OrdSide.SELL, OrdKind.MARKET, Tif.IOC, 0, qty("0.006")
    )
    got = env.ex.get_order(1, {"symbol": S, "origClientOrderId": "mine"})
    assert got["status"] == "FILLED"
    assert got["cummulativeQuoteQty"] == "600.00000000"
    # maker fee 0.1 % in BTC: 0.000004 + 0.000006
    assert env.balances()["BTC"] == ("2.00999000", "0.00000000")
    assert env.balances()["USDT"] == ("99400.00000000", "0.00000000")
    trades = [e for e in env.reports() if e["x"] == "TRADE"]
    assert [(t["l"], t["n"], t["N"], t["m"], t["X"]) for t in trades] == [
        ("0.00400000", "0.00000400", "BTC", True, "PARTIALLY_FILLED"),
        ("0.00600000", "0.00000600", "BTC", True, "FILLED"),
    ]


def test_spot_market_sell_full_response_has_fills_and_quote_fee(env: Env) -> None:
    env.rest(OrdSide.BUY, "59000.00", "0.5")
    env.rest(OrdSide.BUY, "58999.99", "0.5")
    r = env.order(side="SELL", type="MARKET", quantity="0.6")
    assert r["status"] == "FILLED"
    assert [(f["price"], f["qty"], f["commission"], f["commissionAsset"]) for f in r["fills"]] == [
        ("59000.00000000", "0.50000000", "29.50000000", "USDT"),
        ("58999.99000000", "0.10000000", "5.89999900", "USDT"),
    ]
    # 29500 + 5899.999 - fees 35.399999
    assert env.balances()["USDT"] == ("135364.59900100", "0.00000000")
    assert env.balances()["BTC"] == ("1.40000000", "0.00000000")


def test_spot_market_buy_quote_order_qty_buys_on_step(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.00", "1")
    r = env.order(side="BUY", type="MARKET", quoteOrderQty="100")
    assert r["executedQty"] == "0.00166000"
    assert r["cummulativeQuoteQty"] == "99.60000000"
    assert r["origQuoteOrderQty"] == "100.00000000"


def test_spot_cancel_releases_lock_and_reports_orig_client_id(env: Env) -> None:
    env.order(**limit("SELL", "70000.00", "0.5", newClientOrderId="a1"))
    assert env.balances()["BTC"] == ("1.50000000", "0.50000000")
    r = env.ex.cancel_order(1, {"symbol": S, "origClientOrderId": "a1", "newClientOrderId": "c1"})
    assert (r["status"], r["origClientOrderId"], r["clientOrderId"]) == ("CANCELED", "a1", "c1")
    assert env.balances()["BTC"] == ("2.00000000", "0.00000000")
    rep = env.reports()[-1]
    assert (rep["x"], rep["X"], rep["c"], rep["C"]) == ("CANCELED", "CANCELED", "c1", "a1")


def test_spot_ioc_remainder_expires_and_unlocks(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.00", "0.001")
    r = env.order(**limit("BUY", "60000.00", "0.002", tif="IOC"))
    assert (r["status"], r["executedQty"]) == ("EXPIRED", "0.00100000")
    assert env.balances()["USDT"] == ("99940.00000000", "0.00000000")


def test_spot_fok_not_fillable_expires_without_trade(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.00", "0.001")
    r = env.order(**limit("BUY", "60000.00", "0.002", tif="FOK"))
    assert (r["status"], r["executedQty"]) == ("EXPIRED", "0.00000000")
    assert env.ex.engine_depth(S, 1)[1] == [(px("60000"), qty("0.001"))]


def test_spot_limit_maker_that_would_take_is_rejected_2010(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.00", "0.001")
    with pytest.raises(BinanceApiError) as e:
        env.order(side="BUY", type="LIMIT_MAKER", price="60000.00", quantity="0.001")
    assert (e.value.code, e.value.msg) == (-2010, "Order would immediately match and take.")
    assert env.balances()["USDT"] == ("100000.00000000", "0.00000000")


def test_spot_limit_maker_passive_rests_with_ack(env: Env) -> None:
    r = env.order(side="BUY", type="LIMIT_MAKER", price="59000.00", quantity="0.001")
    assert set(r) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}


def test_spot_stp_expire_maker_expires_own_resting_order(env: Env) -> None:
    maker = env.order(**limit("SELL", "60000.00", "0.1"))
    taker = env.order(**limit("BUY", "60000.00", "0.1"))
    assert taker["status"] == "NEW"
    got = env.ex.get_order(1, {"symbol": S, "orderId": str(maker["orderId"])})
    assert got["status"] == "EXPIRED_IN_MATCH"
    rep = [e for e in env.reports() if e["i"] == maker["orderId"]][-1]
    assert (rep["x"], rep["X"]) == ("TRADE_PREVENTION", "EXPIRED_IN_MATCH")
    assert env.balances()["BTC"] == ("2.00000000", "0.00000000")


def test_spot_duplicate_open_client_id_rejected_2010(env: Env) -> None:
    env.order(**limit("BUY", "50000.00", "0.001", newClientOrderId="dup"))
    with pytest.raises(BinanceApiError) as e:
        env.order(**limit("BUY", "50000.00", "0.001", newClientOrderId="dup"))
    assert (e.value.code, e.value.msg) == (-2010, "Duplicate order sent.")


def test_spot_insufficient_balance_rejected_2010(env: Env) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.order(account=2, **limit("BUY", "50000.00", "0.001"))
    assert (e.value.code, e.value.msg) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )


# ---- parameter errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        (
            {"side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "1"},
            -1102,
            "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
        ),
        (
            {"type": "MARKET", "quantity": "1"},
            -1102,
            "Mandatory parameter 'side' was not sent, was empty/null, or malformed.",
        ),
        (
            {"side": "BUY", "type": "MARKET"},
            -1102,
            "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
        ),
        ({"side": "HOLD", "type": "MARKET", "quantity": "1"}, -1117, "Invalid side."),
        ({"side": "BUY", "type": "STOP", "quantity": "1"}, -1116, "Invalid orderType."),
        (limit("BUY", "60000", "1", tif="GTX"), -1115, "Invalid timeInForce."),
        (
            limit("BUY", "60000", "1e3"),
            -1100,
            "Illegal characters found in parameter 'quantity'; legal range is "
            "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
        ),
        (limit("BUY", "60000.000000001", "1"), -1111, "Parameter 'price' has too much precision."),
        (limit("BUY", "60000.005", "0.001"), -1013, "Filter failure: PRICE_FILTER"),
        (limit("BUY", "60000", "0.000015"), -1013, "Filter failure: LOT_SIZE"),
        (limit("BUY", "100", "0.00001"), -1013, "Filter failure: NOTIONAL"),
        (
            {"side": "BUY", "type": "MARKET", "quantity": "1", "price": "1"},
            -1106,
            "Parameter 'price' sent when not required.",
        ),
    ],
)
def test_spot_bad_order_params_raise_binance_error(
    env: Env, params: dict[str, str], code: int, msg: str
) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.order(**params)
    assert (e.value.code, e.value.msg, e.value.http_status) == (code, msg, 400)


def test_spot_unknown_symbol_raises_1121(env: Env) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.ex.new_order(1, {"symbol": "XXXUSDT", **limit("BUY", "1", "1")})
    assert (e.value.code, e.value.msg) == (-1121, "Invalid symbol.")


def test_spot_cancel_unknown_order_raises_2011(env: Env) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.ex.cancel_order(1, {"symbol": S, "orderId": "999"})
    assert (e.value.code, e.value.msg) == (-2011, "Unknown order sent.")


def test_spot_get_unknown_order_raises_2013(env: Env) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.ex.get_order(1, {"symbol": S, "orderId": "999"})
    assert (e.value.code, e.value.msg) == (-2013, "Order does not exist.")


def test_spot_cancel_without_ids_raises_1102(env: Env) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.ex.cancel_order(1, {"symbol": S})
    assert e.value.code == -1102


def test_spot_open_and_all_orders_list_account_orders(env: Env) -> None:
    a = env.order(**limit("BUY", "50000.00", "0.001"))
    env.order(**limit("BUY", "50001.00", "0.001"))
    env.ex.cancel_order(1, {"symbol": S, "orderId": str(a["orderId"])})
    assert len(env.ex.open_orders(1, {"symbol": S})) == 1
    assert [o["status"] for o in env.ex.all_orders(1, {"symbol": S})] == ["CANCELED", "NEW"]
    out = env.ex.cancel_open_orders(1, {"symbol": S})
    assert [o["status"] for o in out] == ["CANCELED"]
    assert env.ex.open_orders(1, {}) == []


# ---- shapes against the docs examples -----------------------------------------------------------


def _doc(fixtures_dir: Path, name: str) -> Any:
    return json.loads((fixtures_dir / "binance/spot/docs_examples" / name).read_text())


def test_spot_shapes_match_docs_examples(env: Env, fixtures_dir: Path) -> None:
    env.rest(OrdSide.SELL, "60000.00", "1")
    full = env.order(side="BUY", type="MARKET", quantity="0.01")
    result = env.order(side="BUY", type="MARKET", quantity="0.01", newOrderRespType="RESULT")
    ack = env.order(side="BUY", type="MARKET", quantity="0.01", newOrderRespType="ACK")
    env.order(**limit("BUY", "50000.00", "0.01", newClientOrderId="x"))
    cancel = env.ex.cancel_order(1, {"symbol": S, "origClientOrderId": "x"})
    assert set(full) == set(_doc(fixtures_dir, "rest_new_order_response_FULL.json"))
    assert set(full["fills"][0]) == set(
        _doc(fixtures_dir, "rest_new_order_response_FULL.json")["fills"][0]
    )
    assert set(result) == set(_doc(fixtures_dir, "rest_new_order_response_RESULT.json"))
    assert set(ack) == set(_doc(fixtures_dir, "rest_new_order_response_ACK.json"))
    assert set(cancel) == set(_doc(fixtures_dir, "rest_cancel_order_response.json"))
    er = _doc(fixtures_dir, "uds_executionReport_wrapped.json")["event"]
    assert set(env.reports()[0]) == set(er) - {"v"} | {"I"}  # v only with a prevented match
    pos = _doc(fixtures_dir, "uds_outboundAccountPosition_wrapped.json")["event"]
    ours = next(e for _, e in env.user if e["e"] == "outboundAccountPosition")
    assert set(ours) == set(pos) and set(ours["B"][0]) == set(pos["B"][0])
    depth = env.ex.depth({"symbol": S})
    assert set(depth) == set(_doc(fixtures_dir, "rest_depth_response.json"))


# ---- market data --------------------------------------------------------------------------------


def test_spot_depth_diffs_have_contiguous_update_ids(env: Env) -> None:
    for i in range(20):
        env.rest(OrdSide.BUY if i % 2 else OrdSide.SELL, f"{60000 + (i - 10) * 3}.00", "0.01")
    env.order(side="BUY", type="MARKET", quantity="0.05")
    diffs = [e for e in env.md if isinstance(e, DepthDiff)]
    assert diffs[0].first_id == 1
    for a, b in itertools.pairwise(diffs):
        assert b.first_id == a.last_id + 1 and b.prev_id == a.last_id
    assert diffs[-1].last_id == env.ex.update_id(S)


def test_spot_trade_agg_and_book_ticker_events(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.00", "0.01")
    env.rest(OrdSide.SELL, "60000.00", "0.01")
    env.rest(OrdSide.SELL, "60000.01", "0.01")
    env.md.clear()
    env.order(side="BUY", type="MARKET", quantity="0.025")
    trades = [e.payload() for e in env.md if isinstance(e, TradeEvent)]
    assert [(t["t"], t["p"], t["q"], t["m"]) for t in trades] == [
        (1, "60000.00000000", "0.01000000", False),
        (2, "60000.00000000", "0.01000000", False),
        (3, "60000.01000000", "0.00500000", False),
    ]
    aggs = env.ex.agg_trades({"symbol": S})
    assert [(a["a"], a["q"], a["f"], a["l"]) for a in aggs] == [
        (1, "0.02000000", 1, 2),
        (2, "0.00500000", 3, 3),
    ]
    bt = [e for e in env.md if isinstance(e, BookTickerEvent)][-1]
    assert (bt.ask_px, bt.ask_qty, bt.update_id) == (
        "60000.01000000",
        "0.00500000",
        env.ex.update_id(S),
    )


def test_spot_klines_aggregate_trades_per_minute(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.00", "1")
    env.rest(OrdSide.SELL, "60010.00", "1")
    env.order(side="BUY", type="MARKET", quantity="0.5")
    env.now += 60_000
    env.order(side="BUY", type="MARKET", quantity="0.6")
    rows = env.ex.klines({"symbol": S, "interval": "1m"})
    assert [(r[1], r[2], r[3], r[4], r[5], r[8]) for r in rows] == [
        ("60000.00000000", "60000.00000000", "60000.00000000", "60000.00000000", "0.50000000", 1),
        ("60000.00000000", "60010.00000000", "60000.00000000", "60010.00000000", "0.60000000", 2),
    ]
    assert rows[1][0] - rows[0][0] == 60_000 and rows[0][6] == rows[0][0] + 59_999
    five = env.ex.klines({"symbol": S, "interval": "5m"})
    assert sum(r[8] for r in five) == 3


def test_spot_replayed_diffs_onto_snapshot_reproduce_engine_book(env: Env) -> None:
    rng = np.random.default_rng(7)
    dec = BinanceMdDecoder(S, 2, 5, False)
    sync = DepthSync(Book(2, 5), SyncRule.SPOT)

    def pump() -> None:
        for _ in range(300):
            side = int(rng.integers(0, 2))
            off = int(rng.integers(1, 200))
            price = 6_000_000 + (-off if side == 0 else off)  # raw at dp 2
            if rng.random() < 0.1:
                env.ex.submit_internal(
                    S, MARKET_ACCOUNT, side, OrdKind.MARKET, Tif.IOC, 0, qty("0.05")
                )
            else:
                env.ex.submit_internal(
                    S,
                    MARKET_ACCOUNT,
                    side,
                    OrdKind.LIMIT,
                    Tif.GTC,
                    price,
                    int(rng.integers(1, 100)) * 100,
                )

    def feed() -> None:
        for e in env.md:
            if isinstance(e, DepthDiff):
                assert dec.decode(orjson.dumps(e.payload("spot"))) == MdKind.DEPTH
                sync.on_diff(dec.depth)
        env.md.clear()

    pump()
    env.md.clear()
    pump()
    feed()
    pump()
    assert dec.decode_snapshot(orjson.dumps(env.ex.depth({"symbol": S, "limit": "5000"}))) == (
        MdKind.SNAPSHOT
    )
    sync.on_snapshot(dec.depth)
    pump()
    feed()
    assert sync.is_live
    bids, asks = env.ex.engine_depth(S, 10_000)
    book = sync.book
    bpx, bq = book.top_n(0, 10_000)
    apx, aq = book.top_n(1, 10_000)
    assert list(zip(bpx.tolist(), bq.tolist(), strict=True)) == bids
    assert list(zip(apx.tolist(), aq.tolist(), strict=True)) == asks


def test_spot_public_rest_tickers_and_trades(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.00", "1")
    env.rest(OrdSide.BUY, "59999.00", "1")
    env.order(side="BUY", type="MARKET", quantity="0.1")
    assert env.ex.ticker_price({"symbol": S}) == {"symbol": S, "price": "60000.00000000"}
    bt = env.ex.book_ticker({"symbol": S})
    assert (bt["bidPrice"], bt["askQty"]) == ("59999.00000000", "0.90000000")
    assert len(env.ex.book_ticker({})) == len(SPOT_INSTRUMENTS)
    (t,) = env.ex.trades({"symbol": S})
    assert (t["price"], t["quoteQty"], t["isBuyerMaker"]) == (
        "60000.00000000",
        "6000.00000000",
        False,
    )
    depth = env.ex.depth({"symbol": S, "limit": "1"})
    assert depth["bids"] == [["59999.00000000", "1.00000000"]]
