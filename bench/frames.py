"""Seeded synthetic Binance depth streams for benchmarks: a snapshot plus diff frames.

Frames look like the wire (prices padded to 8 decimals, ids contiguous, combined-stream
wrapper optional) and keep the book uncrossed, so every frame is valid and syncs.
"""

import random
from dataclasses import dataclass
from decimal import Decimal

import orjson
from sortedcontainers import SortedDict

TICK_DP = 2  # BTCUSDT-like: tick 0.01
STEP_DP = 5  # step 0.00001


def _txt(raw: int, dp: int) -> str:
    # Binance pads prices and quantities to 8 decimals
    s = str(raw).rjust(dp + 1, "0")
    return f"{s[:-dp]}.{s[-dp:]}{'0' * (8 - dp)}" if dp else f"{s}.00000000"


@dataclass(frozen=True, slots=True)
class DepthStream:
    """A REST snapshot body and the diff frames that follow it, all as wire bytes."""

    symbol: str
    price_dp: int
    qty_dp: int
    snapshot: bytes
    frames: list[bytes]


def depth_stream(
    n_frames: int,
    levels_per_frame: int = 20,
    book_levels: int = 1000,
    seed: int = 1,
    combined: bool = False,
) -> DepthStream:
    """Return a seeded spot BTCUSDT stream: snapshot at id 1000, then n_frames diffs.

    Changes cluster near the touch (geometric depth), a third delete a level, and the mid
    walks a tick at a time, deleting levels it crosses in the same frame.
    """
    rng = random.Random(seed)
    mid = 6_500_000  # 65000.00 at dp 2
    bids = {mid - k: rng.randint(1, 500_000) for k in range(1, book_levels + 1)}
    asks = {mid + k: rng.randint(1, 500_000) for k in range(1, book_levels + 1)}
    uid = 1000
    snap = {
        "lastUpdateId": uid,
        "bids": [
            [_txt(p, TICK_DP), _txt(q, STEP_DP)] for p, q in sorted(bids.items(), reverse=True)
        ],
        "asks": [[_txt(p, TICK_DP), _txt(q, STEP_DP)] for p, q in sorted(asks.items())],
    }
    frames = []
    for i in range(n_frames):
        b_chg: dict[int, int] = {}
        a_chg: dict[int, int] = {}
        if rng.random() < 0.1:
            mid += rng.choice((-1, 1))
            for p in [p for p in bids if p >= mid]:
                del bids[p]
                b_chg[p] = 0
            for p in [p for p in asks if p <= mid]:
                del asks[p]
                a_chg[p] = 0
        while len(b_chg) + len(a_chg) < levels_per_frame:
            is_bid = rng.random() < 0.5
            depth = min(int(rng.expovariate(1 / 6)) + 1, book_levels)
            p = mid - depth if is_bid else mid + depth
            side, chg = (bids, b_chg) if is_bid else (asks, a_chg)
            q = 0 if (p in side and rng.random() < 0.33) else rng.randint(1, 500_000)
            if q:
                side[p] = q
            else:
                side.pop(p, None)
            chg[p] = q
        first = uid + 1
        uid += len(b_chg) + len(a_chg)
        event = {
            "e": "depthUpdate",
            "E": 1_700_000_000_000 + i * 100,
            "s": "BTCUSDT",
            "U": first,
            "u": uid,
            "b": [[_txt(p, TICK_DP), _txt(q, STEP_DP)] for p, q in b_chg.items()],
            "a": [[_txt(p, TICK_DP), _txt(q, STEP_DP)] for p, q in a_chg.items()],
        }
        frame = {"stream": "btcusdt@depth@100ms", "data": event} if combined else event
        frames.append(orjson.dumps(frame))
    return DepthStream("BTCUSDT", TICK_DP, STEP_DP, orjson.dumps(snap), frames)


class DecimalBaseline:
    """The usual pure-Python feed step: orjson, Decimal per level, SortedDict per side.

    The baseline every frame -> applied figure is compared with (cryptofeed's style).
    """

    def __init__(self, snapshot: bytes) -> None:
        snap = orjson.loads(snapshot)
        self.bids = SortedDict({Decimal(p): Decimal(q) for p, q in snap["bids"]})
        self.asks = SortedDict({Decimal(p): Decimal(q) for p, q in snap["asks"]})
        self.update_id: int = snap["lastUpdateId"]

    def on_frame(self, frame: bytes) -> None:
        msg = orjson.loads(frame)
        msg = msg.get("data", msg)
        if msg["U"] > self.update_id + 1:
            raise ValueError("gap")
        for side, levels in ((self.bids, msg["b"]), (self.asks, msg["a"])):
            for p, q in levels:
                price, qty = Decimal(p), Decimal(q)
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)
        self.update_id = msg["u"]
