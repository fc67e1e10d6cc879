"""The gateway's journal: every order command it acts on and every venue event, durably.

Owns the journal file format, appending to it (fsync'd, group commit), cutting a torn tail on
open, and reading it back (`replay`). Must not decide anything about orders, talk to a venue
or the bus, or hold secrets (no key, signature or signed query is ever journaled).

Format (one file, ``<run>/journal/gateway.jsonl``, append-only): one record per line,
``<crc32 of the JSON, 8 hex> <JSON>\\n``. The JSON is an object with ``k`` (kind), ``q``
(sequence number, from 1, +1 per record) and the record's fields; all prices, quantities and
amounts are exact integer raws (never floats):

- ``new``: an order command the gateway is about to send (`OrderSent`: strategy, bus
  instrument id and the `NewOrder`), written before the send and fsync'd before the send.
- ``cancel`` / ``cancel_all``: a cancel about to be sent (`CancelSent`, `CancelAllSent`).
- ``ou``, ``fill``, ``bal``, ``pos``: a venue event as received (`OrderUpdate`, `Fill`,
  `BalanceUpdate`, `PositionUpdate`, fields as named there), written before it is published.

Durability: `Journal.append` hands the record to the kernel at once (``write(2)`` on an
O_APPEND fd), so a killed process loses nothing. `Journal.synced` makes a record durable
against a machine crash: one ``fdatasync`` on the loop's thread covers every record written
before it (group commit: the first send task of a batch of commands pays it, the others find
their record synced). The gateway awaits it before every send, so a command that reached the
venue is on disk. Events nobody waits for are synced at most `EVENT_SYNC_S` later on a
background thread, so the loop never blocks on them; an event lost to a machine crash in
that window is re-learned from the venue by reconciliation. A waiter's sync is inline, not
in a thread: on these machines the hand-off to a worker thread and back cost more than the
fdatasync itself (measured: 176 us p50 through the executor, 79 us inline). On open, a
last record without its newline or with a bad CRC or JSON is a torn tail: cut
(``n_torn_bytes``). A bad record followed by good ones is corruption: the file is cut there
too and ``journal.corrupt`` is logged at error.
"""

import asyncio
import json
import logging
import os
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import fields
from pathlib import Path
from typing import Any

from veloz.model.events import BalanceUpdate
from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.events import PositionUpdate
from veloz.model.orders import NewOrder

__all__ = [
    "CancelAllSent",
    "CancelSent",
    "Entry",
    "Journal",
    "OrderSent",
    "journal_path",
    "replay",
]

log = logging.getLogger(__name__)

# Seconds after which a record nobody waits for (a venue event) is fdatasync'd.
EVENT_SYNC_S = 0.05


@dataclass(frozen=True, slots=True)
class OrderSent:
    """A new order the gateway is about to send: its owner, bus instrument id and request."""

    strategy: str
    inst: int
    order: NewOrder


@dataclass(frozen=True, slots=True)
class CancelSent:
    """A cancel of one order the gateway is about to send."""

    strategy: str
    symbol: str
    client_order_id: str
    order_id: int


@dataclass(frozen=True, slots=True)
class CancelAllSent:
    """A cancel of every open order on `symbol` the gateway is about to send."""

    strategy: str
    symbol: str


Entry = OrderSent | CancelSent | CancelAllSent | ExecEvent

_EVENT_KINDS: dict[type, str] = {
    OrderUpdate: "ou",
    Fill: "fill",
    BalanceUpdate: "bal",
    PositionUpdate: "pos",
}
_EVENT_TYPES: dict[str, type] = {k: t for t, k in _EVENT_KINDS.items()}
_FIELDS: dict[type, tuple[str, ...]] = {
    t: tuple(f.name for f in fields(t))
    for t in (OrderUpdate, Fill, BalanceUpdate, PositionUpdate, NewOrder, CancelSent)
}


def journal_path(run_dir: Path, proc: str = "gateway") -> Path:
    """Return the journal file of process `proc` under `run_dir`: ``journal/<proc>.jsonl``."""
    return Path(run_dir) / "journal" / f"{proc}.jsonl"


def _to_obj(entry: Entry) -> dict[str, Any]:
    if isinstance(entry, OrderSent):
        o = entry.order
        d = {n: getattr(o, n) for n in _FIELDS[NewOrder]}
        d.update(k="new", strategy=entry.strategy, inst=entry.inst)
        return d
    if isinstance(entry, CancelSent):
        d = {n: getattr(entry, n) for n in _FIELDS[CancelSent]}
        d["k"] = "cancel"
        return d
    if isinstance(entry, CancelAllSent):
        return {"k": "cancel_all", "strategy": entry.strategy, "symbol": entry.symbol}
    t = type(entry)
    d = {n: getattr(entry, n) for n in _FIELDS[t]}
    d["k"] = _EVENT_KINDS[t]
    if isinstance(entry, OrderUpdate):
        d["status"] = entry.status.value
    return d


def _from_obj(d: dict[str, Any]) -> Entry:
    # Raises KeyError, TypeError or ValueError on a record that does not fit.
    k = d["k"]
    if k == "new":
        order = NewOrder(**{n: d[n] for n in _FIELDS[NewOrder]})
        return OrderSent(str(d["strategy"]), int(d["inst"]), order)
    if k == "cancel":
        return CancelSent(**{n: d[n] for n in _FIELDS[CancelSent]})
    if k == "cancel_all":
        return CancelAllSent(str(d["strategy"]), str(d["symbol"]))
    t = _EVENT_TYPES[k]
    kw = {n: d[n] for n in _FIELDS[t]}
    if t is OrderUpdate:
        kw["status"] = OrderStatus(kw["status"])
    ev: ExecEvent = t(**kw)
    return ev


