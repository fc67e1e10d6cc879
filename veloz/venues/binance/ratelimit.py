"""Client-side Binance rate limits: request weight and order counts, kept below the venue's.

Owns one fixed, epoch-aligned window per venue limiter (REQUEST_WEIGHT per minute, ORDERS
per 10 s / minute / day, RAW_REQUESTS), each enforced at ``safety`` x the venue's limit, the
venue's own counts (response headers, WS-API ``rateLimits``) overriding ours, and the
blocks a 429 or 418 imposes. Pure bookkeeping: no clock of its own (every call takes
``now_ns``, venue-aligned wall-clock ns), no I/O, no sleeping.
"""

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from veloz.errors import WireError

__all__ = ["RateLimits", "WindowState"]

log = logging.getLogger(__name__)

_UNIT_MS = {"SECOND": 1_000, "MINUTE": 60_000, "HOUR": 3_600_000, "DAY": 86_400_000}
_LETTER_MS = {"S": 1_000, "M": 60_000, "H": 3_600_000, "D": 86_400_000}
_KINDS = ("REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS")
_HEADER_KIND = {"X-MBX-USED-WEIGHT-": "REQUEST_WEIGHT", "X-MBX-ORDER-COUNT-": "ORDERS"}
_SUFFIX_RE = re.compile(r"(\d{1,4})([SMHD])")
# A 429 without Retry-After (Binance sends none for order-count refusals) still pauses;
# a 418 without it is taken as the shortest documented ban, 2 minutes.
DEFAULT_429_S = 1.0
DEFAULT_BAN_S = 120.0
_NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class WindowState:
    """One limiter as last seen: ``kind`` ("REQUEST_WEIGHT", "ORDERS", "RAW_REQUESTS"),
    window length ``interval_ms``, the venue's ``limit``, our ``budget`` (safety x limit) and
    the units ``used`` in the window starting at ``start_ms`` (-1 before the first use)."""

    kind: str
    interval_ms: int
    limit: int
    budget: int
    used: int
    start_ms: int


@dataclass(slots=True)
class _Window:
    kind: str
    interval_ms: int
    limit: int
    budget: int
    start_ms: int = -1
    used: int = 0

    def roll(self, now_ms: int) -> None:
        # Windows restart at each multiple of their length since the epoch, as Binance's do.
        start = now_ms - now_ms % self.interval_ms
        if start != self.start_ms:
            self.start_ms = start
            self.used = 0

    def cost(self, weight: int, is_order: bool) -> int:
        if self.kind == "REQUEST_WEIGHT":
            return weight
        if self.kind == "ORDERS":
            return 1 if is_order else 0
        return 1  # RAW_REQUESTS: every request


def _budget(limit: int, safety: float) -> int:
    return max(1, int(limit * safety))


