"""Matching engine: every order kind, TIF, STP mode, fee rounding and view, then differential
runs against the SortedDict twin with seeded order streams."""

import random
from collections.abc import Sequence

import pytest

from tests.unit._core.reference.matching_ref import MatchingEngineRef
from tests.unit._core.reference.matching_ref import fee_of
from veloz._core.matching import EvKind
from veloz._core.matching import MatchingEngine
from veloz._core.matching import OrdKind
from veloz._core.matching import OrdSide
from veloz._core.matching import OrdStatus
from veloz._core.matching import Reason
from veloz._core.matching import Stp
from veloz._core.matching import Tif
from veloz.errors import InvariantError

BUY, SELL = OrdSide.BUY, OrdSide.SELL
LIMIT, MARKET, LIMIT_MAKER = OrdKind.LIMIT, OrdKind.MARKET, OrdKind.LIMIT_MAKER
GTC, IOC, FOK, GTX = Tif.GTC, Tif.IOC, Tif.FOK, Tif.GTX
INT64_MAX = 2**63 - 1


def make(maker_ppm: int = 0, taker_ppm: int = 0) -> MatchingEngine:
    return MatchingEngine(2, 3, maker_ppm, taker_ppm)


def put(
    e: MatchingEngine,
    side: int,
    px: int,
    qty: int,
    *,
    account: int = 1,
    kind: int = LIMIT,
    tif: int = GTC,
    stp: int = Stp.NONE,
    ts: int = 0,
) -> int:
    return e.submit(account, 0, side, kind, tif, px, qty, stp, ts)


def kinds(events: Sequence[tuple[int, ...]]) -> list[int]:
    return [ev[0] for ev in events]


def trades(events: Sequence[tuple[int, ...]]) -> list[tuple[int, int, int, int]]:
    """(taker id, maker id, px, qty) of every TRADE event."""
    return [(ev[1], ev[2], ev[3], ev[4]) for ev in events if ev[0] == EvKind.EV_TRADE]


def status(e: MatchingEngine, oid: int) -> int:
    return int(e.order(oid)["status"])


# ---- construction and views -------------------------------------------------------------------


def test_matching_new_engine_is_empty_everywhere() -> None:
    e = make(10, 20)
    assert (e.price_dp, e.qty_dp, e.maker_fee_ppm, e.taker_fee_ppm) == (2, 3, 10, 20)
    assert e.best_bid() is None
    assert e.best_ask() is None
    assert e.depth(BUY, 5) == e.depth(SELL, 5) == []
    assert e.open_orders(1) == []
    assert e.drain() == []
    assert e.n_trades == 0
    assert e.check_invariants() == 0


@pytest.mark.parametrize(
    ("price_dp", "qty_dp", "maker", "taker"),
    [(-1, 3, 0, 0), (19, 3, 0, 0), (2, -1, 0, 0), (2, 19, 0, 0), (2, 3, 1_000_001, 0),
     (2, 3, 0, -1_000_001)],
)  # fmt: skip
def test_matching_init_dp_or_fee_out_of_range_raises_value_error(
    price_dp: int, qty_dp: int, maker: int, taker: int
) -> None:
    with pytest.raises(ValueError, match="must be"):
        MatchingEngine(price_dp, qty_dp, maker, taker)


def test_matching_order_ids_sequential_from_one_including_rejects() -> None:
    e = make()
    assert put(e, BUY, 100, 1) == 1
    assert put(e, BUY, 100, 0) == 2  # rejected, still numbered
    assert put(e, SELL, 200, 1) == 3


def test_matching_order_unknown_id_raises_key_error() -> None:
    e = make()
    put(e, BUY, 100, 1)
    for oid in (0, 2, -5):
        with pytest.raises(KeyError):
            e.order(oid)


def test_matching_depth_bad_side_or_negative_n_raises_value_error() -> None:
    e = make()
    with pytest.raises(ValueError, match="side"):
        e.depth(2, 1)
    with pytest.raises(ValueError, match="n must be"):
        e.depth(BUY, -1)


