"""veloz.metrics: the vectorised fold against record_value per sample, percentiles, the latency
file and its merge, the bus snapshots, and the report table and JSON."""

import datetime
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from hdrh.histogram import HdrHistogram
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from veloz import metrics
from veloz.metrics import FIGURES
from veloz.metrics import HIGHEST_NS
from veloz.metrics import Latency
from veloz.metrics import LatencySet

PCTS = (0.0, 1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0)


def reference(samples: list[int]) -> HdrHistogram:
    """The slow truth: record_value per sample, with the clamp the fold documents."""
    h = metrics.new_histogram()
    for v in samples:
        assert h.record_value(min(v, HIGHEST_NS))
    return h


def folded(samples: list[int]) -> Latency:
    lat = Latency("x", capacity=max(len(samples), 1))
    for v in samples:
        lat.record(v)
    assert lat.fold() == len(samples)
    return lat


def assert_same_histogram(got: HdrHistogram, want: HdrHistogram) -> None:
    assert got.get_total_count() == want.get_total_count()
    assert np.array_equal(np.ctypeslib.as_array(got.counts), np.ctypeslib.as_array(want.counts))
    assert got.max_value == want.max_value
    assert got.min_value == want.min_value
    assert got.get_max_value() == want.get_max_value()
    assert got.get_min_value() == want.get_min_value()
    for p in PCTS:
        assert got.get_value_at_percentile(p) == want.get_value_at_percentile(p), p


def adversarial() -> list[int]:
    h = metrics.new_histogram()
    edges = [0, 1, 2, 3, 999, 1000, 1001]
    for k in range(1, 37):  # every power of two up to 2**36 > 60 s, and both neighbours
        edges += [2**k - 1, 2**k, 2**k + 1]
    edges += [h.sub_bucket_count - 1, h.sub_bucket_count, h.sub_bucket_half_count]
    edges += [HIGHEST_NS - 1, HIGHEST_NS, HIGHEST_NS + 1, 2**40, 2**62, 2**63 - 1]
    return edges


# ---- fold == record_value per sample -------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fold_random_lognormal_equals_record_value_per_sample(seed: int) -> None:
    rng = np.random.default_rng(seed)
    samples = rng.lognormal(10.5, 1.5, 20_000).astype(np.int64).tolist()
    assert_same_histogram(folded(samples).hist, reference(samples))


def test_fold_random_uniform_over_whole_range_equals_record_value_per_sample() -> None:
    rng = np.random.default_rng(7)
    samples = rng.integers(0, HIGHEST_NS + 1, 20_000, dtype=np.int64).tolist()
    assert_same_histogram(folded(samples).hist, reference(samples))


def test_fold_adversarial_edges_equal_record_value_per_sample() -> None:
    samples = adversarial()
    assert_same_histogram(folded(samples).hist, reference(samples))


def test_fold_counts_index_matches_hdrh_for_each_edge_value() -> None:
    h = metrics.new_histogram()
    values = [v for v in adversarial() if v <= HIGHEST_NS]
    got = metrics.counts_index(h, np.array(values, dtype=np.int64)).tolist()
    assert got == [h.get_counts_array_index(v) for v in values]


def test_fold_in_several_batches_equals_one_histogram() -> None:
    rng = np.random.default_rng(11)
    samples = rng.lognormal(9.0, 2.0, 3000).astype(np.int64).tolist()
    lat = Latency("x", capacity=1000)
    for k in range(0, 3000, 1000):
        for v in samples[k : k + 1000]:
            lat.record(v)
        lat.fold()
    assert_same_histogram(lat.hist, reference(samples))


def test_fold_value_above_60s_clamped_to_60s_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    lat = Latency("ingest_to_dispatch")
    lat.record(HIGHEST_NS + 1)
    lat.record(2**63 - 1)
    lat.record(HIGHEST_NS)
    lat.record(5)
    with caplog.at_level(logging.WARNING, logger="veloz.metrics"):
        assert lat.fold() == 4
    assert lat.n_clamped == 2
    assert lat.hist.max_value == HIGHEST_NS
    assert lat.hist.get_count_at_value(HIGHEST_NS) == 3
    assert "latency_clamped figure=ingest_to_dispatch n=2" in caplog.text


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 2**63 - 1), max_size=60))
def test_fold_any_non_negative_samples_equal_record_value_per_sample(samples: list[int]) -> None:
    assert_same_histogram(folded(samples).hist, reference(samples))


