"""`veloz gateway`: the order gateway of one Binance product (the only process with trade keys).

Exit codes: 0 stopped by SIGINT/SIGTERM; 1 the venue could not be reached or started; 2 bad
flags, config or keys. The trade key is ``--key NAME`` from the key store (`veloz keys`,
scope trade, same venue), else the environment: ``VELOZ_API_KEY`` with ``VELOZ_API_SECRET``
(HMAC) or ``VELOZ_API_ED25519_KEY_FILE`` (PKCS#8 PEM). Never logged.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import sys
from pathlib import Path

import uvloop

from veloz import config as vconfig
from veloz import keys
from veloz import log as vlog
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import PullSocket
from veloz.bus.sockets import SubSocket
from veloz.errors import ConfigError
from veloz.errors import VelozError
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import Gateway
from veloz.oms.journal import Journal
from veloz.oms.journal import journal_path
from veloz.venues.binance.gateway_exec import KEYS_HELP
from veloz.venues.binance.gateway_exec import BinanceVenue
from veloz.venues.binance.gateway_exec import signer_from_env
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import Signer


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz gateway",
        description="Take order commands from strategies (bus `orders`), check them, send "
        f"them to Binance and publish order events and fills (bus `exec`). Keys: --key, "
        f"else {KEYS_HELP}.",
    )
    p.add_argument("--key", metavar="NAME", help="trade key from the store (`veloz keys add`)")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML (see config/examples)")
    p.add_argument(
        "--run-dir", type=Path, metavar="DIR", help="bus sockets, latency files and the journal"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the gateway until SIGINT/SIGTERM; return the exit code."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        cfg = GatewayConfig()
        if args.config is not None:
            cfg = vconfig.load(GatewayConfig, args.config)
        if args.run_dir is not None:
            cfg = dataclasses.replace(cfg, bus=cfg.bus.with_run_dir(args.run_dir))
        vlog.setup(cfg.log_level)  # before the key is loaded: its use is logged (not the key)
        signer = _stored_signer(args.key, cfg.venue) if args.key else signer_from_env(os.environ)
    except ConfigError as exc:
        print(f"veloz gateway: {exc}", file=sys.stderr)
        return 2
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_run(cfg, signer))


def _stored_signer(name: str, venue: str) -> Signer:
    key = keys.load(name, scope="trade", for_process="gateway")
    if key.venue != venue:
        raise ConfigError(f"--key {name}: the key is for {key.venue}, this gateway is {venue}")
    if key.kind == "ed25519":
        return Ed25519Signer(key.api_key, key.secret.reveal().encode())
    return HmacSigner(key.api_key, key.secret.reveal())


async def _run(cfg: GatewayConfig, signer: Signer) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    venue = BinanceVenue(
        cfg.venue, signer, rest_url=cfg.rest_url, ws_url=cfg.ws_url, transport=cfg.transport
    )
    try:
        await venue.load()
        with (
            contextlib.ExitStack() as stack,
            PullSocket(cfg.bus) as orders,
            PubSocket(cfg.bus, "exec", linger_ms=1000) as out,
            SubSocket(cfg.bus, prefixes=()) as md,
        ):
            journal = Journal(journal_path(cfg.bus.run_dir))
            stack.callback(journal.close)
            gw = Gateway(cfg, venue, out, journal=journal)
            md.subscribe(gw.md_prefixes())
            for name in gw.md_names():
                md.add(name)
            try:
                await gw.run(orders, md, stop, md.rediscover)
            finally:
                gw.latency.write(cfg.bus.run_dir)
    except ConfigError as exc:
        print(f"veloz gateway: {exc}", file=sys.stderr)
        return 2
    except VelozError as exc:
        print(f"veloz gateway: cannot start on {cfg.venue}: {exc}", file=sys.stderr)
        return 1
    finally:
        await venue.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