def test_matching_depth_aggregates_levels_best_first_and_truncates() -> None:
    e = make()
    for px, qty in ((100, 1), (102, 2), (101, 3), (102, 4)):
        put(e, BUY, px, qty)
    for px, qty in ((110, 5), (108, 6)):
        put(e, SELL, px, qty)
    assert e.depth(BUY, 10) == [(102, 6), (101, 3), (100, 1)]
    assert e.depth(BUY, 2) == [(102, 6), (101, 3)]
    assert e.depth(SELL, 10) == [(108, 6), (110, 5)]
    assert e.best_bid() == (102, 6)
    assert e.best_ask() == (108, 6)
    assert e.check_invariants() == 0


def test_matching_order_state_has_every_field() -> None:
    e = make()
    oid = e.submit(7, 99, SELL, LIMIT, GTC, 12345, 678, Stp.EXPIRE_MAKER, 555)
    assert e.order(oid) == {
        "order_id": oid, "status": OrdStatus.NEW, "reason": Reason.NO_REASON, "side": SELL,
        "kind": LIMIT, "tif": GTC, "stp": Stp.EXPIRE_MAKER, "account": 7, "client_id": 99,
        "px": 12345, "orig_qty": 678, "executed_qty": 0, "left_qty": 678, "closed_qty": 0,
        "cum_quote": 0, "cum_fee": 0, "ts_ns": 555,
    }  # fmt: skip
    assert isinstance(e.order(oid)["status"], OrdStatus)


# ---- limit orders -----------------------------------------------------------------------------


def test_matching_limit_gtc_not_crossing_rests_and_emits_new() -> None:
    e = make()
    oid = put(e, BUY, 100, 5, ts=42)
    assert e.drain() == [(EvKind.EV_NEW, oid, 0, 100, 5, 0, 0, -1, Reason.NO_REASON, 42)]
    assert status(e, oid) == OrdStatus.NEW
    assert e.open_orders(1) == [oid]


def test_matching_limit_crossing_fills_at_maker_price() -> None:
    e = make()
    m = put(e, SELL, 100, 5, account=1)
    e.drain()
    t = put(e, BUY, 105, 5, account=2, ts=9)
    ev = e.drain()
    assert ev == [
        (EvKind.EV_NEW, t, 0, 105, 5, 0, 0, -1, 0, 9),
        (EvKind.EV_TRADE, t, m, 100, 5, 0, 0, SELL, 0, 9),
    ]
    assert status(e, t) == status(e, m) == OrdStatus.FILLED
    assert e.order(t)["cum_quote"] == 500
    assert e.best_ask() is None
    assert e.best_bid() is None
    assert e.n_trades == 1


def test_matching_same_level_makers_fill_fifo_oldest_first() -> None:
    e = make()
    a = put(e, SELL, 100, 2)
    b = put(e, SELL, 100, 2)
    c = put(e, SELL, 100, 2)
    e.drain()
    t = put(e, BUY, 100, 3, account=2)
    assert trades(e.drain()) == [(t, a, 100, 2), (t, b, 100, 1)]
    assert status(e, b) == OrdStatus.PARTIALLY_FILLED
    assert e.order(b)["left_qty"] == 1
    assert status(e, c) == OrdStatus.NEW
    assert e.depth(SELL, 1) == [(100, 3)]
    assert e.check_invariants() == 0


def test_matching_taker_walks_levels_best_first_and_stops_at_limit() -> None:
    e = make()
    a = put(e, SELL, 101, 1)
    b = put(e, SELL, 100, 1)
    put(e, SELL, 103, 1)
    e.drain()
    t = put(e, BUY, 102, 5, account=2)
    ev = e.drain()
    assert trades(ev) == [(t, b, 100, 1), (t, a, 101, 1)]
    assert e.order(t)["left_qty"] == 3
    assert status(e, t) == OrdStatus.PARTIALLY_FILLED
    assert e.best_bid() == (102, 3)  # GTC remainder rests at its limit
    assert e.best_ask() == (103, 1)
    assert e.check_invariants() == 0


def test_matching_ioc_remainder_expires_with_reason() -> None:
    e = make()
    m = put(e, BUY, 100, 2)
    e.drain()
    t = put(e, SELL, 99, 5, account=2, tif=IOC)
    ev = e.drain()
    assert trades(ev) == [(t, m, 100, 2)]
    assert ev[-1] == (EvKind.EV_EXPIRED, t, 0, 99, 3, 0, 0, -1, Reason.IOC_REMAINDER, 0)
    o = e.order(t)
    assert (o["status"], o["reason"], o["executed_qty"], o["closed_qty"]) == (
        OrdStatus.EXPIRED, Reason.IOC_REMAINDER, 2, 3)  # fmt: skip
    assert e.best_ask() is None


