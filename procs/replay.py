"""`veloz replay`: recorded Binance frames -> decode -> sync -> book, then a report.

Exit codes: 0 the final book is valid and agreed with every checked bookTicker; 3 the replay
ran but the book is invalid or disagreed with a bookTicker; 2 bad arguments or files.
"""

import argparse
import sys
from pathlib import Path

import orjson

from veloz import log as vlog
from veloz.errors import VelozError
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.replay import VENUES
from veloz.venues.binance.replay import Replay
from veloz.venues.binance.replay import ReplayReport
from veloz.venues.binance.replay import infer_dps
from veloz.venues.binance.replay import infer_symbol
from veloz.venues.binance.replay import load_frames


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz replay",
        description="Replay recorded Binance frames (JSON array or JSONL, raw or combined "
        "stream, exactly as received) through the decoder, the book sync state machine and "
        "the order book; print counters, the final book and ns per message.",
    )
    p.add_argument("frames", nargs="+", type=Path, help="FRAMES.json or FRAMES.jsonl, in order")
    p.add_argument("--venue", required=True, choices=sorted(VENUES))
    p.add_argument(
        "--snapshot",
        action="append",
        type=Path,
        default=[],
        metavar="SNAP.json",
        help="REST depth snapshot to sync from; repeat to allow resyncs after gaps",
    )
    p.add_argument("--depth", type=int, default=5, metavar="N", help="levels to print (1..5000)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--symbol", help="symbol to replay (default: the first frame's)")
    p.add_argument(
        "--exchange-info",
        type=Path,
        metavar="FILE",
        help="exchangeInfo JSON giving tick and step sizes (default: inferred from the frames)",
    )
    p.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return p


def _fail(msg: str) -> int:
    print(f"veloz replay: {msg}", file=sys.stderr)
    return 2


def _scales(
    args: argparse.Namespace, symbol: str, frames: list[bytes], snaps: list[bytes]
) -> tuple[int, int]:
    if args.exchange_info is None:
        return infer_dps(frames, snaps)
    instruments = instruments_from_exchange_info(
        orjson.loads(args.exchange_info.read_bytes()), args.venue
    )
    if symbol not in instruments:
        raise VelozError(f"{args.exchange_info}: no symbol {symbol} in exchangeInfo")
    inst = instruments[symbol]
    return inst.price_dp, inst.qty_dp


def _print_text(r: ReplayReport) -> None:
    rows = [
        ("messages", r.messages),
        ("depth events", r.depth_events),
        ("levels applied", r.levels_applied),
        ("stale dropped", r.stale_dropped),
        ("gaps detected", r.gaps),
        ("resyncs needed", r.resyncs_needed),
        ("malformed frames", r.malformed),
        ("unknown events", r.unknown),
        ("wrong symbol", r.wrong_symbol),
        ("crossed books", r.crossed),
        ("snapshots used", r.snapshots_used),
        ("snapshots too old", r.snapshots_too_old),
        (
            "bbo checks",
            f"{r.bbo_checks} ({r.bbo_mismatches} mismatched, "
            f"{r.bbo_unchecked} without a matching update id)",
        ),
        ("ns per message", f"{r.ns_per_message:.0f}"),
    ]
    print(f"veloz replay: {r.venue} {r.symbol} (price dp {r.price_dp}, qty dp {r.qty_dp})")
    for name, value in rows:
        print(f"  {name:18s} {value}")
    if not r.book_valid:
        print(f"  book               INVALID: {r.invalid_reason}")
        return
    print(f"  book               valid at update id {r.update_id}")
    bid = f"{r.best_bid[1]} @ {r.best_bid[0]}" if r.best_bid else "(empty)"
    ask = f"{r.best_ask[1]} @ {r.best_ask[0]}" if r.best_ask else "(empty)"
    print(f"  best bid           {bid}\n  best ask           {ask}")
    print(f"  {'bid qty':>18s} {'bid px':>16s} | {'ask px':<16s} {'ask qty':<18s}")
    for i in range(max(len(r.bids), len(r.asks))):
        b = r.bids[i] if i < len(r.bids) else ["", ""]
        a = r.asks[i] if i < len(r.asks) else ["", ""]
        print(f"  {b[1]:>18s} {b[0]:>16s} | {a[0]:<16s} {a[1]:<18s}")


def main(argv: list[str] | None = None) -> int:
    """Run the replay; see the module docstring for exit codes."""
    args = _parser().parse_args(argv)
    vlog.setup(args.log_level)
    if not 1 <= args.depth <= 5000:
        return _fail(f"--depth must be 1..5000, got {args.depth}")
    try:
        frames = [f for path in args.frames for f in load_frames(path)]
        snaps = [path.read_bytes() for path in args.snapshot]
        symbol = (args.symbol or infer_symbol(frames) or "").upper()
        if not symbol:
            return _fail("no frame names a symbol; pass --symbol")
        price_dp, qty_dp = _scales(args, symbol, frames, snaps)
        replay = Replay(args.venue, symbol, price_dp, qty_dp, snaps)
    except OSError as exc:
        return _fail(f"cannot read {exc.filename}: {exc.strerror}")
    except (VelozError, orjson.JSONDecodeError) as exc:
        return _fail(str(exc))
    report = replay.run(frames)
    replay.top_levels(args.depth)
    if args.json:
        sys.stdout.write(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_text(report)
    return 0 if report.book_valid and report.bbo_mismatches == 0 else 3


if __name__ == "__main__":
    raise SystemExit(main())
