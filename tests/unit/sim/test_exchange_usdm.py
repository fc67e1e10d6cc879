"""Tests for veloz.sim.exchange on the USD-M venue: orders, wallet, positions, errors."""

import json
from pathlib import Path
from typing import Any

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
from veloz.sim.instruments import USDM_INSTRUMENTS
from veloz.sim.md import DepthAccumulator
from veloz.sim.md import DepthDiff
from veloz.sim.md import MarkPriceEvent

S = "BTCUSDT"
T0 = 1_700_000_000_000


class Env:
    def __init__(self) -> None:
        self.now = T0
        self.ex = SimExchange("usdm", USDM_INSTRUMENTS, lambda: self.now)
        self.md: list[object] = []
        self.user: list[tuple[int, dict[str, Any]]] = []
        self.ex.listen(self.md.append)
        self.ex.listen_user(lambda a, e: self.user.append((a, e)))
        self.ex.add_account(1, {"USDT": "10000"})

    def rest(self, side: int, price: str, amount: str) -> int:
        return self.ex.submit_internal(
            S,
            MARKET_ACCOUNT,
            side,
            OrdKind.LIMIT,
            Tif.GTC,
            fixed.parse(price, 1),
            fixed.parse(amount, 3),
        )

    def order(self, **kw: str) -> dict[str, Any]:
        return self.ex.new_order(1, {"symbol": S, **kw})

    def wallet(self) -> str:
        return str(self.ex.futures_balance(1)[0]["balance"])

    def updates(self) -> list[dict[str, Any]]:
        return [e["o"] for _, e in self.user if e["e"] == "ORDER_TRADE_UPDATE"]


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


def test_usdm_limit_rests_then_fills_and_charges_maker_fee(env: Env) -> None:
    r = env.order(**limit("BUY", "60000.10", "0.010", newOrderRespType="RESULT"))
    assert (r["status"], r["price"], r["origQty"], r["avgPrice"]) == (
        "NEW",
        "60000.10",
        "0.010",
        "0.00000",
    )
    env.ex.submit_internal(S, MARKET_ACCOUNT, OrdSide.SELL, OrdKind.MARKET, Tif.IOC, 0, 4)
    env.ex.submit_internal(S, MARKET_ACCOUNT, OrdSide.SELL, OrdKind.MARKET, Tif.IOC, 0, 6)
    got = env.ex.get_order(1, {"symbol": S, "orderId": str(r["orderId"])})
    assert (got["status"], got["executedQty"], got["cumQuote"], got["avgPrice"]) == (
        "FILLED",
        "0.010",
        "600.00100",
        "60000.10000",
    )
    # maker 0.02 % of 600.001 = 0.1200002
    assert env.wallet() == "9999.87999980"
    fills = [u for u in env.updates() if u["x"] == "TRADE"]
    assert [(f["l"], f["n"], f["m"], f["X"]) for f in fills] == [
        ("0.004", "0.04800008", True, "PARTIALLY_FILLED"),
        ("0.006", "0.07200012", True, "FILLED"),
    ]