def test_matching_ioc_not_crossing_expires_whole_qty() -> None:
    e = make()
    put(e, SELL, 100, 2)
    t = put(e, BUY, 99, 5, account=2, tif=IOC)
    assert kinds(e.drain())[-2:] == [EvKind.EV_NEW, EvKind.EV_EXPIRED]
    assert e.order(t)["closed_qty"] == 5
    assert e.best_bid() is None


def test_matching_market_buy_takes_any_price_and_expires_remainder() -> None:
    e = make()
    a = put(e, SELL, 100, 1)
    b = put(e, SELL, 10_000, 1)
    e.drain()
    t = put(e, BUY, 0, 3, account=2, kind=MARKET, tif=IOC)
    ev = e.drain()
    assert ev[0] == (EvKind.EV_NEW, t, 0, 0, 3, 0, 0, -1, 0, 0)
    assert trades(ev) == [(t, a, 100, 1), (t, b, 10_000, 1)]
    assert ev[-1][0] == EvKind.EV_EXPIRED
    assert ev[-1][8] == Reason.MARKET_REMAINDER
    assert e.order(t)["cum_quote"] == 100 + 10_000


def test_matching_market_px_is_ignored_and_stored_as_zero() -> None:
    e = make()
    put(e, BUY, 100, 1)
    t = put(e, SELL, -7, 1, account=2, kind=MARKET, tif=GTC)
    assert e.order(t)["px"] == 0
    assert status(e, t) == OrdStatus.FILLED


def test_matching_market_on_empty_book_expires_without_trade() -> None:
    e = make()
    t = put(e, SELL, 0, 4, kind=MARKET)
    assert kinds(e.drain()) == [EvKind.EV_NEW, EvKind.EV_EXPIRED]
    assert e.order(t)["reason"] == Reason.MARKET_REMAINDER


# ---- FOK ----------------------------------------------------------------------------------------


def test_matching_fok_not_fillable_expires_with_no_trade_and_book_unchanged() -> None:
    e = make()
    put(e, SELL, 100, 2)
    put(e, SELL, 101, 2)
    put(e, SELL, 105, 9)
    e.drain()
    before = e.depth(SELL, 10)
    t = put(e, BUY, 101, 5, account=2, tif=FOK)
    assert kinds(e.drain()) == [EvKind.EV_NEW, EvKind.EV_EXPIRED]
    assert e.order(t)["reason"] == Reason.FOK_NOT_FILLABLE
    assert e.order(t)["executed_qty"] == 0
    assert e.depth(SELL, 10) == before
    assert e.check_invariants() == 0


def test_matching_fok_exactly_fillable_fills_completely() -> None:
    e = make()
    put(e, SELL, 100, 2)
    put(e, SELL, 101, 3)
    t = put(e, BUY, 101, 5, account=2, tif=FOK)
    assert status(e, t) == OrdStatus.FILLED
    assert e.best_ask() is None


def test_matching_market_fok_not_fillable_expires() -> None:
    e = make()
    put(e, BUY, 100, 2)
    t = put(e, SELL, 0, 3, account=2, kind=MARKET, tif=FOK)
    assert e.order(t)["reason"] == Reason.FOK_NOT_FILLABLE
    assert e.best_bid() == (100, 2)


def test_matching_fok_stp_expire_maker_does_not_count_own_orders() -> None:
    e = make()
    put(e, SELL, 100, 3, account=1)
    put(e, SELL, 100, 2, account=2)
    e.drain()
    t = put(e, BUY, 100, 3, account=1, tif=FOK, stp=Stp.EXPIRE_MAKER)
    assert e.order(t)["reason"] == Reason.FOK_NOT_FILLABLE
    assert e.depth(SELL, 1) == [(100, 5)]  # no maker expired either


def test_matching_fok_stp_expire_taker_stops_counting_at_own_order() -> None:
    e = make()
    put(e, SELL, 100, 1, account=2)
    put(e, SELL, 100, 1, account=1)
    put(e, SELL, 100, 5, account=2)
    t = put(e, BUY, 100, 2, account=1, tif=FOK, stp=Stp.EXPIRE_TAKER)
    assert e.order(t)["reason"] == Reason.FOK_NOT_FILLABLE
    t2 = put(e, BUY, 100, 1, account=1, tif=FOK, stp=Stp.EXPIRE_TAKER)
    assert status(e, t2) == OrdStatus.FILLED