@pytest.mark.parametrize("bad", [[-1], [5, HIGHEST_NS + 1]], ids=["negative", "above_60s"])
def test_fold_into_out_of_range_raises_and_leaves_histogram_unchanged(bad: list[int]) -> None:
    h = metrics.new_histogram()
    with pytest.raises(ValueError, match="samples must be in"):
        metrics.fold_into(h, np.array(bad, dtype=np.int64))
    assert h.get_total_count() == 0
    assert not np.ctypeslib.as_array(h.counts).any()


def test_fold_empty_recorder_returns_zero_and_leaves_histogram_empty() -> None:
    lat = Latency("x")
    assert lat.fold() == 0
    assert lat.hist.get_total_count() == 0
    assert lat.summary() == dict.fromkeys(metrics.SUMMARY_KEYS, 0)


# ---- percentiles and summary ---------------------------------------------------------------


def test_percentiles_ns_equal_hdrh_get_value_at_percentile() -> None:
    rng = np.random.default_rng(5)
    samples = rng.lognormal(11.0, 1.0, 5000).astype(np.int64).tolist()
    h = reference(samples)
    got = metrics.percentiles_ns(h)
    assert got["count"] == 5000
    for key, pct in metrics.PERCENTILES:
        assert got[key] == h.get_value_at_percentile(pct)
    assert got["max"] == h.get_max_value()


def test_summary_gives_microseconds_of_folded_samples_only() -> None:
    lat = Latency("x")
    for _ in range(100):
        lat.record(50_000)
    lat.fold()
    lat.record(9_000_000)  # not folded yet: not in the summary
    s = lat.summary()
    assert s["count"] == 100
    assert s["p50_us"] == pytest.approx(50.0, rel=1e-3)
    assert s["max_us"] == pytest.approx(50.0, rel=1e-3)
    assert set(s) == set(metrics.SUMMARY_KEYS)


def test_encode_decodes_to_equal_histogram() -> None:
    lat = folded([1, 500, 70_000, 3_000_000, HIGHEST_NS])
    back = metrics.decode_hdr(lat.encode())
    assert_same_histogram_counts(back, lat.hist)


def assert_same_histogram_counts(got: HdrHistogram, want: HdrHistogram) -> None:
    assert got.get_total_count() == want.get_total_count()
    assert got.get_max_value() == want.get_max_value()
    for p in PCTS[1:]:
        assert got.get_value_at_percentile(p) == want.get_value_at_percentile(p)


@pytest.mark.parametrize(
    "blob",
    ["not base64 at all!", "", "AAAA", "HISTFAAAACl4nJNpmSzMwMDAxQABzFCaEUzOmTD5", b"\x00\xff"],
    ids=["junk", "empty", "short", "truncated", "binary"],
)
def test_decode_hdr_garbage_raises_value_error(blob: str | bytes) -> None:
    with pytest.raises(ValueError, match="not an hdrhistogram blob"):
        metrics.decode_hdr(blob)


# ---- LatencySet: file, merge, snapshots ------------------------------------------------------


def test_latency_set_unknown_figure_raises_key_error() -> None:
    s = LatencySet("gateway", ["trigger_to_send"])
    with pytest.raises(KeyError):
        s["nope"]


def test_latency_set_write_folds_and_writes_proc_file(tmp_path: Path) -> None:
    s = LatencySet("strategy.mm", ["ingest_to_dispatch", "receipt_to_strategy"])
    s["ingest_to_dispatch"].record(40_000)
    path = s.write(tmp_path)
    assert path == tmp_path / "latency" / "strategy.mm.json"
    doc = json.loads(path.read_text())
    assert doc["proc"] == "strategy.mm"
    fig = doc["figures"]["ingest_to_dispatch"]
    assert fig["count"] == 1
    assert fig["p99_us"] == pytest.approx(40.0, rel=1e-3)
    assert metrics.decode_hdr(fig["hdr"]).get_total_count() == 1
    assert doc["figures"]["receipt_to_strategy"]["count"] == 0
    assert [p.name for p in (tmp_path / "latency").iterdir()] == ["strategy.mm.json"]


