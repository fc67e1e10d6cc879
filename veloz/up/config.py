"""The ``veloz up`` config (`UpConfig`) and the child configs it implies.

Owns the strict up.toml schema (process keys, restart policy, ``[bus]``, ``[sim]``,
``[[feed]]``, and the ``[gateway]`` / ``[strategy]`` tables it passes through), the
cross-checks between sections (feeds and gateway against the simulator's venue and symbols),
and the TOML tables each child process is given. Must not start processes (`supervisor`
does), read secrets, or validate the gateway's and strategy's own keys: those processes own
their schemas and reject a bad key themselves (exit 2).
"""

import dataclasses
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal

from veloz.bus.endpoints import BusConfig
from veloz.config.loader import build
from veloz.config.loader import load_toml
from veloz.errors import ConfigError
from veloz.venues.binance.feedconfig import FeedConfig

__all__ = [
    "DEFAULT_CONFIG",
    "LOG_LEVELS",
    "FeedEntry",
    "SimConfig",
    "UpConfig",
    "available_cpus",
    "feed_child_name",
    "load_up_config",
    "parse_up_config",
]

log = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "examples" / "up.toml"
_SIM_VENUES = {"binance-spot": ("spot", "both"), "binance-usdm": ("usdm", "both")}
_DEMO_BALANCES = {"USDT": "100000", "BTC": "10", "ETH": "100"}


