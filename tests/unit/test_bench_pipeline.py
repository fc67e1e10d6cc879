"""veloz-bench's pipeline plan: the config each run gets, the pinning layout, the sweep table."""

from pathlib import Path

import pytest
from hdrh.histogram import HdrHistogram

from bench import pipeline
from veloz import metrics


def test_bench_config_drives_the_sim_to_the_asked_rate_per_symbol(tmp_path: Path) -> None:
    cfg = pipeline.bench_config(10000, 2, 5.0, tmp_path, pins=pipeline.pin_layout(2))
    assert list(cfg.sim.symbols) == ["BTCUSDT", "ETHUSDT"]
    # 5000 msg/s per symbol: 10 depth frames, the rest from BBO and trade frames
    assert cfg.sim.rate == pytest.approx((5000 - 10) / pipeline.FRAMES_PER_UPDATE)
    assert [e.feed.symbol for e in cfg.feed] == ["BTCUSDT", "ETHUSDT"]
    assert all(e.feed.book_ticker for e in cfg.feed)
    strat = cfg.strategy_config()
    assert strat["strategies"][0]["path"] == pipeline.STRATEGY
    assert strat["strategies"][0]["params"]["order_every"] == 100  # 10000 msg/s / 100 orders/s
    assert cfg.duration_s == 5.0 and cfg.max_restarts == 0


def test_bench_config_refuses_impossible_runs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"symbols must be 1\.\.4, got 0"):
        pipeline.bench_config(1000, 0, 5.0, tmp_path)
    with pytest.raises(ValueError, match="rate must be > 0"):
        pipeline.bench_config(0, 1, 5.0, tmp_path)


@pytest.mark.parametrize(
    ("cpus", "sim", "strategy"), [(1, None, None), (2, 0, 1), (4, 0, 2), (64, 0, 2)]
)
def test_pin_layout_gives_the_strategy_its_own_core_when_there_are_enough(
    cpus: int, sim: int | None, strategy: int | None
) -> None:
    pins = pipeline.pin_layout(cpus)
    assert pins["sim"] == sim and pins["strategy"] == strategy
    assert all(v is None or v < cpus for v in pins.values())


def _hists(p99_us: float) -> dict[str, HdrHistogram]:
    out = {}
    for name in metrics.FIGURES:
        h = metrics.new_histogram()
        for _ in range(100):
            h.record_value(int(p99_us * 1000))
        out[name] = h
    return out


def _run(rate: float, symbols: int, p99_us: float) -> pipeline.RunResult:
    return pipeline.RunResult(rate, symbols, 5.0, rate * 0.9, _hists(p99_us), 0, "")


def test_sweep_table_and_breaks_at_name_the_first_failing_point() -> None:
    runs = [_run(1000, 1, 50), _run(10000, 1, 150), _run(50000, 1, 9000)]
    table = pipeline.sweep_table(runs)
    assert table.count("\n") == 3
    assert "PASS   PASS" in table.splitlines()[1]
    assert "PASS   FAIL" in table.splitlines()[2]
    assert "FAIL   FAIL" in table.splitlines()[3]
    where = pipeline.breaks_at(runs)
    assert where == {
        "goal": "10,000 msg/s asked on 1 symbol(s)",
        "seed": "50,000 msg/s asked on 1 symbol(s)",
    }


def test_run_json_has_the_issue_keys_and_what_arrived() -> None:
    doc = _run(10000, 1, 80).to_json()
    for name in metrics.FIGURES:
        assert set(doc[name]) >= {"count", "p50_us", "p90_us", "p99_us", "p999_us", "max_us"}
    assert doc["rate"] == 10000 and doc["symbols"] == 1 and doc["achieved_rate"] == 9000
    assert "machine" in doc and "date" in doc


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = tmp_path / "lat.png"
    pipeline.plot([_run(1000, 1, 50), _run(10000, 2, 120)], out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("cpus", "spin"), [(2, 0), (4, 200)])
def test_strategy_spins_only_on_a_core_of_its_own(tmp_path: Path, cpus: int, spin: int) -> None:
    cfg = pipeline.bench_config(1000, 1, 5.0, tmp_path, pins=pipeline.pin_layout(cpus))
    assert cfg.strategy_config()["spin_us"] == spin
