"""Fault injection for the simulator: state, scheduled and on-demand actions, admin routes.

Owns what faults are active, when scheduled ones fire, their counters and the admin HTTP
routes. The mechanisms live where the traffic is (`StreamHub` gaps and stalls, `Connections`,
`RateLimiter.force`, the REST delay the server awaits); this module must not touch sockets.

``POST /admin/faults`` takes one JSON object, ``{"fault": KIND, ...}``:

- ``{"fault":"drop"}`` or ``{"fault":"drop","conn":ID}``: close every connection, or one.
- ``{"fault":"gap","symbol":"BTCUSDT","n":5}``: the next diff on each depth stream of the
  symbol jumps ``U`` (and ``pu``) by n. Optional ``"venue":"spot"|"usdm"`` (default: all).
- ``{"fault":"stall","symbol":"BTCUSDT","ms":500}`` or ``{"fault":"stall",
  "stream":"btcusdt@trade","ms":500}``: hold those frames for ms, then release them in order
  (held, not dropped). Optional ``"venue"``.
- ``{"fault":"rest_delay","ms":200}``: delay every REST answer by ms (0 ends it).
- ``{"fault":"force","status":429|418,"ms":5000}``: every request from ``"ip"`` (default
  127.0.0.1) fails with that status for ms (0 ends it). Optional ``"venue"``.
- ``{"fault":"malformed"}`` or ``{"fault":"malformed","conn":ID}``: send one truncated JSON
  text frame to every connection, or one.
- ``{"fault":"close_all_at","at_ms":T}`` or ``{"fault":"close_all_at","in_ms":D}``: close
  every connection at server time T (the 24 h rollover drill).
- ``{"fault":"drop_every","ms":D}``: close every connection every D ms (0 ends it).

Answers: 200 ``{"applied": KIND, ...}``; 400 ``{"error": "..."}`` for a bad body.
``GET /admin/faults`` gives ``{"counters": {...}, "active": {...}}``; ``GET
/admin/connections`` gives ``[{"id","kind","path","streams","combined","age_ms"}, ...]``.
"""

import logging
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from veloz.sim.limits import RateLimiter
from veloz.sim.streams import CLOSE_NORMAL
from veloz.sim.streams import CLOSE_POLICY
from veloz.sim.streams import Connections
from veloz.sim.streams import StreamHub

__all__ = ["KINDS", "MALFORMED_FRAME", "FaultError", "Faults", "parse_flag"]

log = logging.getLogger(__name__)

KINDS = (
    "drop",
    "gap",
    "stall",
    "rest_delay",
    "force",
    "malformed",
    "close_all_at",
    "drop_every",
)
MALFORMED_FRAME = b'{"e":"depthUpdate","E":17'  # cut mid-object on purpose


class FaultError(ValueError):
    """A fault request that cannot be applied; the message says which field and why."""


def _int_field(spec: Mapping[str, Any], name: str, minimum: int = 0) -> int:
    value = spec.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise FaultError(f"field {name!r} must be an integer >= {minimum}, got {value!r}")
    return value


