"""The strategy example in README.md runs as written: it quotes, reads a rejection, a fill."""

import logging
import re
from pathlib import Path

import pytest

from tests.unit.strategy.wirefakes import QTY_DP
from tests.unit.strategy.wirefakes import GatewayFake
from tests.unit.strategy.wirefakes import runtime
from tests.unit.strategy.wirefakes import topic
from veloz._core import fixed
from veloz._core import wire
from veloz.strategy.base import Strategy

README = Path(__file__).resolve().parents[3] / "README.md"


def _example_class() -> type[Strategy]:
    text = README.read_text()
    section = text.split("## Writing a strategy", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code is not None, "no python block under '## Writing a strategy'"
    namespace: dict[str, object] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)  # noqa: S102 - our README
    cls = namespace["Quoter"]
    assert isinstance(cls, type) and issubclass(cls, Strategy)
    return cls


def test_readme_strategy_quotes_below_mid_and_handles_reject_and_fill(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    q = _example_class()("q")
    rt, sent, feed = runtime(q)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))  # 50000.00 / 50001.00
    (cmd,) = sent.decoded()
    assert cmd.action == wire.Action.NEW and cmd.side == wire.Side.BUY
    assert cmd.ord_type == wire.OrdType.LIMIT_MAKER
    # mid 50000.50 minus 5 ticks of 0.10, down to the tick: 50000.00
    assert cmd.px == 5_000_000 and cmd.qty == fixed.parse("0.001", QTY_DP)
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    assert len(sent.msgs) == 1  # an open order: no second quote
    gw = GatewayFake()
    cid = cmd.client_order_id
    rt.dispatch(b"ex.q.order", gw.event("q", cid, wire.Status.NEW, px=cmd.px, qty=cmd.qty))
    rt.dispatch(b"ex.q.fill", gw.fill("q", cid, 1, wire.Side.BUY, cmd.px, cmd.qty))
    rt.dispatch(
        b"ex.q.order",
        gw.event("q", cid, wire.Status.FILLED, filled=cmd.qty, px=cmd.px, qty=cmd.qty),
    )
    assert "filled" in caplog.text
    assert q.position("BTCUSDT") is not None
    rt.dispatch(topic("book"), feed.book_body(5_000_000, 5_000_100))
    (_, second) = sent.decoded()
    rt.dispatch(
        b"ex.q.order",
        gw.event(
            "q",
            second.client_order_id,
            wire.Status.REJECTED,
            reason="Order would immediately match and take.",
        ),
    )
    assert "refused: Order would immediately match and take." in caplog.text
    assert rt.slots[0].ctx.n_errors == 0
