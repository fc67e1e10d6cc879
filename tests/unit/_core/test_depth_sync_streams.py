"""DepthSync on whole streams: seeded random streams against the twin, and the real captures.

A differential test drives DepthSync and the pure-Python twin (reference/sync_ref.py) with
seeded streams full of gaps, duplicates, stale events, snapshots and resets; the real captures
must sync with the counts of exchange-protocols.md §5.4 and agree with the bookTicker stream at
equal update ids. The hand-made transition tests are in test_depth_sync.py.
"""

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.unit._core.depth_sync_cases import SPOT
from tests.unit._core.depth_sync_cases import USDM
from tests.unit._core.depth_sync_cases import book_of
from tests.unit._core.depth_sync_cases import counters
from tests.unit._core.reference.sync_ref import Levels
from tests.unit._core.reference.sync_ref import Msg
from tests.unit._core.reference.sync_ref import RefSync
from tests.unit._core.reference.sync_ref import Rule
from veloz._core import fixed
from veloz._core.book import Book
from veloz._core.depth import DepthMsg
from veloz._core.depth_sync import DepthSync
from veloz._core.depth_sync import SyncRule
from veloz._core.depth_sync import SyncState
from veloz._core.depth_sync import SyncStatus

# ---- differential: DepthSync vs the pure-Python twin ------------------------------------------


class Stream:
    """A true depth stream for one rule plus the book after each event (for snapshots)."""

    def __init__(self, rng: random.Random, rule: Rule, n_events: int) -> None:
        self.events: list[Msg] = []
        self.books: list[tuple[Levels, Levels]] = []  # (bids, asks) after event i
        bids = {px: rng.randint(1, 9) for px in range(90, 100)}
        asks = {px: rng.randint(1, 9) for px in range(101, 111)}
        self.start_bids = dict(bids)
        self.start_asks = dict(asks)
        u = rng.randint(1000, 5000)
        self.start_u = u
        for _ in range(n_events):
            if rule == Rule.SPOT:
                first = u + 1 if rng.random() > 0.05 else u - rng.randint(0, 2)  # rare overlap
            else:
                first = u + rng.randint(1, 40)  # USD-M ids jump between events
            last = max(first, u + 1) + rng.randint(0, 4)
            ev_bids = self._levels(rng, bids, 88, 100, cross=101)
            ev_asks = self._levels(rng, asks, 101, 113, cross=100)
            prev_id = u if rule == Rule.USDM else -1  # spot frames carry no pu
            self.events.append(Msg(first, last, prev_id, ev_bids, ev_asks))
            self.books.append((tuple(sorted(bids.items())), tuple(sorted(asks.items()))))
            u = last

    @staticmethod
    def _levels(rng: random.Random, side: dict[int, int], lo: int, hi: int, cross: int) -> Levels:
        # Prices in [lo, hi]; now and then one at `cross` (beyond the touch: the book crosses),
        # and now and then every crossing level deleted again.
        out = []
        for _ in range(rng.randint(0, 4)):
            px = cross if rng.random() < 0.03 else rng.randint(lo, hi)
            qty = 0 if rng.random() < 0.35 else rng.randint(1, 50)
            out.append((px, qty))
        if rng.random() < 0.3:
            out.extend((px, 0) for px in side if (px >= cross if cross > lo else px <= cross))
        for px, qty in out:
            if qty:
                side[px] = qty
            else:
                side.pop(px, None)
        return tuple(out)

    def snapshot(self, rng: random.Random, rule: Rule, k: int) -> Msg:
        """The book after event k (-1: before any), with an id the rule's venue could send."""
        if k < 0:
            return Msg(
                self.start_u,
                self.start_u,
                -1,
                tuple(self.start_bids.items()),
                tuple(self.start_asks.items()),
            )
        bids, asks = self.books[k]
        snap_id = self.events[k].last_id
        if rule == Rule.USDM and k + 1 < len(self.events) and rng.random() < 0.3:
            snap_id = self.events[k + 1].first_id  # as in the real capture: L == next U
        shuffled_bids = list(bids)
        rng.shuffle(shuffled_bids)  # load takes levels in any order
        return Msg(snap_id, snap_id, -1, tuple(shuffled_bids), asks)


def to_depth_msg(msg: Msg, is_snapshot: bool = False) -> DepthMsg:
    return DepthMsg(msg.first_id, msg.last_id, msg.prev_id, msg.bids, msg.asks, is_snapshot)


