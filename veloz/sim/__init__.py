"""The embedded Binance-compatible exchange: auth, rate limits and errors as the server sees them.

Pure Python, no I/O: callers pass bytes and clock readings in and get results or
`BinanceApiError`s out. Never imports `veloz.venues`, so a misreading of the protocol in the
client cannot be cancelled out by the same misreading here (STYLE §1).
"""
