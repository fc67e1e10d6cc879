"""Strategies: the `Strategy` base class users subclass, and the runtime that hosts them.

`veloz.strategy.base` holds the user API, `runtime` the dispatch engine, `resync` the SYNCs
that re-ask the gateway, `loop` the pinned process loop around it, `summary` the state file,
`loader` and `config` the set-up, `orders` the per-strategy order bookkeeping. This package
must not import a venue: strategies reach the exchange only through the gateway, over the
bus.
"""

from veloz.strategy.base import Strategy

__all__ = ["Strategy"]