def test_read_latency_dir_merges_figures_across_processes(tmp_path: Path) -> None:
    a = LatencySet("strategy.a", ["ingest_to_dispatch"])
    b = LatencySet("strategy.b", ["ingest_to_dispatch", "receipt_to_strategy"])
    g = LatencySet("gateway", ["trigger_to_send"])
    for v in range(1, 101):
        a["ingest_to_dispatch"].record(v * 1000)
        b["ingest_to_dispatch"].record(v * 1000 + 100_000)
    b["receipt_to_strategy"].record(7)
    g["trigger_to_send"].record(8)
    for s in (a, b, g):
        s.write(tmp_path)
    hists = metrics.read_latency_dir(tmp_path)
    assert sorted(hists) == sorted(FIGURES)
    merged = [v * 1000 for v in range(1, 101)] + [v * 1000 + 100_000 for v in range(1, 101)]
    assert_same_histogram_counts(hists["ingest_to_dispatch"], reference(merged))
    assert hists["receipt_to_strategy"].get_total_count() == 1


def test_read_latency_dir_skips_bad_file_logs_and_keeps_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    s = LatencySet("gateway", ["trigger_to_send"])
    s["trigger_to_send"].record(1000)
    s.write(tmp_path)
    (tmp_path / "latency" / "junk.json").write_text("{not json")
    (tmp_path / "latency" / "nohdr.json").write_text('{"figures": {"x": {"count": 1}}}')
    (tmp_path / "latency" / "badhdr.json").write_text('{"figures": {"x": {"hdr": "zzz"}}}')
    with caplog.at_level(logging.WARNING, logger="veloz.metrics"):
        hists = metrics.read_latency_dir(tmp_path)
    assert list(hists) == ["trigger_to_send"]
    assert hists["trigger_to_send"].get_total_count() == 1
    assert caplog.text.count("latency_file_bad") == 3


def test_read_latency_dir_missing_directory_gives_empty(tmp_path: Path) -> None:
    assert metrics.read_latency_dir(tmp_path / "nope") == {}


class FakeEncoder:
    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def latency(self, *args: object) -> bytes:
        self.calls.append(args)
        return b"body%d" % len(self.calls)


def test_messages_folds_and_gives_one_lat_topic_message_per_figure() -> None:
    s = LatencySet("gateway", ["trigger_to_send", "other"])
    for _ in range(10):
        s["trigger_to_send"].record(2000)
    enc = FakeEncoder()
    msgs = s.messages(enc)
    assert msgs == [(b"lat.gateway", b"body1"), (b"lat.gateway", b"body2")]
    name, count, p50, p90, p99, p999, max_ns, hdr, mono_ns = enc.calls[0]
    assert (name, count) == ("trigger_to_send", 10)
    assert p50 == p90 == p99 == p999 == max_ns == s["trigger_to_send"].hist.get_max_value()
    assert isinstance(hdr, bytes)
    assert metrics.decode_hdr(hdr).get_total_count() == 10
    assert isinstance(mono_ns, int)
    assert mono_ns > 0
    assert enc.calls[1][:2] == ("other", 0)


def test_messages_with_real_wire_encoder_decode_back() -> None:
    wire = pytest.importorskip("veloz._core.wire", reason="wire module not built yet")
    s = LatencySet("strategy.mm", ["ingest_to_dispatch"])
    s["ingest_to_dispatch"].record(123_000)
    ((topic, body),) = s.messages(wire.Encoder(wire.venue_id("binance-spot")))
    assert topic == b"lat.strategy.mm"
    msg = wire.decode(body)
    assert msg.header.msg_type == wire.MsgType.LATENCY
    assert (msg.name, msg.count) == ("ingest_to_dispatch", 1)
    assert msg.p99_ns == s["ingest_to_dispatch"].hist.get_max_value()
    assert metrics.decode_hdr(msg.hdr).get_total_count() == 1