# ---- post-only --------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "tif"), [(LIMIT_MAKER, GTC), (LIMIT_MAKER, GTX), (LIMIT, GTX)])
def test_matching_post_only_crossing_expires_and_never_rests(kind: int, tif: int) -> None:
    e = make()
    put(e, SELL, 100, 2, account=2)
    e.drain()
    t = put(e, BUY, 100, 1, kind=kind, tif=tif)
    ev = e.drain()
    assert ev[-1] == (EvKind.EV_EXPIRED, t, 0, 100, 1, 0, 0, -1, Reason.POST_ONLY_WOULD_TAKE, 0)
    assert e.best_bid() is None
    assert e.best_ask() == (100, 2)
    assert e.n_trades == 0


@pytest.mark.parametrize(("kind", "tif"), [(LIMIT_MAKER, GTC), (LIMIT, GTX)])
def test_matching_post_only_not_crossing_rests(kind: int, tif: int) -> None:
    e = make()
    put(e, SELL, 100, 2, account=2)
    t = put(e, BUY, 99, 1, kind=kind, tif=tif)
    assert status(e, t) == OrdStatus.NEW
    assert e.best_bid() == (99, 1)


def test_matching_post_only_crossing_own_order_also_expires() -> None:
    e = make()
    put(e, BUY, 100, 2)
    t = put(e, SELL, 100, 1, kind=LIMIT_MAKER, stp=Stp.EXPIRE_MAKER)
    assert e.order(t)["reason"] == Reason.POST_ONLY_WOULD_TAKE
    assert e.best_bid() == (100, 2)


# ---- self-trade prevention --------------------------------------------------------------------


def test_matching_stp_none_same_account_trades() -> None:
    e = make()
    m = put(e, SELL, 100, 1)
    t = put(e, BUY, 100, 1)
    assert trades(e.drain()) == [(t, m, 100, 1)]


def test_matching_stp_expire_taker_expires_taker_and_keeps_maker() -> None:
    e = make()
    other = put(e, SELL, 100, 1, account=2)
    own = put(e, SELL, 100, 1, account=1)
    e.drain()
    t = put(e, BUY, 101, 5, account=1, stp=Stp.EXPIRE_TAKER)
    ev = e.drain()
    assert trades(ev) == [(t, other, 100, 1)]
    assert ev[-1] == (EvKind.EV_EXPIRED, t, 0, 101, 4, 0, 0, -1, Reason.STP_EXPIRED, 0)
    assert status(e, own) == OrdStatus.NEW
    assert e.best_ask() == (100, 1)
    assert e.best_bid() is None
    assert e.check_invariants() == 0


def test_matching_stp_expire_maker_expires_maker_and_continues() -> None:
    e = make()
    own = put(e, SELL, 100, 2, account=1)
    other = put(e, SELL, 101, 3, account=2)
    e.drain()
    t = put(e, BUY, 101, 3, account=1, stp=Stp.EXPIRE_MAKER)
    ev = e.drain()
    assert ev[1] == (EvKind.EV_EXPIRED, own, 0, 100, 2, 0, 0, -1, Reason.STP_EXPIRED, 0)
    assert trades(ev) == [(t, other, 101, 3)]
    assert status(e, t) == OrdStatus.FILLED
    assert e.order(own)["reason"] == Reason.STP_EXPIRED
    assert e.best_ask() is None
    assert e.check_invariants() == 0


def test_matching_stp_expire_both_expires_maker_then_taker() -> None:
    e = make()
    own = put(e, BUY, 100, 2, account=3)
    behind = put(e, BUY, 100, 2, account=4)
    e.drain()
    t = put(e, SELL, 100, 5, account=3, stp=Stp.EXPIRE_BOTH)
    ev = e.drain()
    assert [(k, oid) for k, oid, *_ in ev] == [
        (EvKind.EV_NEW, t), (EvKind.EV_EXPIRED, own), (EvKind.EV_EXPIRED, t)]  # fmt: skip
    assert status(e, behind) == OrdStatus.NEW
    assert e.best_bid() == (100, 2)
    assert e.best_ask() is None
    assert e.check_invariants() == 0


