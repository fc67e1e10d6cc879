"""Order building (local checks, decimal text) and order answers (docs examples) for Binance."""

import dataclasses
from pathlib import Path
from typing import Any

import orjson
import pytest

from veloz.errors import ConfigError
from veloz.errors import OrderRejected
from veloz.errors import WireError
from veloz.model.events import OrderStatus
from veloz.model.instrument import Instrument
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.orders import CLIENT_ORDER_ID_RE
from veloz.venues.binance.orders import ClientOrderIds
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.orders import decimal_text
from veloz.venues.binance.orders import new_order_params
from veloz.venues.binance.orders import order_status
from veloz.venues.binance.orders import order_update_from_answer

E8 = 10**8


def _inst(venue: str, tick: int, step: int, min_notional: int) -> Instrument:
    # BTCUSDT-like at dp 8: tick and step raws at 1e-8, min notional raw at 1e-16.
    return Instrument(
        venue=venue,
        symbol="BTCUSDT",
        base="BTC",
        quote="USDT",
        status="TRADING",
        price_dp=8,
        qty_dp=8,
        tick_raw=tick,
        step_raw=step,
        min_px_raw=tick,
        max_px_raw=1_000_000 * E8,
        min_qty_raw=step,
        max_qty_raw=9000 * E8,
        min_notional_raw=min_notional * E8 * E8,
    )


SPOT = _inst("binance-spot", tick=E8 // 100, step=E8 // 100_000, min_notional=5)  # 0.01, 0.00001
USDM = _inst("binance-usdm", tick=E8 // 10, step=E8 // 1000, min_notional=100)  # 0.1, 0.001
PX = 60_000 * E8 + E8 // 10  # 60000.1
QTY = E8 // 100  # 0.01


def _rejected(req: OrderRequest, inst: Instrument, is_usdm: bool) -> OrderRejected:
    with pytest.raises(OrderRejected) as info:
        new_order_params(req, inst, is_usdm)
    assert info.value.by == "local" and info.value.code == 0
    return info.value


# ---- new_order_params ---------------------------------------------------------------------


def test_new_order_params_spot_limit_exact_text_and_result_resp_type() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTC", "vz-1")
    assert new_order_params(req, SPOT, is_usdm=False) == [
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.01"),
        ("price", "60000.1"),
        ("newClientOrderId", "vz-1"),
        ("newOrderRespType", "RESULT"),
    ]


def test_new_order_params_decimals_never_exceed_tick_and_step() -> None:
    # USD-M BTCUSDT accepts 2 price and 3 quantity decimals: never send dp-8 text.
    req = OrderRequest("BTCUSDT", "SELL", "LIMIT", 1_234 * E8 // 1000, PX, "GTC")
    params = dict(new_order_params(req, USDM, is_usdm=True))
    assert (params["price"], params["quantity"]) == ("60000.1", "1.234")


def test_new_order_params_usdm_gtx_reduce_only() -> None:
    req = OrderRequest("BTCUSDT", "SELL", "LIMIT", QTY, PX, "GTX", reduce_only=True)
    params = new_order_params(req, USDM, is_usdm=True)
    assert ("timeInForce", "GTX") in params and ("reduceOnly", "true") in params
    assert "newClientOrderId" not in dict(params)


def test_new_order_params_market_has_no_price_and_no_tif() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "MARKET", QTY)
    params = dict(new_order_params(req, SPOT, is_usdm=False))
    assert params == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "MARKET",
        "quantity": "0.01",
        "newOrderRespType": "RESULT",
    }


def test_new_order_params_spot_limit_maker_has_no_tif() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "LIMIT_MAKER", QTY, PX, "IOC")
    params = dict(new_order_params(req, SPOT, is_usdm=False))
    assert params["type"] == "LIMIT_MAKER" and "timeInForce" not in params


def test_new_order_params_off_tick_price_rejected_locally_with_reason() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "LIMIT", QTY, PX + E8 // 1000)  # 60000.101
    err = _rejected(req, SPOT, is_usdm=False)
    assert "not a multiple of tick" in err.reason and "60000.101" in err.reason


def test_new_order_params_below_min_notional_rejected_locally() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "LIMIT", E8 // 100_000, PX)  # 0.00001 x 60000 = 0.6
    assert "notional" in _rejected(req, SPOT, is_usdm=False).reason


def test_new_order_params_market_off_step_qty_rejected_locally() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "MARKET", QTY + 1)
    assert "step" in _rejected(req, SPOT, is_usdm=False).reason


def test_new_order_params_market_with_price_rejected() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "MARKET", QTY, PX)
    assert "no price" in _rejected(req, SPOT, is_usdm=False).reason


def test_new_order_params_limit_maker_on_usdm_rejected_with_hint() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "LIMIT_MAKER", QTY, PX)
    assert "GTX" in _rejected(req, USDM, is_usdm=True).reason


def test_new_order_params_gtx_on_spot_rejected_with_hint() -> None:
    req = OrderRequest("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTX")
    assert "LIMIT_MAKER" in _rejected(req, SPOT, is_usdm=False).reason


