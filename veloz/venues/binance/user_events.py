"""Binance user-data events (decoded JSON) -> `veloz.model.events`: orders, fills, balances.

Owns the reading of spot events (``executionReport``, ``outboundAccountPosition``, ...) of the
WS-API subscription and of USD-M listenKey events (``ORDER_TRADE_UPDATE``, ``ACCOUNT_UPDATE``,
...): pure functions of one event. Must not do I/O, log, count or keep state (the drivers in
`userdata` do), nor use float: prices and quantities are int raws at the instrument's scale.
"""

from collections.abc import Mapping
from typing import Any

from veloz._core import fixed
from veloz.errors import NumberError
from veloz.errors import WireError
from veloz.model.events import ASSET_DP
from veloz.model.events import BalanceUpdate
from veloz.model.events import ExecEvent
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.events import PositionUpdate
from veloz.model.instrument import Instrument
from veloz.venues.binance.orders import order_status

__all__ = [
    "RESTART_EVENTS",
    "SPOT_EVENTS",
    "USDM_EVENTS",
    "event_type",
    "parse_spot_event",
    "parse_usdm_event",
    "positions_left_out",
    "restart_reason",
]

SPOT = "binance-spot"
USDM = "binance-usdm"
_MS = 1_000_000  # ns per ms

# Event types each parser understands (some on purpose yield nothing); anything else is an
# unknown type the caller counts and ignores.
SPOT_EVENTS = frozenset(
    {
        "executionReport",
        "outboundAccountPosition",
        "balanceUpdate",
        "listStatus",
        "externalLockUpdate",
        "eventStreamTerminated",
    }
)
USDM_EVENTS = frozenset(
    {
        "ORDER_TRADE_UPDATE",
        "ACCOUNT_UPDATE",
        "TRADE_LITE",
        "listenKeyExpired",
        "ALGO_UPDATE",
        "MARGIN_CALL",
        "ACCOUNT_CONFIG_UPDATE",
        "STRATEGY_UPDATE",
        "GRID_UPDATE",
        "CONDITIONAL_ORDER_TRIGGER_REJECT",
    }
)
# Events after which no more events come on the subscription / listenKey: the driver must
# subscribe again (spot) or fetch a new key and reconnect (USD-M), and tell the sink.
RESTART_EVENTS = frozenset({"eventStreamTerminated", "listenKeyExpired"})
# USD-M executions that are fills of our position: TRADE, and CALCULATED (liquidation).
_USDM_FILL_TYPES = frozenset({"TRADE", "CALCULATED"})


# ---- field readers ----------------------------------------------------------------------
# Required fields are indexed: a missing or mistyped one is a WireError naming it.


