"""Endpoint tables: stream URL building per product, the USD-M /public|/market split, and
pointing a product at the simulator."""

import pytest

from veloz.errors import ConfigError
from veloz.venues.binance.endpoints import SPOT
from veloz.venues.binance.endpoints import USDM
from veloz.venues.binance.endpoints import endpoints


def test_spot_combined_stream_url_holds_every_stream_on_one_path() -> None:
    url = SPOT.stream_url(["btcusdt@depth@100ms", "btcusdt@trade"])
    assert url == "wss://stream.binance.com:9443/stream?streams=btcusdt@depth@100ms/btcusdt@trade"


def test_usdm_depth_goes_to_public_and_trades_to_market() -> None:
    assert USDM.stream_url(["btcusdt@depth@100ms", "btcusdt@bookTicker"]).startswith(
        "wss://fstream.binance.com/public/stream?streams="
    )
    assert USDM.stream_url(["btcusdt@aggTrade"]).startswith(
        "wss://fstream.binance.com/market/stream?streams="
    )


def test_usdm_mixing_public_and_market_streams_is_refused() -> None:
    with pytest.raises(ValueError, match="span /public and /market"):
        USDM.stream_url(["btcusdt@depth", "btcusdt@aggTrade"])


def test_at_base_points_every_url_at_one_loopback_port() -> None:
    sim = USDM.at_base("http://127.0.0.1:8123")
    assert sim.rest_url == "http://127.0.0.1:8123"
    assert sim.ws_api_url == "ws://127.0.0.1:8123/ws-fapi/v1"
    assert sim.private_url("k") == "ws://127.0.0.1:8123/private/ws/k"
    assert SPOT.at_base("http://127.0.0.1:9/").ws_api_url == "ws://127.0.0.1:9/ws-api/v3"


@pytest.mark.parametrize("url", ["ftp://x", "127.0.0.1:80", "ws://"])
def test_bad_override_url_names_the_setting(url: str) -> None:
    with pytest.raises(ConfigError, match="ws_url="):
        SPOT.with_urls(ws_url=url)


def test_unknown_venue_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="binance-spot, binance-usdm"):
        endpoints("binance-coinm")
    with pytest.raises(ValueError, match="WS API"):
        SPOT.private_url("k")