def test_usdm_round_trip_realizes_pnl_into_wallet(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.0", "1")
    env.order(side="BUY", type="MARKET", quantity="0.100")
    env.rest(OrdSide.BUY, "60100.0", "1")
    env.order(side="SELL", type="MARKET", quantity="0.040")
    (pos,) = env.ex.position_risk(1, {"symbol": S})
    assert (pos["positionAmt"], pos["entryPrice"]) == ("0.060", "60000.00000000")
    r = env.order(side="SELL", type="MARKET", quantity="0.060", newOrderRespType="RESULT")
    assert r["status"] == "FILLED"
    (pos,) = env.ex.position_risk(1, {"symbol": S})
    assert pos["positionAmt"] == "0.000"
    # pnl 100 * 0.1 = 10; taker fees 0.05 % of 6000 + 2404 + 3606 = 6.005
    assert env.wallet() == "10003.99500000"
    acct = [e for _, e in env.user if e["e"] == "ACCOUNT_UPDATE"][-1]["a"]
    assert acct["P"][0]["cr"] == "10.00000000"
    assert acct["B"][0]["wb"] == "10003.99500000"


def test_usdm_v3_position_risk_and_account_list_only_active_symbols(env: Env) -> None:
    assert env.ex.position_risk_v3(1, {}) == []
    assert env.ex.futures_account_v3(1)["positions"] == []
    env.order(**limit("BUY", "50000.0", "0.010"))  # an open order makes BTCUSDT active
    (row,) = env.ex.position_risk_v3(1, {})
    assert (row["symbol"], row["positionAmt"], row["marginAsset"]) == (S, "0.000", "USDT")
    env.rest(OrdSide.SELL, "60000.0", "1")
    env.order(side="BUY", type="MARKET", quantity="0.020")
    (row,) = env.ex.position_risk_v3(1, {"symbol": S})
    assert (row["positionAmt"], row["entryPrice"]) == ("0.020", "60000.00000000")
    assert "leverage" not in row and row["adl"] == 0
    acct = env.ex.futures_account_v3(1)
    assert "feeTier" not in acct and "canTrade" not in acct
    assert acct["totalWalletBalance"] == env.wallet()
    (pos,) = acct["positions"]
    assert (pos["symbol"], pos["positionAmt"], pos["positionSide"]) == (S, "0.020", "BOTH")


def test_usdm_leverage_bracket_object_for_symbol_list_for_all(env: Env) -> None:
    one = env.ex.leverage_bracket(1, {"symbol": S})
    assert one["symbol"] == S
    (bracket,) = one["brackets"]
    assert (bracket["initialLeverage"], bracket["notionalCap"]) == (20, 250000)
    assert [r["symbol"] for r in env.ex.leverage_bracket(1, {})] == ["BTCUSDT", "ETHUSDT"]
    with pytest.raises(BinanceApiError):
        env.ex.leverage_bracket(1, {"symbol": "NOPE"})


def test_usdm_flip_opens_remainder_at_fill_price(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.0", "1")
    env.order(side="BUY", type="MARKET", quantity="0.010")
    env.rest(OrdSide.BUY, "59000.0", "1")
    env.order(side="SELL", type="MARKET", quantity="0.030")
    (pos,) = env.ex.position_risk(1, {"symbol": S})
    assert (pos["positionAmt"], pos["entryPrice"]) == ("-0.020", "59000.00000000")


def test_usdm_position_rounds_entry_half_even_and_partial_reduce_pnl_down(env: Env) -> None:
    # veloz._core.position rules: entry |cost| / |qty| half-even; a partial reduce removes the
    # ceiling of the proportional cost, so its realized PnL is floored.
    env.rest(OrdSide.SELL, "60000.1", "0.005")
    env.rest(OrdSide.SELL, "60000.2", "0.005")
    env.order(side="BUY", type="MARKET", quantity="0.010")  # cost 600001.5 per 0.001 step
    (pos,) = env.ex.position_risk(1, {"symbol": S})
    assert (pos["positionAmt"], pos["entryPrice"]) == ("0.010", "60000.20000000")
    env.rest(OrdSide.BUY, "60000.0", "1")
    env.order(side="SELL", type="MARKET", quantity="0.003")
    acct = [e for _, e in env.user if e["e"] == "ACCOUNT_UPDATE"][-1]["a"]
    assert acct["P"][0]["cr"] == "-0.00050000"  # exact -0.00045, floored at the raw
    assert acct["P"][0]["ep"] == "60000.10000000"  # 4200010 / 7 = 600001.43 -> 600001


def test_usdm_gtx_that_would_take_is_accepted_then_expired(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.0", "1")
    ack = env.order(**limit("BUY", "60000.0", "0.010", tif="GTX"))
    assert ack["status"] == "NEW"
    got = env.ex.get_order(1, {"symbol": S, "orderId": str(ack["orderId"])})
    assert got["status"] == "EXPIRED"
    assert [u["x"] for u in env.updates()] == ["NEW", "EXPIRED"]


def test_usdm_ioc_remainder_expires_with_reason_2(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.0", "0.005")
    r = env.order(**limit("BUY", "60000.0", "0.010", tif="IOC", newOrderRespType="RESULT"))
    assert (r["status"], r["executedQty"]) == ("EXPIRED", "0.005")
    assert env.updates()[-1]["er"] == "2"


def test_usdm_stp_expire_taker_expires_incoming(env: Env) -> None:
    env.order(**limit("SELL", "60000.0", "0.010"))
    r = env.order(
        **limit(
            "BUY",
            "60000.0",
            "0.010",
            selfTradePreventionMode="EXPIRE_TAKER",
            newOrderRespType="RESULT",
        )
    )
    assert r["status"] == "EXPIRED_IN_MATCH"
    assert env.updates()[-1]["er"] == "1"


def test_usdm_cancel_all_returns_code_200(env: Env) -> None:
    env.order(**limit("BUY", "50000.0", "0.010"))
    assert env.ex.cancel_open_orders(1, {"symbol": S}) == {
        "code": 200,
        "msg": "The operation of cancel all open order is done.",
    }
    assert env.ex.open_orders(1, {}) == []


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        (limit("BUY", "60000.05", "0.010"), -4014, "Price not increased by tick size."),
        (
            limit("BUY", "60000.0", "0.0105"),
            -1111,
            "Precision is over the maximum defined for this asset.",
        ),
        (
            limit("BUY", "60000.001", "0.010"),
            -1111,
            "Precision is over the maximum defined for this asset.",
        ),
        (
            limit("BUY", "60000.0", "0.001"),
            -4164,
            "Order's notional must be no smaller than 100 (unless you choose reduce only).",
        ),
        (limit("BUY", "100.0", "10"), -4013, "Price less than min price."),
        (limit("SELL", "4529764.1", "0.001"), -4002, "Price greater than max price."),
        (limit("BUY", "60000.0", "2000"), -4005, "Quantity greater than max quantity."),
        (limit("BUY", "60000.0", "0"), -4003, "Quantity less than zero."),
        ({"side": "BUY", "type": "STOP_MARKET", "quantity": "1"}, -1116, "Invalid orderType."),
        (
            {"side": "BUY", "type": "LIMIT", "price": "60000", "quantity": "1"},
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        ),
        (
            limit("BUY", "60000.0", "0.010", positionSide="LONG"),
            -4061,
            "Order's position side does not match user's setting.",
        ),
    ],
)
def test_usdm_bad_order_params_raise_binance_error(
    env: Env, params: dict[str, str], code: int, msg: str
) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.order(**params)
    assert (e.value.code, e.value.msg) == (code, msg)


def test_usdm_cancel_unknown_raises_2011_and_query_raises_2013(env: Env) -> None:
    with pytest.raises(BinanceApiError) as e:
        env.ex.cancel_order(1, {"symbol": S, "orderId": "7"})
    assert e.value.code == -2011
    with pytest.raises(BinanceApiError) as e:
        env.ex.get_order(1, {"symbol": S, "orderId": "7"})
    assert e.value.code == -2013


def _doc(fixtures_dir: Path, name: str) -> Any:
    return json.loads((fixtures_dir / "binance/futures_usdm/docs_examples" / name).read_text())


def test_usdm_shapes_cover_docs_examples(env: Env, fixtures_dir: Path) -> None:
    env.rest(OrdSide.SELL, "60000.0", "1")
    new = env.order(side="BUY", type="MARKET", quantity="0.010")
    env.order(**limit("BUY", "50000.0", "0.010", newClientOrderId="c"))
    cancel = env.ex.cancel_order(1, {"symbol": S, "origClientOrderId": "c"})
    trailing = {"activatePrice", "priceRate"}
    assert set(_doc(fixtures_dir, "rest_new_order_response.json")) - trailing == set(new)
    assert set(_doc(fixtures_dir, "rest_cancel_order_response.json")) - trailing <= set(cancel)
    otu = _doc(fixtures_dir, "uds_ORDER_TRADE_UPDATE.json")
    ours = next(e for _, e in env.user if e["e"] == "ORDER_TRADE_UPDATE")
    assert set(ours) == set(otu)
    assert set(otu["o"]) - {"AP", "cr"} == set(ours["o"])
    au = _doc(fixtures_dir, "uds_ACCOUNT_UPDATE.json")
    acc = next(e for _, e in env.user if e["e"] == "ACCOUNT_UPDATE")
    assert set(acc["a"]["B"][0]) == set(au["a"]["B"][0])
    assert set(acc["a"]["P"][0]) == set(au["a"]["P"][0])
    depth = env.ex.depth({"symbol": S})
    assert set(depth) == set(_doc(fixtures_dir, "rest_depth_response.json"))


def test_usdm_tick_second_emits_mark_price_from_mid(env: Env) -> None:
    env.rest(OrdSide.SELL, "60000.1", "1")
    env.rest(OrdSide.BUY, "59999.9", "1")
    env.ex.tick_second(T0 + 1000)
    (mp,) = [e for e in env.md if isinstance(e, MarkPriceEvent) and e.symbol == S]
    assert mp.mark_px == "60000.00"
    prem = env.ex.premium_index({"symbol": S})
    assert prem["markPrice"] == "60000.00"
    assert len(env.ex.premium_index({})) == len(USDM_INSTRUMENTS)


def test_usdm_accumulated_diffs_sync_with_pu_chain(env: Env) -> None:
    dec = BinanceMdDecoder(S, 1, 3, True)
    sync = DepthSync(Book(1, 3), SyncRule.USDM)
    acc = DepthAccumulator(S, "usdm")
    for i in range(40):
        env.rest(OrdSide.BUY, f"{59000 + i}.0", "0.5")
        env.rest(OrdSide.SELL, f"{61000 - i}.0", "0.5")
    for e in env.md:
        if isinstance(e, DepthDiff):
            acc.add(e)
    first = acc.flush(T0)
    assert first is not None
    assert dec.decode(orjson.dumps(first.payload("usdm"))) == MdKind.DEPTH
    sync.on_diff(dec.depth)
    assert dec.decode_snapshot(orjson.dumps(env.ex.depth({"symbol": S, "limit": "1000"}))) == (
        MdKind.SNAPSHOT
    )
    sync.on_snapshot(dec.depth)
    env.md.clear()
    env.order(side="BUY", type="MARKET", quantity="1.200")
    env.rest(OrdSide.BUY, "60500.0", "0.1")
    for e in env.md:
        if isinstance(e, DepthDiff):
            acc.add(e)
    second = acc.flush(T0 + 250)
    assert second is not None and second.prev_id == first.last_id
    assert dec.decode(orjson.dumps(second.payload("usdm"))) == MdKind.DEPTH
    sync.on_diff(dec.depth)
    assert sync.is_live
    bids, asks = env.ex.engine_depth(S, 1000)
    bpx, bq = sync.book.top_n(0, 1000)
    apx, aq = sync.book.top_n(1, 1000)
    assert list(zip(bpx.tolist(), bq.tolist(), strict=True)) == bids
    assert list(zip(apx.tolist(), aq.tolist(), strict=True)) == asks
