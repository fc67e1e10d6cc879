"""Tick replay of recorded Binance market-data frames: decode -> sync -> book, with counters.

Feeds frames exactly as they were received (raw or combined-stream) through the same decoder,
sync state machine and book the live feed uses, and cross-checks the book against recorded
bookTicker frames at equal update ids. Owns no I/O beyond what the caller hands it.
"""

import logging
import time
from collections import deque
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

import orjson

from veloz._core import binance_md
from veloz._core import depth_sync
from veloz._core import fixed
from veloz._core.book import Book
from veloz._core.book import Side
from veloz.errors import WireError
from veloz.log import RateLimitedLog

log = logging.getLogger(__name__)

VENUES: dict[str, tuple[bool, int]] = {
    "binance-spot": (False, depth_sync.SyncRule.SPOT),
    "binance-usdm": (True, depth_sync.SyncRule.USDM),
}

_KIND_NAMES = {int(k): k.name.lower() for k in binance_md.MdKind}


@dataclass(slots=True)
class ReplayReport:
    """What a replay saw; every count is since the start of the replay."""

    venue: str
    symbol: str
    price_dp: int
    qty_dp: int
    messages: int = 0
    depth_events: int = 0
    levels_applied: int = 0
    stale_dropped: int = 0
    gaps: int = 0
    resyncs_needed: int = 0
    malformed: int = 0
    unknown: int = 0
    wrong_symbol: int = 0
    crossed: int = 0
    snapshots_used: int = 0
    snapshots_too_old: int = 0
    bbo_checks: int = 0
    bbo_mismatches: int = 0
    bbo_unchecked: int = 0
    events: dict[str, int] = field(default_factory=dict)
    book_valid: bool = False
    invalid_reason: str | None = None
    update_id: int | None = None
    best_bid: list[str] | None = None
    best_ask: list[str] | None = None
    bids: list[list[str]] = field(default_factory=list)
    asks: list[list[str]] = field(default_factory=list)
    ns_per_message: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-ready data."""
        return asdict(self)


def load_frames(path: Path) -> list[bytes]:
    """Read recorded frames: a JSON array (elements re-serialised) or one frame per line.

    JSONL lines are kept byte for byte, so a malformed line reaches the decoder as it was
    received. Raises WireError when a ``.json`` file is not a JSON array.
    """
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        return [line for line in data.splitlines() if line.strip()]
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise WireError(
            f"{path}: not valid JSON ({exc}); use .jsonl for one frame per line"
        ) from exc
    if not isinstance(doc, list):
        raise WireError(f"{path}: expected a JSON array of frames, got {type(doc).__name__}")
    return [orjson.dumps(item) for item in doc]


def _unwrap(frame: bytes) -> tuple[str | None, Any]:
    # (combined-stream name or None, payload); payload None for a frame that is not JSON
    try:
        doc = orjson.loads(frame)
    except orjson.JSONDecodeError:
        return None, None
    if isinstance(doc, dict) and isinstance(doc.get("stream"), str) and "data" in doc:
        return doc["stream"], doc["data"]
    return None, doc


def infer_symbol(frames: list[bytes]) -> str | None:
    """Return the symbol of the first frame that names one (``s`` or the stream name)."""
    for frame in frames:
        stream, data = _unwrap(frame)
        if isinstance(data, dict) and isinstance(data.get("s"), str):
            return str(data["s"]).upper()
        if stream is not None:
            return stream.split("@", 1)[0].upper()
    return None


def _decimals(text: object) -> int:
    if not isinstance(text, str) or "." not in text:
        return 0
    return len(text.split(".", 1)[1].rstrip("0"))


def infer_dps(frames: list[bytes], snapshots: list[bytes]) -> tuple[int, int]:
    """Return the smallest (price_dp, qty_dp) that represents every price and qty exactly.

    Used when no exchangeInfo is given: recorded books, trades and tickers carry the tick's
    precision. Scans levels (``b``/``a``/``bids``/``asks``), trades and bookTicker fields.
    """
    price_dp = qty_dp = 0
    for raw in [*frames, *snapshots]:
        _, data = _unwrap(raw)
        if not isinstance(data, dict):
            continue
        for key in ("b", "a", "bids", "asks"):
            levels = data.get(key)
            if isinstance(levels, list):
                for level in levels:
                    if isinstance(level, list) and len(level) >= 2:
                        price_dp = max(price_dp, _decimals(level[0]))
                        qty_dp = max(qty_dp, _decimals(level[1]))
            elif isinstance(levels, str):  # bookTicker b / a
                price_dp = max(price_dp, _decimals(levels))
        if data.get("e") in ("trade", "aggTrade"):
            price_dp = max(price_dp, _decimals(data.get("p")))
            qty_dp = max(qty_dp, _decimals(data.get("q")))
        for key in ("B", "A"):
            if isinstance(data.get(key), str):
                qty_dp = max(qty_dp, _decimals(data[key]))
    return min(price_dp, 18), min(qty_dp, 18)


class Replay:
    """Run recorded frames through decoder, DepthSync and Book; see `run`.

    Parameters
    ----------
    venue : str
        ``binance-spot`` or ``binance-usdm``: picks the decoder flavour and the sync rule.
    symbol : str
        The instrument replayed; frames for other symbols are counted and skipped.
    price_dp, qty_dp : int
        Scales of the book (from exchangeInfo or `infer_dps`).
    snapshots : list of bytes
        REST depth snapshots available to (re)sync from, in any order.
    """

    def __init__(
        self,
        venue: str,
        symbol: str,
        price_dp: int,
        qty_dp: int,
        snapshots: list[bytes],
    ) -> None:
        if venue not in VENUES:
            raise ValueError(f"venue must be one of {sorted(VENUES)}, got {venue!r}")
        is_usdm, rule = VENUES[venue]
        self.report = ReplayReport(venue=venue, symbol=symbol, price_dp=price_dp, qty_dp=qty_dp)
        self.decoder = binance_md.BinanceMdDecoder(symbol, price_dp, qty_dp, is_usdm)
        self.book = Book(price_dp, qty_dp)
        self.sync = depth_sync.DepthSync(self.book, rule)
        self._snapshots = self._decode_snapshots(snapshots)
        self._pending_bbo: deque[tuple[int, int, int, int, int]] = deque()
        self._last_gap: str | None = None
        self._malformed_log = RateLimitedLog(log)
        self._mismatch_log = RateLimitedLog(log)

    def _decode_snapshots(self, snapshots: list[bytes]) -> list[Any]:
        decoded = []
        for i, body in enumerate(snapshots):
            if self.decoder.decode_snapshot(body) != binance_md.MdKind.SNAPSHOT:
                raise WireError(f"snapshot {i + 1}: {self.decoder.last_error}")
            decoded.append(self.decoder.depth.copy())
        decoded.sort(key=lambda s: s.last_id)
        return decoded

    def _offer_snapshots(self) -> None:
        # Hand the sync machine the oldest unused snapshot until one is accepted or none is
        # left. Like the live feed, a snapshot is only taken once a diff is buffered.
        sync = self.sync
        while sync.needs_snapshot and sync.n_buffered and self._snapshots:
            status = sync.on_snapshot(self._snapshots.pop(0))
            if status in (depth_sync.SyncStatus.SYNCED, depth_sync.SyncStatus.CROSSED):
                self.report.snapshots_used += 1
                self._check_pending_bbo()
            elif status == depth_sync.SyncStatus.SNAPSHOT_WAIT:
                self.report.snapshots_used += 1
            elif status == depth_sync.SyncStatus.GAP:
                self._note_gap()

    def _note_gap(self) -> None:
        self._last_gap = (
            f"gap after update id {self.sync.update_id}: an event was lost, "
            "and the book is cleared until a later snapshot"
        )
        log.warning("replay.gap symbol=%s update_id=%d", self.report.symbol, self.sync.update_id)

    def _check_pending_bbo(self) -> None:
        if not self.sync.is_live:
            return
        uid = self.sync.update_id
        pending = self._pending_bbo
        while pending and pending[0][0] <= uid:
            bbo = pending.popleft()
            if bbo[0] == uid:
                self._compare_bbo(bbo)
            else:
                self.report.bbo_unchecked += 1

    def _on_bbo(self) -> None:
        d = self.decoder
        bbo = (d.bbo_id, d.bid_px, d.bid_qty, d.ask_px, d.ask_qty)
        if self.sync.is_live and bbo[0] == self.sync.update_id:
            self._compare_bbo(bbo)
        elif not self.sync.is_live or bbo[0] > self.sync.update_id:
            self._pending_bbo.append(bbo)
        else:
            self.report.bbo_unchecked += 1

    def _compare_bbo(self, bbo: tuple[int, int, int, int, int]) -> None:
        self.report.bbo_checks += 1
        got = (self.book.best_bid(), self.book.best_ask())
        want = ((bbo[1], bbo[2]), (bbo[3], bbo[4]))
        if got != want:
            self.report.bbo_mismatches += 1
            self._mismatch_log.warning(
                "replay.bbo_mismatch update_id=%d book=%s ticker=%s", bbo[0], got, want
            )

    def run(self, frames: list[bytes]) -> ReplayReport:
        """Replay every frame in order and return the report (book, counters, timing)."""
        r = self.report
        decoder = self.decoder
        sync = self.sync
        depth = decoder.depth
        kinds = r.events
        DEPTH = binance_md.MdKind.DEPTH
        BOOK_TICKER = binance_md.MdKind.BOOK_TICKER
        MALFORMED = binance_md.MdKind.MALFORMED
        GAP = depth_sync.SyncStatus.GAP
        APPLIED = depth_sync.SyncStatus.APPLIED
        t0 = time.perf_counter_ns()
        for frame in frames:
            kind = decoder.decode(frame)
            if kind == DEPTH:
                status = sync.on_diff(depth)
                if status == GAP:
                    self._note_gap()
                if status != APPLIED:
                    self._offer_snapshots()
                if self._pending_bbo:
                    self._check_pending_bbo()
                continue
            if kind == BOOK_TICKER:
                self._on_bbo()
            elif kind == MALFORMED:
                self._malformed_log.warning(
                    "replay.frame_malformed reason=%s frame=%r", decoder.last_error, frame[:200]
                )
            kinds[_KIND_NAMES[kind]] = kinds.get(_KIND_NAMES[kind], 0) + 1
        elapsed = time.perf_counter_ns() - t0
        self._finish(len(frames), elapsed)
        return r

    def _finish(self, n_frames: int, elapsed_ns: int) -> None:
        r, d, s = self.report, self.decoder, self.sync
        r.messages = n_frames
        r.depth_events = int(s.n_diffs)
        r.events["depth"] = r.depth_events
        r.levels_applied = int(self.book.n_levels_applied)
        r.stale_dropped = int(s.n_stale)
        r.gaps = int(s.n_gaps)
        r.resyncs_needed = int(s.n_resyncs) - 1  # the first snapshot is the initial sync
        r.snapshots_too_old = int(s.n_snapshots_too_old)
        r.malformed = int(d.n_malformed)
        r.unknown = int(d.n_unknown)
        r.wrong_symbol = int(d.n_wrong_symbol)
        r.crossed = int(s.n_crossed)
        r.bbo_unchecked += len(self._pending_bbo)
        r.ns_per_message = elapsed_ns / n_frames if n_frames else 0.0
        r.book_valid = bool(s.is_live)
        if s.is_live:
            r.update_id = int(s.update_id)
        else:
            r.invalid_reason = self._invalid_reason()

    def _invalid_reason(self) -> str:
        s = self.sync
        if self._last_gap is not None and s.n_gaps:
            return self._last_gap + "; no later snapshot to resync from"
        if s.n_snapshots == 0:
            return "no snapshot given: a diff stream alone cannot build a book (use --snapshot)"
        if s.state == depth_sync.SyncState.SNAPSHOT_PENDING:
            return "the snapshot is newer than every recorded depth event"
        if s.n_snapshots_too_old:
            return "every snapshot was older than the recorded depth events"
        return "no depth event covered the snapshot's update id"

    def top_levels(self, depth: int) -> None:
        """Fill best bid/ask and the top ``depth`` levels as decimal text (valid book only)."""
        r = self.report
        if not r.book_valid:
            return
        pdp, qdp = r.price_dp, r.qty_dp
        best_bid, best_ask = self.book.best_bid(), self.book.best_ask()
        if best_bid is not None:
            r.best_bid = [fixed.to_text(best_bid[0], pdp), fixed.to_text(best_bid[1], qdp)]
        if best_ask is not None:
            r.best_ask = [fixed.to_text(best_ask[0], pdp), fixed.to_text(best_ask[1], qdp)]
        for side, out in ((Side.BID, r.bids), (Side.ASK, r.asks)):
            px, qty = self.book.top_n(side, depth)
            out.extend(
                [fixed.to_text(int(p), pdp), fixed.to_text(int(q), qdp)]
                for p, q in zip(px, qty, strict=True)
            )
