"""BinanceExec against a `veloz sim` process: spot and USD-M, over REST and over the WS API.

One simulator for the module (both products, BTCUSDT); every test cleans its orders up with
cancel-all. Orders meant to rest are placed 20 % away from the touch, so the simulated
market cannot reach them within a test.
"""

from collections.abc import AsyncIterator
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from bench.sim_load import SimProc
from bench.sim_load import run_async
from veloz.errors import OrderRejected
from veloz.model.events import OrderStatus
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import SPOT
from veloz.venues.binance.endpoints import USDM
from veloz.venues.binance.execution import BinanceExec
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.orders import CLIENT_ORDER_ID_RE
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.wsapi import WsApiClient

pytestmark = pytest.mark.integration

SYMBOL = "BTCUSDT"
CASES = [("spot", "rest"), ("spot", "wsapi"), ("usdm", "rest"), ("usdm", "wsapi")]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(20, seed=5, venue="both", symbols=SYMBOL, start_timeout_s=30) as proc:
        assert proc.key, "the sim printed no trade account"
        yield proc


@dataclass
class Rig:
    ex: BinanceExec
    rest: RestClient
    ws: WsApiClient | None

    @property
    def inst(self) -> Instrument:
        return self.ex.instruments[SYMBOL]

    def sent(self) -> int:
        # Requests that left the process, REST and WS API.
        n = self.rest.counters.n_requests
        return n + (self.ws.counters.n_requests if self.ws is not None else 0)

    async def book(self) -> tuple[Instrument, int, int]:
        # (instrument, best bid raw, best ask raw) from a REST depth snapshot.
        path = self.rest.endpoints.depth_path
        doc = await self.rest.get_public(path, [("symbol", SYMBOL), ("limit", "5")])
        return self.inst, self.inst.px(doc["bids"][0][0]), self.inst.px(doc["asks"][0][0])


@asynccontextmanager
async def _rig(sim: SimProc, product: str, transport: str) -> AsyncIterator[Rig]:
    ep = (SPOT if product == "spot" else USDM).at_base(sim.rest)
    signer = HmacSigner(sim.key, sim.secret.decode())
    rest = RestClient(ep, signer, timeout_s=5.0)
    ws = None
    if transport == "wsapi":
        ws = WsApiClient(ep, signer, limits=rest.limits, timeout_s=5.0, clock_ms=rest.now_ms)
    await rest.start()
    try:
        info = await rest.get_public(ep.exchange_info_path, weight=20)
        instruments = instruments_from_exchange_info(info, ep.venue)
        ex = BinanceExec(ep, signer, instruments, transport=transport, rest=rest, ws=ws)
        await ex.start()
        try:
            yield Rig(ex, rest, ws)
        finally:
            await ex.cancel_all(SYMBOL)
    finally:
        if ws is not None:
            await ws.close()
        await rest.close()


def _away_buy(inst: Instrument, bid: int, qty: int, cid: str = "") -> OrderRequest:
    px = bid * 8 // 10 // inst.tick_raw * inst.tick_raw
    return OrderRequest(SYMBOL, "BUY", "LIMIT", qty, px, "GTC", cid)


def _qty(inst: Instrument, text: str = "0.01") -> int:
    return inst.qty(text)


@pytest.mark.parametrize(("product", "transport"), CASES)
def test_exec_resting_limit_places_queries_lists_and_cancels(
    sim: SimProc, product: str, transport: str
) -> None:
    async def main() -> None:
        async with _rig(sim, product, transport) as rig:
            ex = rig.ex
            inst, bid, _ = await rig.book()
            req = _away_buy(inst, bid, _qty(inst))
            rest_before = rig.rest.counters.n_requests
            placed = await ex.place(req)
            assert placed.status is OrderStatus.NEW and placed.order_id > 0
            assert CLIENT_ORDER_ID_RE.fullmatch(placed.client_order_id)
            assert (placed.px, placed.qty, placed.filled_qty) == (req.px, req.qty, 0)
            got = await ex.query(SYMBOL, client_order_id=placed.client_order_id)
            assert (got.order_id, got.status) == (placed.order_id, OrderStatus.NEW)
            listed = await ex.open_orders(SYMBOL)
            assert placed.order_id in {u.order_id for u in listed}
            canceled = await ex.cancel(SYMBOL, order_id=placed.order_id)
            assert canceled.status is OrderStatus.CANCELED
            assert canceled.client_order_id == placed.client_order_id
            after = await ex.query(SYMBOL, order_id=placed.order_id)
            assert after.status is OrderStatus.CANCELED
            # place, query, cancel, query went over the chosen transport; the list is REST
            assert rig.rest.counters.n_requests - rest_before == (1 if rig.ws else 5)

    run_async(main())


