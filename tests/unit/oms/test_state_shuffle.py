"""Property: duplicated and reordered venue events end in the clean sequence's state.

Model (what the venue guarantees, see `veloz.oms.state`): fills of one symbol keep their
trade order (one user-stream connection); order updates come from several sources and may
land anywhere; any event may be replayed later (reconnect, REST reconciliation).
"""

import random

from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.unit.oms.state_events import FUT
from tests.unit.oms.state_events import SPOT
from tests.unit.oms.state_events import fill
from tests.unit.oms.state_events import upd
from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderStatus as S
from veloz.oms.state import ExecState

_order = st.tuples(
    st.sampled_from([SPOT, FUT]),
    st.sampled_from(["BUY", "SELL"]),
    st.lists(st.integers(1, 5), min_size=0, max_size=4),  # fill sizes (x1000 raw)
    st.booleans(),  # canceled with a remainder
    st.integers(990, 1010),  # px
)


def _clean(orders: list, rnd: random.Random) -> list[list[ExecEvent]]:
    lives: list[list[ExecEvent]] = []
    for i, (inst, side, sizes, cancel, px) in enumerate(orders):
        cid = f"c{i}"
        qty = (sum(sizes) + (1 if cancel or not sizes else 0)) * 1000
        ev: list[ExecEvent] = [upd(cid, S.NEW, 0, qty, inst, side)]
        cum = 0
        for k, sz in enumerate(sizes):
            cum += sz * 1000
            ev.append(fill(cid, 0, px * (10 if inst is SPOT else 1) + k, sz * 1000, side, inst, 7))
            ev.append(
                upd(cid, S.FILLED if cum == qty else S.PARTIALLY_FILLED, cum, qty, inst, side)
            )
        if cum < qty:
            ev.append(upd(cid, S.CANCELED, cum, qty, inst, side))
        lives.append(ev)
    # Merge the lives in a random schedule, each keeping its own order; number trades.
    seq: list[ExecEvent] = []
    heads = [0] * len(lives)
    tid = 0
    while any(h < len(lv) for h, lv in zip(heads, lives, strict=True)):
        i = rnd.choice([j for j, lv in enumerate(lives) if heads[j] < len(lv)])
        e = lives[i][heads[i]]
        heads[i] += 1
        if isinstance(e, Fill):
            tid += 1
            e = fill(
                e.client_order_id,
                tid,
                e.px,
                e.qty,
                e.side,
                SPOT if e.venue == SPOT.venue else FUT,
                e.fee,
            )
        seq.append(e)
    return [seq]


def _perturb(seq: list[ExecEvent], rnd: random.Random) -> list[ExecEvent]:
    fills = [e for e in seq if isinstance(e, Fill)]
    out: list[ExecEvent] = list(fills)
    for e in seq:
        if not isinstance(e, Fill):
            out.insert(rnd.randrange(len(out) + 1), e)  # updates land anywhere
    for e in rnd.sample(seq, k=len(seq) // 2):  # replays land after their original
        out.insert(rnd.randrange(out.index(e) + 1, len(out) + 1), e)
    return out


def _run(seq: list[ExecEvent], n: int) -> ExecState:
    ex = ExecState([SPOT, FUT])
    for i in range(n):
        ex.orders.on_sent(f"c{i}", f"s{i % 2}", "", "", "BUY", "LIMIT", "GTC", 1, 0)
    for e in seq:
        ex.apply(e)
    return ex


def _snapshot(ex: ExecState) -> tuple[object, ...]:
    marks = {(SPOT.venue, SPOT.symbol): 10_050, (FUT.venue, FUT.symbol): 1_003}
    pos = ex.positions
    orders = {c: (e.state, e.filled_qty) for c, e in ex.orders.orders.items()}
    books = []
    for s in (None, "s0", "s1"):
        a = pos.account(s)
        books.append(
            (
                a.balances,
                a.fees,
                a.realized,
                pos.unrealized(marks, s),
                pos.net_pnl(marks, s),
                a.position(SPOT),
                a.position(FUT),
            )
        )
    return orders, books


@settings(max_examples=150, deadline=None)
@given(st.lists(_order, min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_state_shuffled_duplicated_events_equal_clean_sequence(
    orders: list, rnd: random.Random
) -> None:
    (seq,) = _clean(orders, rnd)
    clean = _run(seq, len(orders))
    messy = _run(_perturb(seq, rnd), len(orders))
    assert _snapshot(messy) == _snapshot(clean)
    assert clean.orders.n_duplicate == 0 and clean.orders.n_stale == 0
    assert messy.orders.n_overfill == 0 and messy.orders.n_conflict == 0