class Faults:
    """Active faults and their counters, applied to the server's hubs, limiters and sockets.

    Parameters
    ----------
    connections : Connections
        Every websocket client.
    hubs : mapping of venue to StreamHub
        Market-stream hubs by venue.
    limiters : mapping of venue to RateLimiter
        REST/WS-API limiters by venue.
    clock_ms : callable
        Server clock, ms since the epoch.
    """

    def __init__(
        self,
        connections: Connections,
        hubs: Mapping[str, StreamHub],
        limiters: Mapping[str, RateLimiter],
        clock_ms: Callable[[], int],
    ) -> None:
        self.connections = connections
        self.hubs = hubs
        self.limiters = limiters
        self.clock_ms = clock_ms
        self.counters: dict[str, int] = dict.fromkeys(KINDS, 0)
        self.rest_delay_ms = 0
        self._forced: dict[tuple[str, str], tuple[int, int]] = {}  # (venue, ip) -> status, end
        self._scheduled: list[tuple[int, dict[str, Any]]] = []
        self._close_all_at_ms: int | None = None
        self._drop_every_ms = 0
        self._next_drop_ms = 0

    def apply(self, spec: Mapping[str, Any], now_ms: int | None = None) -> dict[str, Any]:
        """Apply one fault at `now_ms` (default: the clock); describe what was done.

        Raises
        ------
        FaultError
            Unknown kind or a missing or bad field.
        """
        kind = spec.get("fault")
        if kind not in KINDS:
            raise FaultError(f"field 'fault' must be one of {', '.join(KINDS)}, got {kind!r}")
        now = self.clock_ms() if now_ms is None else now_ms
        done: dict[str, Any] = {"applied": kind}
        if kind == "drop":
            done["closed"] = self._for_conns(spec, lambda c: c.close(CLOSE_POLICY, "fault_drop"))
        elif kind == "malformed":
            done["sent"] = self._for_conns(spec, lambda c: c.offer(MALFORMED_FRAME))
        elif kind == "gap":
            symbol, n = self._symbol(spec), _int_field(spec, "n", 1)
            for hub in self._venue_hubs(spec):
                hub.inject_gap(symbol, n)
        elif kind == "stall":
            key = spec.get("stream") or self._symbol(spec)
            if not isinstance(key, str):
                raise FaultError(f"field 'stream' must be a stream name, got {key!r}")
            until = now + _int_field(spec, "ms", 1)
            for hub in self._venue_hubs(spec):
                hub.stall(key, until)
            done["until_ms"] = until
        elif kind == "rest_delay":
            self.rest_delay_ms = _int_field(spec, "ms")
        elif kind == "force":
            self._force(spec, now)
        elif kind == "close_all_at":
            if "at_ms" in spec:
                self._close_all_at_ms = _int_field(spec, "at_ms")
            else:
                self._close_all_at_ms = now + _int_field(spec, "in_ms")
            done["at_ms"] = self._close_all_at_ms
        else:  # drop_every
            self._drop_every_ms = _int_field(spec, "ms")
            self._next_drop_ms = now + self._drop_every_ms
        self.counters[kind] += 1
        log.warning("fault_applied kind=%s spec=%s", kind, orjson.dumps(spec).decode()[:200])
        return done

    def schedule(self, at_ms: int, spec: Mapping[str, Any]) -> None:
        """Apply `spec` at server time `at_ms` (checked against `KINDS` now)."""
        if spec.get("fault") not in KINDS:
            raise FaultError(f"field 'fault' must be one of {', '.join(KINDS)}")
        self._scheduled.append((at_ms, dict(spec)))
        self._scheduled.sort(key=lambda item: item[0])

    def tick(self, now_ms: int) -> None:
        """Fire scheduled faults, the close-all drill and periodic drops due at `now_ms`."""
        while self._scheduled and self._scheduled[0][0] <= now_ms:
            _, spec = self._scheduled.pop(0)
            self.apply(spec, now_ms)
        if self._close_all_at_ms is not None and now_ms >= self._close_all_at_ms:
            self._close_all_at_ms = None
            n = self._for_conns({}, lambda c: c.close(CLOSE_NORMAL, "fault_rollover"))
            log.warning("fault_rollover closed=%d", n)
        if self._drop_every_ms and now_ms >= self._next_drop_ms:
            self._next_drop_ms = now_ms + self._drop_every_ms
            n = self._for_conns({}, lambda c: c.close(CLOSE_POLICY, "fault_drop"))
            self.counters["drop"] += 1
            log.warning("fault_periodic_drop closed=%d", n)

    def snapshot(self) -> dict[str, Any]:
        """Counters and active faults, for ``GET /admin/faults``."""
        now = self.clock_ms()
        forced = [
            {"venue": v, "ip": ip, "status": st, "until_ms": end}
            for (v, ip), (st, end) in self._forced.items()
            if end > now
        ]
        stalls = {v: hub.active_stalls() for v, hub in self.hubs.items() if hub.active_stalls()}
        active: dict[str, Any] = {
            "rest_delay_ms": self.rest_delay_ms,
            "forced": forced,
            "stalls": stalls,
            "close_all_at_ms": self._close_all_at_ms,
            "drop_every_ms": self._drop_every_ms,
            "scheduled": [{"at_ms": at, **spec} for at, spec in self._scheduled],
        }
        return {"counters": dict(self.counters), "active": active}

    def routes(self) -> list[web.RouteDef]:
        """The admin routes: ``GET/POST /admin/faults`` and ``GET /admin/connections``."""
        return [
            web.get("/admin/faults", self._get_faults),
            web.post("/admin/faults", self._post_faults),
            web.get("/admin/connections", self._get_connections),
        ]

    async def _get_faults(self, request: web.Request) -> web.Response:
        return _json(200, self.snapshot())

    async def _get_connections(self, request: web.Request) -> web.Response:
        return _json(200, [c.describe() for c in self.connections.all()])

    async def _post_faults(self, request: web.Request) -> web.Response:
        try:
            spec = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            return _json(400, {"error": "body must be one JSON object"})
        if not isinstance(spec, dict):
            return _json(400, {"error": "body must be one JSON object"})
        try:
            return _json(200, self.apply(spec))
        except FaultError as exc:
            return _json(400, {"error": str(exc)})

    def _for_conns(self, spec: Mapping[str, Any], action: Callable[[Any], object]) -> int:
        if "conn" in spec:
            conn = self.connections.get(_int_field(spec, "conn", 1))
            if conn is None:
                raise FaultError(f"no open connection with id {spec['conn']}")
            action(conn)
            return 1
        conns = self.connections.all()
        for conn in conns:
            action(conn)
        return len(conns)

    def _symbol(self, spec: Mapping[str, Any]) -> str:
        symbol = spec.get("symbol")
        if not isinstance(symbol, str) or not symbol.isalnum():
            raise FaultError(f"field 'symbol' must be a symbol like BTCUSDT, got {symbol!r}")
        return symbol.upper()

    def _venue_hubs(self, spec: Mapping[str, Any]) -> list[StreamHub]:
        venue = spec.get("venue")
        if venue is None:
            return list(self.hubs.values())
        if venue not in self.hubs:
            raise FaultError(f"field 'venue' must be one of {sorted(self.hubs)}, got {venue!r}")
        return [self.hubs[venue]]

    def _force(self, spec: Mapping[str, Any], now: int) -> None:
        status = spec.get("status")
        if status not in (429, 418):
            raise FaultError(f"field 'status' must be 429 or 418, got {status!r}")
        duration = _int_field(spec, "ms")
        ip = spec.get("ip", "127.0.0.1")
        if not isinstance(ip, str):
            raise FaultError(f"field 'ip' must be an address, got {ip!r}")
        venue = spec.get("venue")
        if venue is not None and venue not in self.limiters:
            raise FaultError(f"field 'venue' must be one of {sorted(self.limiters)}, got {venue!r}")
        for name, limiter in self.limiters.items():
            if venue is None or name == venue:
                limiter.force(ip, int(status), duration, now)
                self._forced[(name, ip)] = (int(status), now + duration)


