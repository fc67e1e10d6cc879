"""Request-weight and order-count limits as Binance enforces them, with IP bans and faults.

Owns fixed, epoch-aligned windows per IP (REQUEST_WEIGHT) and per account (ORDERS), the
429 -> 418 escalation and forced faults. No clock of its own: every call takes ``now_ms``,
so a run is deterministic. It must not know endpoints or weights; callers pass the weight.
"""

from dataclasses import dataclass
from dataclasses import field
from typing import Literal

from veloz.sim.errors import MSG_IP_BANNED
from veloz.sim.errors import MSG_TOO_MANY_ORDERS
from veloz.sim.errors import MSG_TOO_MUCH_WEIGHT
from veloz.sim.errors import BinanceApiError

__all__ = [
    "RateInterval",
    "RateLimitConfig",
    "RateLimiter",
    "WindowLimit",
]

IntervalUnit = Literal["SECOND", "MINUTE", "HOUR", "DAY"]

_UNIT_MS: dict[str, int] = {
    "SECOND": 1_000,
    "MINUTE": 60_000,
    "HOUR": 3_600_000,
    "DAY": 86_400_000,
}


@dataclass(frozen=True, slots=True)
class RateInterval:
    """A rate-limit interval as Binance writes it: ``intervalNum`` and ``interval``.

    Parameters
    ----------
    num : int
        ``intervalNum``, >= 1.
    unit : {"SECOND", "MINUTE", "HOUR", "DAY"}
        ``interval``.
    """

    num: int
    unit: IntervalUnit

    def __post_init__(self) -> None:
        if self.num < 1 or self.unit not in _UNIT_MS:
            raise ValueError(f"bad rate interval {self.num} {self.unit}")

    @property
    def ms(self) -> int:
        """Length in ms."""
        return self.num * _UNIT_MS[self.unit]

    @property
    def suffix(self) -> str:
        """Header suffix ``(intervalNum)(intervalLetter)``, e.g. ``1M`` or ``10S``."""
        return f"{self.num}{self.unit[0]}"

    @property
    def text(self) -> str:
        """Text used in error messages, e.g. ``1 MINUTE``."""
        return f"{self.num} {self.unit}"


