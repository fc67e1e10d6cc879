"""veloz-bench's pipeline run end to end: sim, two feeds, gateway and the bench strategy."""

import tempfile
from pathlib import Path

import pytest

from bench import pipeline
from veloz import metrics

pytestmark = pytest.mark.integration


def test_pipeline_run_on_two_symbols_measures_all_three_figures_and_the_delivered_rate() -> None:
    run_dir = Path(tempfile.mkdtemp(prefix="vzt"))  # short: ipc paths must fit 107 bytes
    run = pipeline.run_pipeline(1000, 2, 6.0, run_dir, orders_per_s=20)
    assert run.rc == 0, run.summary
    doc = run.to_json()
    for name in metrics.FIGURES:
        fig = doc[name]
        assert fig["count"] > 0, (name, run.report())
        assert 0 < fig["p50_us"] <= fig["p99_us"] <= fig["max_us"], fig
    # 1000 msg/s asked over ~4 s of market data: the probe saw a plausible delivered rate
    assert 200 < run.achieved_rate < 5000, run.achieved_rate
    assert doc["symbols"] == 2 and doc["rate"] == 1000
    assert "p99_us" in doc["receipt_to_strategy"] and "date" in doc and "machine" in doc
