"""Pre-trade risk: limits checked before an order leaves the gateway (full engine: issue 6).

Owns the checks and their counters; must not send orders or import a venue.
"""
