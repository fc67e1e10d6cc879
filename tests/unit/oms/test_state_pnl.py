"""Positions and PnL against hand-computed cases (futures flip, partial closes, spot fees)."""

from tests.unit.oms.state_events import FUT
from tests.unit.oms.state_events import SPOT
from tests.unit.oms.state_events import fill
from veloz.model.events import BalanceUpdate
from veloz.model.events import PositionUpdate
from veloz.oms.state import ExecState

E8 = 10**8
MARK_FUT = {(FUT.venue, FUT.symbol): 1050}  # 105.0


def _exec() -> ExecState:
    ex = ExecState([SPOT, FUT])
    for cid in ("a", "b", "c"):
        ex.orders.on_sent(cid, "s1", FUT.venue, FUT.symbol, "BUY", "LIMIT", "GTC", 1, 10**6)
    return ex


def test_futures_flip_through_zero_then_partial_close_exact_pnl() -> None:
    ex = _exec()
    fee = E8 // 10  # 0.1 USDT per fill
    ex.apply(fill("a", 1, 1000, 2000, "BUY", fee=fee))  # buy 2 @ 100
    ex.apply(fill("b", 2, 1100, 3000, "SELL", fee=fee))  # sell 3 @ 110: +20, short 1 @ 110
    ex.apply(fill("c", 3, 1000, 500, "BUY", fee=fee))  # buy 0.5 @ 100: +5
    pos = ex.positions
    acct = pos.account("s1")
    assert acct.realized == {"USDT": 25 * E8}
    assert acct.fees == {"USDT": 3 * fee}
    view = acct.position(FUT)
    assert (view.qty, view.entry_px) == (-500, 1100)
    assert pos.unrealized(MARK_FUT, "s1") == {"USDT": 250_000_000}  # 0.5 * (110 - 105)
    assert pos.net_pnl(MARK_FUT, "s1") == {"USDT": 2720_000_000}
    assert acct.balance(FUT.venue, "USDT") == 25 * E8 - 3 * fee


def test_futures_partial_closes_sum_to_round_trip() -> None:
    ex = _exec()
    ex.apply(fill("a", 1, 1000, 3000, "BUY"))  # buy 3 @ 100
    ex.apply(fill("b", 2, 1010, 1000, "SELL"))  # +1
    ex.apply(fill("b", 3, 1020, 1000, "SELL"))  # +2
    ex.apply(fill("b", 4, 990, 1000, "SELL"))  # -1
    acct = ex.positions.account(None)
    assert acct.realized == {"USDT": 2 * E8}
    assert acct.position(FUT).qty == 0


def test_spot_buy_with_base_fee_then_sell_all_exact_pnl_and_balances() -> None:
    ex = _exec()
    ex.apply(fill("a", 1, 10000, 100000, "BUY", SPOT, fee=100_000, fee_asset="BTC"))
    acct = ex.positions.account("s1")
    assert acct.position(SPOT).qty == 99_900_000  # 0.999 BTC at ASSET_DP
    ex.apply(fill("b", 2, 11000, 99900, "SELL", SPOT, fee=10_989_000, fee_asset="USDT"))
    assert acct.realized == {"USDT": 989_000_000}  # 109.89 - 100
    assert acct.fees == {"BTC": 100_000, "USDT": 10_989_000}
    assert acct.balance(SPOT.venue, "BTC") == 0
    assert acct.balance(SPOT.venue, "USDT") == 978_011_000
    assert ex.positions.net_pnl({}, "s1") == {"USDT": 978_011_000}


def test_spot_partial_close_realized_and_unrealized() -> None:
    ex = _exec()
    ex.apply(fill("a", 1, 10000, 200000, "BUY", SPOT))  # 2 BTC @ 100
    ex.apply(fill("b", 2, 12000, 50000, "SELL", SPOT))  # 0.5 @ 120: +10
    mark = {(SPOT.venue, SPOT.symbol): 13000}
    assert ex.positions.account("s1").realized == {"USDT": 10 * E8}
    assert ex.positions.unrealized(mark, "s1") == {"USDT": 45 * E8}  # 1.5 * 30
    view = ex.positions.account("s1").position(SPOT)
    assert (view.qty, view.entry_px) == (150_000_000, 10000)


def test_per_strategy_books_and_netted_total() -> None:
    ex = ExecState([FUT])
    ex.orders.on_sent("a", "s1", FUT.venue, FUT.symbol, "BUY", "LIMIT", "GTC", 1, 10**6)
    ex.orders.on_sent("b", "s2", FUT.venue, FUT.symbol, "SELL", "LIMIT", "GTC", 1, 10**6)
    ex.apply(fill("a", 1, 1000, 1000, "BUY"))
    ex.apply(fill("b", 2, 1100, 1000, "SELL"))
    pos = ex.positions
    assert pos.account("s1").position(FUT).qty == 1000
    assert pos.account("s2").position(FUT).qty == -1000
    assert pos.account(None).position(FUT).qty == 0
    assert pos.account(None).realized == {"USDT": 10 * E8}
    assert pos.account("s1").realized == {"USDT": 0}


def test_balance_snapshot_is_truth_and_mismatch_counted() -> None:
    ex = _exec()
    assert ex.apply(BalanceUpdate(FUT.venue, "USDT", 100 * E8, 100 * E8, "", 1, 1)) == 100 * E8
    ex.apply(fill("a", 1, 1000, 1000, "BUY", fee=E8))
    assert ex.positions.account(None).balance(FUT.venue, "USDT") == 99 * E8
    assert ex.apply(BalanceUpdate(FUT.venue, "USDT", 99 * E8, 99 * E8, "", 2, 2)) == 0
    assert ex.positions.n_balance_mismatch == 0
    assert ex.apply(BalanceUpdate(FUT.venue, "USDT", 98 * E8, 98 * E8, "", 3, 3)) == -E8
    assert ex.positions.n_balance_mismatch == 1
    assert ex.positions.account(None).balance(FUT.venue, "USDT") == 98 * E8


def test_position_snapshot_mismatch_counted_and_computed_kept() -> None:
    ex = _exec()
    ex.apply(fill("a", 1, 1000, 1000, "BUY"))
    assert ex.apply(PositionUpdate(FUT.venue, FUT.symbol, 1000, 1000, 0, 1, 1)) == 0
    assert ex.apply(PositionUpdate(FUT.venue, FUT.symbol, 2000, 1000, 0, 1, 1)) == 1000
    assert ex.positions.n_position_mismatch == 1
    assert ex.positions.account(None).position(FUT).qty == 1000


def test_fill_for_unknown_symbol_counted_not_booked() -> None:
    ex = ExecState([SPOT])
    ex.apply(fill("a", 1, 1000, 1000, "BUY"))
    assert ex.positions.n_unknown_symbol == 1
    assert ex.positions.account(None).realized == {}