def drive(seed: int, rule: Rule, n_steps: int = 400) -> set[tuple[str, int]]:
    """Run one seeded stream through both machines, comparing after every step."""
    rng = random.Random(seed)
    stream = Stream(rng, rule, n_steps)
    sync = DepthSync(Book(0, 0), SyncRule(int(rule)), max_buffered=rng.choice([3, 8, 10000]))
    ref = RefSync(rule, max_buffered=sync.max_buffered)
    seen: set[tuple[str, int]] = set()
    nxt = 0
    delivered: list[Msg] = []
    for _ in range(n_steps):
        roll = rng.random()
        if roll < 0.02:
            sync.reset()
            ref.reset()
            seen.add(("reset", 0))
            continue
        if roll < 0.12:
            kind = "snapshot"
            back = rng.choice([0, 0, 0, 1, 2, 5, 20, -1, -2, -5])  # < 0: REST ahead of WS
            k = min(max(nxt - 1 - back, -1), len(stream.events) - 1)
            msg = stream.snapshot(rng, rule, k)
            status = sync.on_snapshot(shot := to_depth_msg(msg, is_snapshot=True))
            shot.clear()  # a retained reference would now hold no levels
            want = ref.on_snapshot(msg)
        else:
            kind = "diff"
            if roll < 0.16 and delivered:
                msg = delivered[-1]  # duplicate (redundant connection)
            elif roll < 0.19 and delivered:
                msg = rng.choice(delivered)  # late, usually stale
            else:
                if nxt >= len(stream.events):
                    break
                if roll < 0.22:
                    nxt += rng.randint(1, 3)  # lost events
                    if nxt >= len(stream.events):
                        break
                msg = stream.events[nxt]
                nxt += 1
                delivered.append(msg)
            status = sync.on_diff(wire := to_depth_msg(msg))
            wire.clear()  # the decoder reuses its object: a kept reference would see this
            want = ref.on_diff(msg)
        seen.add((kind, int(want)))
        step = f"seed={seed} rule={rule.name} {kind} {msg}"
        assert status == want, step
        assert sync.state == ref.state, step
        assert sync.update_id == ref.update_id, step
        assert sync.n_buffered == ref.n_buffered, step
        assert counters(sync) == counters(ref), step
        assert book_of(sync) == (ref.book.levels(0), ref.book.levels(1)), step
        sync.book.check_invariants(allow_crossed=True)
        if sync.state != SyncState.LIVE:
            assert book_of(sync) == ([], []), step
    return seen


@pytest.mark.parametrize("rule", [Rule.SPOT, Rule.USDM], ids=["spot", "usdm"])
def test_sync_random_streams_match_reference_twin(rule: Rule) -> None:
    seen: set[tuple[str, int]] = set()
    for seed in range(40):
        seen |= drive(seed, rule)
    # The streams must actually reach every branch the public API can reach.
    every = {("diff", int(s)) for s in SyncStatus if s not in _NOT_FROM_DIFF}
    every |= {("snapshot", int(s)) for s in _FROM_SNAPSHOT}
    every.add(("reset", 0))
    assert every <= seen, sorted(every - seen)


_NOT_FROM_DIFF = {SyncStatus.SNAPSHOT_TOO_OLD, SyncStatus.SNAPSHOT_WAIT}
# GAP is not listed: on_snapshot replays a chain that on_diff already checked, so it cannot gap.
_FROM_SNAPSHOT = {
    SyncStatus.SYNCED,
    SyncStatus.CROSSED,
    SyncStatus.STALE,
    SyncStatus.SNAPSHOT_TOO_OLD,
    SyncStatus.SNAPSHOT_WAIT,
}


# ---- real captures (exchange-protocols.md §5.4) -----------------------------------------------


def to_ref_msg(msg: DepthMsg) -> Msg:
    bids = tuple((int(px), int(qty)) for px, qty in msg.bids.tolist())
    asks = tuple((int(px), int(qty)) for px, qty in msg.asks.tolist())
    return Msg(msg.first_id, msg.last_id, msg.prev_id, bids, asks)


def _levels_raw(pairs: list[list[str]], price_dp: int, qty_dp: int) -> list[tuple[int, int]]:
    return [(fixed.parse(p, price_dp), fixed.parse(q, qty_dp)) for p, q in pairs]


