"""Bus wire codec properties: encode -> decode is the identity for every message type."""

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.unit._core.wirecases import I64_MAX
from tests.unit._core.wirecases import SPOT
from tests.unit._core.wirecases import book_of
from tests.unit._core.wirecases import dp
from tests.unit._core.wirecases import i64
from tests.unit._core.wirecases import top
from tests.unit._core.wirecases import utf8
from veloz._core import wire
from veloz._core.book import Side as BookSide

# ---- property: encode -> decode is identity ---------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    i64,
    dp,
    dp,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
)
def test_wire_bbo_property_round_trip(
    inst: int, uid: int, pdp: int, qdp: int, bp: int, bq: int, ap: int, aq: int, ex: int, ing: int
) -> None:
    m = wire.decode(wire.Encoder(SPOT).bbo(inst, uid, pdp, qdp, bp, bq, ap, aq, ex, ing))
    assert isinstance(m, wire.BboMsg)
    got = (
        m.header.inst,
        m.update_id,
        m.price_dp,
        m.qty_dp,
        m.bid_px,
        m.bid_qty,
        m.ask_px,
        m.ask_qty,
        m.header.exch_ns,
        m.header.ingest_ns,
    )
    assert got == (inst, uid, pdp, qdp, bp, bq, ap, aq, ex, ing)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    i64,
    st.integers(0, 6),
    st.integers(0, 2),
    st.integers(0, 3),
    st.integers(0, 4),
    dp,
    dp,
    i64,
    i64,
    i64,
    st.integers(-(2**31), 2**31 - 1),
    utf8,
    utf8,
    utf8,
)
def test_wire_order_event_property_round_trip(
    inst: int,
    void: int,
    status: int,
    side: int,
    otype: int,
    tif: int,
    pdp: int,
    qdp: int,
    px: int,
    qty: int,
    filled: int,
    code: int,
    strat: str,
    cid: str,
    reason: str,
) -> None:
    enc = wire.Encoder(SPOT)
    if status == 0:
        with pytest.raises(ValueError):
            enc.order_event(
                inst,
                strat,
                cid,
                void,
                status,
                side,
                otype,
                tif,
                pdp,
                qdp,
                px,
                qty,
                filled,
                code,
                reason,
                0,
                0,
            )
        return
    m = wire.decode(
        enc.order_event(
            inst,
            strat,
            cid,
            void,
            status,
            side,
            otype,
            tif,
            pdp,
            qdp,
            px,
            qty,
            filled,
            code,
            reason,
            0,
            0,
        )
    )
    assert isinstance(m, wire.OrderEventMsg)
    assert (m.strategy, m.client_order_id, m.reason) == (strat, cid, reason)
    assert (m.venue_order_id, int(m.status), m.px, m.qty, m.filled_qty, m.error_code) == (
        void,
        status,
        px,
        qty,
        filled,
        code,
    )
    assert (0 if m.side is None else int(m.side)) == side
    assert (0 if m.tif is None else int(m.tif)) == tif
    assert (0 if m.ord_type is None else int(m.ord_type)) == otype


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, I64_MAX)), max_size=40),
    st.lists(st.tuples(st.integers(1, 10**6), st.integers(1, I64_MAX)), max_size=40),
    st.integers(0, 20),
)
def test_wire_book_property_decode_and_view_equal_top_n(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], n: int
) -> None:
    book = book_of([(p, q) for p, q in bids], [(p + 2 * 10**6, q) for p, q in asks])
    body = wire.Encoder(SPOT, max_levels=20).book(1, book, n, 9, 0, 0)
    m = wire.decode(body)
    assert isinstance(m, wire.BookMsg)
    assert m.bids == top(book, BookSide.BID, n)
    assert m.asks == top(book, BookSide.ASK, n)
    view = wire.BookView(capacity=2)
    view.update(body)
    assert tuple(view.bid(i) for i in range(view.n_bids)) == m.bids
    assert tuple(view.ask(i) for i in range(view.n_asks)) == m.asks


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    i64,
    i64,
    st.integers(0, 2),
    dp,
    dp,
    i64,
    i64,
    i64,
    utf8,
    utf8,
    utf8,
    st.booleans(),
    i64,
    i64,
    i64,
)
def test_wire_fill_property_round_trip(
    inst: int,
    void: int,
    tid: int,
    side: int,
    pdp: int,
    qdp: int,
    px: int,
    qty: int,
    fee: int,
    strat: str,
    cid: str,
    asset: str,
    is_maker: bool,
    pnl: int,
    ex: int,
    recv: int,
) -> None:
    body = wire.Encoder(SPOT).fill(
        inst, strat, cid, void, tid, side, pdp, qdp, px, qty, fee, asset, is_maker, pnl, ex, recv
    )
    m = wire.decode(body)
    assert isinstance(m, wire.FillMsg)
    got = (
        m.header.inst,
        m.strategy,
        m.client_order_id,
        m.venue_order_id,
        m.trade_id,
        0 if m.side is None else int(m.side),
        m.price_dp,
        m.qty_dp,
        m.px,
        m.qty,
        m.fee,
        m.fee_asset,
        m.is_maker,
        m.realized_pnl,
        m.header.exch_ns,
        m.header.ingest_ns,
    )
    assert got == (
        inst,
        strat,
        cid,
        void,
        tid,
        side,
        pdp,
        qdp,
        px,
        qty,
        fee,
        asset,
        is_maker,
        pnl,
        ex,
        recv,
    )


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 2**31 - 1),
    utf8,
    utf8,
    utf8,
    dp,
    dp,
    i64,
    i64,
    i64,
    i64,
    i64,
    utf8,
    st.binary(max_size=3000),
    st.lists(i64, min_size=6, max_size=6),
)
def test_wire_instrument_and_latency_property_round_trip(
    inst: int,
    sym: str,
    base: str,
    quote: str,
    pdp: int,
    qdp: int,
    tick: int,
    step: int,
    mn: int,
    mx: int,
    notional: int,
    name: str,
    hdr: bytes,
    pcts: list[int],
) -> None:
    enc = wire.Encoder(SPOT)
    i = wire.decode(enc.instrument(inst, sym, base, quote, pdp, qdp, tick, step, mn, mx, notional))
    assert isinstance(i, wire.InstrumentMsg)
    assert (i.header.inst, i.symbol, i.base, i.quote, i.price_dp, i.qty_dp) == (
        inst,
        sym,
        base,
        quote,
        pdp,
        qdp,
    )
    assert (i.tick_raw, i.step_raw, i.min_qty_raw, i.max_qty_raw, i.min_notional_raw) == (
        tick,
        step,
        mn,
        mx,
        notional,
    )
    count, p50, p90, p99, p999, top_ns = pcts
    lat = wire.decode(enc.latency(name, count, p50, p90, p99, p999, top_ns, hdr, count))
    assert isinstance(lat, wire.LatencyMsg)
    assert (lat.name, lat.hdr, lat.header.ingest_ns) == (name, hdr, count)
    assert [lat.count, lat.p50_ns, lat.p90_ns, lat.p99_ns, lat.p999_ns, lat.max_ns] == pcts
