"""The gateway process's run: bus sockets, journal and risk webhook around one `Gateway`.

Owns opening (and closing, whatever happens) the gateway's ``orders`` PULL, ``exec`` PUB,
market-data SUB and ``control`` REP sockets, its journal and the optional risk webhook, then
serving the `Gateway` until the stop event, writing its latency file and noting the final
risk state for the process's proc_stop. Must not construct or load a venue (the caller hands
in a loaded `VenueExec`), hold keys, install signal handlers or print.
"""

import asyncio
import contextlib

from veloz.audit.proc import ProcAudit
from veloz.bus.sockets import PubSocket
from veloz.bus.sockets import PullSocket
from veloz.bus.sockets import RepSocket
from veloz.bus.sockets import SubSocket
from veloz.oms.config import GatewayConfig
from veloz.oms.gateway import Gateway
from veloz.oms.journal import Journal
from veloz.oms.journal import journal_path
from veloz.oms.venue import VenueExec
from veloz.risk.webhook import WebhookSender

__all__ = ["run_gateway"]


async def run_gateway(
    cfg: GatewayConfig, venue: VenueExec, stop: asyncio.Event, audit: ProcAudit
) -> None:
    """Serve a `Gateway` on `venue` with its sockets in ``cfg.bus`` until `stop` is set.

    Parameters
    ----------
    cfg : GatewayConfig
        The gateway's config (bus run dir, symbols, risk and its webhook).
    venue : VenueExec
        The venue product, loaded (instruments known); the caller closes it.
    stop : asyncio.Event
        Set to stop (the signal handlers set it).
    audit : ProcAudit
        The process's audit: its log gets the order path's records, its ``stop_data`` the
        final ``risk_state``.

    Raises
    ------
    ConfigError
        A socket could not be bound, or the config does not fit the venue.
    VelozError
        The venue could not be started.
    """
    with (
        contextlib.ExitStack() as stack,
        PullSocket(cfg.bus) as orders,
        PubSocket(cfg.bus, "exec", linger_ms=1000, track_subscriptions=True) as out,
        SubSocket(cfg.bus, prefixes=()) as md,
        RepSocket(cfg.bus) as control,
    ):
        journal = Journal(journal_path(cfg.bus.run_dir), sync_commands=cfg.journal_sync == "data")
        stack.callback(journal.close)
        webhook = None
        if cfg.risk.webhook_url:
            webhook = WebhookSender(cfg.risk.webhook_url, cfg.risk.webhook_timeout_s)
            webhook.start()
            stack.callback(webhook.stop)
        gw = Gateway(cfg, venue, out, journal=journal, audit=audit.log, webhook=webhook)
        md.subscribe(gw.md_prefixes())
        for name in gw.md_names():
            md.add(name)
        try:
            await gw.run(orders, md, stop, md.rediscover, control, out.subscriptions)
        finally:
            gw.latency.write(cfg.bus.run_dir)
            audit.stop_data["risk_state"] = gw.risk.state.name
