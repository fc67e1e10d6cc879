"""The p99 the gateway feeds its risk engine: trigger-to-send over the last 10-20 s only."""

import time

import pytest

from tests.unit.oms.test_gateway import Rig
from veloz.metrics import RECENT_MIN_COUNT
from veloz.oms.gateway import FIGURE
from veloz.oms.gateway import RISK_P99_WINDOW_S


def fed_p99(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    # What `risk_tick` hands the risk wiring as the p99 (the engine's input, unchanged).
    got: list[int] = []
    monkeypatch.setattr(rig.gw.pretrade, "tick", lambda state, p99, now: got.append(p99))
    return got


def test_gateway_risk_tick_feeds_the_recent_p99_of_trigger_to_send(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig()
    got = fed_p99(rig, monkeypatch)
    lat = rig.gw.latency[FIGURE]
    for _ in range(RECENT_MIN_COUNT * 5):
        lat.record(30_000_000)
    rig.gw.risk_tick()  # folds first: the samples of the last second count
    assert got[-1] == pytest.approx(30_000_000, rel=1e-3)


def test_gateway_risk_tick_with_too_few_recent_samples_feeds_zero(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig()
    got = fed_p99(rig, monkeypatch)
    for _ in range(RECENT_MIN_COUNT - 1):
        rig.gw.latency[FIGURE].record(30_000_000)
    rig.gw.risk_tick()
    assert got == [0]


def test_gateway_old_spike_stays_in_lifetime_figure_but_not_in_the_risk_p99(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rig = Rig()
    got = fed_p99(rig, monkeypatch)
    lat = rig.gw.latency[FIGURE]
    for _ in range(200):
        lat.record(80_000_000)
    long_ago = time.monotonic_ns() - int(3 * RISK_P99_WINDOW_S * 1e9)
    lat.fold(mono_ns=long_ago)  # the spike was folded 30 s ago
    rig.gw.risk_tick()
    assert got == [0]
    assert lat.percentiles_ns()["p99"] == pytest.approx(80_000_000, rel=1e-3)
    assert rig.gw.latency.to_dict()["figures"][FIGURE]["count"] == 200
