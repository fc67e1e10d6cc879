"""Gateway journal: round trip of every record kind, torn tail, corruption, group commit."""

import asyncio
import os
import threading
from pathlib import Path

import pytest

from bench.sim_load import run_async
from veloz.model.events import BalanceUpdate
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.events import PositionUpdate
from veloz.model.orders import NewOrder
from veloz.oms.journal import EVENT_SYNC_S
from veloz.oms.journal import CancelAllSent
from veloz.oms.journal import CancelSent
from veloz.oms.journal import Entry
from veloz.oms.journal import Journal
from veloz.oms.journal import OrderSent
from veloz.oms.journal import journal_path
from veloz.oms.journal import replay

BIG = 10**30  # exact ints beyond float and int64

ENTRIES: list[Entry] = [
    OrderSent("s1", 7, NewOrder("BTCUSDT", "BUY", "LIMIT", 1_000, 5_000_000, "GTC", "c1")),
    OrderUpdate(
        "binance-spot",
        "BTCUSDT",
        "c1",
        101,
        "BUY",
        "LIMIT",
        "GTC",
        OrderStatus.PARTIALLY_FILLED,
        "TRADE",
        5_000_000,
        1_000,
        400,
        "",
        1_700_000_000_000_000_000,
        42,
    ),
    Fill(
        "binance-spot",
        "BTCUSDT",
        "c1",
        101,
        9,
        "BUY",
        5_000_000,
        400,
        BIG,
        "BNB",
        True,
        -3,
        1_700_000_000_000_000_001,
        43,
    ),
    BalanceUpdate("binance-spot", "USDT", BIG, 5, "ORDER", 1, 2),
    PositionUpdate("binance-usdm", "BTCUSDT", -400, 5_000_000, -BIG, 3, 4),
    CancelSent("s1", "BTCUSDT", "c1", 101),
    CancelAllSent("s2", "ETHUSDT"),
]


def write_all(path: Path) -> Journal:
    j = Journal(path)
    for e in ENTRIES:
        j.append(e)
    return j


def test_journal_round_trip_gives_every_record_kind_back_equal(tmp_path: Path) -> None:
    path = journal_path(tmp_path)
    j = write_all(path)
    assert j.seq == len(ENTRIES) and j.n_fsyncs == len(ENTRIES)  # no loop: fsync inline
    j.close()
    assert list(replay(path)) == ENTRIES
    again = Journal(path)
    assert (again.entries, again.n_torn_bytes, again.seq) == (ENTRIES, 0, len(ENTRIES))
    again.append(CancelAllSent("s3", "BTCUSDT"))
    again.close()
    assert list(replay(path))[-1] == CancelAllSent("s3", "BTCUSDT")


def test_journal_torn_tail_is_cut_on_open_and_counted(tmp_path: Path) -> None:
    path = journal_path(tmp_path)
    write_all(path).close()
    whole = path.read_bytes()
    path.write_bytes(whole[:-7])  # the last record lost its end
    j = Journal(path)
    last_len = len(whole) - whole[:-1].rfind(b"\n") - 1
    assert j.n_torn_bytes == last_len - 7
    assert j.entries == ENTRIES[:-1]
    j.append(CancelAllSent("s9", "ETHUSDT"))  # the new record follows the cut
    j.close()
    assert list(replay(path)) == [*ENTRIES[:-1], CancelAllSent("s9", "ETHUSDT")]


def test_journal_bad_crc_in_the_middle_cuts_there(tmp_path: Path) -> None:
    path = journal_path(tmp_path)
    write_all(path).close()
    lines = path.read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"BNB", b"BNX")  # edited: the CRC no longer matches
    path.write_bytes(b"".join(lines))
    assert list(replay(path)) == ENTRIES[:2]
    j = Journal(path)
    assert j.entries == ENTRIES[:2] and j.n_torn_bytes == sum(len(x) for x in lines[2:])
    j.close()


def test_journal_missing_file_replays_nothing(tmp_path: Path) -> None:
    assert list(replay(tmp_path / "none.jsonl")) == []


def test_journal_synced_waits_for_a_group_fsync_covering_every_waiter(tmp_path: Path) -> None:
    path = journal_path(tmp_path)

    async def main() -> Journal:
        j = Journal(path)
        seqs = [j.append(e) for e in ENTRIES]
        await asyncio.wait_for(asyncio.gather(*(j.synced(s) for s in seqs)), 5.0)
        await j.synced(0)  # already synced: returns at once
        return j

    j = run_async(main())
    assert j.n_fsyncs == 1  # one fdatasync covered the whole batch
    j.close()
    assert list(replay(path)) == ENTRIES


def test_journal_record_nobody_waits_for_is_synced_off_the_loop_by_the_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = journal_path(tmp_path)
    threads: list[str] = []
    real = os.fdatasync

    def fdatasync(fd: int) -> None:
        threads.append(threading.current_thread().name)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)

    async def main() -> Journal:
        j = Journal(path)
        j.append(ENTRIES[0])
        assert j.n_fsyncs == 0  # a venue event: written, its fdatasync comes later
        # A timer set after the journal's, with the same delay, fires after it.
        await asyncio.sleep(EVENT_SYNC_S)
        return j

    j = run_async(main())
    j.close()  # waits for the background sync
    assert j.n_fsyncs == 1
    assert len(threads) == 1 and threads[0].startswith("journal-sync")
    assert list(replay(path)) == ENTRIES[:1]


def test_journal_write_mode_waiter_does_not_fdatasync_but_the_timer_does(tmp_path: Path) -> None:
    path = journal_path(tmp_path)

    async def main() -> tuple[Journal, int]:
        j = Journal(path, sync_commands=False)
        await j.synced(j.append(ENTRIES[0]))
        at_send = j.n_fsyncs  # what the send waited for: nothing but the write
        await asyncio.sleep(EVENT_SYNC_S)
        return j, at_send

    j, at_send = run_async(main())
    j.close()
    assert at_send == 0 and j.n_fsyncs == 1
    assert list(replay(path)) == ENTRIES[:1]


def test_journal_background_sync_failure_is_counted_and_logged_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = journal_path(tmp_path)
    real = os.fdatasync
    calls: list[int] = []

    def fdatasync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 1:
            raise OSError(5, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fdatasync", fdatasync)

    async def main() -> Journal:
        j = Journal(path)
        j.append(ENTRIES[0])
        await asyncio.sleep(EVENT_SYNC_S)  # the timer submits the failing sync
        j._background.submit(lambda: None).result()  # the worker has finished it
        await j.synced(j.seq)  # not on disk yet: a waiter syncs again
        return j

    j = run_async(main())
    j.close()
    assert j.n_fsync_errors == 1 and j.n_fsyncs == 1 and len(calls) == 2
    assert "journal.fsync_failed" in caplog.text and "n_fsync_errors=1" in caplog.text