def _load_capture(
    fixtures_dir: Path, diff_name: str, snap_name: str, price_dp: int, qty_dp: int
) -> tuple[list[DepthMsg], DepthMsg]:
    frames: list[dict[str, Any]] = json.loads((fixtures_dir / diff_name).read_text())
    diffs = []
    for frame in frames:
        data = frame["data"]
        diffs.append(
            DepthMsg(
                data["U"],
                data["u"],
                data.get("pu", -1),  # spot frames have no pu
                _levels_raw(data["b"], price_dp, qty_dp),
                _levels_raw(data["a"], price_dp, qty_dp),
            )
        )
    body = json.loads((fixtures_dir / snap_name).read_text())
    shot = DepthMsg(
        body["lastUpdateId"],
        body["lastUpdateId"],
        -1,
        _levels_raw(body["bids"], price_dp, qty_dp),
        _levels_raw(body["asks"], price_dp, qty_dp),
        is_snapshot=True,
    )
    return diffs, shot


CAPTURES = {
    "spot": (
        SPOT,
        "binance/spot/depth_diff_100ms_NKNUSDT_combined_sequence_2021-10-11.json",
        "binance/spot/depth_snapshot_rest_v3_NKNUSDT_limit1000_2021-10-11.json",
        "binance/spot/bookTicker_NKNUSDT_combined_sequence_2021-10-11.json",
        8,
        8,
        1,
        149,
        19,
    ),
    "usdm": (
        USDM,
        "binance/futures_usdm/depth_diff_100ms_SUSHIUSDT_combined_sequence_2021-07-22.json",
        "binance/futures_usdm/depth_snapshot_fapi_v1_SUSHIUSDT_limit1000_2021-07-22.json",
        "binance/futures_usdm/bookTicker_SUSHIUSDT_combined_sequence_2021-07-22.json",
        4,
        0,
        3,
        252,
        12,
    ),
}


@pytest.mark.parametrize("snapshot_first", [False, True], ids=["diffs_first", "snapshot_first"])
@pytest.mark.parametrize("venue", sorted(CAPTURES))
def test_real_capture_syncs_without_gaps_and_matches_book_ticker(
    fixtures_dir: Path, venue: str, snapshot_first: bool
) -> None:
    rule, diff_name, snap_name, ticker_name, price_dp, qty_dp, n_stale, n_applied, n_tickers = (
        CAPTURES[venue]
    )
    diffs, shot = _load_capture(fixtures_dir, diff_name, snap_name, price_dp, qty_dp)
    tickers = {
        t["data"]["u"]: t["data"] for t in json.loads((fixtures_dir / ticker_name).read_text())
    }
    sync = DepthSync(Book(price_dp, qty_dp), rule)
    ref = RefSync(Rule(int(rule)))
    n_matched = 0

    def check_ticker() -> int:
        tick = tickers.get(sync.update_id)
        if tick is None or not sync.is_live:
            return 0
        assert sync.book.best_bid() == (
            fixed.parse(tick["b"], price_dp),
            fixed.parse(tick["B"], qty_dp),
        )
        assert sync.book.best_ask() == (
            fixed.parse(tick["a"], price_dp),
            fixed.parse(tick["A"], qty_dp),
        )
        return 1

    if snapshot_first:
        assert sync.on_snapshot(shot) == SyncStatus.SNAPSHOT_WAIT
        assert ref.on_snapshot(to_ref_msg(shot)) == SyncStatus.SNAPSHOT_WAIT
    for msg in diffs:
        status = sync.on_diff(msg)
        assert status == ref.on_diff(to_ref_msg(msg))
        assert status in (
            SyncStatus.BUFFERED,
            SyncStatus.STALE,
            SyncStatus.SYNCED,
            SyncStatus.APPLIED,
        )
        n_matched += check_ticker()
    if not snapshot_first:
        assert sync.n_buffered == len(diffs)
        assert sync.on_snapshot(shot) == SyncStatus.SYNCED
        assert ref.on_snapshot(to_ref_msg(shot)) == SyncStatus.SYNCED
        assert sync.n_buffered == 0
        # After a replay only the final id can be checked against a ticker.
        n_matched = check_ticker()

    assert sync.is_live
    assert sync.update_id == diffs[-1].last_id
    assert sync.n_gaps == 0
    assert sync.n_resyncs == 1
    assert sync.n_stale == n_stale
    assert sync.n_applied == n_applied
    assert sync.n_crossed == 0
    sync.book.check_invariants()
    assert book_of(sync) == (ref.book.levels(0), ref.book.levels(1))
    assert counters(sync) == counters(ref)
    if snapshot_first:
        assert n_matched == n_tickers  # §5.4: every bookTicker at an applied u agrees
    else:
        assert n_matched <= 1
