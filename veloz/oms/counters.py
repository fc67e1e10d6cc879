"""`GatewayCounters`: what the order gateway did since start, one plain count per outcome.

Owns the counter names (``n_*``) the gateway's modules increment and its status line reads.
Must not hold behaviour beyond listing the counts.
"""

from dataclasses import asdict
from dataclasses import dataclass

__all__ = ["GatewayCounters"]


@dataclass(slots=True)
class GatewayCounters:
    """What the gateway did since start (all counts)."""

    n_cmds: int = 0  # order commands received
    n_malformed: int = 0  # undecodable or non-ORDER_CMD bodies on `orders` (skipped)
    n_rejected_gateway: int = 0  # commands the gateway itself could not take
    n_rejected_risk: int = 0  # pre-trade refusals (per rule: PreTradeRisk.counters())
    n_rejected_local: int = 0  # refused by the venue client's own check (nothing sent)
    n_rejected_venue: int = 0  # refused by the venue, or not sent (retryable refusal)
    n_placed: int = 0  # orders the venue accepted
    n_cancels: int = 0  # cancel requests answered
    n_cancels_failed: int = 0  # cancel refusals (the order's state is queried and published)
    n_cancels_unknown: int = 0  # cancels of an order and instrument the gateway never saw
    n_unknown_status: int = 0  # requests with an unknown outcome (the order is queried)
    n_unresolved: int = 0  # unknown outcomes still unknown after every query
    n_order_events: int = 0  # ORDER_EVENTs published
    n_fills: int = 0  # FILLs published
    n_unowned: int = 0  # events published to ex._ (no strategy owns the order)
    n_other_events: int = 0  # balance/position events (not published yet)
    n_restarts: int = 0  # user-data restarts (open orders published again)
    n_dropped: int = 0  # exec PUB sends refused (HWM)
    n_md: int = 0  # md messages used
    n_md_malformed: int = 0  # md messages that could not be read or scaled (skipped)
    n_dispatch_errors: int = 0  # bugs caught in a per-message handler
    n_task_errors: int = 0  # bugs caught in a request task

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return asdict(self)