class RateLimits:
    """Binance limiters for one API key and IP, checked before each request is sent.

    Parameters
    ----------
    safety : float
        Fraction of each venue limit we allow ourselves, in (0, 1]; 0.9 stops at 90 %.

    Notes
    -----
    Every method is O(number of limiters), a handful. Counts from the venue replace ours
    (they include what other processes on the same key or IP used); requests in flight
    between our count and the venue's are covered by the safety margin.
    """

    __slots__ = (
        "_blocked_until_ns",
        "_orders_blocked_until_ns",
        "_refusal",
        "_refusal_kind",
        "_safety",
        "_windows",
        "n_bad_headers",
        "n_bans",
        "n_blocks",
        "n_refused",
        "n_unknown_limits",
    )

    def __init__(self, safety: float = 0.9) -> None:
        if not 0.0 < safety <= 1.0:
            raise ValueError(f"safety must be in (0, 1], got {safety}")
        self._safety = safety
        self._windows: dict[tuple[str, int], _Window] = {}
        self._blocked_until_ns = 0
        self._orders_blocked_until_ns = 0
        self._refusal = ""
        self._refusal_kind = ""
        self.n_refused = 0  # acquire calls answered with a wait
        self.n_blocks = 0  # 429 blocks
        self.n_bans = 0  # 418 blocks
        self.n_bad_headers = 0  # limiter headers or WS entries that could not be read
        self.n_unknown_limits = 0  # venue counts for a limiter exchangeInfo did not list

    @classmethod
    def from_exchange_info(
        cls, rate_limits: list[dict[str, Any]], safety: float = 0.9
    ) -> "RateLimits":
        """Build the limiters of an exchangeInfo ``rateLimits`` list.

        Parameters
        ----------
        rate_limits : list of dict
            ``[{"rateLimitType", "interval", "intervalNum", "limit"}, ...]``.
        safety : float
            See the class.

        Raises
        ------
        WireError
            An entry without those fields, an unknown type or interval, or a limit < 1.
        """
        limits = cls(safety)
        limits.load(rate_limits)
        return limits

    def load(self, rate_limits: list[dict[str, Any]]) -> None:
        """Set the venue limits from an exchangeInfo ``rateLimits`` list, keeping counts.

        Used at start (and on reloads) so clients sharing this object keep sharing it.

        Raises
        ------
        WireError
            As `from_exchange_info`.
        """
        if not isinstance(rate_limits, list):
            raise WireError("exchangeInfo: 'rateLimits' must be a list")
        for i, entry in enumerate(rate_limits):
            kind, interval_ms, limit = _entry(entry, f"exchangeInfo rateLimits[{i}]")
            self._set_limit(kind, interval_ms, limit)

    def acquire(self, weight: int, is_order: bool, now_ns: int) -> float:
        """Count one request if every limiter has room for it.

        Parameters
        ----------
        weight : int
            Request weight of the endpoint (REQUEST_WEIGHT), >= 0.
        is_order : bool
            Whether it places an order (ORDERS limiters count 1).
        now_ns : int
            Venue-aligned wall clock, ns since the epoch.

        Returns
        -------
        float
            0.0 when allowed and counted; otherwise the seconds (> 0) until it would be
            allowed, and nothing is counted. `last_refusal` says which limiter refused.
        """
        if now_ns < self._blocked_until_ns:
            self._refuse("BLOCKED", "blocked after a 429/418 answer")
            return (self._blocked_until_ns - now_ns) / 1e9
        if is_order and now_ns < self._orders_blocked_until_ns:
            self._refuse("ORDERS", "orders blocked after a 429 order-count answer")
            return (self._orders_blocked_until_ns - now_ns) / 1e9
        now_ms = now_ns // _NS_PER_MS
        wait_ms = 0
        worst: _Window | None = None
        for w in self._windows.values():
            add = w.cost(weight, is_order)
            if add <= 0:
                continue
            w.roll(now_ms)
            # One request bigger than the budget alone still goes if the venue would take it.
            if w.used + add > w.budget and not (w.used == 0 and add <= w.limit):
                left = w.start_ms + w.interval_ms - now_ms
                if left > wait_ms:
                    wait_ms, worst = left, w
        if worst is not None:
            self._refuse(
                worst.kind,
                f"{worst.kind} {worst.used}+{worst.cost(weight, is_order)} over budget "
                f"{worst.budget} (limit {worst.limit} per {worst.interval_ms} ms)",
            )
            return wait_ms / 1000
        for w in self._windows.values():
            w.used += w.cost(weight, is_order)
        return 0.0

    def update_from_headers(self, headers: Mapping[str, str], now_ns: int) -> None:
        """Take the venue's counts from response headers; they replace ours.

        Reads ``X-MBX-USED-WEIGHT-<n><S|M|H|D>`` and ``X-MBX-ORDER-COUNT-<n><unit>`` (any
        case). A header for a limiter exchangeInfo did not list is counted in
        `n_unknown_limits` (no limit to enforce); an unreadable one in `n_bad_headers`.
        """
        now_ms = now_ns // _NS_PER_MS
        for name, value in headers.items():
            upper = name.upper()
            for prefix, kind in _HEADER_KIND.items():
                if upper.startswith(prefix):
                    self._header(kind, upper[len(prefix) :], value, now_ms)
                    break

    def update_from_ws(self, rate_limits: list[dict[str, Any]], now_ns: int) -> None:
        """Take the venue's counts and limits from a WS-API reply's ``rateLimits``.

        Entries: ``{"rateLimitType", "interval", "intervalNum", "limit", "count"}``. A bad
        entry is counted in `n_bad_headers`, logged once per call and skipped.
        """
        if not isinstance(rate_limits, list):
            self._bad("ws_rate_limits_not_a_list", repr(rate_limits)[:200])
            return
        now_ms = now_ns // _NS_PER_MS
        for entry in rate_limits:
            try:
                kind, interval_ms, limit = _entry(entry, "ws rateLimits")
                count = entry["count"]
                if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                    raise WireError(f"ws rateLimits: bad count {count!r:.40}")
            except (WireError, KeyError, TypeError) as exc:
                self._bad("ws_rate_limit_bad", str(exc)[:200])
                continue
            w = self._set_limit(kind, interval_ms, limit)
            w.roll(now_ms)
            w.used = count

    def block(
        self, retry_after_s: float, now_ns: int, is_ban: bool, *, orders_only: bool = False
    ) -> None:
        """Refuse requests for `retry_after_s` after a 429 (or 418: an IP ban).

        Parameters
        ----------
        retry_after_s : float
            The venue's ``Retry-After``; <= 0 means it sent none: 1 s after a 429, 120 s
            (the first documented ban) after a 418.
        now_ns : int
            Venue-aligned wall clock, ns.
        is_ban : bool
            A 418: every request stops.
        orders_only : bool
            A 429 for the order count (-1015): only new orders stop; cancels and queries,
            which do not count as orders, still go.
        """
        if retry_after_s <= 0:
            retry_after_s = DEFAULT_BAN_S if is_ban else DEFAULT_429_S
        until = now_ns + int(retry_after_s * 1e9)
        if is_ban:
            self.n_bans += 1
        else:
            self.n_blocks += 1
        if orders_only and not is_ban:
            self._orders_blocked_until_ns = max(self._orders_blocked_until_ns, until)
        else:
            self._blocked_until_ns = max(self._blocked_until_ns, until)
        log.warning(
            "rate_limit_block is_ban=%s orders_only=%s retry_after_s=%.3f",
            is_ban,
            orders_only,
            retry_after_s,
        )

    def blocked_for(self, now_ns: int) -> float:
        """Seconds until a 429/418 block on every request ends (0.0 when none)."""
        return max(0, self._blocked_until_ns - now_ns) / 1e9

    def orders_blocked_for(self, now_ns: int) -> float:
        """Seconds until new orders may go again after blocks (0.0 when they may)."""
        until = max(self._blocked_until_ns, self._orders_blocked_until_ns)
        return max(0, until - now_ns) / 1e9

    @property
    def last_refusal(self) -> str:
        """Why the last refused `acquire` was refused ("" before any refusal)."""
        return self._refusal

    @property
    def last_refusal_kind(self) -> str:
        """Which limiter refused last: REQUEST_WEIGHT, ORDERS, RAW_REQUESTS or BLOCKED."""
        return self._refusal_kind

    @property
    def safety(self) -> float:
        """The fraction of each venue limit used as our budget."""
        return self._safety

    def windows(self) -> list[WindowState]:
        """The limiters as last counted (not rolled to any time)."""
        return [
            WindowState(w.kind, w.interval_ms, w.limit, w.budget, w.used, w.start_ms)
            for w in self._windows.values()
        ]

    # ---- internals ------------------------------------------------------------------------

    def _set_limit(self, kind: str, interval_ms: int, limit: int) -> _Window:
        w = self._windows.get((kind, interval_ms))
        if w is None:
            w = _Window(kind, interval_ms, limit, _budget(limit, self._safety))
            self._windows[(kind, interval_ms)] = w
        elif w.limit != limit:
            w.limit, w.budget = limit, _budget(limit, self._safety)
        return w

    def _header(self, kind: str, suffix: str, value: str, now_ms: int) -> None:
        m = _SUFFIX_RE.fullmatch(suffix)
        if m is None or not value.isdigit() or int(m.group(1)) == 0:
            self._bad("rate_limit_header_bad", f"{kind} {suffix}={value[:40]!r}")
            return
        interval_ms = int(m.group(1)) * _LETTER_MS[m.group(2)]
        w = self._windows.get((kind, interval_ms))
        if w is None:
            self.n_unknown_limits += 1
            return
        w.roll(now_ms)
        w.used = int(value)

    def _refuse(self, kind: str, text: str) -> None:
        self.n_refused += 1
        self._refusal_kind, self._refusal = kind, text

    def _bad(self, event: str, detail: str) -> None:
        self.n_bad_headers += 1
        if self.n_bad_headers <= 5:  # repeated bad input: the counter tells the rest
            log.warning("%s n=%d detail=%s", event, self.n_bad_headers, detail)


def _entry(entry: object, where: str) -> tuple[str, int, int]:
    # (kind, interval_ms, limit) of one rateLimits entry; WireError names what is wrong.
    if not isinstance(entry, dict):
        raise WireError(f"{where}: not an object")
    try:
        kind, unit, num, limit = (
            entry["rateLimitType"],
            entry["interval"],
            entry["intervalNum"],
            entry["limit"],
        )
    except KeyError as exc:
        raise WireError(f"{where}: missing field {exc.args[0]!r}") from None
    if kind not in _KINDS:
        raise WireError(f"{where}: unknown rateLimitType {kind!r:.40}")
    if not isinstance(unit, str) or unit not in _UNIT_MS:
        raise WireError(f"{where}: unknown interval {unit!r:.40}")
    for name, value in (("intervalNum", num), ("limit", limit)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise WireError(f"{where}: {name} must be an int >= 1, got {value!r:.40}")
    return kind, num * _UNIT_MS[unit], limit
