"""Binance exchangeInfo -> Instrument: scales from the asset precisions, rules as int64 raws.

Owns the reading of PRICE_FILTER, LOT_SIZE and the notional filters for spot and USD-M.
Futures ``pricePrecision`` / ``quantityPrecision`` are deliberately ignored: the docs say
they are not tick or step sizes. Never skips a symbol silently: a bad entry raises WireError.
"""

from typing import Any

from veloz._core import fixed
from veloz.errors import NumberError
from veloz.errors import WireError
from veloz.model.instrument import Instrument

VENUES = ("binance-spot", "binance-usdm")


def _check_venue(venue: str) -> None:
    if venue not in VENUES:
        raise ValueError(f"venue must be one of {', '.join(VENUES)}, got {venue!r}")


def _text(obj: dict[str, Any], key: str, where: str) -> str:
    # A required string field; WireError names where it was looked for.
    try:
        value = obj[key]
    except KeyError:
        raise WireError(f"{where}: missing field {key!r}") from None
    if not isinstance(value, str) or not value:
        raise WireError(f"{where}: field {key!r} must be a non-empty string, got {value!r:.80}")
    return value


def _filters(info: dict[str, Any], symbol: str) -> dict[str, dict[str, Any]]:
    try:
        entries = info["filters"]
    except KeyError:
        raise WireError(f"exchangeInfo {symbol}: missing field 'filters'") from None
    if not isinstance(entries, list):
        raise WireError(f"exchangeInfo {symbol}: 'filters' must be a list")
    out: dict[str, dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise WireError(f"exchangeInfo {symbol}: filters[{i}] is not an object")
        kind = _text(entry, "filterType", f"exchangeInfo {symbol}: filters[{i}]")
        if kind in out:
            raise WireError(f"exchangeInfo {symbol}: filter {kind} appears twice")
        out[kind] = entry
    return out


def _need(filters: dict[str, dict[str, Any]], kind: str, symbol: str) -> dict[str, Any]:
    try:
        return filters[kind]
    except KeyError:
        raise WireError(f"exchangeInfo {symbol}: missing filter {kind}") from None


def _raw(obj: dict[str, Any], key: str, dp: int, where: str) -> int:
    # Decimal text field -> raw at dp; off-scale or junk text is a WireError naming it.
    text = _text(obj, key, where)
    try:
        return fixed.parse(text, dp)
    except NumberError as exc:
        raise WireError(f"{where}.{key}: {exc}") from None


def _scale(obj: dict[str, Any], key: str, where: str) -> tuple[int, int]:
    # A tick or step size: (dp with trailing zeros stripped, raw at that dp), raw > 0.
    text = _text(obj, key, where)
    try:
        dp = fixed.dp_of(text)
        raw = fixed.parse(text, dp)
    except NumberError as exc:
        raise WireError(f"{where}.{key}: {exc}") from None
    if dp > 18:
        raise WireError(f"{where}.{key}: {text!r} needs {dp} decimals, more than 18")
    if raw <= 0:
        raise WireError(f"{where}.{key}: {text!r} is zero (rule disabled): no scale to derive")
    return dp, raw


def _precision(info: dict[str, Any], keys: tuple[str, ...], where: str) -> int:
    # An asset precision: the first of keys present, an int 0..18.
    for key in keys:
        if key in info:
            value = info[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 18:
                raise WireError(f"{where}: field {key!r} must be an int 0..18, got {value!r:.80}")
            return value
    raise WireError(f"{where}: missing field {keys[0]!r}")


def _min_notional(filters: dict[str, dict[str, Any]], venue: str, symbol: str, dp: int) -> int:
    if venue == "binance-usdm":
        f = _need(filters, "MIN_NOTIONAL", symbol)
        return _raw(f, "notional", dp, f"exchangeInfo {symbol}: MIN_NOTIONAL")
    # Spot: legacy MIN_NOTIONAL (before 2023) or NOTIONAL; both are enforced if both appear.
    found = [
        _raw(filters[kind], "minNotional", dp, f"exchangeInfo {symbol}: {kind}")
        for kind in ("MIN_NOTIONAL", "NOTIONAL")
        if kind in filters
    ]
    if not found:
        raise WireError(f"exchangeInfo {symbol}: missing filter MIN_NOTIONAL or NOTIONAL")
    return max(found)


def instrument_from_symbol_info(info: dict[str, Any], venue: str) -> Instrument:
    """Build an Instrument from one ``symbols[]`` entry of spot or USD-M exchangeInfo.

    ``price_dp`` is the quote asset's precision and ``qty_dp`` the base asset's (8 on Binance,
    whose engine keeps both as int64 at 1e-8), never fewer than the decimals of tickSize and
    stepSize; ``tick_raw`` / ``step_raw`` carry the grid at that scale. The tick alone is not
    enough: real books hold legacy orders placed before a tick or step change ("0.25974000"
    on a 0.0001 tick), and a book at the tick's scale could not represent them. Every bound
    is a raw at that scale, the minimum notional a raw at ``price_dp + qty_dp``.

    Parameters
    ----------
    info : dict
        One element of ``exchangeInfo["symbols"]`` as decoded JSON.
    venue : str
        ``"binance-spot"`` or ``"binance-usdm"``.

    Raises
    ------
    ValueError
        An unknown venue.
    WireError
        A missing or malformed field or filter; the message names the symbol and field.
    """
    _check_venue(venue)
    symbol = _text(info, "symbol", "exchangeInfo symbol entry")
    where = f"exchangeInfo {symbol}"
    base = _text(info, "baseAsset", where)
    quote = _text(info, "quoteAsset", where)
    status = _text(info, "status", where)
    filters = _filters(info, symbol)
    pf = _need(filters, "PRICE_FILTER", symbol)
    lot = _need(filters, "LOT_SIZE", symbol)
    tick_dp, _ = _scale(pf, "tickSize", f"{where}: PRICE_FILTER")
    step_dp, _ = _scale(lot, "stepSize", f"{where}: LOT_SIZE")
    price_dp = max(tick_dp, _precision(info, ("quoteAssetPrecision", "quotePrecision"), where))
    qty_dp = max(step_dp, _precision(info, ("baseAssetPrecision",), where))
    tick_raw = _raw(pf, "tickSize", price_dp, f"{where}: PRICE_FILTER")
    step_raw = _raw(lot, "stepSize", qty_dp, f"{where}: LOT_SIZE")
    min_px_raw = _raw(pf, "minPrice", price_dp, f"{where}: PRICE_FILTER")
    max_px_raw = _raw(pf, "maxPrice", price_dp, f"{where}: PRICE_FILTER")
    min_qty_raw = _raw(lot, "minQty", qty_dp, f"{where}: LOT_SIZE")
    max_qty_raw = _raw(lot, "maxQty", qty_dp, f"{where}: LOT_SIZE")
    if price_dp + qty_dp > 18:
        raise WireError(f"{where}: notional dp {price_dp}+{qty_dp} exceeds 18")
    min_notional_raw = _min_notional(filters, venue, symbol, price_dp + qty_dp)
    if venue == "binance-usdm":
        # Futures measure tick and step from minPrice / minQty; Instrument.check_order
        # measures from 0. They agree exactly when the minimums sit on the grid: insist.
        if min_px_raw % tick_raw:
            raise WireError(f"{where}: PRICE_FILTER.minPrice is not on the tick grid")
        if min_qty_raw % step_raw:
            raise WireError(f"{where}: LOT_SIZE.minQty is not on the step grid")
    try:
        return Instrument(
            venue=venue,
            symbol=symbol,
            base=base,
            quote=quote,
            status=status,
            price_dp=price_dp,
            qty_dp=qty_dp,
            tick_raw=tick_raw,
            step_raw=step_raw,
            min_px_raw=min_px_raw,
            max_px_raw=max_px_raw,
            min_qty_raw=min_qty_raw,
            max_qty_raw=max_qty_raw,
            min_notional_raw=min_notional_raw,
        )
    except ValueError as exc:
        raise WireError(f"{where}: {exc}") from None


def instruments_from_exchange_info(doc: dict[str, Any], venue: str) -> dict[str, Instrument]:
    """Build every instrument of a spot or USD-M exchangeInfo document, keyed by symbol.

    Parameters
    ----------
    doc : dict
        The decoded body of ``GET /api/v3/exchangeInfo`` or ``GET /fapi/v1/exchangeInfo``.
    venue : str
        ``"binance-spot"`` or ``"binance-usdm"``.

    Raises
    ------
    ValueError
        An unknown venue.
    WireError
        No ``symbols`` list, a repeated symbol, or any bad entry (nothing is skipped).
    """
    _check_venue(venue)
    try:
        entries = doc["symbols"]
    except KeyError:
        raise WireError("exchangeInfo: missing field 'symbols'") from None
    if not isinstance(entries, list):
        raise WireError("exchangeInfo: 'symbols' must be a list")
    out: dict[str, Instrument] = {}
    for i, info in enumerate(entries):
        if not isinstance(info, dict):
            raise WireError(f"exchangeInfo: symbols[{i}] is not an object")
        inst = instrument_from_symbol_info(info, venue)
        if inst.symbol in out:
            raise WireError(f"exchangeInfo: symbol {inst.symbol} appears twice")
        out[inst.symbol] = inst
    return out
