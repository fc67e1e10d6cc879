"""Shared cases of the BinanceMdDecoder tests: the captured instruments' scales, frame encoding.

Owns only helpers for test_md_decode.py and test_md_decode_bad_input.py; holds no tests.
"""

from typing import Any

import orjson

# The tick and step scales of the captured instruments: the coarsest dp that holds their
# on-grid frames. (The mapped Instrument uses Binance's 8 and 8; see test_mapping.)
NKN_SPOT = ("NKNUSDT", 4, 0)  # tick 0.0001, step 1
ETH_SPOT = ("ETHUSDT", 2, 4)  # tick 0.01, step 0.0001
BTC_SPOT = ("BTCUSDT", 2, 5)  # tick 0.01, step 0.00001
SUSHI_USDM = ("SUSHIUSDT", 3, 0)  # tick 0.0010, step 1
# The 2021 NKNUSDT REST snapshot holds deep bids off the current grid: 34 prices finer than
# the tick ("0.25974000", tick 0.0001) and 49 quantities finer than the step ("11979.30000000",
# step 1), stale orders from before a filter change. Decoding it needs Binance's wire scale.
NKN_SPOT_BOOK = ("NKNUSDT", 8, 8)
# Doc examples use toy numbers ("0.0024", "4.00000200"): any dp that holds them will do.
DOC_DP = (8, 8)


def raw(rel_or_msg: Any) -> bytes:
    return orjson.dumps(rel_or_msg)
