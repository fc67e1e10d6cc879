"""The `veloz` console script: dispatch a subcommand to its procs module's main()."""

import os
import sys
from collections.abc import Callable

from veloz import __version__

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "audit": ("procs.audit", "verify or show hash-chained audit files (exit 1 = tampered)"),
    "feed": ("procs.feed", "keep one Binance symbol's book in sync and publish its events"),
    "gateway": ("procs.gateway", "check strategies' orders, send them to Binance, publish fills"),
    "kill": ("procs.kill", "halt the gateway: cancel all open orders, refuse new ones"),
    "keys": ("procs.keys", "add, list or remove venue API keys (keyring or sealed file)"),
    "replay": ("procs.replay", "replay recorded Binance frames through decode -> sync -> book"),
    "risk": ("procs.risk", "show the gateway's risk state (status) or leave HALTED (resume)"),
    "sim": ("procs.sim", "serve the simulated Binance spot/USD-M exchange on 127.0.0.1"),
    "strategy": ("procs.strategy", "run the configured strategies on the bus, pinned to a core"),
    "tap": ("procs.tap", "print the bus messages of the run dir's publishers, one line each"),
    "up": ("procs.up", "run sim, feeds, gateway and strategy from one TOML; latency report"),
}

USAGE = (
    "usage: veloz [--version] <command> [args]\n\ncommands:\n"
    + "".join(f"  {name:10s} {help_}\n" for name, (_, help_) in SUBCOMMANDS.items())
    + "\n`veloz <command> --help` for a command's options."
)


def main(argv: list[str] | None = None) -> int:
    """Run ``veloz <command> ...``; return the command's exit code (2 for bad usage)."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    if args[0] == "--version":
        from veloz._core import build_info

        info = build_info()
        build = "checked" if info["checked"] else "release"
        print(f"veloz {__version__} ({build} build, cython {info['cython']})")
        return 0
    if args[0] not in SUBCOMMANDS:
        print(f"veloz: unknown command {args[0]!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    module = __import__(SUBCOMMANDS[args[0]][0], fromlist=["main"])
    entry: Callable[[list[str]], int] = module.main
    try:
        return entry(args[1:])
    except BrokenPipeError:
        # `veloz ... | head`: the reader left. Point stdout at /dev/null so the interpreter's
        # final flush cannot raise again, and exit like a process killed by SIGPIPE.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + 13


if __name__ == "__main__":
    raise SystemExit(main())