@pytest.mark.parametrize(("product", "transport"), CASES[::2])
def test_exec_cancel_all_cancels_every_open_order(
    sim: SimProc, product: str, transport: str
) -> None:
    async def main() -> None:
        async with _rig(sim, product, transport) as rig:
            ex = rig.ex
            assert await ex.cancel_all(SYMBOL) == []  # none open: no error
            inst, bid, _ = await rig.book()
            ids = {(await ex.place(_away_buy(inst, bid, _qty(inst)))).order_id for _ in range(2)}
            done = await ex.cancel_all(SYMBOL)
            assert {u.order_id for u in done} == ids
            assert all(u.status is OrderStatus.CANCELED for u in done)
            assert await ex.open_orders(SYMBOL) == []

    run_async(main())


@pytest.mark.parametrize(("product", "transport"), CASES)
def test_exec_marketable_order_fills(sim: SimProc, product: str, transport: str) -> None:
    async def main() -> None:
        async with _rig(sim, product, transport) as rig:
            ex = rig.ex
            inst = rig.inst
            done = await ex.place(OrderRequest(SYMBOL, "BUY", "MARKET", _qty(inst)))
            assert done.status is OrderStatus.FILLED
            assert done.filled_qty == done.qty == _qty(inst)

    run_async(main())


@pytest.mark.parametrize(("product", "transport"), CASES)
def test_exec_off_tick_price_rejected_locally_nothing_sent(
    sim: SimProc, product: str, transport: str
) -> None:
    async def main() -> None:
        async with _rig(sim, product, transport) as rig:
            ex = rig.ex
            inst, bid, _ = await rig.book()
            req = _away_buy(inst, bid, _qty(inst))
            bad = OrderRequest(SYMBOL, "BUY", "LIMIT", req.qty, req.px + inst.tick_raw // 2)
            before = rig.sent()
            with pytest.raises(OrderRejected) as info:
                await ex.place(bad)
            assert info.value.by == "local" and "not a multiple of tick" in info.value.reason
            assert rig.sent() == before
            assert ex.counters.n_rejected_local == 1

    run_async(main())


@pytest.mark.parametrize(("product", "transport"), CASES)
def test_exec_duplicate_client_order_id_rejected_by_venue_code_and_msg_kept(
    sim: SimProc, product: str, transport: str
) -> None:
    async def main() -> None:
        async with _rig(sim, product, transport) as rig:
            ex = rig.ex
            inst, bid, _ = await rig.book()
            cid = f"dup-{product}-{transport}"
            await ex.place(_away_buy(inst, bid, _qty(inst), cid))
            with pytest.raises(OrderRejected) as info:
                await ex.place(_away_buy(inst, bid, _qty(inst), cid))
            err = info.value
            assert (err.by, err.code, err.reason) == ("venue", -2010, "Duplicate order sent.")
            assert ex.counters.n_rejected_venue == 1

    run_async(main())


@pytest.mark.parametrize("transport", ["rest", "wsapi"])
def test_exec_spot_limit_maker_that_would_take_rejected_by_venue(
    sim: SimProc, transport: str
) -> None:
    async def main() -> None:
        async with _rig(sim, "spot", transport) as rig:
            ex = rig.ex
            inst, _, ask = await rig.book()
            req = OrderRequest(SYMBOL, "BUY", "LIMIT_MAKER", _qty(inst), ask)
            with pytest.raises(OrderRejected) as info:
                await ex.place(req)
            err = info.value
            assert (err.by, err.code) == ("venue", -2010)
            assert err.reason == "Order would immediately match and take."

    run_async(main())


def test_exec_spot_insufficient_balance_rejected_by_venue(sim: SimProc) -> None:
    async def main() -> None:
        async with _rig(sim, "spot", "rest") as rig:
            ex = rig.ex
            inst, bid, _ = await rig.book()
            req = _away_buy(inst, bid, _qty(inst, "1000"))  # ~48M USDT of 100k
            with pytest.raises(OrderRejected) as info:
                await ex.place(req)
            assert info.value.code == -2010
            assert info.value.reason == "Account has insufficient balance for requested action."

    run_async(main())
