"""Assemble the simulator ``veloz sim`` serves: one `SimServer` with its exchanges, accounts,
API keys, market activity, rate limits and fault schedule.

Owns the starting mid of each simulated symbol, the seed of its market activity (from the
run's seed and the symbol's place) and the text of the lines announcing the accounts. Must
not parse flags, print, bind a socket (`veloz.sim.server.serve` does) or import a venue
client.
"""

import time
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from veloz.sim.auth import KeyStore
from veloz.sim.exchange import SimExchange
from veloz.sim.instruments import instruments
from veloz.sim.limits import RateLimitConfig
from veloz.sim.market import MarketActivity
from veloz.sim.server import SimAccount
from veloz.sim.server import SimServer

__all__ = ["account_lines", "build_server"]

_START_MIDS = {"BTCUSDT": "60000", "ETHUSDT": "3000"}  # others start at 100


def _clock_ms() -> int:
    return time.time_ns() // 1_000_000


def build_server(
    venues: list[str],
    symbols: list[str],
    accounts: list[SimAccount],
    *,
    seed: int,
    rate: float,
    no_rate_limits: bool = False,
    schedule: Iterable[tuple[int, Mapping[str, Any]]] = (),
) -> SimServer:
    """Return a `SimServer` ready for `veloz.sim.server.serve`, on the wall clock in ms.

    Parameters
    ----------
    venues : list of str
        ``"spot"`` and/or ``"usdm"``: one `SimExchange` each.
    symbols : list of str
        Symbols to list (those the venue's instrument table has).
    accounts : list of SimAccount
        Accounts opened on every exchange; their API keys are the only ones accepted.
    seed : int
        Market seed: symbol number ``n`` of a venue moves with seed ``seed * 1000 + n``.
    rate : float
        Market updates per second per symbol.
    no_rate_limits : bool
        Lift request-weight and order-count limits (forced faults still apply).
    schedule : iterable of (at_ms, spec)
        Faults to apply at wall-clock ms (`veloz.sim.faults.parse_flag` gives them).

    Raises
    ------
    FaultError
        A `schedule` spec of an unknown kind.
    """
    exchanges: dict[str, SimExchange] = {}
    markets: list[MarketActivity] = []
    for venue in venues:
        insts = [i for i in instruments(venue) if i.symbol in symbols]
        exchange = SimExchange(venue, insts, _clock_ms)
        for acct in accounts:
            exchange.add_account(acct.account_id, acct.balances)
        for n, inst in enumerate(insts):
            mid = _START_MIDS.get(inst.symbol, "100")
            markets.append(MarketActivity(exchange, inst.symbol, seed * 1000 + n, rate, mid))
        exchanges[venue] = exchange
    keys = KeyStore()
    for acct in accounts:
        keys.add(acct.api_key)
    limits = {v: RateLimitConfig.unlimited() for v in venues} if no_rate_limits else None
    sim = SimServer(
        exchanges,
        keys,
        {a.api_key.key: a.account_id for a in accounts},
        clock_ms=_clock_ms,
        limits=limits,
    )
    sim.slices.extend(m.step_slice for m in markets)
    for at_ms, spec in schedule:
        sim.faults.schedule(at_ms, spec)
    return sim


def account_lines(accounts: list[SimAccount]) -> list[str]:
    """Return one ``account id=N key=K secret=S scopes=read+trade`` line per account.

    ``veloz sim`` prints them for its demo accounts only (their secrets derive from the
    public seed); clients and tests read their credentials there.
    """
    lines = []
    for acct in accounts:
        key = acct.api_key
        scopes = "+".join(sorted(key.scopes))
        lines.append(
            f"account id={acct.account_id} key={key.key} secret={key.secret.decode()} "
            f"scopes={scopes}"
        )
    return lines
