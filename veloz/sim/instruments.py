"""The simulator's own instrument table and its Binance ``exchangeInfo`` bodies.

Owns the rules the simulated venue enforces (tick, step, bounds, notional) and how they are
published. It must not read the client's instrument loading in `veloz.venues`: the server
side states the rules itself (STYLE §1).
"""

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from veloz._core import fixed
from veloz.model.instrument import Instrument
from veloz.sim.limits import RateLimitConfig

__all__ = [
    "DP",
    "SPOT_INSTRUMENTS",
    "USDM_INSTRUMENTS",
    "Padding",
    "exchange_info",
    "instruments",
    "padding",
]

DP = 8  # decimals of spot price and quantity text (Binance spot's asset precision)

VENUE_SPOT = "binance-spot"
VENUE_USDM = "binance-usdm"


@dataclass(frozen=True, slots=True)
class Padding:
    """How many decimals a venue writes prices and quantities with.

    Parameters
    ----------
    price : int
        Decimals of price text (spot 8; USD-M ``pricePrecision``).
    qty : int
        Decimals of quantity text (spot 8; USD-M ``quantityPrecision``).
    """

    price: int
    qty: int


def _inst(
    venue: str,
    symbol: str,
    base: str,
    quote: str,
    tick: str,
    step: str,
    min_qty: str,
    max_qty: str,
    min_px: str,
    max_px: str,
    min_notional: str,
) -> Instrument:
    # Raws at the tick's and the step's own decimals: the engine keeps px * qty in int64 at
    # price_dp + qty_dp, so 8/8 would cap a notional at 922 USDT.
    pdp = fixed.dp_of(tick.rstrip("0"))
    qdp = fixed.dp_of(step.rstrip("0"))
    return Instrument(
        venue=venue,
        symbol=symbol,
        base=base,
        quote=quote,
        status="TRADING",
        price_dp=pdp,
        qty_dp=qdp,
        tick_raw=fixed.parse(tick, pdp),
        step_raw=fixed.parse(step, qdp),
        min_px_raw=fixed.parse(min_px, pdp),
        max_px_raw=fixed.parse(max_px, pdp),
        min_qty_raw=fixed.parse(min_qty, qdp),
        max_qty_raw=fixed.parse(max_qty, qdp),
        min_notional_raw=fixed.parse(min_notional, pdp + qdp),
    )


SPOT_INSTRUMENTS: tuple[Instrument, ...] = (
    _inst(
        VENUE_SPOT,
        "BTCUSDT",
        "BTC",
        "USDT",
        "0.01",
        "0.00001",
        "0.00001",
        "9000",
        "0.01",
        "1000000",
        "5",
    ),
    _inst(
        VENUE_SPOT,
        "ETHUSDT",
        "ETH",
        "USDT",
        "0.01",
        "0.0001",
        "0.0001",
        "9000",
        "0.01",
        "1000000",
        "5",
    ),
    _inst(
        VENUE_SPOT,
        "BNBUSDT",
        "BNB",
        "USDT",
        "0.01",
        "0.001",
        "0.001",
        "9000",
        "0.01",
        "1000000",
        "5",
    ),
    _inst(
        VENUE_SPOT,
        "SOLUSDT",
        "SOL",
        "USDT",
        "0.01",
        "0.001",
        "0.001",
        "9000",
        "0.01",
        "1000000",
        "5",
    ),
)

USDM_INSTRUMENTS: tuple[Instrument, ...] = (
    _inst(
        VENUE_USDM,
        "BTCUSDT",
        "BTC",
        "USDT",
        "0.10",
        "0.001",
        "0.001",
        "1000",
        "556.80",
        "4529764",
        "100",
    ),
    _inst(
        VENUE_USDM,
        "ETHUSDT",
        "ETH",
        "USDT",
        "0.01",
        "0.001",
        "0.001",
        "10000",
        "39.86",
        "306177",
        "20",
    ),
)

# USD-M pricePrecision / quantityPrecision (not the tick and step: Binance says so).
_USDM_PADDING: Mapping[str, Padding] = MappingProxyType(
    {"BTCUSDT": Padding(2, 3), "ETHUSDT": Padding(2, 3)}
)

# MARKET_LOT_SIZE maxima (smaller than LOT_SIZE on Binance).
_USDM_MARKET_MAX_QTY: Mapping[str, str] = MappingProxyType(
    {"BTCUSDT": "120.000", "ETHUSDT": "2000.000"}
)


def instruments(venue: str) -> tuple[Instrument, ...]:
    """Return the sim instruments of ``"spot"`` or ``"usdm"``.

    Raises
    ------
    ValueError
        For another venue.
    """
    if venue == "spot":
        return SPOT_INSTRUMENTS
    if venue == "usdm":
        return USDM_INSTRUMENTS
    raise ValueError(f"venue must be 'spot' or 'usdm', got {venue!r}")


def _decimals(raw: int, dp: int) -> int:
    # Decimals needed to write raw exactly (0.10 -> 1, 0.001 -> 3).
    text = fixed.to_text(raw, dp).rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def padding(inst: Instrument) -> Padding:
    """Return the text padding of `inst`: 8/8 on spot; USD-M from the table, else tick/step."""
    if inst.venue != VENUE_USDM:
        return Padding(8, 8)
    known = _USDM_PADDING.get(inst.symbol)
    if known is not None:
        return known
    return Padding(_decimals(inst.tick_raw, inst.price_dp), _decimals(inst.step_raw, inst.qty_dp))


