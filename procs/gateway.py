"""`veloz gateway`: the order gateway of one Binance product (the only process with trade keys).

Exit codes: 0 stopped by SIGINT/SIGTERM; 1 the venue could not be reached or started; 2 bad
flags, config or keys (also a broken audit chain). Binds ``orders`` (PULL), ``exec`` (PUB)
and ``control`` (REP: `veloz kill`, `veloz risk`), writes ``<run>/audit/gateway.jsonl``
(proc_start, config_change, key_use, order_sent, cancel, risk_state, operator_command,
proc_stop; group commit on the order path). The trade key is ``--key NAME`` from the key
store (`veloz keys`, scope trade, same venue), else the environment: ``VELOZ_API_KEY`` with
``VELOZ_API_SECRET`` (HMAC) or ``VELOZ_API_ED25519_KEY_FILE`` (PKCS#8 PEM). Never logged.
"""

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
from pathlib import Path

import uvloop

from veloz import config as vconfig
from veloz import keys
from veloz import log as vlog
from veloz.audit import AuditConfig
from veloz.audit import Kind
from veloz.audit import ProcAudit
from veloz.bus.endpoints import claim
from veloz.errors import ConfigError
from veloz.errors import VelozError
from veloz.keys.store import api_key_hint
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import AUDIT_FSYNC_MS
from veloz.oms.runner import run_gateway
from veloz.venues.binance.gateway_exec import KEYS_HELP
from veloz.venues.binance.gateway_exec import BinanceVenue
from veloz.venues.binance.gateway_exec import signer_from_env
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import Signer

# Audit group commit: fsync by the gateway's timer (AUDIT_FSYNC_MS), not per record.
_AUDIT = AuditConfig(fsync_every=1_000_000, fsync_ms=AUDIT_FSYNC_MS)


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
        claim(cfg.bus, "exec")  # a second gateway is told who runs, before the audit file
        audit = ProcAudit.start(
            cfg.bus.run_dir, "gateway", cfg, argv=argv, audit=_AUDIT, data={"venue": cfg.venue}
        )
    except (VelozError, OSError) as exc:
        print(f"veloz gateway: {exc}", file=sys.stderr)
        return 2
    with audit:
        try:
            signer = _signer(args.key, cfg.venue, audit)
        except ConfigError as exc:
            print(f"veloz gateway: {exc}", file=sys.stderr)
            return audit.exit(2, "key_refused")
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return audit.exit(runner.run(_run(cfg, signer, audit)))


def _signer(name: str | None, venue: str, audit: ProcAudit) -> Signer:
    # The stored key records its own key_use (veloz.keys.load); the environment's is here.
    if name:
        return _stored_signer(name, venue, audit)
    use = {"key": "env", "scope": "trade", "process": "gateway", "venue": venue}
    try:
        signer = signer_from_env(os.environ)
    except ConfigError as exc:
        audit.append(Kind.KEY_USE, use | {"result": "refused", "error": str(exc)[:200]})
        raise
    hint = api_key_hint(signer.api_key)
    audit.append(Kind.KEY_USE, use | {"result": "loaded", "api_key_hint": hint})
    return signer


def _stored_signer(name: str, venue: str, audit: ProcAudit | None = None) -> Signer:
    key = keys.load(name, scope="trade", for_process="gateway", audit=audit)
    if key.venue != venue:
        raise ConfigError(f"--key {name}: the key is for {key.venue}, this gateway is {venue}")
    if key.kind == "ed25519":
        return Ed25519Signer(key.api_key, key.secret.reveal().encode())
    return HmacSigner(key.api_key, key.secret.reveal())


async def _run(cfg: GatewayConfig, signer: Signer, audit: ProcAudit) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal(sig: signal.Signals) -> None:
        audit.reason = audit.reason or sig.name
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    venue = BinanceVenue(
        cfg.venue, signer, rest_url=cfg.rest_url, ws_url=cfg.ws_url, transport=cfg.transport
    )
    try:
        await venue.load()
        await run_gateway(cfg, venue, stop, audit)
    except ConfigError as exc:
        print(f"veloz gateway: {exc}", file=sys.stderr)
        audit.reason = "config_error"
        return 2
    except VelozError as exc:
        print(f"veloz gateway: cannot start on {cfg.venue}: {exc}", file=sys.stderr)
        audit.reason = "venue_error"
        return 1
    finally:
        await venue.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
