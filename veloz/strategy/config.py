"""The ``veloz strategy`` config: process keys, the bus, and one table per strategy.

Owns the dataclasses and their value checks (names, venues, symbols, cpu, spin). Must not
read files itself (`veloz.config.loader` does), import a strategy class (`loader.py` does)
or hold defaults anywhere but here.
"""

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal

from veloz.bus.endpoints import BusConfig
from veloz.errors import ConfigError

__all__ = ["LOG_LEVELS", "VENUES", "StrategyProcessConfig", "StrategySpec"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
VENUES = ("binance-spot", "binance-usdm")
# Names appear in topics (`cmd.<name>`, `ex.<name>.`) and socket names: no dots, no spaces.
_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,32}$")


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """One ``[[strategies]]`` table.

    Parameters
    ----------
    name : str
        Unique in the process; ``[A-Za-z0-9_-]``, 1..64 chars. Topics ``cmd.<name>`` and
        ``ex.<name>.*`` and the client order id prefix derive from it.
    path : str
        ``"package.module:ClassName"`` or ``"path/to/file.py:ClassName"``.
    venue : str
        ``"binance-spot"`` (default) or ``"binance-usdm"``.
    symbols : list of str
        Upper-case venue symbols, at least one, no repeats.
    params : dict
        Free-form table handed to the strategy as ``self.params``. Default empty.
    """

    name: str
    path: str
    symbols: list[str]
    venue: Literal["binance-spot", "binance-usdm"] = "binance-spot"
    params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ConfigError(f"name={self.name!r}: must be 1..64 chars of [A-Za-z0-9_-]")
        if ":" not in self.path or not self.path.rpartition(":")[2]:
            raise ConfigError(f"path={self.path!r}: must be 'module.path:Class' or 'file.py:Class'")
        if not self.symbols:
            raise ConfigError("symbols=[]: need at least one symbol")
        for sym in self.symbols:
            if not _SYMBOL_RE.match(sym):
                raise ConfigError(f"symbols: {sym!r} is not an upper-case symbol like 'BTCUSDT'")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(f"symbols={self.symbols!r}: a symbol is listed twice")


@dataclass(frozen=True, slots=True)
class StrategyProcessConfig:
    """The ``veloz strategy`` config file (see ``veloz/config/examples/strategy.toml``).

    Defaults: ``proc="main"``, ``log_level="INFO"``, ``cpu=None`` (not pinned),
    ``spin_us=50``, ``start_timeout_s=10.0``, ``latency_interval_s=1.0``,
    ``resync_after_s=2.0``, ``bus`` = `BusConfig` defaults; ``strategies`` is required (at
    least one).

    Parameters
    ----------
    strategies : list of StrategySpec
        The strategies this process runs; names unique.
    proc : str
        Process name: its latency socket is ``strategy.<proc>``, its latency file
        ``<run>/latency/strategy.<proc>.json``.
    log_level : str
        One of DEBUG, INFO, WARNING, ERROR.
    cpu : int or None
        Core to pin the loop to with ``os.sched_setaffinity``; checked at start against the
        cores this process may use.
    spin_us : int
        Microseconds to busy-poll (NOBLOCK) after the last message before blocking in
        ``zmq.Poller``; 0 never spins. 0..1_000_000.
    start_timeout_s : float
        How long a strategy waits for the instruments of all its symbols before it is
        given up (logged as an error, never started). > 0.
    latency_interval_s : float
        Seconds between latency snapshots on the bus. > 0.
    resync_after_s : float
        Seconds an order sent may go without any answer from the gateway before the
        runtime asks the gateway about it (a SYNC naming the order; again after 2, 4, 8,
        16 times that). The answer may have been lost, or the gateway never got the order.
        0.05..600.
    bus : BusConfig
        The ``[bus]`` table; ``--run-dir`` overrides its run directory.
    """

    strategies: list[StrategySpec]
    proc: str = "main"
    log_level: str = "INFO"
    cpu: int | None = None
    spin_us: int = 50
    start_timeout_s: float = 10.0
    latency_interval_s: float = 1.0
    resync_after_s: float = 2.0
    bus: BusConfig = field(default_factory=BusConfig)

    def __post_init__(self) -> None:
        if not self.strategies:
            raise ConfigError("strategies: need at least one [[strategies]] table")
        names = [s.name for s in self.strategies]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"strategies: name {dup[0]!r} is used twice")
        if not _NAME_RE.match(self.proc):
            raise ConfigError(f"proc={self.proc!r}: must be 1..64 chars of [A-Za-z0-9_-]")
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"log_level={self.log_level!r}: must be one of {', '.join(LOG_LEVELS)}"
            )
        if self.cpu is not None and self.cpu < 0:
            raise ConfigError(f"cpu={self.cpu}: must be >= 0")
        if not 0 <= self.spin_us <= 1_000_000:
            raise ConfigError(f"spin_us={self.spin_us}: must be 0..1000000")
        if not self.start_timeout_s > 0:
            raise ConfigError(f"start_timeout_s={self.start_timeout_s}: must be > 0")
        if not self.latency_interval_s > 0:
            raise ConfigError(f"latency_interval_s={self.latency_interval_s}: must be > 0")
        if not 0.05 <= self.resync_after_s <= 600:
            raise ConfigError(f"resync_after_s={self.resync_after_s}: must be 0.05..600")