def parse_flag(flag: str, value: str, start_ms: int) -> tuple[int, dict[str, Any]]:
    """Turn a ``--fault-*`` command-line value into ``(at_ms, spec)`` for `Faults.schedule`.

    ``--fault-gap SYMBOL:N@SECONDS``, ``--fault-drop-every SECONDS``,
    ``--fault-429-at SECONDS:DURATION``, ``--fault-stall SYMBOL:MS@SECONDS``,
    ``--fault-rest-delay MS``, ``--fault-close-all-at SECONDS``; SECONDS count from start.

    Raises
    ------
    FaultError
        The value does not match the flag's form; the message names flag, value and form.
    """
    forms = {
        "--fault-gap": "SYMBOL:N@SECONDS",
        "--fault-stall": "SYMBOL:MS@SECONDS",
        "--fault-drop-every": "SECONDS",
        "--fault-429-at": "SECONDS:DURATION",
        "--fault-rest-delay": "MS",
        "--fault-close-all-at": "SECONDS",
    }
    if flag not in forms:
        raise FaultError(f"unknown fault flag {flag}")
    try:
        if flag in ("--fault-gap", "--fault-stall"):
            symbol, _, rest = value.partition(":")
            amount, _, secs = rest.partition("@")
            if not symbol.isalnum() or int(amount) < 1:
                raise ValueError(value)
            at = start_ms + int(float(secs) * 1000)
            if flag == "--fault-gap":
                return at, {"fault": "gap", "symbol": symbol.upper(), "n": int(amount)}
            return at, {"fault": "stall", "symbol": symbol.upper(), "ms": int(amount)}
        if flag == "--fault-429-at":
            secs, _, duration = value.partition(":")
            at = start_ms + int(float(secs) * 1000)
            return at, {"fault": "force", "status": 429, "ms": int(float(duration) * 1000)}
        number = float(value)
        if number < 0:
            raise ValueError(value)
        if flag == "--fault-drop-every":
            return start_ms, {"fault": "drop_every", "ms": int(number * 1000)}
        if flag == "--fault-rest-delay":
            return start_ms, {"fault": "rest_delay", "ms": int(number)}
        return start_ms, {"fault": "close_all_at", "at_ms": start_ms + int(number * 1000)}
    except ValueError:
        raise FaultError(f"{flag} {value!r}: expected {forms[flag]}") from None


def _json(status: int, body: object) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
