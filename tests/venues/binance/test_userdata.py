"""User-data parsers against the docs' examples and real captures, and every bad-input class.

Spot events come wrapped (``{"subscriptionId", "event"}``, WS-API subscription) or as
nautilus captures (``{"stream", "data"}``); USD-M events are the listenKey stream's bare
objects. Instruments are built at Binance's 8/8 scales, so a raw is the text times 1e8.
"""

import asyncio
import copy
import logging
from collections.abc import Awaitable
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.sim_load import run_async
from tests.venues.binance.test_wsapi import serve
from veloz.errors import VenueError
from veloz.errors import WireError
from veloz.model.events import BalanceUpdate
from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.events import PositionUpdate
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import SPOT as SPOT_EP
from veloz.venues.binance.endpoints import USDM as USDM_EP
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.userdata import RESTART_EVENTS
from veloz.venues.binance.userdata import SPOT_EVENTS
from veloz.venues.binance.userdata import USDM_EVENTS
from veloz.venues.binance.userdata import SpotUserData
from veloz.venues.binance.userdata import UsdmUserData
from veloz.venues.binance.userdata import UserDataCounters
from veloz.venues.binance.userdata import _Dispatch
from veloz.venues.binance.userdata import parse_spot_event
from veloz.venues.binance.userdata import parse_usdm_event
from veloz.venues.binance.userdata import restart_reason
from veloz.venues.binance.wsapi import WsApiClient

SPOT = "binance-spot"
USDM = "binance-usdm"
RECV = 123_456_789
MS = 1_000_000
E8 = 100_000_000


def _inst(venue: str, symbol: str, base: str, quote: str) -> Instrument:
    return Instrument(
        venue=venue,
        symbol=symbol,
        base=base,
        quote=quote,
        status="TRADING",
        price_dp=8,
        qty_dp=8,
        tick_raw=1,
        step_raw=1,
        min_px_raw=0,
        max_px_raw=0,
        min_qty_raw=0,
        max_qty_raw=0,
        min_notional_raw=0,
    )


SPOT_INSTS = {
    "ETHBTC": _inst(SPOT, "ETHBTC", "ETH", "BTC"),
    "BTCUSD": _inst(SPOT, "BTCUSD", "BTC", "USD"),
    "ETHUSDT": _inst(SPOT, "ETHUSDT", "ETH", "USDT"),
}
USDM_INSTS = {
    "BTCUSDT": _inst(USDM, "BTCUSDT", "BTC", "USDT"),
    "ETHUSDT": _inst(USDM, "ETHUSDT", "ETH", "USDT"),
}

SPOT_DOCS = "binance/spot/docs_examples"
USDM_DOCS = "binance/futures_usdm/docs_examples"