def test_matching_stp_mode_of_maker_is_ignored() -> None:
    e = make()
    m = put(e, SELL, 100, 1, stp=Stp.EXPIRE_BOTH)
    t = put(e, BUY, 100, 1, stp=Stp.NONE)
    assert trades(e.drain()) == [(t, m, 100, 1)]


# ---- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "kind", "tif", "px", "qty", "stp", "reason"),
    [
        (2, LIMIT, GTC, 100, 1, 0, Reason.BAD_SIDE),
        (-1, LIMIT, GTC, 100, 1, 0, Reason.BAD_SIDE),
        (BUY, 3, GTC, 100, 1, 0, Reason.BAD_KIND),
        (BUY, LIMIT, 4, 100, 1, 0, Reason.BAD_TIF),
        (BUY, LIMIT, GTC, 100, 1, 4, Reason.BAD_STP),
        (BUY, LIMIT, GTC, 100, 0, 0, Reason.BAD_QTY),
        (BUY, MARKET, IOC, 0, -3, 0, Reason.BAD_QTY),
        (BUY, LIMIT, GTC, 0, 1, 0, Reason.BAD_PX),
        (SELL, LIMIT_MAKER, GTC, -1, 1, 0, Reason.BAD_PX),
        (BUY, MARKET, GTX, 0, 1, 0, Reason.BAD_TIF),
        (BUY, LIMIT_MAKER, IOC, 100, 1, 0, Reason.BAD_TIF),
        (BUY, LIMIT_MAKER, FOK, 100, 1, 0, Reason.BAD_TIF),
        (BUY, LIMIT, GTC, 2**62, 2, 0, Reason.OVERFLOW),
    ],
)
def test_matching_invalid_order_rejected_with_reason_and_book_unchanged(
    side: int, kind: int, tif: int, px: int, qty: int, stp: int, reason: int
) -> None:
    e = make()
    put(e, SELL, 200, 1, account=2)
    e.drain()
    oid = e.submit(1, 5, side, kind, tif, px, qty, stp, 77)
    assert e.drain() == [(EvKind.EV_REJECTED, oid, 0, px, qty, 0, 0, -1, reason, 77)]
    o = e.order(oid)
    assert (o["status"], o["reason"], o["left_qty"]) == (OrdStatus.REJECTED, reason, 0)
    assert e.best_ask() == (200, 1)
    assert e.best_bid() is None
    assert e.check_invariants() == 0


def test_matching_sell_notional_bound_uses_best_bid_and_rejects_overflow() -> None:
    e = make()
    put(e, BUY, 2**40, 1, account=2)
    t = put(e, SELL, 1, 2**23 + 1)  # rests fine at px 1, but would fill at 2**40 first
    assert e.order(t)["reason"] == Reason.OVERFLOW
    assert e.best_bid() == (2**40, 1)


def test_matching_market_buy_bound_uses_worst_ask() -> None:
    e = make()
    put(e, SELL, 10, 1, account=2)
    put(e, SELL, 2**40, 1, account=2)
    assert e.order(put(e, BUY, 0, 2**23, kind=MARKET))["reason"] == Reason.OVERFLOW
    assert status(e, put(e, BUY, 0, 2**22, kind=MARKET)) == OrdStatus.EXPIRED


def test_matching_level_total_overflow_rejected() -> None:
    e = make()
    put(e, BUY, 1, INT64_MAX - 5)
    t = put(e, BUY, 1, 6)
    assert e.order(t)["reason"] == Reason.OVERFLOW
    assert status(e, put(e, BUY, 1, 5)) == OrdStatus.NEW
    assert e.best_bid() == (1, INT64_MAX)
    assert e.check_invariants() == 0


# ---- fees ---------------------------------------------------------------------------------------