def _get(obj: Mapping[str, Any], key: str, where: str) -> Any:
    try:
        return obj[key]
    except KeyError:
        raise WireError(f"{where}: missing field {key!r}") from None


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _get(obj, key, where)
    if not isinstance(value, str):
        raise WireError(f"{where}: field {key!r} must be a string, got {value!r:.80}")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = _get(obj, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise WireError(f"{where}: field {key!r} must be an integer, got {value!r:.80}")
    return value


def _bool(obj: Mapping[str, Any], key: str, where: str) -> bool:
    value = _get(obj, key, where)
    if not isinstance(value, bool):
        raise WireError(f"{where}: field {key!r} must be a boolean, got {value!r:.80}")
    return value


def _dec(obj: Mapping[str, Any], key: str, dp: int, where: str, signed: bool = False) -> int:
    # Decimal text -> raw at dp; off-scale, signed where it may not be, or junk: WireError.
    text = _str(obj, key, where)
    try:
        return fixed.parse(text, dp, signed)
    except NumberError as exc:
        raise WireError(f"{where}: field {key!r}: {exc}") from None


def _list(obj: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = _get(obj, key, where)
    if not isinstance(value, list):
        raise WireError(f"{where}: field {key!r} must be a list, got {value!r:.80}")
    return value


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise WireError(f"{where}: must be an object, got {value!r:.80}")
    return value


def _instrument(instruments: Mapping[str, Instrument], symbol: str, where: str) -> Instrument:
    try:
        return instruments[symbol]
    except KeyError:
        raise WireError(f"{where}: unknown symbol {symbol!r}") from None


def event_type(event: Mapping[str, Any]) -> str:
    """Return the event's ``e`` field.

    Raises
    ------
    WireError
        `event` is not an object or has no string ``e``.
    """
    return _str(_obj(event, "user-data event"), "e", "user-data event")


def restart_reason(event: Mapping[str, Any]) -> str:
    """Return the event type when `event` ends its stream (see `RESTART_EVENTS`), else ""."""
    kind = event.get("e") if isinstance(event, Mapping) else None
    return kind if isinstance(kind, str) and kind in RESTART_EVENTS else ""


# ---- spot -------------------------------------------------------------------------------


def parse_spot_event(
    event: Mapping[str, Any], instruments: Mapping[str, Instrument], recv_ns: int
) -> list[ExecEvent]:
    """Turn one spot user-data event (the ``event`` object of a WS-API frame) into events.

    - ``executionReport`` -> an `OrderUpdate` and, when ``x == "TRADE"``, a `Fill` (size
      ``l``, price ``L``, fee ``n`` in ``N``, trade id ``t``). The update's client order id
      is the order's own (``C`` on a cancel, ``c`` otherwise).
    - ``outboundAccountPosition`` -> one `BalanceUpdate` per asset (wallet = free + locked,
      available = free): absolute balances after every change, trades and transfers alike.
    - ``balanceUpdate`` -> nothing: it is a delta (deposit, withdrawal, transfer) of a
      balance whose new absolute value the venue also sends in ``outboundAccountPosition``;
      emitting a delta as a `BalanceUpdate` would be wrong and summing deltas would drift.
      Its fields are still checked.
    - ``listStatus``, ``externalLockUpdate`` -> nothing (VeloZ places no order lists; every
      order of a list also sends its own ``executionReport``).
    - ``eventStreamTerminated`` -> nothing; `restart_reason` tells the driver to subscribe
      again.
    - Any other type -> nothing; the caller counts it (see `SPOT_EVENTS`).

    Parameters
    ----------
    event : mapping
        The decoded event, e.g. ``{"e": "executionReport", ...}``.
    instruments : mapping of str to Instrument
        By venue symbol; prices and quantities are parsed at their scales.
    recv_ns : int
        CLOCK_MONOTONIC ns when the frame was read; copied into every event.

    Raises
    ------
    WireError
        A required field is missing, mistyped or off-scale (the message names it), or an
        order event names a symbol not in `instruments`.
    """
    kind = event_type(event)
    if kind == "executionReport":
        return _execution_report(event, instruments, recv_ns)
    if kind == "outboundAccountPosition":
        return _account_position(event, recv_ns)
    if kind == "balanceUpdate":
        where = "balanceUpdate"
        _str(event, "a", where)
        _dec(event, "d", ASSET_DP, where, signed=True)
        _int(event, "T", where)
    return []


def _execution_report(
    ev: Mapping[str, Any], instruments: Mapping[str, Instrument], recv_ns: int
) -> list[ExecEvent]:
    where = "executionReport"
    symbol = _str(ev, "s", where)
    inst = _instrument(instruments, symbol, where)
    orig_cid = _str(ev, "C", where)
    cid = orig_cid or _str(ev, "c", where)
    order_id = _int(ev, "i", where)
    side = _str(ev, "S", where)
    exec_type = _str(ev, "x", where)
    exch_ns = _int(ev, "T", where) * _MS
    reason = _str(ev, "r", where)
    if reason == "NONE":
        expiry = ev.get("eR")
        reason = expiry if isinstance(expiry, str) and expiry != "NONE" else ""
    update = OrderUpdate(
        venue=SPOT,
        symbol=symbol,
        client_order_id=cid,
        order_id=order_id,
        side=side,
        order_type=_str(ev, "o", where),
        tif=_str(ev, "f", where),
        status=_status(ev, where),
        exec_type=exec_type,
        px=_dec(ev, "p", inst.price_dp, where),
        qty=_dec(ev, "q", inst.qty_dp, where),
        filled_qty=_dec(ev, "z", inst.qty_dp, where),
        reason=reason,
        exch_ns=exch_ns,
        recv_ns=recv_ns,
    )
    if exec_type != "TRADE":
        return [update]
    trade_id = _int(ev, "t", where)
    if trade_id < 0:
        raise WireError(f"{where}: TRADE event with trade id {trade_id}")
    fee_asset = _get(ev, "N", where)
    if fee_asset is not None and not isinstance(fee_asset, str):
        raise WireError(f"{where}: field 'N' must be a string or null, got {fee_asset!r:.80}")
    fill = Fill(
        venue=SPOT,
        symbol=symbol,
        client_order_id=cid,
        order_id=order_id,
        trade_id=trade_id,
        side=side,
        px=_dec(ev, "L", inst.price_dp, where),
        qty=_dec(ev, "l", inst.qty_dp, where),
        fee=_dec(ev, "n", ASSET_DP, where),
        fee_asset=fee_asset or "",
        is_maker=_bool(ev, "m", where),
        realized_pnl=0,
        exch_ns=exch_ns,
        recv_ns=recv_ns,
    )
    return [update, fill]


def _account_position(ev: Mapping[str, Any], recv_ns: int) -> list[ExecEvent]:
    where = "outboundAccountPosition"
    exch_ns = _int(ev, "u", where) * _MS
    out: list[ExecEvent] = []
    for i, raw in enumerate(_list(ev, "B", where)):
        row_where = f"{where}.B[{i}]"
        row = _obj(raw, row_where)
        free = _dec(row, "f", ASSET_DP, row_where)
        locked = _dec(row, "l", ASSET_DP, row_where)
        out.append(
            BalanceUpdate(
                venue=SPOT,
                asset=_str(row, "a", row_where),
                wallet=free + locked,
                available=free,
                reason="",
                exch_ns=exch_ns,
                recv_ns=recv_ns,
            )
        )
    return out


def _status(ev: Mapping[str, Any], where: str) -> OrderStatus:
    text = _str(ev, "X", where)
    try:
        return order_status(text)
    except WireError as exc:
        raise WireError(f"{where}: field 'X': {exc}") from None


# ---- USD-M ------------------------------------------------------------------------------


def parse_usdm_event(
    event: Mapping[str, Any], instruments: Mapping[str, Instrument], recv_ns: int
) -> list[ExecEvent]:
    """Turn one USD-M user-data event (listenKey stream, unwrapped) into events.

    - ``ORDER_TRADE_UPDATE`` -> an `OrderUpdate` and, for ``x`` TRADE or CALCULATED
      (liquidation), a `Fill` with the fee ``n`` in ``N`` (0 and "" when absent) and the
      realized profit ``rp``.
    - ``ACCOUNT_UPDATE`` -> one `BalanceUpdate` per asset (wallet ``wb``, available ``cw``,
      reason ``m``) and one `PositionUpdate` per one-way (``ps == "BOTH"``) position in
      `instruments` (qty ``pa`` signed, entry ``ep``, unrealized ``up``). Hedge-mode legs
      (LONG/SHORT) have no place in `PositionUpdate` and positions of symbols outside
      `instruments` are not ours to track: both are left out (`UsdmUserData` counts them).
    - ``TRADE_LITE`` -> nothing: it repeats, earlier and without fee or realized PnL, a fill
      that ``ORDER_TRADE_UPDATE`` reports in full; emitting both would double the fill.
    - ``listenKeyExpired`` -> nothing; `restart_reason` tells the driver to get a new key.
    - ``ALGO_UPDATE``, ``MARGIN_CALL`` and the other known types -> nothing.
    - Any other type -> nothing; the caller counts it (see `USDM_EVENTS`).

    Parameters and errors as `parse_spot_event`.
    """
    kind = event_type(event)
    if kind == "ORDER_TRADE_UPDATE":
        return _order_trade_update(event, instruments, recv_ns)
    if kind == "ACCOUNT_UPDATE":
        return _account_update(event, instruments, recv_ns)
    return []


def _order_trade_update(
    ev: Mapping[str, Any], instruments: Mapping[str, Instrument], recv_ns: int
) -> list[ExecEvent]:
    where = "ORDER_TRADE_UPDATE"
    o = _obj(_get(ev, "o", where), f"{where}.o")
    where = "ORDER_TRADE_UPDATE.o"
    symbol = _str(o, "s", where)
    inst = _instrument(instruments, symbol, where)
    cid = _str(o, "c", where)
    order_id = _int(o, "i", where)
    side = _str(o, "S", where)
    exec_type = _str(o, "x", where)
    exch_ns = _int(o, "T", where) * _MS
    expiry = o.get("er")
    update = OrderUpdate(
        venue=USDM,
        symbol=symbol,
        client_order_id=cid,
        order_id=order_id,
        side=side,
        order_type=_str(o, "o", where),
        tif=_str(o, "f", where),
        status=_status(o, where),
        exec_type=exec_type,
        px=_dec(o, "p", inst.price_dp, where),
        qty=_dec(o, "q", inst.qty_dp, where),
        filled_qty=_dec(o, "z", inst.qty_dp, where),
        reason=expiry if isinstance(expiry, str) and expiry != "0" else "",
        exch_ns=exch_ns,
        recv_ns=recv_ns,
    )
    if exec_type not in _USDM_FILL_TYPES:
        return [update]
    trade_id = _int(o, "t", where)
    if trade_id <= 0:
        raise WireError(f"{where}: {exec_type} event with trade id {trade_id}")
    has_fee = o.get("n") is not None
    fill = Fill(
        venue=USDM,
        symbol=symbol,
        client_order_id=cid,
        order_id=order_id,
        trade_id=trade_id,
        side=side,
        px=_dec(o, "L", inst.price_dp, where),
        qty=_dec(o, "l", inst.qty_dp, where),
        fee=_dec(o, "n", ASSET_DP, where) if has_fee else 0,
        fee_asset=_str(o, "N", where) if has_fee else "",
        is_maker=_bool(o, "m", where),
        realized_pnl=_dec(o, "rp", ASSET_DP, where, signed=True),
        exch_ns=exch_ns,
        recv_ns=recv_ns,
    )
    return [update, fill]


def _account_update(
    ev: Mapping[str, Any], instruments: Mapping[str, Instrument], recv_ns: int
) -> list[ExecEvent]:
    where = "ACCOUNT_UPDATE"
    exch_ns = _int(ev, "T", where) * _MS
    a = _obj(_get(ev, "a", where), f"{where}.a")
    reason = _str(a, "m", f"{where}.a")
    out: list[ExecEvent] = []
    for i, raw in enumerate(_list(a, "B", f"{where}.a")):
        row_where = f"{where}.a.B[{i}]"
        row = _obj(raw, row_where)
        out.append(
            BalanceUpdate(
                venue=USDM,
                asset=_str(row, "a", row_where),
                wallet=_dec(row, "wb", ASSET_DP, row_where, signed=True),
                available=_dec(row, "cw", ASSET_DP, row_where, signed=True),
                reason=reason,
                exch_ns=exch_ns,
                recv_ns=recv_ns,
            )
        )
    # Funding-fee updates of cross positions carry no "P" at all.
    for i, raw in enumerate(a.get("P") or ()):
        row_where = f"{where}.a.P[{i}]"
        row = _obj(raw, row_where)
        symbol = _str(row, "s", row_where)
        inst = instruments.get(symbol)
        if inst is None or _str(row, "ps", row_where) != "BOTH":
            continue
        out.append(
            PositionUpdate(
                venue=USDM,
                symbol=symbol,
                qty=_dec(row, "pa", inst.qty_dp, row_where, signed=True),
                entry_px=_dec(row, "ep", inst.price_dp, row_where),
                unrealized_pnl=_dec(row, "up", ASSET_DP, row_where, signed=True),
                exch_ns=exch_ns,
                recv_ns=recv_ns,
            )
        )
    return out


def positions_left_out(event: Mapping[str, Any], instruments: Mapping[str, Instrument]) -> int:
    """Count the ``ACCOUNT_UPDATE`` positions `parse_usdm_event` leaves out.

    Those are hedge-mode legs (``ps`` not ``BOTH``) and positions of symbols not in
    `instruments`. Lenient: an event without a position list counts 0, never raises.
    """
    a = event.get("a")
    rows = a.get("P") if isinstance(a, Mapping) else None
    if not isinstance(rows, list):
        return 0
    return sum(
        1
        for row in rows
        if isinstance(row, Mapping) and (row.get("ps") != "BOTH" or row.get("s") not in instruments)
    )
