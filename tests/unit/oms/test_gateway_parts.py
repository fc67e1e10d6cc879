"""The gateway's parts outside `Gateway`: the Binance adapter, the trade key, order records.

`BinanceVenue` and `signer_from_env` (`veloz.venues.binance.gateway_exec`) are driven with a
stand-in for `BinanceExec` (no sockets); `NewOrder`, `OrderRecord`, `remember`, `SentStamp`
and `cut` are plain data and functions.
"""

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.sim_load import REPO
from bench.sim_load import run_async
from veloz.errors import ConfigError
from veloz.errors import OrderRejected
from veloz.errors import VenueError
from veloz.model.events import Fill
from veloz.model.events import OrderStatus
from veloz.model.events import OrderUpdate
from veloz.model.orders import NewOrder
from veloz.oms import orders as orders_mod
from veloz.oms.codes import REASON_BYTES
from veloz.oms.codes import cut
from veloz.oms.orders import OrderRecord
from veloz.oms.orders import SentStamp
from veloz.oms.orders import remember
from veloz.oms.venue import OnSent
from veloz.oms.venue import VenueExec
from veloz.venues.binance.gateway_exec import BinanceVenue
from veloz.venues.binance.gateway_exec import signer_from_env
from veloz.venues.binance.orders import OrderRequest
from veloz.venues.binance.signing import HmacSigner

PX = 5_000_000  # 50000.00
QTY = 1_000  # 0.01000 BTC


def update(cid: str, status: OrderStatus, *, order_id: int = 1, filled: int = 0) -> OrderUpdate:
    return OrderUpdate(
        "binance-spot", "BTCUSDT", cid, order_id, "BUY", "LIMIT", "GTC", status, "NEW",
        PX, QTY, filled, "", 1_700_000_000_000_000_000, 42,
    )  # fmt: skip


# ---- keys from the environment ------------------------------------------------------------


def test_signer_from_env_hmac_and_missing_key() -> None:
    signer = signer_from_env({"VELOZ_API_KEY": "k" * 64, "VELOZ_API_SECRET": "s" * 64})
    assert (signer.kind, signer.api_key) == ("HMAC", "k" * 64)
    for env in ({}, {"VELOZ_API_KEY": "k"}, {"VELOZ_API_SECRET": "s"}):
        with pytest.raises(ConfigError, match="VELOZ_API_KEY with VELOZ_API_SECRET"):
            signer_from_env(env)


def test_signer_from_env_reads_ed25519_pem_file(tmp_path: Path) -> None:
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(pem)
    env = {"VELOZ_API_KEY": "k", "VELOZ_API_ED25519_KEY_FILE": str(key_file)}
    assert signer_from_env(env).kind == "ED25519"
    with pytest.raises(ConfigError, match="cannot read"):
        signer_from_env(env | {"VELOZ_API_ED25519_KEY_FILE": str(tmp_path / "nope")})


# ---- the Binance adapter ------------------------------------------------------------------


class _Exec:
    # Stands in for BinanceExec inside BinanceVenue: records requests, answers per script.
    def __init__(self, query_fx: Exception | None = None) -> None:
        self.reqs: list[OrderRequest] = []
        self.query_fx = query_fx

    async def place(self, req: OrderRequest, *, on_sent: OnSent | None = None) -> OrderUpdate:
        self.reqs.append(req)
        return update(req.client_order_id, OrderStatus.NEW)

    async def query(
        self, symbol: str, *, client_order_id: str = "", order_id: int = 0
    ) -> OrderUpdate:
        if self.query_fx is not None:
            raise self.query_fx
        return update(client_order_id, OrderStatus.NEW)


def _venue(venue: str, ex: _Exec) -> BinanceVenue:
    v = BinanceVenue(
        venue,
        HmacSigner("k" * 64, "s" * 64),
        rest_url="http://127.0.0.1:1",
        ws_url="ws://127.0.0.1:1",
    )
    v._ex = ex  # type: ignore[assignment]
    return v


def test_binance_venue_is_a_venue_exec_of_its_product() -> None:
    v: VenueExec = _venue("binance-usdm", _Exec())  # mypy checks the protocol here
    assert v.venue == "binance-usdm" and dict(v.instruments) == {}


@pytest.mark.parametrize(
    ("venue", "kind", "tif", "want"),
    [
        ("binance-usdm", "LIMIT_MAKER", "", ("LIMIT", "GTX")),
        ("binance-spot", "LIMIT", "GTX", ("LIMIT_MAKER", "GTX")),
        ("binance-spot", "LIMIT", "IOC", ("LIMIT", "IOC")),
        ("binance-usdm", "MARKET", "", ("MARKET", "GTC")),
    ],
)
def test_binance_venue_maps_post_only_per_product(
    venue: str, kind: str, tif: str, want: tuple[str, str]
) -> None:
    ex = _Exec()
    order = NewOrder("BTCUSDT", "BUY", kind, QTY, 0 if kind == "MARKET" else PX, tif, "c1")
    run_async(_venue(venue, ex).place(order))
    assert (ex.reqs[0].order_type, ex.reqs[0].tif) == want


