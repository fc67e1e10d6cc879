"""`veloz.Strategy` actions: argument checks, local venue-rule checks, ORDER_CMD encoding."""

import re

import pytest

from tests.unit.strategy.wirefakes import INST
from tests.unit.strategy.wirefakes import SYMBOL
from tests.unit.strategy.wirefakes import GatewayFake
from tests.unit.strategy.wirefakes import Sent
from tests.unit.strategy.wirefakes import runtime
from veloz._core import wire
from veloz._core.latency import now_ns
from veloz.errors import OrderRejected
from veloz.strategy.base import Strategy


def _started(name: str = "s1") -> tuple[Strategy, Sent]:
    s = Strategy(name)
    _, sent, _ = runtime(s)
    return s, sent


def test_buy_limit_encodes_order_cmd_with_trigger_time() -> None:
    s, sent = _started()
    before = now_ns()
    cid = s.buy(SYMBOL, "0.0010", "50000.10")
    assert sent.msgs[0][0] == b"cmd.s1"
    (cmd,) = sent.decoded()
    assert cmd.action == wire.Action.NEW
    assert cmd.strategy == "s1" and cmd.client_order_id == cid
    assert (cmd.side, cmd.ord_type, cmd.tif) == (wire.Side.BUY, wire.OrdType.LIMIT, wire.Tif.GTC)
    assert (cmd.px, cmd.qty, cmd.price_dp, cmd.qty_dp) == (5_000_010, 100, 2, 5)
    assert cmd.header.inst == INST
    assert before <= cmd.header.ingest_ns <= cmd.header.publish_ns


def test_buy_int_raws_equal_decimal_text() -> None:
    s, sent = _started()
    s.buy(SYMBOL, 100, 5_000_010)
    s.buy(SYMBOL, "0.001", "50000.1")
    a, b = sent.decoded()
    assert (a.px, a.qty) == (b.px, b.qty)


@pytest.mark.parametrize(("qty", "px"), [(0.001, "50000"), ("0.001", 50000.0), (True, "1")])
def test_buy_float_or_bool_is_type_error_naming_the_rule(qty: object, px: object) -> None:
    s, sent = _started()
    with pytest.raises(TypeError, match="floats are never accepted"):
        s.buy(SYMBOL, qty, px)  # type: ignore[arg-type]
    assert sent.msgs == []


@pytest.mark.parametrize(
    ("qty", "px", "why"),
    [
        ("0.001", "50000.05", "not a multiple of tick"),
        ("0.00105", "50000", "not a multiple of step"),
        ("0.0001", "100", "notional 0.0100000 below min"),
        ("0.001", "50000.001", "more|digits|dp|decimal"),
        ("0", "50000", "not a positive"),
    ],
)
def test_buy_breaking_venue_rule_rejected_locally(qty: str, px: str, why: str) -> None:
    s, sent = _started()
    with pytest.raises(OrderRejected, match=why) as info:
        s.buy(SYMBOL, qty, px)
    assert info.value.by == "strategy"
    assert sent.msgs == [] and s.open_orders() == []


def test_buy_unknown_symbol_rejected_by_strategy() -> None:
    s, _ = _started()
    with pytest.raises(OrderRejected, match="unknown symbol 'ETHUSDT'") as info:
        s.buy("ETHUSDT", "1", "1")
    assert info.value.by == "strategy"


def test_market_order_has_no_price_and_is_ioc() -> None:
    s, sent = _started()
    s.sell(SYMBOL, "0.001")
    (cmd,) = sent.decoded()
    assert (cmd.ord_type, cmd.tif, cmd.px, cmd.side) == (
        wire.OrdType.MARKET,
        wire.Tif.IOC,
        0,
        wire.Side.SELL,
    )


def test_post_only_spot_is_limit_maker_and_needs_price() -> None:
    s, sent = _started()
    s.buy(SYMBOL, "0.001", "50000", post_only=True)
    assert sent.decoded()[0].ord_type == wire.OrdType.LIMIT_MAKER
    with pytest.raises(OrderRejected, match="post_only needs a limit price"):
        s.buy(SYMBOL, "0.001", post_only=True)


def test_reduce_only_on_spot_rejected() -> None:
    s, _ = _started()
    with pytest.raises(OrderRejected, match="reduce_only"):
        s.sell(SYMBOL, "0.001", "50000", reduce_only=True)


def test_bad_tif_rejected() -> None:
    s, _ = _started()
    with pytest.raises(OrderRejected, match="tif='DAY'"):
        s.buy(SYMBOL, "0.001", "50000", tif="DAY")


def test_full_gateway_queue_rejects_by_bus_and_keeps_no_order() -> None:
    s, sent = _started()
    sent.ok = False
    with pytest.raises(OrderRejected, match="gateway queue full") as info:
        s.buy(SYMBOL, "0.001", "50000")
    assert info.value.by == "bus"
    assert s.open_orders() == []


def test_order_before_start_rejected() -> None:
    s = Strategy("s1")
    runtime(s, start=False)
    with pytest.raises(OrderRejected, match="WAITING"):
        s.buy(SYMBOL, "0.001", "50000")


def test_client_order_id_prefixed_by_name_and_binance_safe() -> None:
    s, _ = _started("market-maker-long")
    cid = s.buy(SYMBOL, "0.001", "50000")
    assert cid.startswith("market-maker-")
    assert re.match(r"^[a-zA-Z0-9_-]{1,36}$", cid)


def test_cancel_sends_cancel_for_the_order() -> None:
    s, sent = _started()
    cid = s.buy(SYMBOL, "0.001", "50000")
    assert s.cancel(cid) is True
    cmd = sent.decoded()[1]
    assert (cmd.action, cmd.client_order_id, cmd.header.inst) == (wire.Action.CANCEL, cid, INST)


def test_cancel_unknown_id_rejected() -> None:
    s, _ = _started()
    with pytest.raises(OrderRejected, match="unknown client order id"):
        s.cancel("nope")


def test_cancel_finished_order_returns_false_and_sends_nothing() -> None:
    s = Strategy("s1")
    rt, sent, _ = runtime(s)
    cid = s.buy(SYMBOL, "0.001", "50000")
    rt.dispatch(b"ex.s1.order", GatewayFake().event("s1", cid, wire.Status.FILLED, filled=100))
    assert s.cancel(cid) is False
    assert len(sent.msgs) == 1


def test_cancel_all_cancels_each_open_order_once() -> None:
    s, sent = _started()
    a = s.buy(SYMBOL, "0.001", "50000")
    b = s.sell(SYMBOL, "0.001", "50001")
    assert s.cancel_all() == 2
    assert s.cancel_all(SYMBOL) == 0  # already being cancelled
    cancels = [c.client_order_id for c in sent.decoded() if c.action == wire.Action.CANCEL]
    assert cancels == [a, b]


def test_open_orders_lists_pending_orders() -> None:
    s, _ = _started()
    cid = s.buy(SYMBOL, "0.001", "50000")
    (order,) = s.open_orders()
    assert order.client_order_id == cid and order.status_name == "PENDING"


def test_set_timer_rejects_non_positive() -> None:
    s, _ = _started()
    with pytest.raises(ValueError, match="must be > 0"):
        s.set_timer(-1)