def _encode(seq: int, entry: Entry) -> bytes:
    d = _to_obj(entry)
    d["q"] = seq
    body = json.dumps(d, separators=(",", ":"), ensure_ascii=True).encode()
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _decode(line: bytes) -> tuple[int, Entry] | None:
    # One line without its newline -> (seq, entry), or None when it is not a good record.
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        d = json.loads(body)
        return int(d["q"]), _from_obj(d)
    except (ValueError, KeyError, TypeError):
        return None


def _scan(data: bytes) -> tuple[int, int, list[tuple[int, Entry]]]:
    # -> (length of the good prefix, number of records after a bad one, the good records).
    good: list[tuple[int, Entry]] = []
    pos = 0
    n = len(data)
    while pos < n:
        nl = data.find(b"\n", pos)
        if nl < 0:
            break
        rec = _decode(data[pos:nl])
        if rec is None:
            break
        good.append(rec)
        pos = nl + 1
    after = data[pos:].count(b"\n") - 1 if pos < n else 0
    return pos, max(after, 0), good


def replay(path: Path) -> Iterator[Entry]:
    """Yield the journal's records in order, stopping at a torn tail or bad record.

    Parameters
    ----------
    path : Path
        A journal file; a missing file yields nothing.

    Yields
    ------
    Entry
        `OrderSent`, `CancelSent`, `CancelAllSent` or an `ExecEvent`.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return
    _, _, good = _scan(data)
    for _, entry in good:
        yield entry


class Journal:
    """An open journal: append records, wait for their fsync (group commit).

    Parameters
    ----------
    path : Path
        The file; created with its directory when missing. A torn tail is cut on open.
    sync_commands : bool
        `synced` fdatasyncs (True, default) or only hands the record to the kernel (False:
        the gateway's ``journal_sync = "write"``).

    Attributes
    ----------
    n_records : int
        Records in the file (replayed plus appended).
    n_torn_bytes : int
        Bytes cut from the tail on open.
    n_fsyncs : int
        fdatasyncs done (each covers every record appended before it).
    n_fsync_errors : int
        Background fdatasyncs the disk refused (logged; the next one tries again).
    """

    def __init__(self, path: Path, *, sync_commands: bool = True) -> None:
        self.path = Path(path)
        self.sync_commands = sync_commands
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            data = b""
        keep, after, good = _scan(data)
        self.entries: list[Entry] = [e for _, e in good]
        self.n_records = len(good)
        self.n_torn_bytes = len(data) - keep
        self.n_fsyncs = 0
        self.n_fsync_errors = 0
        self._seq = good[-1][0] if good else 0
        if after:
            log.error(
                "journal.corrupt path=%s records_after_bad=%d cut_bytes=%d",
                self.path,
                after,
                self.n_torn_bytes,
            )
        elif self.n_torn_bytes:
            log.warning("journal.torn_tail path=%s cut_bytes=%d", self.path, self.n_torn_bytes)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if self.n_torn_bytes:
            os.ftruncate(self._fd, keep)
            os.fsync(self._fd)
        self._synced = self._seq
        self._timer: asyncio.TimerHandle | None = None
        self._lock = threading.Lock()
        self._background = ThreadPoolExecutor(1, thread_name_prefix="journal-sync")
        log.info("journal.opened path=%s records=%d", self.path, self.n_records)

    @property
    def seq(self) -> int:
        """Sequence number of the last record appended (0: none)."""
        return self._seq

    def append(self, entry: Entry) -> int:
        """Write one record to the kernel now; return its sequence number.

        Its fdatasync follows by `EVENT_SYNC_S` when a loop runs (sooner when a `synced`
        asks for it), at once otherwise.
        """
        self._seq += 1
        line = _encode(self._seq, entry)
        os.write(self._fd, line)  # O_APPEND: one write per record, never interleaved
        self.n_records += 1
        if self._timer is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (tools, tests): sync inline
                self.sync()
                return self._seq
            self._timer = loop.call_later(EVENT_SYNC_S, self._on_timer)
        return self._seq

    async def synced(self, seq: int) -> None:
        """Return once record `seq` (and every one before it) is on disk.

        A coroutine so a caller can batch: commands appended in one pass of the loop are
        covered by the first waiter's fdatasync. With ``sync_commands`` False it returns at
        once (the record is with the kernel; the background sync follows).
        """
        if seq > self._synced and self.sync_commands:
            self.sync()

    def sync(self) -> None:
        """fdatasync every record written so far (no-op when nothing is pending).

        Raises
        ------
        OSError
            The disk refused: the caller must not act on the records.
        """
        if self._synced >= self._seq or self._fd < 0:
            return
        self._sync_to(self._seq)

    def _sync_to(self, target: int) -> None:
        # Either thread: the loop's (a waiter) or the background one (the timer).
        os.fdatasync(self._fd)
        with self._lock:
            self.n_fsyncs += 1
            self._synced = max(self._synced, target)

    def _on_timer(self) -> None:
        # Records nobody waits for: synced on the background thread, so the loop never
        # blocks on them (a waiter's own fdatasync covers them too if it comes first).
        self._timer = None
        if self._synced >= self._seq or self._fd < 0:
            return
        target = self._seq
        fut = self._background.submit(self._sync_to, target)
        fut.add_done_callback(self._background_done)

    def _background_done(self, fut: "Future[None]") -> None:
        exc = fut.exception()
        if exc is not None:
            self.n_fsync_errors += 1
            log.error(
                "journal.fsync_failed path=%s error=%s n_fsync_errors=%d",
                self.path,
                exc,
                self.n_fsync_errors,
            )

    def close(self) -> None:
        """fsync what is written and close the file (idempotent)."""
        if self._fd < 0:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._background.shutdown(wait=True)
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        self._synced = self._seq