# ---- report and report_json ----------------------------------------------------------------


def hists_of(**figs: list[int]) -> dict[str, HdrHistogram]:
    return {name: reference(samples) for name, samples in figs.items()}


def row(text: str, name: str) -> str:
    (line,) = [ln for ln in text.splitlines() if ln.startswith(name + " ")]
    return line


def test_report_marks_pass_and_fail_against_seed_and_goal() -> None:
    text = metrics.report(
        hists_of(
            ingest_to_dispatch=[30_000] * 99 + [90_000],  # p99 90 µs: passes both
            trigger_to_send=[3_000_000] * 10,  # 3 ms: fails the 2 ms seed
        ),
        rate=10_000,
        symbols=1,
    )
    assert text.splitlines()[0] == "latency report  (rate 10,000 msg/s, 1 symbol)"
    assert "PASS <5 ms" in row(text, "ingest_to_dispatch")
    assert "PASS <=100 µs" in row(text, "ingest_to_dispatch")
    assert "FAIL <2 ms" in row(text, "trigger_to_send")
    assert "FAIL <=100 µs" in row(text, "trigger_to_send")
    assert "3.00ms" in row(text, "trigger_to_send")


def test_report_figure_without_samples_says_so_and_no_verdict() -> None:
    text = metrics.report({"ingest_to_dispatch": metrics.new_histogram()})
    for name in FIGURES:
        line = row(text, name)
        assert "no samples" in line
        assert "PASS" not in line
        assert "FAIL" not in line


def test_report_columns_line_up_under_header() -> None:
    text = metrics.report(hists_of(ingest_to_dispatch=[31_200] * 5, trigger_to_send=[10]))
    lines = text.splitlines()
    head = lines[1]
    for name in ("ingest_to_dispatch", "trigger_to_send"):
        line = row(text, name)
        assert line.index("PASS") == head.index("seed P99")
    assert "31.2µs" in row(text, "ingest_to_dispatch")


def test_report_json_has_issue_keys_and_flags() -> None:
    doc = metrics.report_json(
        hists_of(ingest_to_dispatch=[50_000] * 100, trigger_to_send=[2_500_000] * 3),
        rate=1000.0,
        symbols=2,
    )
    for name in FIGURES:
        for key in (*metrics.SUMMARY_KEYS, "seed_target_p99_us", "goal_p99_us"):
            assert key in doc[name]
    ingest = doc["ingest_to_dispatch"]
    assert ingest["count"] == 100
    assert ingest["p99_us"] == pytest.approx(50.0, rel=1e-3)
    assert (ingest["pass_seed"], ingest["pass_goal"]) == (True, True)
    assert (doc["trigger_to_send"]["pass_seed"], doc["trigger_to_send"]["pass_goal"]) == (
        False,
        False,
    )
    assert doc["trigger_to_send"]["seed_target_p99_us"] == 2000.0
    assert doc["receipt_to_strategy"]["count"] == 0
    assert doc["receipt_to_strategy"]["pass_seed"] is False
    assert (doc["rate"], doc["symbols"]) == (1000.0, 2)
    assert set(doc["machine"]) == {"hostname", "cpu", "n_cpus", "python", "build"}
    assert doc["machine"]["build"] in ("checked", "release")
    date = datetime.datetime.fromisoformat(doc["date"])
    assert date.utcoffset() == datetime.timedelta(0)
    json.dumps(doc)  # JSON-able as it stands


