"""`veloz sim`: the embedded Binance-compatible exchange on one 127.0.0.1 port.

Prints the base URL as the first stdout line, then the test accounts. Exit codes: 0 clean
shutdown (SIGINT/SIGTERM), 1 the exchange core is not built, 2 bad flags or files.
"""

import argparse
import asyncio
import json
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from veloz import log as vlog
from veloz.sim.faults import FaultError
from veloz.sim.faults import parse_flag

_FAULT_FLAGS = {
    "--fault-gap": "SYMBOL:N@SECONDS  next depth diff of SYMBOL jumps U by N at SECONDS",
    "--fault-stall": "SYMBOL:MS@SECONDS  hold SYMBOL's stream frames for MS at SECONDS",
    "--fault-drop-every": "SECONDS  close every websocket every SECONDS",
    "--fault-429-at": "SECONDS:DURATION  answer 429 to every request for DURATION s",
    "--fault-rest-delay": "MS  delay every REST answer by MS",
    "--fault-close-all-at": "SECONDS  close every websocket once at SECONDS (rollover drill)",
}
_SYMBOLS_RE = re.compile(r"[A-Z0-9]{2,20}(,[A-Z0-9]{2,20})*")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz sim",
        description="Serve simulated Binance spot and USD-M (REST, WS API, streams, user data, "
        "admin at /admin/faults and /admin/connections) on one port. Fault SECONDS count "
        "from start.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--venue", choices=["spot", "usdm", "both"], default="both")
    p.add_argument("--ready-file", type=Path, help="JSON {rest, ws, admin} written once serving")
    p.add_argument("--accounts", type=Path, help="JSON list of {key,secret,kind,scopes,balances}")
    p.add_argument("--seed", type=int, default=1, help="market and demo-account seed")
    p.add_argument("--rate", type=float, default=50.0, metavar="UPDATES_PER_S")
    p.add_argument("--symbols", default="BTCUSDT,ETHUSDT")
    p.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument(
        "--no-rate-limits",
        action="store_true",
        help="lift request-weight and order-count limits (benchmarks); forced faults still apply",
    )
    for flag, help_ in _FAULT_FLAGS.items():
        metavar, _, text = help_.partition("  ")
        p.add_argument(flag, action="append", default=[], metavar=metavar, help=text)
    return p


def _fail(msg: str) -> int:
    print(f"veloz sim: {msg}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if not 0 <= args.port <= 65535:
        return _fail(f"--port {args.port}: must be 0..65535")
    if args.rate <= 0:
        return _fail(f"--rate {args.rate}: must be > 0")
    if _SYMBOLS_RE.fullmatch(args.symbols) is None:
        return _fail(f"--symbols {args.symbols!r}: must be upper-case symbols joined by commas")
    start_ms = time.time_ns() // 1_000_000
    schedule: list[tuple[int, dict[str, Any]]] = []
    try:
        for flag in _FAULT_FLAGS:
            values = getattr(args, flag[2:].replace("-", "_"))
            schedule.extend(parse_flag(flag, value, start_ms) for value in values)
    except FaultError as exc:
        return _fail(str(exc))
    from veloz.sim import server as simserver

    try:
        if args.accounts is None:
            accounts = simserver.demo_accounts(args.seed)
        else:
            accounts = simserver.parse_accounts(json.loads(args.accounts.read_text()))
    except (OSError, ValueError) as exc:
        return _fail(f"--accounts {args.accounts}: {exc}")
    vlog.setup(args.log_level)
    venues = ["spot", "usdm"] if args.venue == "both" else [args.venue]
    symbols = args.symbols.split(",")
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(_run(args, venues, symbols, accounts, schedule))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None  # the default asyncio loop serves correctly, only slower
    return uvloop.new_event_loop


async def _run(
    args: argparse.Namespace,
    venues: list[str],
    symbols: list[str],
    accounts: list[Any],
    schedule: list[tuple[int, dict[str, Any]]],
) -> int:
    from veloz.sim import server as simserver
    from veloz.sim.build import account_lines
    from veloz.sim.build import build_server

    sim = build_server(
        venues,
        symbols,
        accounts,
        seed=args.seed,
        rate=args.rate,
        no_rate_limits=args.no_rate_limits,
        schedule=schedule,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def ready(base: str) -> None:
        print(base, flush=True)
        if args.accounts is None:
            for line in account_lines(accounts):
                print(line, flush=True)
        if args.ready_file is not None:
            ws = base.replace("http://", "ws://", 1)
            ready_doc = {"rest": base, "ws": ws, "admin": base + "/admin"}
            args.ready_file.write_text(json.dumps(ready_doc))

    await simserver.serve(sim, args.host, args.port, ready, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