@dataclass(frozen=True, slots=True)
class WindowLimit:
    """At most `limit` units per fixed `interval` window.

    Parameters
    ----------
    limit : int
        Units allowed per window (weight or orders), >= 1.
    interval : RateInterval
        Window length; windows start at multiples of it since the epoch.
    """

    limit: int
    interval: RateInterval

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"rate limit must be >= 1, got {self.limit}")


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Limits of the simulated exchange.

    Defaults: REQUEST_WEIGHT 6000 per 1 MINUTE per IP; ORDERS 100 per 10 SECOND and 200000
    per 1 DAY per account; after two 429s in one weight window the next over-limit request
    bans the IP (418); bans last 2 minutes, doubling per repeat, capped at 3 days.

    Parameters
    ----------
    request_weight : WindowLimit
        Per-IP weight limit.
    orders : tuple of WindowLimit
        Per-account order-count limits.
    ban_after_violations : int
        Number of 429s in one weight window after which the next over-limit request bans.
    ban_first_ms : int
        Length of an IP's first ban, ms.
    ban_factor : int
        Each further ban of the same IP lasts this many times the previous one.
    ban_max_ms : int
        Longest ban, ms.
    """

    request_weight: WindowLimit = WindowLimit(6000, RateInterval(1, "MINUTE"))
    orders: tuple[WindowLimit, ...] = (
        WindowLimit(100, RateInterval(10, "SECOND")),
        WindowLimit(200_000, RateInterval(1, "DAY")),
    )
    ban_after_violations: int = 2
    ban_first_ms: int = 120_000
    ban_factor: int = 2
    ban_max_ms: int = 259_200_000

    @classmethod
    def unlimited(cls) -> "RateLimitConfig":
        """Limits too high to reach: for benchmarks, where the venue's pacing is not the
        subject. Forced 429/418 faults still apply."""
        huge = 10**15
        return cls(
            request_weight=WindowLimit(huge, RateInterval(1, "MINUTE")),
            orders=(WindowLimit(huge, RateInterval(10, "SECOND")),),
        )

    def __post_init__(self) -> None:
        if self.ban_after_violations < 0:
            raise ValueError("ban_after_violations must be >= 0")
        if not 0 < self.ban_first_ms <= self.ban_max_ms or self.ban_factor < 1:
            raise ValueError("need 0 < ban_first_ms <= ban_max_ms and ban_factor >= 1")


@dataclass(slots=True)
class _Window:
    start_ms: int = -1
    used: int = 0


@dataclass(slots=True)
class _IpState:
    weight: _Window = field(default_factory=_Window)
    n_violations: int = 0  # 429s in the current weight window
    n_bans: int = 0  # bans so far; never decays in a simulator run
    banned_until_ms: int = 0
    forced_status: int = 0
    forced_until_ms: int = 0


def _ceil_s(ms: int) -> int:
    return max(1, -(-ms // 1000))


class RateLimiter:
    """REQUEST_WEIGHT per IP and ORDERS per account, in fixed windows aligned to the epoch.

    Windows restart at each multiple of their interval (a 1 MINUTE window at every whole
    minute), as Binance's counters reset on the clock minute. All methods are O(number of
    limits) and take the server clock in ms.

    Parameters
    ----------
    config : RateLimitConfig, optional
        Limits; defaults as documented on `RateLimitConfig`.
    """

    __slots__ = ("_accounts", "_config", "_ips")

    def __init__(self, config: RateLimitConfig | None = None) -> None:
        self._config = RateLimitConfig() if config is None else config
        self._ips: dict[str, _IpState] = {}
        self._accounts: dict[str, list[_Window]] = {}

    @property
    def config(self) -> RateLimitConfig:
        """The limits in force."""
        return self._config

    def charge_request(self, ip: str, weight: int, now_ms: int) -> dict[str, str]:
        """Charge `weight` to `ip` and return the used-weight header.

        The request's weight counts even when it is rejected, so the header can show more
        than the limit, as Binance's does.

        Parameters
        ----------
        ip : str
            Client address.
        weight : int
            Request weight of the endpoint, >= 0.
        now_ms : int
            Server clock, ms since the epoch.

        Returns
        -------
        dict of str to str
            ``{"X-MBX-USED-WEIGHT-1M": "<used>"}`` (suffix from the configured interval).

        Raises
        ------
        BinanceApiError
            429 -1003 with ``Retry-After`` (seconds to the window end) over the limit or
            while a forced 429 lasts; 418 -1003 with ``Retry-After`` (seconds to the ban end)
            once banned or while a forced 418 lasts.
        """
        if weight < 0:
            raise ValueError(f"weight must be >= 0, got {weight}")
        state = self._ips.setdefault(ip, _IpState())
        if now_ms < state.banned_until_ms:
            raise _banned(state.banned_until_ms, now_ms)
        if now_ms < state.forced_until_ms and state.forced_status == 418:
            raise _banned(state.forced_until_ms, now_ms)
        limit = self._config.request_weight
        window = state.weight
        start_ms = now_ms - now_ms % limit.interval.ms
        if window.start_ms != start_ms:
            window.start_ms = start_ms
            window.used = 0
            state.n_violations = 0
        window.used += weight
        headers = {self.weight_header: str(window.used)}
        if now_ms < state.forced_until_ms and state.forced_status == 429:
            retry_s = _ceil_s(state.forced_until_ms - now_ms)
            raise _too_much_weight(limit, headers, retry_s)
        if window.used <= limit.limit:
            return headers
        if state.n_violations >= self._config.ban_after_violations:
            state.banned_until_ms = now_ms + self._ban_ms(state.n_bans)
            state.n_bans += 1
            state.n_violations = 0
            raise _banned(state.banned_until_ms, now_ms)
        state.n_violations += 1
        retry_s = _ceil_s(start_ms + limit.interval.ms - now_ms)
        raise _too_much_weight(limit, headers, retry_s)

    def charge_order(self, account: str, now_ms: int) -> dict[str, str]:
        """Count one new order for `account` and return the order-count headers.

        An order over any limit is not counted.

        Parameters
        ----------
        account : str
            Account the order belongs to (order limits are per account, not per IP).
        now_ms : int
            Server clock, ms since the epoch.

        Returns
        -------
        dict of str to str
            ``X-MBX-ORDER-COUNT-<n><unit>`` for each limit, e.g. ``-10S`` and ``-1D``.

        Raises
        ------
        BinanceApiError
            429 -1015 naming the first limit broken, carrying the current order-count
            headers; no ``Retry-After``, as Binance sends none for order-count 429s.
        """
        limits = self._config.orders
        windows = self._accounts.setdefault(account, [_Window() for _ in limits])
        for limit, window in zip(limits, windows, strict=True):
            start_ms = now_ms - now_ms % limit.interval.ms
            if window.start_ms != start_ms:
                window.start_ms = start_ms
                window.used = 0
        for limit, window in zip(limits, windows, strict=True):
            if window.used + 1 > limit.limit:
                msg = MSG_TOO_MANY_ORDERS % (limit.limit, limit.interval.text)
                # the refusal still reports the windows' counts (the WS API lists them)
                counts = {
                    f"X-MBX-ORDER-COUNT-{lim.interval.suffix}": str(win.used)
                    for lim, win in zip(limits, windows, strict=True)
                }
                raise BinanceApiError(-1015, msg, http_status=429, headers=counts)
        headers: dict[str, str] = {}
        for limit, window in zip(limits, windows, strict=True):
            window.used += 1
            headers[f"X-MBX-ORDER-COUNT-{limit.interval.suffix}"] = str(window.used)
        return headers

    def force(self, ip: str, status: int, duration_ms: int, now_ms: int) -> None:
        """Make every request from `ip` fail with `status` for `duration_ms` (fault injection).

        A forced fault does not count towards real bans. A later call replaces it.

        Parameters
        ----------
        ip : str
            Client address.
        status : {429, 418}
            HTTP status to answer with.
        duration_ms : int
            How long, ms, from `now_ms`; 0 clears the fault.
        now_ms : int
            Server clock, ms since the epoch.
        """
        if status not in (429, 418):
            raise ValueError(f"forced status must be 429 or 418, got {status}")
        if duration_ms < 0:
            raise ValueError(f"duration_ms must be >= 0, got {duration_ms}")
        state = self._ips.setdefault(ip, _IpState())
        state.forced_status = status
        state.forced_until_ms = now_ms + duration_ms

    def banned_until_ms(self, ip: str) -> int:
        """Return when `ip`'s current or last real ban ends (0 if never banned), ms."""
        state = self._ips.get(ip)
        return 0 if state is None else state.banned_until_ms

    @property
    def weight_header(self) -> str:
        """Name of the used-weight header, e.g. ``X-MBX-USED-WEIGHT-1M``."""
        return f"X-MBX-USED-WEIGHT-{self._config.request_weight.interval.suffix}"

    def _ban_ms(self, n_bans: int) -> int:
        cfg = self._config
        ban_ms = cfg.ban_first_ms
        for _ in range(n_bans):
            ban_ms *= cfg.ban_factor
            if ban_ms >= cfg.ban_max_ms:
                break
        return min(ban_ms, cfg.ban_max_ms)


def _too_much_weight(limit: WindowLimit, headers: dict[str, str], retry_s: int) -> BinanceApiError:
    msg = MSG_TOO_MUCH_WEIGHT % (limit.limit, limit.interval.text)
    return BinanceApiError(
        -1003, msg, http_status=429, headers={**headers, "Retry-After": str(retry_s)}
    )


def _banned(until_ms: int, now_ms: int) -> BinanceApiError:
    return BinanceApiError(
        -1003,
        MSG_IP_BANNED % until_ms,
        http_status=418,
        headers={"Retry-After": str(_ceil_s(until_ms - now_ms))},
    )
