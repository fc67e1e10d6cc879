"""BinanceExec.trades: the account trade list (spot myTrades, USD-M userTrades) as fills.

Unit tests read rows from a stub REST client; the integration tests trade on a `veloz sim`
process and read the trades back, page by page.
"""

from collections.abc import Iterator
from typing import Any

import pytest

from bench.sim_load import SimProc
from bench.sim_load import run_async
from veloz.model.events import Fill
from veloz.model.instrument import Instrument
from veloz.venues.binance.endpoints import SPOT
from veloz.venues.binance.endpoints import USDM
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.execution import BinanceExec
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import HmacSigner

SYMBOL = "BTCUSDT"


def _inst(venue: str) -> Instrument:
    return Instrument(venue, SYMBOL, "BTC", "USDT", "TRADING", 2, 5, 1, 1, 0, 0, 1, 0, 0)


class StubRest:
    """Answers every signed call with `answer`; records (method, path, params, weight)."""

    def __init__(self, ep: Endpoints, answer: Any) -> None:
        self.endpoints = ep
        self.answer = answer
        self.calls: list[tuple[str, str, list[tuple[str, str]], int]] = []

    async def send_signed(
        self, method: str, path: str, params: list[tuple[str, str]], *, weight: int, **_: Any
    ) -> Any:
        self.calls.append((method, path, params, weight))
        return self.answer


def _exec(ep: Endpoints, answer: Any) -> tuple[BinanceExec, StubRest]:
    stub = StubRest(ep, answer)
    ex = BinanceExec(ep, HmacSigner("k", "s"), {SYMBOL: _inst(ep.venue)}, rest=stub)  # type: ignore[arg-type]
    return ex, stub


SPOT_ROW = {
    "symbol": SYMBOL, "id": 28457, "orderId": 100234, "orderListId": -1,
    "price": "50000.01000000", "qty": "0.01200000", "quoteQty": "600.00012000",
    "commission": "0.00001200", "commissionAsset": "BTC", "time": 1499865549590,
    "isBuyer": True, "isMaker": False, "isBestMatch": True,
}  # fmt: skip
USDM_ROW = {
    "buyer": False, "commission": "0.07819010", "commissionAsset": "USDT", "id": 698759,
    "maker": True, "orderId": 25851813, "price": "7819.01", "qty": "0.002",
    "quoteQty": "15.63802", "realizedPnl": "-0.91539999", "side": "SELL",
    "positionSide": "BOTH", "symbol": SYMBOL, "time": 1569514978020,
}  # fmt: skip


def test_trades_spot_row_becomes_a_fill_with_exact_raws() -> None:
    ex, stub = _exec(SPOT, [SPOT_ROW])
    (f,) = run_async(ex.trades(SYMBOL, from_id=28457, limit=500))
    assert stub.calls == [
        ("GET", "/api/v3/myTrades",
         [("symbol", SYMBOL), ("fromId", "28457"), ("limit", "500")], 20),
    ]  # fmt: skip
    assert (f.venue, f.symbol, f.client_order_id, f.order_id, f.trade_id) == (
        "binance-spot", SYMBOL, "", 100234, 28457,
    )  # fmt: skip
    assert (f.side, f.px, f.qty, f.fee, f.fee_asset, f.is_maker, f.realized_pnl) == (
        "BUY", 5_000_001, 1_200, 1_200, "BTC", False, 0,
    )  # fmt: skip
    assert f.exch_ns == 1499865549590 * 1_000_000


def test_trades_usdm_row_has_side_maker_and_signed_realized_pnl() -> None:
    ex, stub = _exec(USDM, [USDM_ROW])
    (f,) = run_async(ex.trades(SYMBOL, start_ms=1569514978000))
    assert stub.calls[0][1] == "/fapi/v1/userTrades" and stub.calls[0][3] == 5
    assert ("startTime", "1569514978000") in stub.calls[0][2]
    assert ("limit", "1000") in stub.calls[0][2]
    assert (f.side, f.is_maker, f.px, f.qty) == ("SELL", True, 781_901, 200)
    assert (f.fee, f.realized_pnl) == (7_819_010, -91_539_999)


