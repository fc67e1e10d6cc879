"""The process bus: ZeroMQ sockets found through one run directory, and the feed seam.

`endpoints` owns the run dir and the endpoint files, `sockets` the PUB/SUB/PUSH/PULL
wrappers (high-water marks, non-blocking sends, drop counts), `curve` the CurveZMQ keys,
`md` the feed's `BusPublisher`, `publisher` the `Publisher` protocol and `stdout` its
JSON-lines form. The byte layout of every message is `veloz._core.wire`'s. This package must
not know a venue or the simulator.
"""
