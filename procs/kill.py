"""`veloz kill`: halt the running gateway (cancel every open order, refuse new ones).

Sends ``{"cmd": "kill"}`` to the gateway's ``control`` REP; the gateway stays HALTED until
`veloz risk resume`. Exit codes: 0 halted; 1 the gateway refused or did not answer within
3 s; 2 bad usage. Must not hold keys or touch the venue itself.
"""

import argparse
import json
from pathlib import Path

from procs.risk import ask
from procs.risk import operator_name
from procs.risk import render


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz kill",
        description="Halt the gateway: cancel all open orders, refuse new ones until "
        "`veloz risk resume`.",
    )
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="the gateway's run dir")
    p.add_argument("--reason", default="operator kill", help="recorded in the audit file")
    p.add_argument("--json", action="store_true", help="print the reply as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run ``veloz kill``; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    req = {"cmd": "kill", "reason": args.reason, "operator": operator_name()}
    reply = ask("veloz kill", args.run_dir, req)
    if reply is None:
        return 1
    status = reply.get("status") or {}
    print(json.dumps(status, indent=2, sort_keys=True) if args.json else render(status))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
