"""`veloz risk status|resume`: ask the running gateway for its risk state, or leave HALTED.

Talks to the gateway's ``control`` REP (found through the run dir's endpoint files) with one
JSON request and prints the reply: state per scope, conditions in force, limits, counters
(``--json``: the reply as is). Exit codes: 0 done; 1 the gateway refused or did not answer
within 3 s; 2 bad usage. Must not hold keys or touch the venue.
"""

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from veloz.bus.endpoints import BusConfig
from veloz.bus.endpoints import default_run_dir
from veloz.bus.sockets import request
from veloz.errors import ConfigError

TIMEOUT_S = 3.0


def operator_name() -> str:
    """The operator recorded in the audit file: the login name (``operator`` if unknown)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "operator"


def ask(prog: str, run_dir: Path | None, req: dict[str, Any]) -> dict[str, Any] | None:
    """Send `req` to the gateway's ``control``; print a clear line and return None on failure."""
    cfg = BusConfig(run_dir=run_dir if run_dir is not None else default_run_dir())
    try:
        reply = request(cfg, req, timeout_s=TIMEOUT_S)
    except ConfigError as exc:
        print(f"{prog}: gateway unreachable: {exc}", file=sys.stderr)
        return None
    if not reply.get("ok"):
        print(f"{prog}: gateway refused: {reply.get('error', 'no reason given')}", file=sys.stderr)
        return None
    return reply


def render(status: dict[str, Any]) -> str:
    """The human form of a gateway status: state per scope, conditions, limits, counters."""
    lines = [f"state: {status.get('state')}" + ("  (killed)" if status.get("is_killed") else "")]
    for sym, st in dict(status.get("symbols") or {}).items():
        lines.append(f"  {sym}: {st}")
    conds = dict(status.get("conditions") or {})
    lines.append("triggers: " + (", ".join(f"{k} ({v})" for k, v in conds.items()) or "none"))
    lines.append("limits: " + " ".join(f"{k}={v}" for k, v in (status.get("limits") or {}).items()))
    counters = {**(status.get("counters") or {}), **(status.get("gateway") or {})}
    lines.append("counters: " + " ".join(f"{k}={v}" for k, v in counters.items()))
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz risk", description="Show the gateway's risk state, or resume after a kill."
    )
    p.add_argument("action", choices=("status", "resume"))
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="the gateway's run dir")
    p.add_argument("--json", action="store_true", help="print the reply as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``veloz risk``; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    req: dict[str, Any] = {"cmd": args.action}
    if args.action == "resume":
        req["operator"] = operator_name()
    reply = ask("veloz risk", args.run_dir, req)
    if reply is None:
        return 1
    status = reply.get("status") or {}
    print(json.dumps(status, indent=2, sort_keys=True) if args.json else render(status))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
