"""A user-data sink for integration tests: keeps every normalized event and restart, and lets
a test wait on a condition over them (no sleeps)."""

import asyncio
from collections.abc import Callable
from typing import Any

from veloz.model.events import ExecEvent

WAIT_S = 5.0


class Sink:
    """Collects events and restarts; `wait` blocks until a condition on them holds."""

    def __init__(self) -> None:
        self.events: list[ExecEvent] = []
        self.restarts: list[str] = []
        self._changed = asyncio.Event()

    def on_event(self, ev: ExecEvent) -> None:
        self.events.append(ev)
        self._changed.set()

    def on_restart(self, reason: str) -> None:
        self.restarts.append(reason)
        self._changed.set()

    async def wait(self, what: str, pred: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                while not pred():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            tail = [_brief(e) for e in self.events[-12:]]
            raise AssertionError(f"no {what} within {timeout_s}s; last events {tail}") from None

    def of(self, kind: type[Any], **match: Any) -> list[Any]:
        """Events of `kind` whose attributes equal `match`."""
        return [
            e
            for e in self.events
            if isinstance(e, kind) and all(getattr(e, k) == v for k, v in match.items())
        ]


def _brief(ev: ExecEvent) -> str:
    return f"{type(ev).__name__}:{getattr(ev, 'client_order_id', '')}:{getattr(ev, 'status', '')}"