def test_binance_venue_endpoints_put_ws_api_under_ws_url() -> None:
    v = _venue("binance-usdm", _Exec())
    assert v._ep.ws_api_url == "ws://127.0.0.1:1/ws-fapi/v1"
    assert v._ep.rest_url == "http://127.0.0.1:1"


def test_binance_venue_rest_transport_on_usdm_opens_no_ws_api_client() -> None:
    signer = HmacSigner("k" * 64, "s" * 64)
    assert BinanceVenue("binance-usdm", signer, transport="rest")._ws is None
    assert BinanceVenue("binance-spot", signer, transport="rest")._ws is not None


def test_binance_venue_query_of_unknown_order_is_order_rejected() -> None:
    ex = _Exec(VenueError(-2013, "Order does not exist.", retryable=False))
    with pytest.raises(OrderRejected) as info:
        run_async(_venue("binance-spot", ex).query("BTCUSDT", client_order_id="c1"))
    assert info.value.code == -2013
    ex.query_fx = VenueError(-1003, "too many requests", retryable=True)
    with pytest.raises(VenueError):
        run_async(_venue("binance-spot", ex).query("BTCUSDT", client_order_id="c1"))


def test_binance_venue_before_start_is_retryable_venue_error() -> None:
    v = BinanceVenue("binance-spot", HmacSigner("k" * 64, "s" * 64))
    with pytest.raises(VenueError) as info:
        run_async(v.cancel_all("BTCUSDT"))
    assert info.value.retryable


def test_gateway_exec_module_imports_nothing_of_the_oms() -> None:
    code = (
        "import sys, veloz.venues.binance.gateway_exec\n"
        "print(sorted(m for m in sys.modules if m.startswith('veloz.oms')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


# ---- plain data: NewOrder, OrderRecord, remember, SentStamp, cut --------------------------


def test_new_order_is_frozen_with_reduce_only_off_by_default() -> None:
    order = NewOrder("BTCUSDT", "SELL", "LIMIT", QTY, PX, "GTC", "c1")
    assert order.reduce_only is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        order.qty = 1  # type: ignore[misc]


def test_order_record_keeps_final_state_against_a_late_older_update() -> None:
    rec = OrderRecord("s1", 7, 0, NewOrder("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTC", "c1"))
    assert rec.is_live  # sent, no answer yet
    rec.apply(update("c1", OrderStatus.FILLED, order_id=9, filled=QTY))
    rec.apply(update("c1", OrderStatus.NEW, order_id=9, filled=0))
    assert (rec.status, rec.filled_qty, rec.order_id, rec.is_live) == (
        OrderStatus.FILLED,
        QTY,
        9,
        False,
    )


def test_remember_over_the_bound_forgets_old_finished_orders_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(orders_mod, "MAX_ORDERS", 10)
    order = NewOrder("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTC", "x")
    table: dict[str, OrderRecord] = {}
    for i in range(11):
        rec = OrderRecord("s1", 7, 0, order)
        rec.status = OrderStatus.CANCELED if i % 2 else None  # odd ones are finished
        remember(table, f"c{i}", rec)
    assert "c1" not in table and "c0" in table and "c10" in table and len(table) == 10


def test_sent_stamp_records_trigger_to_send_once() -> None:
    seen: list[int] = []
    stamp = SentStamp(seen.append, 1_000)
    stamp(1_700)
    stamp(2_500)  # a resend is not a trigger
    SentStamp(seen.append, 0)(3_000)  # no trigger: nothing recorded
    assert seen == [700]


def test_cut_keeps_short_text_and_never_splits_a_character() -> None:
    assert cut("ok") == "ok"
    text = "é" * REASON_BYTES  # 2 bytes each
    out = cut(text)
    assert len(out.encode()) <= REASON_BYTES and out == "é" * (REASON_BYTES // 2)
    assert len(cut("a" + "é" * REASON_BYTES).encode()) == REASON_BYTES - 1


def test_order_record_keeps_each_fill_once_up_to_the_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(orders_mod, "MAX_FILLS_KEPT", 3)
    rec = OrderRecord("s1", 7, 0, NewOrder("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTC", "c1"))
    assert rec.fills is None  # nothing allocated until a fill
    kept = [rec.keep_fill(_fill(t)) for t in (1, 1, 2, 3, 4)]
    assert kept == [True, False, True, True, False]
    assert [f.trade_id for f in rec.fills or ()] == [1, 2, 3]


def test_order_record_keeps_the_reason_and_code_of_its_last_answer_with_one() -> None:
    rec = OrderRecord("s1", 7, 0, NewOrder("BTCUSDT", "BUY", "LIMIT", QTY, PX, "GTC", "c1"))
    rec.apply(update("c1", OrderStatus.NEW, order_id=9))
    assert (rec.reason, rec.error_code) == ("", 0)
    rec.apply(update("c1", OrderStatus.EXPIRED, order_id=9), "cancel: gone", -2011)
    assert (rec.status, rec.reason, rec.error_code) == (OrderStatus.EXPIRED, "cancel: gone", -2011)


def _fill(trade_id: int) -> Fill:
    return Fill(
        "binance-spot", "BTCUSDT", "c1", 9, trade_id, "BUY", PX, 10, 0, "USDT", True, 0, 1, 2
    )
