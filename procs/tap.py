"""`veloz tap`: print every bus message of the run dir's publishers, one line each.

Subscribes to each publisher found in ``<run>/bus/`` (rediscovered every second) or given
by ``--connect``, with the TOPIC prefixes (all when none). Exit codes: 0 on SIGINT/SIGTERM,
a closed pipe, ``--count`` or ``--duration``; 2 on bad flags.
"""

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

import orjson

from veloz import log as vlog
from veloz._core import wire
from veloz.bus.endpoints import BusConfig
from veloz.bus.endpoints import default_run_dir
from veloz.bus.human import human_line
from veloz.bus.sockets import PUBLISHER_PREFIXES
from veloz.bus.sockets import SubSocket
from veloz.errors import ConfigError
from veloz.errors import WireError
from veloz.log import RateLimitedLog

log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz tap",
        description="Print bus messages (decoded, one line each) from every publisher in the "
        "run dir, or from --connect endpoints. TOPIC prefixes filter (all when none).",
    )
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topic prefix, e.g. md.binance")
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="default: $VELOZ_RUN_DIR, ...")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--connect", action="append", default=[], metavar="ENDPOINT")
    p.add_argument("--server-key", action="append", default=[], metavar="Z85")
    p.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default="INFO")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the tap until SIGINT/SIGTERM, a closed pipe, --count or --duration."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    if (args.count is not None and args.count < 1) or (
        args.duration is not None and not args.duration > 0
    ):
        print("veloz tap: --count must be >= 1 and --duration > 0", file=sys.stderr)
        return 2
    if len(args.server_key) > len(args.connect):
        print("veloz tap: more --server-key than --connect", file=sys.stderr)
        return 2
    vlog.setup(args.log_level)
    cfg = BusConfig(run_dir=args.run_dir if args.run_dir is not None else default_run_dir())
    discover = not args.connect or args.run_dir is not None
    prefixes = [t.encode("ascii", "replace") for t in args.topics] or [b""]
    try:
        sub = SubSocket(cfg, prefixes=prefixes, follow=PUBLISHER_PREFIXES if discover else ())
        for i, endpoint in enumerate(args.connect):
            key = args.server_key[i] if i < len(args.server_key) else None
            sub.connect(endpoint, key)
    except ConfigError as exc:
        print(f"veloz tap: {exc}", file=sys.stderr)
        return 2
    for name in sub.connected:
        log.info("tap.connected name=%s", name)
    stop: list[bool] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.append(True))
    log.info("tap.start run_dir=%s discover=%d topics=%s", cfg.run_dir, discover, args.topics)
    try:
        n = _loop(sub, args, discover, stop)
    finally:
        sub.close()
    log.info("tap.done n_messages=%d n_malformed=%d", n[0], n[1])
    return 0


def _loop(
    sub: SubSocket, args: argparse.Namespace, discover: bool, stop: list[bool]
) -> tuple[int, int]:
    bad_log = RateLimitedLog(log)
    n_messages = n_malformed = 0
    end_s = time.monotonic() + args.duration if args.duration is not None else float("inf")
    next_discovery_s = time.monotonic() + 1.0
    out = sys.stdout
    while not stop and (args.count is None or n_messages < args.count):
        now_s = time.monotonic()
        if now_s >= end_s:
            break
        if discover and now_s >= next_discovery_s:
            for name in sub.rediscover():
                log.info("tap.connected name=%s", name)
            next_discovery_s = now_s + 1.0
        msg = sub.recv(timeout_ms=int(min(200.0, (end_s - now_s) * 1000 + 1)))
        if msg is None:
            continue
        topic = msg[0].decode("ascii", "replace")
        try:
            d = wire.decode(msg[1]).to_dict()
        except WireError as exc:
            n_malformed += 1
            bad_log.warning(
                "tap.malformed topic=%s error=%s body=%s", topic, exc, msg[1][:64].hex()
            )
            continue
        if args.json:
            line = orjson.dumps({"topic": topic} | d).decode()
        else:
            line = human_line(topic, d, time.time_ns())
        try:
            out.write(line + "\n")
            out.flush()
        except BrokenPipeError:  # `| head`: the reader is gone; leave quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), out.fileno())
            break
        n_messages += 1
    return n_messages, n_malformed


if __name__ == "__main__":
    raise SystemExit(main())
