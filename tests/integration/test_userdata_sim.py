"""User-data drivers against a `veloz sim` process: spot over the WS API, USD-M by listenKey.

Spot: a market order placed over the WS API fills against the sim's book; the subscription
delivers NEW..FILLED order updates, one Fill per trade with the fee the order answer states,
and balances that move by exactly the fills. USD-M: a fill arrives as a Fill and a signed
PositionUpdate; the keepalive PUT runs; a ``drop`` fault restarts each stream, the sink is
told, and later events still arrive. Every wait is on a sink condition with a timeout.
"""

import asyncio
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from bench.sim_load import SimProc
from bench.sim_load import run_async
from tests.integration.uds_sink import Sink
from veloz._core import fixed
from veloz.model.events import ASSET_DP
from veloz.model.events import BalanceUpdate
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.events import PositionUpdate
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import SPOT
from veloz.venues.binance.endpoints import USDM
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.userdata import SpotUserData
from veloz.venues.binance.userdata import UsdmUserData
from veloz.venues.binance.wsapi import WsApiClient

pytestmark = pytest.mark.integration

WAIT_S = 5.0
SYMBOL = "BTCUSDT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(None, seed=3, venue="both", symbols=SYMBOL, start_timeout_s=30) as proc:
        assert proc.rest.startswith("http://127.0.0.1:"), proc.urls
        assert proc.key, proc.stdout
        yield proc


async def _rest(sim: SimProc, ep: Endpoints) -> tuple[RestClient, dict[str, Instrument]]:
    rest = RestClient(ep, HmacSigner(sim.key, sim.secret.decode()))
    await rest.start()
    weight = 1 if ep.is_usdm else 20
    info = await rest.get_public(ep.exchange_info_path, weight=weight)
    return rest, instruments_from_exchange_info(info, ep.venue)


async def _drop_all(sim: SimProc) -> None:
    body = {"fault": "drop"}
    async with aiohttp.ClientSession() as http, http.post(f"{sim.admin}/faults", json=body) as r:
        assert r.status == 200, await r.text()


# ---- spot over the WS API --------------------------------------------------------------------


def test_spot_wsapi_market_buy_gives_updates_fills_with_exact_fee_and_balances(
    sim: SimProc,
) -> None:
    run_async(_spot_fill(sim))


