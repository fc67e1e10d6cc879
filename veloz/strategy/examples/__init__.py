"""Example strategies a quant can copy: `market_maker.MarketMaker`, `momentum.Momentum`.

Plain Python on the `veloz.Strategy` API only; nothing here may import the runtime, the bus
or a venue.
"""