def test_report_json_goal_is_inclusive_seed_is_strict(monkeypatch: pytest.MonkeyPatch) -> None:
    hists = hists_of(ingest_to_dispatch=[70_000], trigger_to_send=[70_000])
    p99_ns = hists["ingest_to_dispatch"].get_value_at_percentile(99.0)
    monkeypatch.setitem(metrics.GOAL_P99_NS, "ingest_to_dispatch", p99_ns)
    monkeypatch.setitem(metrics.SEED_TARGET_P99_NS, "trigger_to_send", p99_ns)
    doc = metrics.report_json(hists, rate=None, symbols=None)
    assert doc["ingest_to_dispatch"]["pass_goal"] is True  # p99 == goal passes
    assert doc["trigger_to_send"]["pass_seed"] is False  # p99 == seed target does not


# ---- recent window ------------------------------------------------------------------------

S = 1_000_000_000  # one second in ns
MS = 1_000_000


def _samples(value_ns: int, n: int) -> np.ndarray:
    return np.full(n, value_ns, dtype=np.int64)


def test_window_with_too_few_samples_reports_zero_no_figure() -> None:
    w = metrics.LatencyWindow(10.0)
    w.add(_samples(5 * MS, metrics.RECENT_MIN_COUNT - 1), 1 * S)
    p = w.percentiles_ns(1 * S)
    assert p["count"] == metrics.RECENT_MIN_COUNT - 1 and p["p99"] == 0
    w.add(_samples(5 * MS, 1), 1 * S)
    assert w.p99_ns(1 * S) == pytest.approx(5 * MS, rel=1e-3)


def test_window_spike_weighs_for_one_to_two_spans_then_is_forgotten() -> None:
    w = metrics.LatencyWindow(10.0)
    w.add(_samples(50 * MS, 100), 100 * S)  # the spike
    w.add(_samples(1 * MS, 100), 105 * S)
    assert w.p99_ns(105 * S) == pytest.approx(50 * MS, rel=1e-3)
    w.add(_samples(1 * MS, 100), 112 * S)  # next span: the spike's span is the older one
    assert w.p99_ns(119 * S) == pytest.approx(50 * MS, rel=1e-3)
    assert w.p99_ns(120 * S) == pytest.approx(1 * MS, rel=1e-3)  # spike span cleared
    assert w.percentiles_ns(120 * S)["count"] == 100


def test_window_idle_for_two_spans_holds_nothing() -> None:
    w = metrics.LatencyWindow(10.0)
    w.add(_samples(50 * MS, 100), 0)
    assert w.percentiles_ns(20 * S - 1)["count"] == 100
    assert w.percentiles_ns(35 * S) == dict.fromkeys(
        ("count", "p50", "p90", "p99", "p999", "max"), 0
    )


def test_window_percentiles_equal_one_histogram_of_both_spans() -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(1_000, 10 * MS, 500, dtype=np.int64)
    b = rng.integers(1_000, 90 * MS, 300, dtype=np.int64)
    w = metrics.LatencyWindow(10.0)
    w.add(a, 1 * S)
    w.add(b, 12 * S)
    want = metrics.new_histogram()
    metrics.fold_into(want, np.concatenate([a, b]))
    assert w.percentiles_ns(13 * S) == metrics.percentiles_ns(want)


def test_window_new_spike_moves_recent_p99_while_lifetime_p99_stays_calm() -> None:
    lat = Latency("trigger_to_send", window_s=10.0)
    for _ in range(20_000):  # an hour of calm, folded long ago
        lat.record(20_000)
    lat.fold(mono_ns=1 * S)
    for _ in range(100):  # now a spike, and a little calm
        lat.record(40 * MS)
    for _ in range(100):
        lat.record(20_000)
    lat.fold(mono_ns=3600 * S)
    assert lat.percentiles_ns()["p99"] < 1 * MS  # lifetime: diluted
    assert lat.recent_p99_ns(3600 * S) == pytest.approx(40 * MS, rel=1e-3)
    assert lat.percentiles_ns()["count"] == 20_200  # files and snapshots stay lifetime


def test_latency_without_window_reports_no_recent_figure() -> None:
    lat = Latency("x")
    for _ in range(100):
        lat.record(1_000)
    lat.fold()
    assert lat.window is None and lat.recent_p99_ns() == 0


def test_window_span_must_be_positive() -> None:
    with pytest.raises(ValueError, match="span_s"):
        metrics.LatencyWindow(0.0)