async def _spot_fill(sim: SimProc) -> None:
    ep = SPOT.at_base(sim.rest)
    rest, insts = await _rest(sim, ep)
    inst = insts[SYMBOL]
    assert inst.qty_dp == ASSET_DP  # fees in BTC compare raw to raw
    signer = HmacSigner(sim.key, sim.secret.decode())
    ws = WsApiClient(ep, signer, limits=rest.limits, clock_ms=rest.now_ms)
    sink = Sink()
    uds = SpotUserData(ws, signer, insts, sink)
    try:
        account = await rest.send_signed("GET", ep.account_path, [], weight=20)
        before = {
            b["asset"]: fixed.parse(b["free"], ASSET_DP) + fixed.parse(b["locked"], ASSET_DP)
            for b in account["balances"]
        }
        await uds.start()
        assert uds.subscription_id is not None
        order = {"symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": "0.001"}
        order["newClientOrderId"] = "uds-it-buy-1"
        answer = await ws.request("order.place", order, signed=True, is_order=True)
        oid = answer["orderId"]
        assert answer["status"] == "FILLED" and answer["fills"], answer

        await sink.wait(
            "FILLED update", lambda: bool(sink.of(OrderUpdate, order_id=oid, status="FILLED"))
        )
        updates = sink.of(OrderUpdate, order_id=oid)
        assert updates[0].status is OrderStatus.NEW and updates[0].exec_type == "NEW"
        assert updates[-1].filled_qty == updates[-1].qty == inst.qty("0.001")
        assert {u.client_order_id for u in updates} == {"uds-it-buy-1"}

        fills = sink.of(Fill, order_id=oid)
        stated = {
            f["tradeId"]: (fixed.parse(f["commission"], ASSET_DP), f["commissionAsset"])
            for f in answer["fills"]
        }
        assert {f.trade_id: (f.fee, f.fee_asset) for f in fills} == stated
        assert all(f.fee == f.qty // 1000 and not f.is_maker for f in fills)  # 0.1 % taker
        assert sum(f.qty for f in fills) == inst.qty("0.001")

        got = sum(f.qty - f.fee for f in fills)
        cost = sum(-(-(f.px * f.qty) // 10**inst.price_dp) for f in fills)  # rounded up
        want = {"BTC": before["BTC"] + got, "USDT": before["USDT"] - cost}

        def balances() -> dict[str, int]:
            return {b.asset: b.wallet for b in sink.of(BalanceUpdate)}

        await sink.wait("balances after the fills", lambda: balances() == want)
        assert sink.restarts == []
    finally:
        await uds.stop()
        await ws.close()
        await rest.close()


def test_spot_drop_resubscribes_tells_sink_and_later_fills_arrive(sim: SimProc) -> None:
    run_async(_spot_drop(sim))


async def _spot_drop(sim: SimProc) -> None:
    ep = SPOT.at_base(sim.rest)
    rest, insts = await _rest(sim, ep)
    signer = HmacSigner(sim.key, sim.secret.decode())
    ws = WsApiClient(ep, signer, clock_ms=rest.now_ms)
    sink = Sink()
    uds = SpotUserData(ws, signer, insts, sink)
    try:
        await uds.start()
        first = uds.subscription_id
        await _drop_all(sim)
        await sink.wait("restart", lambda: sink.restarts == ["reconnect"])
        assert ws.counters.n_disconnects == 1 and uds.subscription_id is not None
        assert first is not None and uds.counters.n_subscribes == 2

        order = {"symbol": SYMBOL, "side": "SELL", "type": "MARKET", "quantity": "0.001"}
        answer = await ws.request("order.place", order, signed=True, is_order=True)
        oid = answer["orderId"]
        await sink.wait("fill after the drop", lambda: bool(sink.of(Fill, order_id=oid)))
        await sink.wait(
            "FILLED after the drop",
            lambda: bool(sink.of(OrderUpdate, order_id=oid, status="FILLED")),
        )
    finally:
        await uds.stop()
        await ws.close()
        await rest.close()


# ---- USD-M by listenKey ----------------------------------------------------------------------


class SpyRest(RestClient):
    """A RestClient that records its USER_STREAM calls and signals each keepalive PUT."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.keyed: list[tuple[str, str]] = []
        self.put_done = asyncio.Event()

    async def send_keyed(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        *,
        weight: int = 1,
    ) -> Any:
        result = await super().send_keyed(method, path, params, weight=weight)
        self.keyed.append((method, path))
        if method == "PUT":
            self.put_done.set()
        return result


def test_usdm_listen_key_stream_fill_position_keepalive_and_drop(sim: SimProc) -> None:
    run_async(_usdm(sim))


async def _position(rest: RestClient, inst: Instrument) -> int:
    rows = await rest.send_signed("GET", "/fapi/v2/positionRisk", [("symbol", SYMBOL)], weight=5)
    return sum(fixed.parse(r["positionAmt"], inst.qty_dp, True) for r in rows)


async def _usdm(sim: SimProc) -> None:
    ep = USDM.at_base(sim.rest)
    rest = SpyRest(ep, HmacSigner(sim.key, sim.secret.decode()))
    await rest.start()
    insts = instruments_from_exchange_info(
        await rest.get_public(ep.exchange_info_path, weight=1), ep.venue
    )
    inst = insts[SYMBOL]
    sink = Sink()
    uds = UsdmUserData(rest, ep, insts, sink, keepalive_s=0.3)
    try:
        start_qty = await _position(rest, inst)
        await uds.start()
        assert rest.keyed == [("POST", ep.listen_key_path)]

        # A market sell fills: Fill with fee, then the position goes short by the fill.
        sell = [("symbol", SYMBOL), ("side", "SELL"), ("type", "MARKET"), ("quantity", "0.005")]
        answer = await rest.send_signed("POST", ep.order_path, sell, is_order=True)
        oid = answer["orderId"]
        qty = inst.qty("0.005")
        await sink.wait("fill", lambda: sum(f.qty for f in sink.of(Fill, order_id=oid)) == qty)
        fills = sink.of(Fill, order_id=oid)
        assert all(f.fee > 0 and f.fee_asset == "USDT" and f.side == "SELL" for f in fills)
        await sink.wait(
            "short position",
            lambda: bool(sink.of(PositionUpdate, symbol=SYMBOL, qty=start_qty - qty)),
        )
        assert sink.of(OrderUpdate, order_id=oid)[-1].status is OrderStatus.FILLED

        # The keepalive PUT runs on its period.
        async with asyncio.timeout(WAIT_S):
            await rest.put_done.wait()
        assert ("PUT", ep.listen_key_path) in rest.keyed

        # A dropped connection: new key request, reconnect, sink told, events flow again.
        await _drop_all(sim)
        await sink.wait("restart", lambda: sink.restarts == ["disconnect"])
        assert uds.is_connected and uds.counters.n_connects == 2
        assert rest.keyed.count(("POST", ep.listen_key_path)) == 2
        buy = [("symbol", SYMBOL), ("side", "BUY"), ("type", "MARKET"), ("quantity", "0.005")]
        answer = await rest.send_signed("POST", ep.order_path, buy, is_order=True)
        oid = answer["orderId"]
        await sink.wait("fill after drop", lambda: bool(sink.of(Fill, order_id=oid)))
        await sink.wait(
            "position back",
            lambda: sink.of(PositionUpdate, symbol=SYMBOL)[-1].qty == start_qty,
        )
        c = uds.counters
        assert (c.n_malformed, c.n_unknown_types, c.n_sink_errors) == (0, 0, 0)
    finally:
        await uds.stop()
        await rest.close()
