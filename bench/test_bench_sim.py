"""`veloz sim` as a load source (issue 3 §6): depth updates/s to one subscriber and WS-API
order acknowledgement round trips, each against its baseline in the same run.

Targets (not asserted): >= 50k depth updates/s delivered to one ``btcusdt@depth@100ms``
subscriber (baseline: the same at ``--rate 1000``), and ``order.place`` acknowledged in
<= 200 µs median on loopback (baseline: the WS-API ``ping`` round trip, the transport floor).
The sim runs as a subprocess from this checkout; the client is aiohttp on uvloop (picows is
not installed). WS-API benchmarks run the sim with ``--no-rate-limits``, since the weight and
order windows would otherwise stop N round trips; see bench/sim_load.py.

Each benchmark is one round (a fixed window, or N round trips): pytest-benchmark's time is
that whole run (for ``order`` N place + N untimed cancels, for ``ping`` N pings), so its
ratio is not the figure: the figures (updates/s, p50/p90/p99 µs, sim CPU %) are in
``extra_info`` and in the lines printed at the end of the module.
Smoke mode (VELOZ_BENCH_SMOKE=1, ``--benchmark-disable`` or a checked build) runs a 0.3 s
window and 20 round trips and prints nothing.
"""

from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

import pytest

from bench.conftest import is_smoke
from bench.conftest import scale
from bench.sim_load import SimProc
from bench.sim_load import measure_depth
from bench.sim_load import measure_ws_api
from bench.sim_load import ws_client_name

WINDOW_S = 5.0
N_RTT = 2000
DEPTH_RATES = {50_000: "subject", 1_000: "baseline"}
MARKET_RATES = (50, 50_000)  # background --rate while timing the WS API

SimFactory = Callable[[float, bool], SimProc]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sims() -> Iterator[SimFactory]:
    """Start sims on demand, one per (rate, unthrottled), and stop them all at module end."""
    started: dict[tuple[float, bool], SimProc] = {}

    def get(rate: float, unthrottled: bool) -> SimProc:
        key = (rate, unthrottled)
        if key not in started:
            started[key] = SimProc(rate, unthrottled=unthrottled).start()
        return started[key]

    yield get
    codes = {key: sim.stop() for key, sim in started.items()}
    bad = {key: code for key, code in codes.items() if code != 0}
    assert not bad, f"sim exit codes (0 = clean shutdown): {bad}"


@pytest.fixture(scope="module")
def report(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Lines printed once the module's benchmarks ran (nothing in smoke mode)."""
    lines: list[str] = []
    yield lines
    plugins = request.config.pluginmanager
    tr, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if not lines or tr is None or capture is None or is_smoke(request.config):
        return
    with capture.global_and_fixture_disabled():  # teardown output is captured otherwise
        tr.write("\n")
        tr.section(f"veloz sim as a load source (client: {ws_client_name()})", sep="-")
        for line in lines:
            tr.write_line(line)


@pytest.mark.parametrize("rate", list(DEPTH_RATES), ids=lambda r: f"rate={r}")
def test_bench_sim_depth_updates(
    benchmark: Any, sims: SimFactory, report: list[str], rate: int
) -> None:
    window = 0.3 if is_smoke() else WINDOW_S
    sim = sims(rate, False)
    benchmark.group = f"sim depth@100ms to 1 subscriber, window={window:g}s"
    benchmark.extra_info["role"] = DEPTH_RATES[rate]
    result = benchmark.pedantic(measure_depth, args=(sim, window), rounds=1, iterations=1)
    assert result.frames > 0, sim.stderr_tail()
    assert result.gaps == 0
    per_s = result.updates_per_s
    benchmark.extra_info |= {
        "requested_per_s": rate,
        "updates_per_s": per_s,
        "achieved_ratio": per_s / rate,
        "frames": result.frames,
        "levels_per_frame": result.levels / result.frames,
        "bytes_per_frame": result.bytes / result.frames,
        "sim_cpu_pct": result.sim_cpu_pct,
        "client_cpu_pct": result.client_cpu_pct,
    }
    report.append(
        f"depth --rate {rate:>6}: {per_s:9.0f} update ids/s ({per_s / rate:5.1%} of requested)"
        f"  {result.frames} frames, {result.levels / result.frames:.0f} levels/frame"
        f"  sim CPU {result.sim_cpu_pct:3.0f}%  client CPU {result.client_cpu_pct:3.0f}%"
    )


@pytest.mark.parametrize("market", MARKET_RATES, ids=lambda r: f"market={r}")
@pytest.mark.parametrize("kind", ["order", "ping"])
def test_bench_sim_ws_api_rtt(
    benchmark: Any, sims: SimFactory, report: list[str], kind: str, market: int
) -> None:
    n = scale(N_RTT)
    sim = sims(market, True)
    benchmark.group = f"sim ws-api round trip, market={market}/s, n={n}"
    benchmark.extra_info["role"] = "subject" if kind == "order" else "baseline"
    warmup = 0 if is_smoke() else 50
    result = benchmark.pedantic(
        measure_ws_api, args=(sim, n), kwargs={"kind": kind, "warmup": warmup}, rounds=1
    )
    assert result.errors == 0, sim.stderr_tail()
    pct = result.pct_us()
    benchmark.extra_info |= pct | {"sim_cpu_pct": result.sim_cpu_pct, "client": ws_client_name()}
    what = "order.place" if kind == "order" else "ping       "
    report.append(
        f"ws-api {what} market {market:>5}/s: p50 {pct['p50_us']:7.1f} µs  p90 "
        f"{pct['p90_us']:7.1f}  p99 {pct['p99_us']:8.1f}  max {pct['max_us']:8.1f}  (n={n},"
        f" sim CPU {result.sim_cpu_pct:3.0f}%)"
    )
