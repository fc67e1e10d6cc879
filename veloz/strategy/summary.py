"""What each strategy did: its tally, and the state file `<run>/state/strategy.<proc>.json`.

Owns `Tally` (counters the runtime keeps beside the order tracker: cancels sent, commands
the bus refused, rejections by the gateway or the venue, why a strategy stopped) and the
snapshot of state, counters, positions and PnL written atomically as exact decimal text.
Must not decide trades, touch sockets, or write floats: every number is an int or text
from `veloz._core.fixed`.
"""

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from veloz._core import fixed
from veloz._core import wire
from veloz.strategy.base import FEE_DP
from veloz.strategy.base import StrategyState

if TYPE_CHECKING:
    from veloz.strategy.runtime import Runtime
    from veloz.strategy.runtime import Slot

__all__ = ["FORMAT", "Tally", "snapshot", "state_path", "write_state"]

log = logging.getLogger(__name__)

FORMAT = 1  # the file's "format" key; bumped on an incompatible change

# ORDER_CMD payload byte 0 is the action (docs/wire.md §3): read from the body, so counting
# cancels costs one index instead of a decode on the order path.
ACTION_OFFSET = wire.HEADER_SIZE
_ERROR_MAX = 200  # chars of an exception text kept in the file


class Tally:
    """Counters of one strategy that its `OrderTracker` does not keep.

    ``n_cancels_sent`` (CANCEL and CANCEL_ALL commands the bus took), ``n_refused_bus``
    (commands the PUSH queue refused: ``OrderRejected(by="bus")``), ``n_rejected_gateway``
    (REJECTED events with error code 0: the gateway's checks or its venue client refused
    before the venue), ``n_rejected_venue`` (REJECTED with the venue's error code),
    ``has_started`` (on_start was called), ``error`` (why it failed or never started, "").
    """

    __slots__ = (
        "error",
        "has_started",
        "n_cancels_sent",
        "n_refused_bus",
        "n_rejected_gateway",
        "n_rejected_venue",
    )

    def __init__(self) -> None:
        self.n_cancels_sent = 0
        self.n_refused_bus = 0
        self.n_rejected_gateway = 0
        self.n_rejected_venue = 0
        self.has_started = False
        self.error = ""

    def on_rejected(self, error_code: int) -> None:
        """Count one REJECTED order event (news, not a duplicate) by who refused it. O(1)."""
        if error_code:
            self.n_rejected_venue += 1
        else:
            self.n_rejected_gateway += 1

    def note_exception(self, where: str) -> None:
        """Keep the exception being handled as the reason (call inside ``except``)."""
        exc = sys.exc_info()[1]
        what = "" if exc is None else f" {type(exc).__name__}: {exc}"
        self.error = f"{where} raised{what}"[:_ERROR_MAX]


def state_path(run_dir: str | os.PathLike[str], proc: str) -> Path:
    """Return ``<run>/state/strategy.<proc>.json``."""
    return Path(run_dir) / "state" / f"strategy.{proc}.json"


def _state_name(slot: "Slot") -> str:
    # running / stopped / failed (stopped by an error) / never_started, or the transient
    # waiting / stopping of a periodic snapshot.
    state = slot.ctx.state
    if state == StrategyState.WAITING:
        return "waiting"
    if state in (StrategyState.STOPPED, StrategyState.FAILED) and not slot.tally.has_started:
        return "never_started"
    return StrategyState.NAMES[state].lower()


def _fees(fees: dict[str, int]) -> dict[str, str]:
    return {asset: fixed.to_text(raw, FEE_DP) for asset, raw in sorted(fees.items())}


def _strategy(slot: "Slot") -> dict[str, Any]:
    ctx = slot.ctx
    tally = slot.tally
    oc = ctx.orders.counters()
    strategy = slot.strategy
    symbols: dict[str, Any] = {}
    for symbol in ctx.markets:
        view = strategy.position(symbol)
        if view is None:  # instrument never known: no scales to write a position at
            symbols[symbol] = None
            continue
        symbols[symbol] = {
            "quote": view.quote,
            "qty": fixed.to_text(view.qty, view.qty_dp),
            "entry_px": fixed.to_text(view.entry_px, view.price_dp),
            "realized_pnl": fixed.to_text(view.realized_pnl, view.pnl_dp),
            "unrealized_pnl": fixed.to_text(view.unrealized_pnl, view.pnl_dp),
            "fees": _fees(view.fees),
            "n_fills": view.n_fills,
        }
    totals = strategy.pnl()
    return {
        "state": _state_name(slot),
        "error": tally.error,
        "venue": ctx.venue,
        "counters": {
            "n_orders_sent": oc["n_sent"],
            "n_cancels_sent": tally.n_cancels_sent,
            "n_open": oc["n_open"],
            "n_fills": oc["n_fills"],
            "n_rejected": {
                "gateway": tally.n_rejected_gateway,
                "venue": tally.n_rejected_venue,
                "bus": tally.n_refused_bus,
            },
            "n_duplicate_events": oc["n_duplicate_events"],
            "n_duplicate_fills": oc["n_duplicate_fills"],
            "n_stale_events": oc["n_stale_events"],
            "n_unknown_orders": oc["n_unknown_orders"],
            "n_errors": ctx.n_errors,
            "n_timers": ctx.n_timers,
        },
        "symbols": symbols,
        "totals": {
            "quotes": list(totals.quotes),
            "realized_pnl": fixed.to_text(totals.realized, totals.dp),
            "unrealized_pnl": fixed.to_text(totals.unrealized, totals.dp),
            "fees": _fees(totals.fees),
        },
    }


def snapshot(rt: "Runtime", is_final: bool = False) -> dict[str, Any]:
    """Return the state document of `rt` (JSON-able; numbers as ints or exact text).

    Parameters
    ----------
    rt : Runtime
    is_final : bool
        True for the file written at a clean exit; False for a periodic one.
    """
    return {
        "format": FORMAT,
        "proc": rt.proc,
        "pid": os.getpid(),
        "wall_ns": time.time_ns(),
        "is_final": is_final,
        "runtime": {
            "n_messages": rt.n_messages,
            "n_malformed": rt.n_malformed,
            "n_md_lost": rt.n_md_lost,
            "n_unknown_topic": rt.n_unknown_topic,
            "n_bad_fills": rt.n_bad_fills,
        },
        "strategies": {slot.ctx.name: _strategy(slot) for slot in rt.slots},
    }


def write_state(rt: "Runtime", run_dir: str | os.PathLike[str], is_final: bool = False) -> Path:
    """Write `snapshot` to ``<run>/state/strategy.<proc>.json`` atomically (tmp + rename).

    Raises
    ------
    OSError
        The directory or file cannot be written.
    """
    path = state_path(run_dir, rt.proc)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(snapshot(rt, is_final), indent=1) + "\n")
    os.replace(tmp, path)
    return path