def test_new_order_params_reduce_only_on_spot_rejected() -> None:
    req = OrderRequest("BTCUSDT", "SELL", "LIMIT", QTY, PX, reduce_only=True)
    assert "reduce_only" in _rejected(req, SPOT, is_usdm=False).reason


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"symbol": "ETHUSDT"}, "instrument"),
        ({"side": "buy"}, "side"),
        ({"order_type": "STOP_LOSS"}, "order type"),
        ({"client_order_id": "has space"}, "client order id"),
        ({"client_order_id": "x" * 37}, "client order id"),
        ({"tif": "GTD"}, "time in force"),
    ],
)
def test_new_order_params_bad_field_rejected_naming_it(change: dict[str, Any], word: str) -> None:
    req = dataclasses.replace(OrderRequest("BTCUSDT", "BUY", "LIMIT", QTY, PX), **change)
    assert word in _rejected(req, SPOT, is_usdm=False).reason


def test_new_order_params_symbol_not_trading_rejected() -> None:
    halted = dataclasses.replace(SPOT, status="BREAK")
    req = OrderRequest("BTCUSDT", "BUY", "LIMIT", QTY, PX)
    assert "BREAK" in _rejected(req, halted, is_usdm=False).reason


@pytest.mark.parametrize(
    ("raw", "dp", "text"),
    [
        (120_000_000, 8, "1.2"),
        (123_456_789, 8, "1.23456789"),
        (5, 0, "5"),
        (500, 0, "500"),
        (6_000_000 * E8, 8, "6000000"),
        (1, 8, "0.00000001"),
    ],
)
def test_decimal_text_shortest_exact_text(raw: int, dp: int, text: str) -> None:
    assert decimal_text(raw, dp) == text


# ---- client order ids ---------------------------------------------------------------------


def test_client_order_ids_unique_and_match_binance_rule() -> None:
    a, b = ClientOrderIds(), ClientOrderIds("strat_1")
    ids = [a.next() for _ in range(2000)] + [b.next() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(CLIENT_ORDER_ID_RE.fullmatch(i) for i in ids)


def test_client_order_ids_same_prefix_two_generators_never_collide() -> None:
    a, b = ClientOrderIds("vz"), ClientOrderIds("vz")
    assert {a.next() for _ in range(100)}.isdisjoint({b.next() for _ in range(100)})


def test_client_order_ids_longest_prefix_stays_within_36() -> None:
    ids = ClientOrderIds("p" * 12)
    ids._n = 2**64  # a very long run
    assert len(ids.next()) <= 36


@pytest.mark.parametrize("prefix", ["", "p" * 13, "a-b", "a b", "é"])
def test_client_order_ids_bad_prefix_raises_config_error(prefix: str) -> None:
    with pytest.raises(ConfigError, match="prefix"):
        ClientOrderIds(prefix)


# ---- order status and answers -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("NEW", OrderStatus.NEW),
        ("PENDING_NEW", OrderStatus.NEW),
        ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED),
        ("FILLED", OrderStatus.FILLED),
        ("CANCELED", OrderStatus.CANCELED),
        ("PENDING_CANCEL", OrderStatus.NEW),
        ("REJECTED", OrderStatus.REJECTED),
        ("EXPIRED", OrderStatus.EXPIRED),
        ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED),
    ],
)
def test_order_status_maps_every_documented_status(text: str, status: OrderStatus) -> None:
    assert order_status(text) is status


def test_order_status_unknown_raises_wire_error() -> None:
    with pytest.raises(WireError, match="CANCELLED"):
        order_status("CANCELLED")


