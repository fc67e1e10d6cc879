"""The one-line human form of a decoded bus message (what ``veloz tap`` prints by default).

Owns which payload fields a human line shows per message type and how values are written
(booleans as 1/0, text with spaces quoted). Must not decode wire bytes (``wire.decode`` does;
this takes its ``Msg.to_dict()``), write to a stream, or be used on a latency path.
"""

import time
from typing import Any

import orjson

__all__ = ["human_line"]

# Payload fields shown on a human line, per message type (book and bbo are special-cased).
_SHOW = {
    "trade": ("trade_id", "px", "qty", "is_buyer_maker"),
    "kline": ("interval_s", "open_px", "high_px", "low_px", "close_px", "volume", "is_closed"),
    "status": ("is_live", "reason"),
    "instrument": ("symbol", "tick", "step", "min_qty", "max_qty", "min_notional"),
    "order_cmd": ("strategy", "action", "client_order_id", "side", "ord_type", "tif", "px", "qty"),
    "order_event": (
        *("strategy", "client_order_id", "venue_order_id", "status", "side", "px", "qty"),
        *("filled_qty", "error_code", "reason"),
    ),
    "fill": (
        *("strategy", "client_order_id", "trade_id", "side", "px", "qty", "fee", "fee_asset"),
        *("is_maker", "realized_pnl"),
    ),
    "latency": ("name", "count", "p50_ns", "p99_ns", "max_ns"),
}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    return orjson.dumps(text).decode() if (" " in text or not text) else text


def human_line(topic: str, d: dict[str, Any], wall_ns: int) -> str:
    """Return the one-line human form of decoded message `d` (``Msg.to_dict()``).

    Parameters
    ----------
    topic : str
        The message's bus topic, shown after the time.
    d : dict
        ``wire.decode(body).to_dict()``.
    wall_ns : int
        Wall-clock ns shown as local ``HH:MM:SS.micros`` at the start of the line.
    """
    t = time.strftime("%H:%M:%S", time.localtime(wall_ns // 10**9))
    parts = [f"{t}.{wall_ns // 1000 % 10**6:06d}", topic, f"seq={d['header']['seq']}"]
    kind = d["type"]
    if kind == "book":
        bids, asks = d["bids"], d["asks"]
        parts.append(f"u={d['update_id']} levels={len(bids)}/{len(asks)}")
        parts.append("bid=" + ("x".join(bids[0]) if bids else "-"))
        parts.append("ask=" + ("x".join(asks[0]) if asks else "-"))
    elif kind == "bbo":
        parts.append(f"u={d['update_id']} bid={d['bid_px']}x{d['bid_qty']}")
        parts.append(f"ask={d['ask_px']}x{d['ask_qty']}")
    else:
        parts.extend(f"{k}={_text(d[k])}" for k in _SHOW.get(kind, ()) if k in d)
    return " ".join(parts)