def test_matching_fees_exact_at_notional_dp_rounded_toward_zero() -> None:
    e = make(maker_ppm=1000, taker_ppm=-333)  # 0.1 % maker fee, 0.0333 % taker rebate
    m = put(e, SELL, 12_345, 7, account=2)  # 123.45 x 0.007
    t = put(e, BUY, 12_345, 7)
    notional = 12_345 * 7  # 86_415 at dp 5
    taker_fee = -((notional * 333) // 1_000_000)  # toward zero: -28, not -29
    ev = trades(e.drain())
    assert ev == [(t, m, 12_345, 7)]
    assert e.order(m)["cum_fee"] == notional * 1000 // 1_000_000 == 86
    assert e.order(t)["cum_fee"] == taker_fee == -28
    assert e.order(t)["cum_quote"] == e.order(m)["cum_quote"] == notional


def test_matching_trade_event_carries_both_fees_and_maker_side() -> None:
    e = make(maker_ppm=200, taker_ppm=500)
    m = put(e, BUY, 5_000_000, 3_000, account=2)
    t = put(e, SELL, 4_000_000, 3_000, ts=8)
    fill = [ev for ev in e.drain() if ev[0] == EvKind.EV_TRADE]
    n = 5_000_000 * 3_000
    assert fill == [(EvKind.EV_TRADE, t, m, 5_000_000, 3_000, n * 500 // 10**6,
                     n * 200 // 10**6, BUY, 0, 8)]  # fmt: skip


def test_matching_zero_fee_charges_nothing() -> None:
    e = make()
    put(e, SELL, 99_999, 99_999, account=2)
    t = put(e, BUY, 99_999, 99_999)
    assert e.order(t)["cum_fee"] == 0


@pytest.mark.parametrize(
    ("notional", "ppm", "fee"), [(999_999, 1, 0), (1_000_000, 1, 1), (1_999_999, -1, -1),
                                 (5, -1_000_000, -5), (0, 500, 0)]
)  # fmt: skip
def test_matching_reference_fee_rounds_toward_zero(notional: int, ppm: int, fee: int) -> None:
    assert fee_of(notional, ppm) == fee


def test_matching_cum_quote_sums_every_fill_exactly() -> None:
    e = make()
    put(e, SELL, 101, 3, account=2)
    put(e, SELL, 103, 4, account=2)
    t = put(e, BUY, 103, 6)
    o = e.order(t)
    assert (o["executed_qty"], o["cum_quote"]) == (6, 101 * 3 + 103 * 3)


# ---- cancel -------------------------------------------------------------------------------------


def test_matching_cancel_resting_emits_canceled_and_removes_level() -> None:
    e = make()
    oid = put(e, BUY, 100, 4)
    e.drain()
    assert e.cancel(oid, 31) is True
    assert e.drain() == [(EvKind.EV_CANCELED, oid, 0, 100, 4, 0, 0, -1, 0, 31)]
    o = e.order(oid)
    assert (o["status"], o["closed_qty"], o["left_qty"]) == (OrdStatus.CANCELED, 4, 0)
    assert e.best_bid() is None
    assert e.check_invariants() == 0


def test_matching_cancel_partially_filled_closes_remainder() -> None:
    e = make()
    m = put(e, BUY, 100, 4)
    put(e, SELL, 100, 1, account=2)
    assert e.cancel(m)
    o = e.order(m)
    assert (o["executed_qty"], o["closed_qty"]) == (1, 3)


def test_matching_cancel_unknown_filled_or_twice_returns_false() -> None:
    e = make()
    a = put(e, BUY, 100, 1)
    put(e, SELL, 100, 1, account=2)
    b = put(e, BUY, 90, 1)
    assert e.cancel(a) is False  # filled
    assert e.cancel(0) is False
    assert e.cancel(99) is False
    assert e.cancel(b) is True
    assert e.cancel(b) is False
    e.drain()
    assert e.cancel(b) is False
    assert e.drain() == []


def test_matching_cancel_middle_of_level_keeps_fifo_of_others() -> None:
    e = make()
    a = put(e, SELL, 100, 1)
    b = put(e, SELL, 100, 1)
    c = put(e, SELL, 100, 1)
    e.cancel(b)
    e.drain()
    t = put(e, BUY, 100, 2, account=2)
    assert trades(e.drain()) == [(t, a, 100, 1), (t, c, 100, 1)]
    assert e.check_invariants() == 0


def test_matching_cancel_all_cancels_only_that_account_in_id_order() -> None:
    e = make()
    mine = [put(e, BUY, 100, 1), put(e, SELL, 120, 1)]
    theirs = put(e, BUY, 101, 1, account=2)
    mine.append(put(e, BUY, 99, 1))
    e.drain()
    assert e.open_orders(1) == mine
    assert e.cancel_all(1, 5) == 3
    assert [(k, oid) for k, oid, *_ in e.drain()] == [(EvKind.EV_CANCELED, i) for i in mine]
    assert e.open_orders(1) == []
    assert e.open_orders(2) == [theirs]
    assert e.cancel_all(1) == 0
    assert e.check_invariants() == 0


def test_matching_open_orders_excludes_filled_and_expired() -> None:
    e = make()
    a = put(e, BUY, 100, 1)
    b = put(e, BUY, 101, 2)
    put(e, SELL, 101, 2, account=2)
    put(e, BUY, 1, 1, tif=IOC)
    assert e.open_orders(1) == [a]
    assert status(e, b) == OrdStatus.FILLED


# ---- scale ---------------------------------------------------------------------------------------


def test_matching_thousands_of_levels_and_orders_grow_and_stay_consistent() -> None:
    e = make()
    for i in range(3000):
        put(e, BUY, 10_000 - i, 1 + i % 7, account=i % 5)
        put(e, SELL, 20_000 + i, 1 + i % 3, account=i % 5)
    assert len(e.drain()) == 6000  # the event buffer grew past its first allocation
    assert len(e.depth(BUY, 10_000)) == len(e.depth(SELL, 10_000)) == 3000
    assert e.check_invariants() == 0
    t = put(e, SELL, 0, 10**9, kind=MARKET, account=9)
    assert e.best_bid() is None
    assert e.order(t)["executed_qty"] == sum(1 + i % 7 for i in range(3000))
    assert e.check_invariants() == 0


def test_matching_check_invariants_returns_zero_and_error_is_assertion() -> None:
    assert issubclass(InvariantError, AssertionError)
    assert make().check_invariants() == 0


# ---- differential -------------------------------------------------------------------------------


def _random_step(rng: random.Random, n_orders: int) -> tuple[str, tuple[int, ...]]:
    r = rng.random()
    if r < 0.12 and n_orders:
        return "cancel", (rng.randint(0, n_orders + 2), rng.randint(0, 10**6))
    if r < 0.14:
        return "cancel_all", (rng.randint(1, 4), rng.randint(0, 10**6))
    side = rng.choice((0, 1))
    kind = rng.choices((0, 1, 2), weights=(8, 1, 1))[0]
    tif = rng.choices((0, 1, 2, 3), weights=(6, 2, 2, 1))[0]
    mid = 1000
    px = mid + rng.randint(-12, 12) + (3 if side == 1 else -3)
    qty = rng.choice((1, 2, 3, 5, 8, 13))
    if rng.random() < 0.03:
        px, qty = rng.choice(((0, qty), (px, 0), (px, -2), (2**62, 3)))
    if rng.random() < 0.01:
        side, tif = rng.choice(((2, tif), (side, 7)))
    stp = rng.choices((0, 1, 2, 3), weights=(4, 1, 1, 1))[0]
    return "submit", (rng.randint(1, 4), rng.randint(0, 99), side, kind, tif, px, qty, stp,
                      rng.randint(0, 10**12))  # fmt: skip


def _same(e: MatchingEngine, ref: MatchingEngineRef, n_orders: int) -> None:
    assert e.drain() == ref.drain()
    assert e.depth(0, 1000) == ref.depth(0, 1000)
    assert e.depth(1, 1000) == ref.depth(1, 1000)
    assert e.best_bid() == ref.best_bid()
    assert e.best_ask() == ref.best_ask()
    assert e.n_trades == ref.n_trades
    assert e.check_invariants() == 0
    assert ref.check_invariants() == 0


@pytest.mark.parametrize("seed", range(16))
def test_matching_random_stream_matches_reference_after_every_step(seed: int) -> None:
    rng = random.Random(seed)
    maker, taker = rng.choice(((0, 0), (100, 400), (-50, 1000), (333, 777)))
    e = MatchingEngine(2, 3, maker, taker)
    ref = MatchingEngineRef(2, 3, maker, taker)
    n = 0
    for _ in range(800):
        op, args = _random_step(rng, n)
        if op == "submit":
            got, want = e.submit(*args), ref.submit(*args)
            n += 1
            assert got == want == n
            assert e.order(got) == ref.order(want)
        elif op == "cancel":
            assert e.cancel(*args) == ref.cancel(*args)
        else:
            assert e.cancel_all(*args) == ref.cancel_all(*args)
        _same(e, ref, n)
    for acct in range(1, 5):
        assert e.open_orders(acct) == ref.open_orders(acct)
    for oid in range(1, n + 1):
        assert e.order(oid) == ref.order(oid)