def _doc(fixtures_dir: Path, name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((fixtures_dir / "binance" / name).read_bytes())
    return doc


def _fixture_inst(fixtures_dir: Path, name: str, venue: str) -> Instrument:
    info = orjson.loads((fixtures_dir / "binance" / name).read_bytes())
    return instruments_from_exchange_info(info, venue)["BTCUSDT"]


@pytest.fixture(scope="module")
def spot_btc(fixtures_dir: Path) -> Instrument:
    return _fixture_inst(
        fixtures_dir, "spot/exchangeInfo_rest_v3_2021-10-11_TRIMMED_6_symbols.json", "binance-spot"
    )


@pytest.fixture(scope="module")
def usdm_btc(fixtures_dir: Path) -> Instrument:
    return _fixture_inst(
        fixtures_dir,
        "futures_usdm/exchangeInfo_fapi_v1_2021-07-22_TRIMMED_6_symbols.json",
        "binance-usdm",
    )


def test_answer_spot_ack_docs_example_is_new_with_ids(
    fixtures_dir: Path, spot_btc: Instrument
) -> None:
    doc = _doc(fixtures_dir, "spot/docs_examples/rest_new_order_response_ACK.json")
    u = order_update_from_answer(doc, spot_btc, "binance-spot", recv_ns=7)
    assert (u.symbol, u.order_id, u.client_order_id) == ("BTCUSDT", 28, "6gCrw2kRUAF9CvJDGP16IP")
    assert (u.status, u.exec_type, u.qty, u.px) == (OrderStatus.NEW, "NEW", 0, 0)
    assert (u.exch_ns, u.recv_ns) == (1507725176595 * 1_000_000, 7)


@pytest.mark.parametrize("kind", ["RESULT", "FULL"])
def test_answer_spot_result_and_full_docs_examples_filled_market_sell(
    fixtures_dir: Path, spot_btc: Instrument, kind: str
) -> None:
    doc = _doc(fixtures_dir, f"spot/docs_examples/rest_new_order_response_{kind}.json")
    u = order_update_from_answer(doc, spot_btc, "binance-spot", recv_ns=1)
    assert (u.status, u.exec_type, u.side, u.order_type) == (
        OrderStatus.FILLED,
        "TRADE",
        "SELL",
        "MARKET",
    )
    assert (u.px, u.qty, u.filled_qty) == (0, 10 * E8, 10 * E8)
    assert (u.tif, u.order_id, u.venue) == ("GTC", 28, "binance-spot")


def test_answer_spot_cancel_docs_example_uses_orig_client_order_id(fixtures_dir: Path) -> None:
    ltcbtc = dataclasses.replace(SPOT, symbol="LTCBTC", base="LTC", quote="BTC", tick_raw=1)
    doc = _doc(fixtures_dir, "spot/docs_examples/rest_cancel_order_response.json")
    u = order_update_from_answer(doc, ltcbtc, "binance-spot", recv_ns=1)
    assert (u.client_order_id, u.order_id) == ("myOrder1", 4)
    assert (u.status, u.exec_type) == (OrderStatus.CANCELED, "CANCELED")
    assert (u.px, u.qty, u.filled_qty) == (2 * E8, E8, 0)
    assert u.exch_ns == 1684804350068 * 1_000_000


def test_answer_usdm_new_order_docs_example(fixtures_dir: Path, usdm_btc: Instrument) -> None:
    doc = _doc(fixtures_dir, "futures_usdm/docs_examples/rest_new_order_response.json")
    u = order_update_from_answer(doc, usdm_btc, "binance-usdm", recv_ns=1)
    assert (u.client_order_id, u.order_id, u.status) == ("testOrder", 22542179, OrderStatus.NEW)
    assert (u.order_type, u.tif, u.side) == ("TRAILING_STOP_MARKET", "GTD", "BUY")
    assert (u.qty, u.filled_qty, u.px) == (10 * E8, 0, 0)
    assert u.exch_ns == 1566818724722 * 1_000_000


def test_answer_usdm_cancel_docs_example(fixtures_dir: Path, usdm_btc: Instrument) -> None:
    doc = _doc(fixtures_dir, "futures_usdm/docs_examples/rest_cancel_order_response.json")
    u = order_update_from_answer(doc, usdm_btc, "binance-usdm", recv_ns=1)
    assert (u.client_order_id, u.status, u.qty) == ("myOrder1", OrderStatus.CANCELED, 11 * E8)


def test_answer_wsapi_result_docs_example(fixtures_dir: Path, spot_btc: Instrument) -> None:
    doc = _doc(fixtures_dir, "spot/docs_examples/wsapi_order_place_response_success.json")
    u = order_update_from_answer(doc["result"], spot_btc, "binance-spot", recv_ns=1)
    assert (u.status, u.px, u.qty) == (OrderStatus.NEW, E8 // 10, 10 * E8)


def test_answer_expired_in_match_maps_to_expired_with_reason(spot_btc: Instrument) -> None:
    doc = _result(status="EXPIRED_IN_MATCH", expiryReason="STP")
    u = order_update_from_answer(doc, spot_btc, "binance-spot", recv_ns=1)
    assert (u.status, u.exec_type, u.reason) == (OrderStatus.EXPIRED, "EXPIRED", "STP")


def _result(**change: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "symbol": "BTCUSDT",
        "orderId": 5,
        "clientOrderId": "vz-1",
        "transactTime": 1,
        "price": "60000.10000000",
        "origQty": "0.01000000",
        "executedQty": "0.00000000",
        "status": "NEW",
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
    }
    return {**base, **change}


@pytest.mark.parametrize(
    ("doc", "word"),
    [
        ({k: v for k, v in _result().items() if k != "orderId"}, "orderId"),
        ({k: v for k, v in _result().items() if k != "side"}, "side"),
        (_result(price="60000.1x"), "price"),
        (_result(origQty=1), "origQty"),
        (_result(symbol="ETHUSDT"), "ETHUSDT"),
        (_result(status="GONE"), "GONE"),
        (_result(orderId="5"), "orderId"),
    ],
)
def test_answer_bad_field_raises_wire_error_naming_it(
    spot_btc: Instrument, doc: dict[str, Any], word: str
) -> None:
    with pytest.raises(WireError, match=word):
        order_update_from_answer(doc, spot_btc, "binance-spot", recv_ns=1)


def test_answer_not_an_object_raises_wire_error(spot_btc: Instrument) -> None:
    with pytest.raises(WireError, match="not an object"):
        order_update_from_answer([1], spot_btc, "binance-spot", recv_ns=1)  # type: ignore[arg-type]
