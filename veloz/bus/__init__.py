"""The market-data and execution bus: what feeds and the gateway publish to.

Issue #5 puts ZeroMQ sockets and the binary wire format here; until then this package holds
the `Publisher` seam the feed writes to and the stdout publisher `veloz feed` uses alone.
"""