@pytest.mark.parametrize(
    "bad",
    [
        {k: v for k, v in SPOT_ROW.items() if k != "id"},
        {**SPOT_ROW, "price": "abc"},
        {**SPOT_ROW, "price": 50000},
        {**SPOT_ROW, "isMaker": "no"},
        {**SPOT_ROW, "orderId": "100234"},
        "not a row",
    ],
)
def test_trades_bad_row_is_counted_and_skipped(bad: Any) -> None:
    ex, _ = _exec(SPOT, [bad, SPOT_ROW])
    fills = run_async(ex.trades(SYMBOL))
    assert [f.trade_id for f in fills] == [28457]
    assert ex.counters.n_bad_answers == 1


def test_trades_not_a_list_gives_nothing_and_counts() -> None:
    ex, _ = _exec(SPOT, {"code": 0})
    assert run_async(ex.trades(SYMBOL)) == []
    assert ex.counters.n_bad_answers == 1


def test_trades_refuses_bad_arguments_before_sending() -> None:
    ex, stub = _exec(SPOT, [])
    with pytest.raises(ValueError, match="cannot be combined"):
        run_async(ex.trades(SYMBOL, from_id=1, start_ms=2))
    with pytest.raises(ValueError, match="limit"):
        run_async(ex.trades(SYMBOL, limit=1001))
    assert stub.calls == []


# ---- against the simulator ------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProc]:
    with SimProc(20, seed=7, venue="both", symbols=SYMBOL, start_timeout_s=30) as proc:
        assert proc.key, "the sim printed no trade account"
        yield proc


@pytest.mark.integration
@pytest.mark.parametrize("product", ["spot", "usdm"])
def test_trades_on_sim_list_a_market_orders_fills_and_page_by_from_id(
    sim: SimProc, product: str
) -> None:
    async def main() -> tuple[list[Fill], list[Fill], list[Fill], int, int]:
        ep = (SPOT if product == "spot" else USDM).at_base(sim.rest)
        signer = HmacSigner(sim.key, sim.secret.decode())
        rest = RestClient(ep, signer, timeout_s=5.0)
        await rest.start()
        try:
            info = await rest.get_public(ep.exchange_info_path, weight=20)
            insts = instruments_from_exchange_info(info, ep.venue)
            ex = BinanceExec(ep, signer, insts, transport="rest", rest=rest)
            await ex.start()
            before = await ex.trades(SYMBOL)
            inst = insts[SYMBOL]
            placed = await ex.place(
                OrderRequest(SYMBOL, "BUY", "MARKET", inst.qty("0.01"), 0, "GTC", "")
            )
            after = await ex.trades(SYMBOL)
            paged: list[Fill] = []
            from_id = min(f.trade_id for f in after if f.order_id == placed.order_id)
            while True:
                page = await ex.trades(SYMBOL, from_id=from_id, limit=7)
                paged += page
                if len(page) < 7:
                    break
                from_id = page[-1].trade_id + 1
            return before, after, paged, placed.order_id, inst.qty("0.01")
        finally:
            await rest.close()

    before, after, paged, order_id, qty = run_async(main())
    mine = [f for f in after if f.order_id == order_id]
    assert mine, "the market order made no trade"
    assert [f.trade_id for f in after] == sorted(f.trade_id for f in after)
    assert sum(f.qty for f in mine) == qty
    assert all(f.side == "BUY" and not f.is_maker and f.fee > 0 for f in mine)
    assert [f.trade_id for f in paged][: len(mine)] == [f.trade_id for f in mine]
    assert {f.trade_id for f in before}.isdisjoint(f.trade_id for f in mine)
