"""The end-of-run "strategies" table of ``veloz up``: what each strategy did.

Owns reading ``<run>/state/strategy.<proc>.json`` (written by the strategy process, see
`veloz.strategy.summary`) and formatting one line per strategy and symbol. Must not import
the strategy runtime or crash on a missing or damaged file: each problem becomes one line.
Numbers stay the exact decimal text of the file; nothing is converted to float.
"""

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["format_state", "read_state", "state_files", "strategies_report"]

log = logging.getLogger(__name__)

FORMAT = 1  # the state file format this reader understands
_COLUMNS = (
    "strategy",
    "symbol",
    "state",
    "orders",
    "fills",
    "rejects",
    "errors",
    "position",
    "realized",
    "unrealized",
    "quote",
    "fees",
)
_RIGHT = frozenset(("orders", "fills", "rejects", "errors", "realized", "unrealized"))


def state_files(run_dir: str | os.PathLike[str]) -> list[Path]:
    """Return the strategy state files of a run dir, by name."""
    return sorted((Path(run_dir) / "state").glob("strategy.*.json"))


def read_state(path: Path) -> dict[str, Any]:
    """Read one state file.

    Raises
    ------
    OSError
        The file cannot be read.
    ValueError
        Not JSON, not an object, or another format (the message says which).
    """
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    if doc.get("format") != FORMAT:
        raise ValueError(f"format {doc.get('format')!r}, this reader knows {FORMAT}")
    return doc


def _fees(fees: dict[str, str]) -> str:
    return ",".join(f"{asset} {amount}" for asset, amount in fees.items()) or "-"


def _position(sym: dict[str, Any]) -> str:
    qty = str(sym["qty"])
    if qty.strip("-0.") == "":
        return "flat"
    return f"{qty} @ {sym['entry_px']}"


def _rows(doc: dict[str, Any]) -> tuple[list[dict[str, str]], list[str]]:
    # Table rows of one state file, and notes (rejects by whom, errors) for below the table.
    rows: list[dict[str, str]] = []
    notes: list[str] = []
    for name, st in doc["strategies"].items():
        c = st["counters"]
        rejected: dict[str, int] = c["n_rejected"]
        n_rejects = sum(int(v) for v in rejected.values())
        first = {
            "strategy": name,
            "state": str(st["state"]),
            "orders": str(int(c["n_orders_sent"])),
            "rejects": str(n_rejects),
            "errors": str(int(c["n_errors"])),
        }
        symbols: dict[str, Any] = st["symbols"]
        for i, (symbol, sym) in enumerate(symbols.items()):
            row = dict(first) if i == 0 else {}
            row["symbol"] = symbol
            if sym is None:
                row |= {"position": "no instrument"}
            else:
                row |= {
                    "fills": str(int(sym["n_fills"])),
                    "position": _position(sym),
                    "realized": str(sym["realized_pnl"]),
                    "unrealized": str(sym["unrealized_pnl"]),
                    "quote": str(sym["quote"]),
                    "fees": _fees(sym["fees"]),
                }
            rows.append(row)
        totals = st["totals"]
        if len(symbols) > 1 and len(totals["quotes"]) == 1:
            rows.append(
                {
                    "symbol": "(total)",
                    "fills": str(int(c["n_fills"])),
                    "realized": str(totals["realized_pnl"]),
                    "unrealized": str(totals["unrealized_pnl"]),
                    "quote": str(totals["quotes"][0]),
                    "fees": _fees(totals["fees"]),
                }
            )
        if not symbols:
            rows.append(first)
        if n_rejects:
            by = " ".join(f"{who}={int(n)}" for who, n in rejected.items())
            notes.append(f"    {name}: rejected by {by}")
        if st.get("error"):
            notes.append(f"    {name}: {st['state']}: {st['error']}")
    return rows, notes


def format_state(doc: dict[str, Any], label: str) -> str:
    """Format one state document as the strategies table (with a heading naming `label`).

    Rows are indented under the heading, so no line starts with a strategy's name (the
    child summary that follows starts lines with child names).

    Raises
    ------
    KeyError, TypeError, ValueError, AttributeError
        The document lacks a field or has one of the wrong type.
    """
    rows, notes = _rows(doc)
    when = "at exit" if doc.get("is_final") else "last periodic snapshot: no clean exit"
    widths = {col: max([len(col)] + [len(r.get(col, "")) for r in rows]) for col in _COLUMNS}
    cols = [
        col for col in _COLUMNS if col in ("strategy", "symbol") or any(r.get(col) for r in rows)
    ]

    def line(cells: dict[str, str]) -> str:
        parts = [
            f"{cells.get(col, ''):>{widths[col]}}"
            if col in _RIGHT
            else f"{cells.get(col, ''):<{widths[col]}}"
            for col in cols
        ]
        return ("  " + "  ".join(parts)).rstrip()

    out = [f"strategies ({label}, {when})", line({col: col for col in cols})]
    out += [line(r) for r in rows]
    out += notes
    return "\n".join(out)


def strategies_report(run_dir: str | os.PathLike[str], procs: Iterable[str] = ()) -> str:
    """Return the strategies table of every state file in ``<run>/state``.

    Parameters
    ----------
    run_dir : path
        The run directory.
    procs : iterable of str
        Strategy process names expected to have written a file (``main``); each one missing
        gives a line saying so. Files of other processes are shown too.

    Returns
    -------
    str
        The tables, or one line per missing or unreadable file; never raises for content.
    """
    files = {p.name: p for p in state_files(run_dir)}
    blocks: list[str] = []
    for proc in procs:
        name = f"strategy.{proc}.json"
        if name not in files:
            where = Path(run_dir) / "state" / name
            blocks.append(
                f"strategies ({proc}): no state file {where}: the strategy process did not "
                "write one (it never ran, or was killed before its first snapshot)"
            )
    if not files and not blocks:
        blocks.append(f"strategies: no state file in {Path(run_dir) / 'state'}")
    for name, path in files.items():
        label = name.removesuffix(".json")
        try:
            blocks.append(format_state(read_state(path), label))
        except OSError as exc:
            log.warning("up.state_unreadable file=%s error=%s", path, exc)
            blocks.append(f"strategies ({label}): {path}: unreadable: {exc.strerror or exc}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.warning("up.state_unreadable file=%s error=%r", path, exc)
            blocks.append(f"strategies ({label}): {path}: bad content: {exc!r}"[:300])
    return "\n\n".join(blocks) + "\n"