def _load(fixtures_dir: Path, rel: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((fixtures_dir / rel).read_bytes())
    if "subscriptionId" in doc:
        inner: dict[str, Any] = doc["event"]  # WS-API subscription frame
        return inner
    if "stream" in doc and "data" in doc:
        data: dict[str, Any] = doc["data"]  # nautilus capture wrapper
        return data
    return doc


def _spot(event: dict[str, Any]) -> list[ExecEvent]:
    return parse_spot_event(event, SPOT_INSTS, RECV)


def _usdm(event: dict[str, Any]) -> list[ExecEvent]:
    return parse_usdm_event(event, USDM_INSTS, RECV)


# ---- spot: docs examples and captures -----------------------------------------------------


def test_spot_execution_report_new_gives_one_exact_order_update(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_executionReport_wrapped.json")
    assert _spot(ev) == [
        OrderUpdate(
            venue=SPOT,
            symbol="ETHBTC",
            client_order_id="mUvoqJxFIILMdfAW5iGSOW",
            order_id=4293153,
            side="BUY",
            order_type="LIMIT",
            tif="GTC",
            status=OrderStatus.NEW,
            exec_type="NEW",
            px=10_264_410,
            qty=1 * E8,
            filled_qty=0,
            reason="",
            exch_ns=1499405658657 * MS,
            recv_ns=RECV,
        )
    ]


def test_spot_execution_report_trade_gives_update_and_fill_with_exact_fee(
    fixtures_dir: Path,
) -> None:
    ev = _load(fixtures_dir, "binance/spot/executionReport_TRADE_FILLED_BINANCE_US_nautilus.json")
    update, fill = _spot(ev)
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.exec_type, update.filled_qty) == (
        OrderStatus.FILLED,
        "TRADE",
        42_000,
    )
    assert (update.px, update.qty, update.side) == (117290_77000000, 42_000, "SELL")
    assert fill == Fill(
        venue=SPOT,
        symbol="BTCUSD",
        client_order_id="T0ESHzso0banw0QiPFZYgj",
        order_id=2281896601,
        trade_id=88685053,
        side="SELL",
        px=117290_77000000,
        qty=42_000,
        fee=492_621,
        fee_asset="USD",
        is_maker=False,
        realized_pnl=0,
        exch_ns=1759347763167 * MS,
        recv_ns=RECV,
    )


def test_spot_trade_prevention_is_expired_without_fill_and_keeps_reason(
    fixtures_dir: Path,
) -> None:
    ev = _load(
        fixtures_dir, "binance/spot/executionReport_TRADE_PREVENTION_SYNTHETIC_nautilus.json"
    )
    (update,) = _spot(ev)
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.EXPIRED  # EXPIRED_IN_MATCH
    assert update.exec_type == "TRADE_PREVENTION"
    assert update.reason == "SELF_TRADE_PREVENTION"
    assert update.filled_qty == 0


def test_spot_cancel_report_names_the_canceled_order_not_the_cancel_request(
    fixtures_dir: Path,
) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_executionReport_wrapped.json")
    ev |= {"x": "CANCELED", "X": "CANCELED", "c": "cancel-req-1", "C": "mUvoqJxFIILMdfAW5iGSOW"}
    (update,) = _spot(ev)
    assert isinstance(update, OrderUpdate)
    assert (update.client_order_id, update.status) == ("mUvoqJxFIILMdfAW5iGSOW", "CANCELED")


def test_spot_expiry_reason_er_is_kept_when_r_is_none(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_executionReport_wrapped.json")
    ev |= {"x": "EXPIRED", "X": "EXPIRED", "eR": "UNFILLED_IOC_QUANTITY_EXPIRED"}
    (update,) = _spot(ev)
    assert isinstance(update, OrderUpdate)
    assert update.reason == "UNFILLED_IOC_QUANTITY_EXPIRED"


def test_spot_trade_with_null_fee_asset_gives_empty_fee_asset(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_executionReport_wrapped.json")
    ev |= {"x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.5", "L": "0.1", "t": 7, "n": "0"}
    _, fill = _spot(ev)
    assert isinstance(fill, Fill)
    assert (fill.fee, fill.fee_asset, fill.trade_id, fill.qty) == (0, "", 7, E8 // 2)


def test_spot_outbound_account_position_gives_absolute_balance(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_outboundAccountPosition_wrapped.json")
    assert _spot(ev) == [
        BalanceUpdate(
            venue=SPOT,
            asset="ETH",
            wallet=10000 * E8,
            available=10000 * E8,
            reason="",
            exch_ns=1564034571073 * MS,
            recv_ns=RECV,
        )
    ]


def test_spot_outbound_account_position_wallet_is_free_plus_locked(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_outboundAccountPosition_wrapped.json")
    ev["B"] = [{"a": "BTC", "f": "1.5", "l": "0.25"}, {"a": "USDT", "f": "0", "l": "10"}]
    got = [(b.asset, b.wallet, b.available) for b in _spot(ev) if isinstance(b, BalanceUpdate)]
    assert got == [("BTC", 175_000_000, 150_000_000), ("USDT", 10 * E8, 0)]


def test_spot_balance_update_delta_gives_nothing_but_is_checked(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_balanceUpdate_wrapped.json")
    assert _spot(ev) == []
    del ev["d"]
    with pytest.raises(WireError, match="'d'"):
        _spot(ev)


def test_spot_list_status_is_known_and_gives_nothing(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_listStatus_wrapped.json")
    assert ev["e"] in SPOT_EVENTS
    assert _spot(ev) == []


def test_spot_event_stream_terminated_signals_restart(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_eventStreamTerminated_wrapped.json")
    assert _spot(ev) == []
    assert restart_reason(ev) == "eventStreamTerminated"
    assert ev["e"] in SPOT_EVENTS and ev["e"] in RESTART_EVENTS


def test_spot_unknown_event_type_gives_nothing_and_is_not_known() -> None:
    ev = {"e": "somethingNew", "E": 1}
    assert _spot(ev) == []
    assert "somethingNew" not in SPOT_EVENTS
    assert restart_reason(ev) == ""


# ---- USD-M: docs examples and captures ----------------------------------------------------


def test_usdm_order_trade_update_new_gives_one_exact_order_update(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ORDER_TRADE_UPDATE.json")
    assert _usdm(ev) == [
        OrderUpdate(
            venue=USDM,
            symbol="BTCUSDT",
            client_order_id="TEST",
            order_id=8886774,
            side="SELL",
            order_type="TRAILING_STOP_MARKET",
            tif="GTC",
            status=OrderStatus.NEW,
            exec_type="NEW",
            px=0,
            qty=100_000,
            filled_qty=0,
            reason="",
            exch_ns=1568879465650 * MS,
            recv_ns=RECV,
        )
    ]


def test_usdm_liquidation_calculated_gives_fill_with_fee_and_negative_realized_pnl(
    fixtures_dir: Path,
) -> None:
    rel = "binance/futures_usdm/ORDER_TRADE_UPDATE_liquidation_CALCULATED_SYNTHETIC_nautilus.json"
    update, fill = _usdm(_load(fixtures_dir, rel))
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.exec_type, update.filled_qty) == (
        OrderStatus.FILLED,
        "CALCULATED",
        10_000_000,
    )
    assert fill == Fill(
        venue=USDM,
        symbol="BTCUSDT",
        client_order_id="autoclose-1234567890123456",
        order_id=9876543210,
        trade_id=1122334455,
        side="SELL",
        px=50000 * E8,
        qty=10_000_000,
        fee=5 * E8,
        fee_asset="USDT",
        is_maker=False,
        realized_pnl=-100 * E8,
        exch_ns=1759347763167 * MS,
        recv_ns=RECV,
    )


def test_usdm_trade_without_commission_fields_has_zero_fee(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ORDER_TRADE_UPDATE.json")
    o = ev["o"]
    o |= {"x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.0005", "L": "7100", "t": 55, "rp": "1.5"}
    del o["n"], o["N"]
    _, fill = _usdm(ev)
    assert isinstance(fill, Fill)
    assert (fill.fee, fill.fee_asset, fill.realized_pnl, fill.trade_id) == (0, "", 150_000_000, 55)


def test_usdm_expiry_reason_code_is_kept(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ORDER_TRADE_UPDATE.json")
    ev["o"] |= {"x": "EXPIRED", "X": "EXPIRED", "er": "2"}
    (update,) = _usdm(ev)
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.reason) == (OrderStatus.EXPIRED, "2")


def test_usdm_account_update_gives_balances_and_one_way_position_only(
    fixtures_dir: Path,
) -> None:
    events = _usdm(_load(fixtures_dir, f"{USDM_DOCS}/uds_ACCOUNT_UPDATE.json"))
    t = 1564745798938 * MS
    assert events == [
        BalanceUpdate(USDM, "USDT", 12262412345678, 10012345678, "ORDER", t, RECV),
        BalanceUpdate(USDM, "BUSD", 1 * E8, 0, "ORDER", t, RECV),
        PositionUpdate(USDM, "BTCUSDT", 0, 0, 0, t, RECV),  # the BOTH leg; LONG/SHORT left out
    ]


def test_usdm_account_update_short_position_has_negative_qty(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ACCOUNT_UPDATE.json")
    short = copy.deepcopy(ev["a"]["P"][2])  # the SHORT leg: pa -10, up -1423.156
    short["ps"] = "BOTH"
    ev["a"]["P"] = [short]
    (_, _, pos) = _usdm(ev)
    assert isinstance(pos, PositionUpdate)
    assert (pos.qty, pos.entry_px, pos.unrealized_pnl) == (-10 * E8, 6563_86000000, -142315600000)


def test_usdm_account_update_position_of_untracked_symbol_is_left_out(
    fixtures_dir: Path,
) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ACCOUNT_UPDATE.json")
    ev["a"]["P"] = [dict(ev["a"]["P"][0], s="DOGEUSDT")]
    assert [type(e) for e in _usdm(ev)] == [BalanceUpdate, BalanceUpdate]


def test_usdm_funding_fee_update_without_positions_gives_balances(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ACCOUNT_UPDATE.json")
    ev["a"]["m"] = "FUNDING_FEE"
    del ev["a"]["P"]
    events = _usdm(ev)
    assert [(type(e), getattr(e, "reason", "")) for e in events] == [
        (BalanceUpdate, "FUNDING_FEE"),
        (BalanceUpdate, "FUNDING_FEE"),
    ]


@pytest.mark.parametrize(
    "rel",
    [
        f"{USDM_DOCS}/uds_TRADE_LITE.json",
        "binance/futures_usdm/TRADE_LITE_ETHUSDT_nautilus_2024-09-30.json",
    ],
)
def test_usdm_trade_lite_gives_nothing_order_trade_update_carries_the_fill(
    fixtures_dir: Path, rel: str
) -> None:
    ev = _load(fixtures_dir, rel)
    assert ev["e"] in USDM_EVENTS
    assert _usdm(ev) == []


def test_usdm_listen_key_expired_signals_restart(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_listenKeyExpired.json")
    assert _usdm(ev) == []
    assert restart_reason(ev) == "listenKeyExpired"


# ---- malformed input -> WireError naming the field ----------------------------------------


@pytest.mark.parametrize("field", ["s", "c", "S", "o", "f", "q", "p", "X", "x", "i", "z", "T"])
def test_spot_execution_report_missing_field_is_wire_error_naming_it(
    fixtures_dir: Path, field: str
) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_executionReport_wrapped.json")
    del ev[field]
    with pytest.raises(WireError, match=f"executionReport: missing field '{field}'"):
        _spot(ev)


@pytest.mark.parametrize("field", ["t", "L", "l", "n", "N", "m"])
def test_spot_trade_missing_fill_field_is_wire_error_naming_it(
    fixtures_dir: Path, field: str
) -> None:
    ev = _load(fixtures_dir, "binance/spot/executionReport_TRADE_FILLED_BINANCE_US_nautilus.json")
    del ev[field]
    with pytest.raises(WireError, match=f"missing field '{field}'"):
        _spot(ev)


@pytest.mark.parametrize(
    ("field", "value", "why"),
    [
        ("i", "4293153", "must be an integer"),
        ("T", 1.5, "must be an integer"),
        ("p", 0.1, "must be a string"),
        ("p", "0.123456789", "'p'"),  # 9 decimals at price_dp 8
        ("q", "-1", "'q'"),
        ("z", "abc", "'z'"),
        ("X", "WEIRD", "unknown order status"),
        ("s", "NOPEUSDT", "unknown symbol"),
    ],
)
def test_spot_execution_report_bad_value_is_wire_error(
    fixtures_dir: Path, field: str, value: object, why: str
) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_executionReport_wrapped.json")
    ev[field] = value
    with pytest.raises(WireError, match=why):
        _spot(ev)


def test_spot_trade_with_trade_id_minus_one_is_wire_error(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, "binance/spot/executionReport_TRADE_FILLED_BINANCE_US_nautilus.json")
    ev["t"] = -1
    with pytest.raises(WireError, match="trade id -1"):
        _spot(ev)


def test_spot_account_position_bad_row_is_wire_error_naming_it(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{SPOT_DOCS}/uds_outboundAccountPosition_wrapped.json")
    ev["B"].append({"a": "BTC", "f": "1"})
    with pytest.raises(WireError, match=r"B\[1\]: missing field 'l'"):
        _spot(ev)


@pytest.mark.parametrize("event", [{}, {"e": 5}, {"E": 1}])
def test_event_without_type_is_wire_error(event: dict[str, Any]) -> None:
    with pytest.raises(WireError, match="'e'"):
        _spot(event)
    with pytest.raises(WireError, match="'e'"):
        _usdm(event)


@pytest.mark.parametrize("field", ["s", "c", "S", "o", "f", "q", "p", "x", "X", "i", "z", "T"])
def test_usdm_order_trade_update_missing_field_is_wire_error_naming_it(
    fixtures_dir: Path, field: str
) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ORDER_TRADE_UPDATE.json")
    del ev["o"][field]
    with pytest.raises(WireError, match=f"ORDER_TRADE_UPDATE.o: missing field '{field}'"):
        _usdm(ev)


@pytest.mark.parametrize("field", ["t", "L", "l", "m", "rp"])
def test_usdm_fill_missing_field_is_wire_error_naming_it(fixtures_dir: Path, field: str) -> None:
    rel = "binance/futures_usdm/ORDER_TRADE_UPDATE_liquidation_CALCULATED_SYNTHETIC_nautilus.json"
    ev = _load(fixtures_dir, rel)
    del ev["o"][field]
    with pytest.raises(WireError, match=f"missing field '{field}'"):
        _usdm(ev)


def test_usdm_order_trade_update_without_order_object_is_wire_error(fixtures_dir: Path) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ORDER_TRADE_UPDATE.json")
    ev["o"] = "x"
    with pytest.raises(WireError, match="must be an object"):
        _usdm(ev)


@pytest.mark.parametrize(
    ("where", "field"),
    [("B", "wb"), ("B", "cw"), ("B", "a"), ("P", "pa"), ("P", "ep"), ("P", "ps")],
)
def test_usdm_account_update_missing_field_is_wire_error_naming_it(
    fixtures_dir: Path, where: str, field: str
) -> None:
    ev = _load(fixtures_dir, f"{USDM_DOCS}/uds_ACCOUNT_UPDATE.json")
    del ev["a"][where][0][field]
    with pytest.raises(WireError, match=rf"{where}\[0\]: missing field '{field}'"):
        _usdm(ev)


# ---- the driver's dispatch: bad input counted, logged, and the stream goes on -------------


class _Sink:
    def __init__(self) -> None:
        self.events: list[ExecEvent] = []
        self.restarts: list[str] = []

    def on_event(self, ev: ExecEvent) -> None:
        self.events.append(ev)

    def on_restart(self, reason: str) -> None:
        self.restarts.append(reason)


def test_dispatch_malformed_event_counts_logs_and_next_event_still_delivered(
    fixtures_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sink = _Sink()
    counters = UserDataCounters()
    dispatch = _Dispatch(SPOT, SPOT_INSTS, sink, counters)
    good = _load(fixtures_dir, f"{SPOT_DOCS}/uds_executionReport_wrapped.json")
    bad = dict(good)
    del bad["i"]
    with caplog.at_level(logging.WARNING, "veloz.venues.binance.userdata"):
        dispatch(bad, RECV)
        dispatch(good, RECV)
    assert counters.n_malformed == 1
    assert "userdata_event_malformed" in caplog.text and "'i'" in caplog.text
    assert len(sink.events) == 1 and counters.n_events_out == 1


def test_dispatch_unknown_type_counts_logs_and_delivers_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = _Sink()
    counters = UserDataCounters()
    dispatch = _Dispatch(USDM, USDM_INSTS, sink, counters)
    with caplog.at_level(logging.WARNING, "veloz.venues.binance.userdata"):
        dispatch({"e": "BRAND_NEW_EVENT", "E": 1}, RECV)
        dispatch(["not", "an", "object"], RECV)
    assert (counters.n_unknown_types, counters.n_malformed, counters.n_frames) == (1, 1, 2)
    assert "userdata_unknown_event" in caplog.text and "BRAND_NEW_EVENT" in caplog.text
    assert sink.events == []


def test_dispatch_counts_left_out_hedge_legs(fixtures_dir: Path) -> None:
    sink = _Sink()
    counters = UserDataCounters()
    dispatch = _Dispatch(USDM, USDM_INSTS, sink, counters)
    dispatch(_load(fixtures_dir, f"{USDM_DOCS}/uds_ACCOUNT_UPDATE.json"), RECV)
    assert counters.n_positions_ignored == 2  # LONG and SHORT legs
    assert len(sink.events) == 3


def test_dispatch_sink_error_is_counted_and_later_events_still_delivered(
    fixtures_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Flaky(_Sink):
        def on_event(self, ev: ExecEvent) -> None:
            if not self.events and isinstance(ev, OrderUpdate):
                self.events.append(ev)
                raise RuntimeError("sink bug")
            self.events.append(ev)

    sink = Flaky()
    counters = UserDataCounters()
    dispatch = _Dispatch(SPOT, SPOT_INSTS, sink, counters)
    ev = _load(fixtures_dir, "binance/spot/executionReport_TRADE_FILLED_BINANCE_US_nautilus.json")
    with caplog.at_level(logging.ERROR, "veloz.venues.binance.userdata"):
        dispatch(ev, RECV)
    assert counters.n_sink_errors == 1 and "userdata_sink_error" in caplog.text
    assert [type(e) for e in sink.events] == [OrderUpdate, Fill]


# ---- UsdmUserData against a scripted /private server and a fake REST client ---------------


class _KeyRest:
    """USER_STREAM requests answered locally: POST gives key-1, key-2, ...; PUT may fail."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.n_keys = 0
        self.put_error: VenueError | None = None
        self.put_seen = asyncio.Event()

    async def send_keyed(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        *,
        weight: int = 1,
    ) -> Any:
        self.calls.append(method)
        if method == "POST":
            self.n_keys += 1
            return {"listenKey": f"key-{self.n_keys}"}
        self.put_seen.set()
        if self.put_error is not None:
            raise self.put_error
        return {"listenKey": f"key-{self.n_keys}"}


class _PrivateServer:
    """``/private/ws/{key}``: records which key each connection used, pushes frames."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.conns: list[web.WebSocketResponse] = []
        self.opened = asyncio.Event()

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.keys.append(request.match_info["key"])
        self.conns.append(ws)
        self.opened.set()
        async for _ in ws:
            pass
        return ws


class _WaitSink(_Sink):
    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def on_event(self, ev: ExecEvent) -> None:
        super().on_event(ev)
        self.changed.set()

    def on_restart(self, reason: str) -> None:
        super().on_restart(reason)
        self.changed.set()

    async def wait(self, pred: Callable[[], bool]) -> None:
        async with asyncio.timeout(5.0):
            while not pred():
                self.changed.clear()
                await self.changed.wait()


async def _usdm_driver(
    scenario: Callable[[_PrivateServer, _KeyRest, _WaitSink, UsdmUserData], Awaitable[None]],
    keepalive_s: float = 1800.0,
    put_error: VenueError | None = None,
) -> None:
    server = _PrivateServer()
    app = web.Application()
    app.router.add_get("/private/ws/{key}", server.handler)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    ep = USDM_EP.at_base(f"http://127.0.0.1:{port}")
    rest, sink = _KeyRest(), _WaitSink()
    rest.put_error = put_error
    uds = UsdmUserData(rest, ep, USDM_INSTS, sink, keepalive_s=keepalive_s)
    try:
        await uds.start()
        await scenario(server, rest, sink, uds)
    finally:
        await uds.stop()
        await runner.cleanup()


def test_usdm_driver_listen_key_expired_gets_new_key_reconnects_and_tells_sink(
    fixtures_dir: Path,
) -> None:
    expired = _load(fixtures_dir, f"{USDM_DOCS}/uds_listenKeyExpired.json")
    fill = _load(
        fixtures_dir,
        "binance/futures_usdm/ORDER_TRADE_UPDATE_liquidation_CALCULATED_SYNTHETIC_nautilus.json",
    )

    async def scenario(
        server: _PrivateServer, rest: _KeyRest, sink: _WaitSink, uds: UsdmUserData
    ) -> None:
        assert server.keys == ["key-1"]
        await server.conns[0].send_str(orjson.dumps(expired | {"listenKey": "key-1"}).decode())
        await sink.wait(lambda: sink.restarts == ["listenKeyExpired"])
        assert server.keys == ["key-1", "key-2"] and rest.calls == ["POST", "POST"]
        await server.conns[1].send_str(orjson.dumps(fill).decode())
        await sink.wait(lambda: len(sink.events) == 2)
        assert uds.is_connected and uds.counters.n_connects == 2

    run_async(_usdm_driver(scenario))


def test_usdm_driver_keepalive_minus_1125_gets_new_key_and_reconnects() -> None:
    async def scenario(
        server: _PrivateServer, rest: _KeyRest, sink: _WaitSink, uds: UsdmUserData
    ) -> None:
        await sink.wait(lambda: sink.restarts == ["listenKey -1125"])
        assert server.keys[:2] == ["key-1", "key-2"]
        assert rest.calls.index("POST", 1) > rest.calls.index("PUT")  # new key after the -1125
        assert uds.counters.n_keepalive_errors >= 1

    gone = VenueError(-1125, "This listenKey does not exist.", retryable=False)
    run_async(_usdm_driver(scenario, keepalive_s=0.05, put_error=gone))


def test_usdm_driver_malformed_frame_is_counted_and_stream_goes_on(
    fixtures_dir: Path,
) -> None:
    fill = _load(
        fixtures_dir,
        "binance/futures_usdm/ORDER_TRADE_UPDATE_liquidation_CALCULATED_SYNTHETIC_nautilus.json",
    )

    async def scenario(
        server: _PrivateServer, rest: _KeyRest, sink: _WaitSink, uds: UsdmUserData
    ) -> None:
        await server.conns[0].send_str('{"e":"ORDER_TRADE_UPDATE","E":17')
        await server.conns[0].send_str(orjson.dumps(fill).decode())
        await sink.wait(lambda: len(sink.events) == 2)
        assert uds.counters.n_malformed == 1 and sink.restarts == []

    run_async(_usdm_driver(scenario))


# ---- SpotUserData against the scripted WS-API server of test_wsapi ------------------------


def _spot_subscribe(
    signer: Any, scenario: Callable[[Any, WsApiClient, SpotUserData, _WaitSink], Awaitable[None]]
) -> None:
    async def main() -> None:
        async with serve() as (api, url):
            ws = WsApiClient(SPOT_EP.with_urls(ws_api_url=url), signer)
            sink = _WaitSink()
            uds = SpotUserData(ws, signer, SPOT_INSTS, sink)
            try:
                await uds.start()
                await scenario(api, ws, uds, sink)
            finally:
                await uds.stop()
                await ws.close()

    run_async(main())


def test_spot_driver_hmac_key_subscribes_with_signature() -> None:
    async def scenario(api: Any, ws: WsApiClient, uds: SpotUserData, sink: _WaitSink) -> None:
        assert api.methods() == ["ping", "userDataStream.subscribe.signature"]
        params = api.frames[-1][1]["params"]
        assert set(params) == {"apiKey", "timestamp", "signature"}
        assert isinstance(params["timestamp"], int) and params["apiKey"] == "k" * 64

    _spot_subscribe(HmacSigner("k" * 64, "s" * 64), scenario)


def test_spot_driver_ed25519_key_logs_on_and_subscribes_without_signature() -> None:
    async def scenario(api: Any, ws: WsApiClient, uds: SpotUserData, sink: _WaitSink) -> None:
        assert api.methods() == ["ping", "session.logon", "userDataStream.subscribe"]
        assert "params" not in api.frames[-1][1]

    key = Ed25519PrivateKey.generate().private_bytes_raw()
    _spot_subscribe(Ed25519Signer("k" * 64, key), scenario)


def test_spot_driver_event_stream_terminated_resubscribes_and_tells_sink(
    fixtures_dir: Path,
) -> None:
    terminated = orjson.loads(
        (fixtures_dir / SPOT_DOCS / "uds_eventStreamTerminated_wrapped.json").read_bytes()
    )
    report = orjson.loads(
        (fixtures_dir / SPOT_DOCS / "uds_executionReport_wrapped.json").read_bytes()
    )

    async def scenario(api: Any, ws: WsApiClient, uds: SpotUserData, sink: _WaitSink) -> None:
        await api.push(0, terminated)
        await sink.wait(lambda: sink.restarts == ["eventStreamTerminated"])
        assert api.methods().count("userDataStream.subscribe.signature") == 2
        await api.push(0, report)
        await sink.wait(lambda: len(sink.events) == 1)
        assert uds.counters.n_subscribes == 2

    _spot_subscribe(HmacSigner("k" * 64, "s" * 64), scenario)