@dataclass(frozen=True, slots=True)
class SimConfig:
    """The ``[sim]`` table: the embedded exchange ``veloz up`` starts first.

    Defaults: ``enabled=True``, ``venue="spot"``, ``symbols=["BTCUSDT"]``, ``rate=50.0``
    (background book updates per second per symbol), ``seed=1``, ``no_rate_limits=False``,
    ``cpu=None``, ``balances={"USDT": "100000", "BTC": "10", "ETH": "100"}`` (the run's
    generated trading account; decimal text).
    """

    enabled: bool = True
    venue: Literal["spot", "usdm", "both"] = "spot"
    symbols: list[str] = field(default_factory=lambda: ["BTCUSDT"])
    rate: float = 50.0
    seed: int = 1
    no_rate_limits: bool = False
    cpu: int | None = None
    balances: dict[str, str] = field(default_factory=lambda: dict(_DEMO_BALANCES))

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError("symbols=[]: need at least one symbol")
        for sym in self.symbols:
            if not (sym.isascii() and sym.isalnum() and sym.isupper() and 2 <= len(sym) <= 20):
                raise ConfigError(f"symbols: {sym!r} is not an upper-case symbol like 'BTCUSDT'")
        if not self.rate > 0:
            raise ConfigError(f"rate={self.rate}: must be > 0")
        _check_cpu("cpu", self.cpu)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One ``[[feed]]`` table: a `FeedConfig` (its keys, flat) plus the ``cpu`` to pin it to."""

    feed: FeedConfig
    cpu: int | None = None


@dataclass(frozen=True, slots=True)
class UpConfig:
    """The ``veloz up`` config file (``veloz/config/examples/up.toml`` is the default run).

    Defaults: ``log_level="INFO"``, ``duration_s=0.0`` (run until SIGINT/SIGTERM),
    ``restart_min_s=0.5``, ``restart_max_s=10.0``, ``max_restarts=5``, ``stop_timeout_s=10.0``,
    ``ready_timeout_s=30.0``, ``bus`` = `BusConfig` defaults, ``sim`` = `SimConfig` defaults,
    ``feed=()``, ``gateway=None`` and ``strategy=None`` (that process is not started).

    Parameters
    ----------
    log_level : str
        The supervisor's level, and every child's unless its table sets ``log_level``.
    duration_s : float
        Stop the run after this many seconds; 0 runs until a signal.
    restart_min_s, restart_max_s : float
        Restart backoff: the first restart of a child waits ``restart_min_s``, each further
        restart within a minute doubles it, up to ``restart_max_s``.
    max_restarts : int
        Restarts allowed per child within any 60 s; one more gives up and stops the run
        (exit 1).
    stop_timeout_s : float
        How long a child has after SIGTERM before it is sent SIGKILL.
    ready_timeout_s : float
        How long the simulator has to write its ready file.
    bus : BusConfig
        ``[bus]``, written into every child's config (without ``run_dir``: children get
        ``--run-dir``).
    sim : SimConfig
        ``[sim]``; when enabled, feeds and gateway get the simulator's URLs and the gateway a
        freshly generated trading key (by environment only).
    feed : tuple of FeedEntry
        ``[[feed]]``, one feed process per table.
    gateway : dict or None
        ``[gateway]``, the gateway's own config keys (``[gateway.risk]`` becomes its
        ``[risk]``), plus ``cpu``, which the supervisor takes out and applies.
    strategy : dict or None
        ``[strategy]``, the strategy process's own keys (``cpu``, ``spin_us``,
        ``[[strategy.strategies]]`` ...).
    """

    log_level: str = "INFO"
    duration_s: float = 0.0
    restart_min_s: float = 0.5
    restart_max_s: float = 10.0
    max_restarts: int = 5
    stop_timeout_s: float = 10.0
    ready_timeout_s: float = 30.0
    bus: BusConfig = field(default_factory=BusConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    feed: tuple[FeedEntry, ...] = ()
    gateway: dict[str, Any] | None = None
    strategy: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.log_level not in LOG_LEVELS:
            raise ConfigError(
                f"log_level={self.log_level!r}: must be one of {', '.join(LOG_LEVELS)}"
            )
        if not self.duration_s >= 0:
            raise ConfigError(f"duration_s={self.duration_s}: must be >= 0 (0 = until a signal)")
        if not self.restart_min_s > 0:
            raise ConfigError(f"restart_min_s={self.restart_min_s}: must be > 0")
        if not self.restart_max_s >= self.restart_min_s:
            raise ConfigError(
                f"restart_max_s={self.restart_max_s}: must be >= restart_min_s "
                f"({self.restart_min_s})"
            )
        if self.max_restarts < 0:
            raise ConfigError(f"max_restarts={self.max_restarts}: must be >= 0")
        if not self.stop_timeout_s > 0:
            raise ConfigError(f"stop_timeout_s={self.stop_timeout_s}: must be > 0")
        if not self.ready_timeout_s > 0:
            raise ConfigError(f"ready_timeout_s={self.ready_timeout_s}: must be > 0")
        seen: set[str] = set()
        for i, entry in enumerate(self.feed):
            name = feed_child_name(entry.feed)
            if name in seen:
                raise ConfigError(f"feed[{i}]: {name} is configured twice")
            seen.add(name)
            _check_cpu(f"feed[{i}].cpu", entry.cpu)
            if self.sim.enabled:
                self._check_against_sim(f"feed[{i}]", entry.feed.venue, [entry.feed.symbol])
                for key in ("ws_url", "rest_url"):
                    if getattr(entry.feed, key) is not None:
                        raise ConfigError(f"feed[{i}].{key}: leave it out with [sim] enabled")
        if self.gateway is not None:
            self._check_gateway(self.gateway)
        if self.strategy is not None:
            _check_cpu("strategy.cpu", _opt_int(self.strategy, "cpu", "strategy.cpu"))

    def _check_gateway(self, table: Mapping[str, Any]) -> None:
        _check_cpu("gateway.cpu", _opt_int(table, "cpu", "gateway.cpu"))
        if not self.sim.enabled:
            return
        for key in ("ws_url", "rest_url"):
            if key in table:
                raise ConfigError(f"gateway.{key}: leave it out with [sim] enabled")
        venue = table.get("venue", "binance-spot")
        symbols = table.get("symbols", [])
        if not isinstance(venue, str) or not isinstance(symbols, list):
            raise ConfigError("gateway: venue must be a string and symbols an array")
        self._check_against_sim("gateway", venue, [str(s) for s in symbols])

    def _check_against_sim(self, where: str, venue: str, symbols: list[str]) -> None:
        if self.sim.venue not in _SIM_VENUES.get(venue, ()):
            raise ConfigError(f"{where}.venue={venue!r}: the simulator serves {self.sim.venue!r}")
        for sym in symbols:
            if sym.upper() not in self.sim.symbols:
                raise ConfigError(
                    f"{where}: symbol {sym!r} is not in sim.symbols {self.sim.symbols!r}"
                )

    def as_dict(self) -> dict[str, Any]:
        """The effective config as TOML-able data (what ``veloz up --print-config`` shows)."""
        top = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("bus", "sim", "feed", "gateway", "strategy")
        }
        out: dict[str, Any] = {**top, "bus": self.bus_table(), "sim": dataclasses.asdict(self.sim)}
        if self.sim.cpu is None:
            del out["sim"]["cpu"]
        if self.gateway is not None:
            out["gateway"] = self.gateway
        if self.strategy is not None:
            out["strategy"] = self.strategy
        out["feed"] = [_feed_table(e.feed) | _cpu_item(e.cpu) for e in self.feed]
        return out

    def bus_table(self) -> dict[str, Any]:
        """``[bus]`` as given to every child: every key but ``run_dir``."""
        table = {f.name: getattr(self.bus, f.name) for f in dataclasses.fields(self.bus)}
        del table["run_dir"]
        table["ports"] = dict(table["ports"])
        return table

    def feed_config(self, entry: FeedEntry, urls: Mapping[str, str] | None) -> dict[str, Any]:
        """The config file of one feed child; `urls` = the sim's ``{rest, ws}`` or None."""
        feed = _feed_table(entry.feed)
        if urls is not None:
            feed["ws_url"], feed["rest_url"] = urls["ws"], urls["rest"]
        return {"log_level": self.log_level, "feed": feed, "bus": self.bus_table()}

    def gateway_config(self, urls: Mapping[str, str] | None) -> dict[str, Any]:
        """The gateway child's config file: ``[gateway]`` without ``cpu``, sim URLs filled."""
        gateway = self.gateway or {}
        table = {"log_level": self.log_level} | {k: v for k, v in gateway.items() if k != "cpu"}
        if urls is not None:
            table["ws_url"], table["rest_url"] = urls["ws"], urls["rest"]
        return table | {"bus": self.bus_table()}

    def strategy_config(self) -> dict[str, Any]:
        """The strategy child's config file: ``[strategy]`` with ``cpu`` only if usable here."""
        table = {"log_level": self.log_level} | dict(self.strategy or {})
        cpu = table.get("cpu")
        if isinstance(cpu, int) and cpu not in available_cpus():
            log.warning("up.cpu_missing child=strategy cpu=%d action=not_pinned", cpu)
            del table["cpu"]
        return table | {"bus": self.bus_table()}

    def gateway_cpu(self) -> int | None:
        """The core the gateway is pinned to (``gateway.cpu``), or None."""
        return None if self.gateway is None else _opt_int(self.gateway, "cpu", "gateway.cpu")

    def strategy_cpu(self) -> int | None:
        """The core the strategy process is pinned to (``strategy.cpu``), or None."""
        return None if self.strategy is None else _opt_int(self.strategy, "cpu", "strategy.cpu")