def _rate_limits(config: RateLimitConfig) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": config.request_weight.interval.unit,
            "intervalNum": config.request_weight.interval.num,
            "limit": config.request_weight.limit,
        }
    ]
    out.extend(
        {
            "rateLimitType": "ORDERS",
            "interval": w.interval.unit,
            "intervalNum": w.interval.num,
            "limit": w.limit,
        }
        for w in config.orders
    )
    return out


def _text(raw: int, dp: int, decimals: int) -> str:
    # A raw at dp written as Binance writes it, with exactly `decimals` places.
    return fixed.to_text(fixed.rescale(raw, dp, decimals), decimals)


def _grid_filters(inst: Instrument, p_dec: int, q_dec: int) -> list[dict[str, Any]]:
    # PRICE_FILTER and LOT_SIZE, the tick and step grid: the same fields on spot and USD-M,
    # written with p_dec / q_dec places.
    return [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": _text(inst.min_px_raw, inst.price_dp, p_dec),
            "maxPrice": _text(inst.max_px_raw, inst.price_dp, p_dec),
            "tickSize": _text(inst.tick_raw, inst.price_dp, p_dec),
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": _text(inst.min_qty_raw, inst.qty_dp, q_dec),
            "maxQty": _text(inst.max_qty_raw, inst.qty_dp, q_dec),
            "stepSize": _text(inst.step_raw, inst.qty_dp, q_dec),
        },
    ]


def _spot_symbol(inst: Instrument) -> dict[str, Any]:
    p_dec = q_dec = DP  # spot pads every price and quantity to 8 places

    def qty(raw: int) -> str:
        return _text(raw, inst.qty_dp, q_dec)

    notional = _text(inst.min_notional_raw, inst.notional_dp, DP)
    return {
        "symbol": inst.symbol,
        "status": inst.status,
        "baseAsset": inst.base,
        "baseAssetPrecision": 8,
        "quoteAsset": inst.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "pegInstructionsAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            *_grid_filters(inst, p_dec, q_dec),
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": qty(0),
                "maxQty": qty(inst.max_qty_raw),
                "stepSize": qty(0),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": notional,
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def _usdm_symbol(inst: Instrument) -> dict[str, Any]:
    pad = padding(inst)
    # Filter text as Binance writes it: "0.10" on a pricePrecision-2 symbol with a 0.1 tick.
    p_dec = max(pad.price, _decimals(inst.tick_raw, inst.price_dp))
    q_dec = max(pad.qty, _decimals(inst.step_raw, inst.qty_dp))

    def qty(raw: int) -> str:
        return _text(raw, inst.qty_dp, q_dec)

    notional = _text(inst.min_notional_raw, inst.notional_dp, 0)
    market_max = _USDM_MARKET_MAX_QTY.get(inst.symbol, qty(inst.max_qty_raw))
    return {
        "symbol": inst.symbol,
        "pair": inst.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": inst.status,
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": inst.base,
        "quoteAsset": inst.quote,
        "marginAsset": inst.quote,
        "pricePrecision": pad.price,
        "quantityPrecision": pad.qty,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            *_grid_filters(inst, p_dec, q_dec),
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": qty(inst.min_qty_raw),
                "maxQty": market_max,
                "stepSize": qty(inst.step_raw),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": notional},
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        "permissionSets": ["GRID", "COPY"],
    }


def exchange_info(
    venue: str,
    instruments: Sequence[Instrument],
    server_ms: int,
    limits: RateLimitConfig | None = None,
) -> dict[str, Any]:
    """Build the ``exchangeInfo`` body of the spot or USD-M API.

    Parameters
    ----------
    venue : {"spot", "usdm"}
        Which API's shape to produce.
    instruments : sequence of Instrument
        Symbols to list, in order.
    server_ms : int
        ``serverTime``, ms.
    limits : RateLimitConfig, optional
        Limits to publish; the limiter's defaults when omitted.

    Returns
    -------
    dict
        JSON-ready body that ccxt and python-binance load markets from.

    Raises
    ------
    ValueError
        For an unknown venue.
    """
    config = RateLimitConfig() if limits is None else limits
    if venue == "spot":
        return {
            "timezone": "UTC",
            "serverTime": server_ms,
            "rateLimits": _rate_limits(config),
            "exchangeFilters": [],
            "symbols": [_spot_symbol(i) for i in instruments],
        }
    if venue == "usdm":
        quotes = sorted({i.quote for i in instruments})
        return {
            "timezone": "UTC",
            "serverTime": server_ms,
            "futuresType": "U_MARGINED",
            "rateLimits": _rate_limits(config),
            "exchangeFilters": [],
            "assets": [
                {"asset": q, "marginAvailable": True, "autoAssetExchange": "-10000"} for q in quotes
            ],
            "symbols": [_usdm_symbol(i) for i in instruments],
        }
    raise ValueError(f"venue must be 'spot' or 'usdm', got {venue!r}")
