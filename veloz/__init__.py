"""VeloZ: a low-latency crypto trading engine with Cython hot paths."""

__version__ = "0.1.0"