def feed_child_name(feed: FeedConfig) -> str:
    """The supervisor's name for a feed child: ``feed.<venue>.<SYMBOL>``."""
    return f"feed.{feed.venue}.{feed.symbol.upper()}"


def available_cpus() -> set[int]:
    """The cores this process may run on (``os.sched_getaffinity(0)``)."""
    return set(os.sched_getaffinity(0))


def load_up_config(path: str | Path) -> UpConfig:
    """Read and check an up.toml file.

    Raises
    ------
    ConfigError
        Unreadable file, bad TOML, an unknown key (its path named, e.g. ``feed[0].symbl``), a
        wrong type or value; the message starts with the file name.
    """
    try:
        return parse_up_config(load_toml(path))
    except ConfigError as exc:
        text = str(exc)
        raise ConfigError(text if text.startswith(f"{path}:") else f"{path}: {text}") from None


def parse_up_config(data: Mapping[str, Any]) -> UpConfig:
    """Build `UpConfig` from decoded TOML (see `load_up_config`)."""
    rest = dict(data)
    feeds_raw = rest.pop("feed", [])
    if not isinstance(feeds_raw, list):
        raise ConfigError("feed: expected an array of tables ([[feed]])")
    for key in ("gateway", "strategy"):
        if key in rest and not isinstance(rest[key], Mapping):
            raise ConfigError(f"{key}: expected a table ([{key}])")
    entries = []
    for i, item in enumerate(feeds_raw):
        if not isinstance(item, Mapping):
            raise ConfigError(f"feed[{i}]: expected a table ([[feed]])")
        table = dict(item)
        cpu = _opt_int(table, "cpu", f"feed[{i}].cpu")
        table.pop("cpu", None)
        entries.append(FeedEntry(build(FeedConfig, table, f"feed[{i}]."), cpu))
    # The cross-section checks run once every section is in: build the plain part first.
    gateway = rest.pop("gateway", None)
    strategy = rest.pop("strategy", None)
    cfg = build(UpConfig, rest)
    return dataclasses.replace(
        cfg,
        feed=tuple(entries),
        gateway=None if gateway is None else dict(gateway),
        strategy=None if strategy is None else dict(strategy),
    )


def _opt_int(table: Mapping[str, Any], key: str, where: str) -> int | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected integer, got {value!r}")
    return value


def _check_cpu(where: str, cpu: int | None) -> None:
    if cpu is not None and cpu < 0:
        raise ConfigError(f"{where}={cpu}: must be >= 0")


def _feed_table(feed: FeedConfig) -> dict[str, Any]:
    return {
        f.name: getattr(feed, f.name)
        for f in dataclasses.fields(feed)
        if getattr(feed, f.name) is not None
    }


def _cpu_item(cpu: int | None) -> dict[str, Any]:
    return {} if cpu is None else {"cpu": cpu}
