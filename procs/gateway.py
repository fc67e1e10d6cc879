"""`veloz gateway`: the order gateway of one Binance product (the only process with trade keys).

Exit codes: 0 stopped by SIGINT/SIGTERM; 1 the venue could not be reached or started; 2 bad
flags, config or keys. Keys come from the environment only: ``VELOZ_API_KEY`` with
``VELOZ_API_SECRET`` (HMAC) or ``VELOZ_API_ED25519_KEY_FILE`` (PKCS#8 PEM); never logged.
"""

import argparse
import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import uvloop

from veloz import config as vconfig
from veloz import log as vlog
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import PullSocket
from veloz.bus.sockets import SubSocket
from veloz.errors import ConfigError
from veloz.errors import OrderRejected
from veloz.errors import VelozError
from veloz.errors import VenueError
from veloz.model.events import OrderUpdate
from veloz.model.instrument import Instrument
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import Gateway
from veloz.oms.venue import ExecSink
from veloz.oms.venue import NewOrder
from veloz.oms.venue import OnSent
from veloz.venues.binance.endpoints import Endpoints
from veloz.venues.binance.endpoints import endpoints
from veloz.venues.binance.execution import BinanceExec
from veloz.venues.binance.mapping import instruments_from_exchange_info
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.rest import RestClient
from veloz.venues.binance.signing import Ed25519Signer
from veloz.venues.binance.signing import HmacSigner
from veloz.venues.binance.signing import Signer
from veloz.venues.binance.userdata import SpotUserData
from veloz.venues.binance.userdata import UsdmUserData
from veloz.venues.binance.wsapi import WsApiClient

_NOT_FOUND = -2013  # Binance "Order does not exist."
_KEYS = "VELOZ_API_KEY with VELOZ_API_SECRET or VELOZ_API_ED25519_KEY_FILE"


def signer_from_env(env: Mapping[str, str]) -> Signer:
    """Build the trade key from the environment. Raises ConfigError naming what is missing."""
    key = env.get("VELOZ_API_KEY", "")
    secret = env.get("VELOZ_API_SECRET", "")
    pem_file = env.get("VELOZ_API_ED25519_KEY_FILE", "")
    if not key or not (secret or pem_file):
        raise ConfigError(f"no trade key in the environment: set {_KEYS}")
    if secret:
        return HmacSigner(key, secret)
    try:
        pem = Path(pem_file).read_bytes()
    except OSError as exc:
        raise ConfigError(f"VELOZ_API_ED25519_KEY_FILE: cannot read: {exc.strerror}") from None
    return Ed25519Signer(key, pem)


class BinanceVenue:
    """`VenueExec` over `BinanceExec` and the product's user-data driver."""

    def __init__(self, cfg: GatewayConfig, signer: Signer) -> None:
        base = endpoints(cfg.venue)
        api = f"{cfg.ws_url.rstrip('/')}{urlsplit(base.ws_api_url).path}" if cfg.ws_url else None
        self._ep: Endpoints = base.with_urls(cfg.rest_url, cfg.ws_url, api)
        self._signer = signer
        self._transport = cfg.transport
        self._rest = RestClient(self._ep, signer)
        self._ws: WsApiClient | None = None
        if cfg.transport == "wsapi" or not self._ep.is_usdm:  # spot user data rides the WS API
            rest = self._rest
            self._ws = WsApiClient(self._ep, signer, limits=rest.limits, clock_ms=rest.now_ms)
        self._instruments: dict[str, Instrument] = {}
        self._ex: BinanceExec | None = None
        self._user: SpotUserData | UsdmUserData | None = None

    @property
    def venue(self) -> str:
        return self._ep.venue

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    async def load(self) -> None:
        """Sync the clock, load the rate limits and every instrument (exchangeInfo)."""
        await self._rest.start()
        info = await self._rest.get_public(self._ep.exchange_info_path, weight=20)
        self._instruments = instruments_from_exchange_info(info, self._ep.venue)

    async def start(self, sink: ExecSink) -> None:
        ex = BinanceExec(
            self._ep,
            self._signer,
            self._instruments,
            transport=self._transport,
            rest=self._rest,
            ws=self._ws,
        )
        await ex.start()
        self._ex = ex
        if self._ws is not None and not self._ep.is_usdm:
            self._user = SpotUserData(self._ws, self._signer, self._instruments, sink)
        else:
            self._user = UsdmUserData(self._rest, self._ep, self._instruments, sink)
        await self._user.start()

    async def close(self) -> None:
        user, self._user = self._user, None
        if user is not None:
            await user.stop()
        if self._ws is not None:
            await self._ws.close()
        await self._rest.close()

    def _exec(self) -> BinanceExec:
        if self._ex is None:
            raise VenueError(0, "gateway venue not started", retryable=True)
        return self._ex

    async def place(self, order: NewOrder, *, on_sent: OnSent | None = None) -> OrderUpdate:
        kind, tif = order.order_type, order.tif
        if self._ep.is_usdm and kind == "LIMIT_MAKER":
            kind, tif = "LIMIT", "GTX"  # USD-M post-only
        elif not self._ep.is_usdm and kind == "LIMIT" and tif == "GTX":
            kind = "LIMIT_MAKER"  # spot post-only
        req = OrderRequest(
            order.symbol, order.side, kind, order.qty, order.px, tif or "GTC",
            order.client_order_id, order.reduce_only,
        )  # fmt: skip
        return await self._exec().place(req, on_sent=on_sent)

    async def cancel(
        self,
        symbol: str,
        *,
        client_order_id: str = "",
        order_id: int = 0,
        on_sent: OnSent | None = None,
    ) -> OrderUpdate:
        ex = self._exec()
        return await ex.cancel(
            symbol, client_order_id=client_order_id, order_id=order_id, on_sent=on_sent
        )

    async def cancel_all(self, symbol: str, *, on_sent: OnSent | None = None) -> list[OrderUpdate]:
        return await self._exec().cancel_all(symbol, on_sent=on_sent)

    async def query(
        self, symbol: str, *, client_order_id: str = "", order_id: int = 0
    ) -> OrderUpdate:
        try:
            return await self._exec().query(
                symbol, client_order_id=client_order_id, order_id=order_id
            )
        except VenueError as exc:
            if exc.code == _NOT_FOUND:  # the protocol's "the venue does not know it"
                raise OrderRejected(exc.msg, by="venue", code=exc.code) from exc
            raise

    async def open_orders(self, symbol: str | None = None) -> list[OrderUpdate]:
        return await self._exec().open_orders(symbol)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz gateway",
        description="Take order commands from strategies (bus `orders`), check them, send "
        f"them to Binance and publish order events and fills (bus `exec`). Keys: {_KEYS}.",
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML (see config/examples)")
    p.add_argument("--run-dir", type=Path, metavar="DIR", help="bus sockets and latency files")
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
        signer = signer_from_env(os.environ)
    except ConfigError as exc:
        print(f"veloz gateway: {exc}", file=sys.stderr)
        return 2
    vlog.setup(cfg.log_level)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_run(cfg, signer))


async def _run(cfg: GatewayConfig, signer: Signer) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    venue = BinanceVenue(cfg, signer)
    try:
        await venue.load()
        with (
            PullSocket(cfg.bus) as orders,
            PubSocket(cfg.bus, "exec", linger_ms=1000) as out,
            SubSocket(cfg.bus, prefixes=()) as md,
        ):
            gw = Gateway(cfg, venue, out)
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
