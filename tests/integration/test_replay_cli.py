"""`veloz replay` as a real process on the real Binance captures in ../shared/fixtures."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

SPOT = {
    "venue": "binance-spot",
    "depth": "binance/spot/depth_diff_100ms_NKNUSDT_combined_sequence_2021-10-11.json",
    "snapshot": "binance/spot/depth_snapshot_rest_v3_NKNUSDT_limit1000_2021-10-11.json",
    "ticker": "binance/spot/bookTicker_NKNUSDT_combined_sequence_2021-10-11.json",
    "info": "binance/spot/exchangeInfo_rest_v3_2021-10-11_TRIMMED_6_symbols.json",
    "checks": 19,
}
USDM = {
    "venue": "binance-usdm",
    "depth": "binance/futures_usdm/depth_diff_100ms_SUSHIUSDT_combined_sequence_2021-07-22.json",
    "snapshot": "binance/futures_usdm/depth_snapshot_fapi_v1_SUSHIUSDT_limit1000_2021-07-22.json",
    "ticker": "binance/futures_usdm/bookTicker_SUSHIUSDT_combined_sequence_2021-07-22.json",
    "info": "binance/futures_usdm/exchangeInfo_fapi_v1_2021-07-22_TRIMMED_6_symbols.json",
    "checks": 12,
}
CASES = [pytest.param(SPOT, id="spot-NKNUSDT"), pytest.param(USDM, id="usdm-SUSHIUSDT")]


def _veloz(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "procs.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _replay_json(*args: str | Path) -> tuple[int, dict[str, Any]]:
    proc = _veloz("replay", *args, "--json")
    assert proc.stdout, proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _write_jsonl(path: Path, frames: list[Any]) -> Path:
    path.write_text("".join(json.dumps(f) + "\n" for f in frames))
    return path


@pytest.mark.parametrize("case", CASES)
def test_replay_real_sequence_no_gaps_and_every_ticker_matches(
    case: dict[str, Any], fixtures_dir: Path
) -> None:
    # bookTicker frames first: each is checked when the book reaches its update id
    code, rep = _replay_json(
        fixtures_dir / case["ticker"],
        fixtures_dir / case["depth"],
        "--venue",
        case["venue"],
        "--snapshot",
        fixtures_dir / case["snapshot"],
    )
    assert code == 0
    assert rep["gaps"] == 0
    assert rep["malformed"] == 0
    assert rep["book_valid"] is True
    assert rep["bbo_checks"] == case["checks"]
    assert rep["bbo_mismatches"] == 0


@pytest.mark.parametrize("case", CASES)
def test_replay_final_book_equals_ticker_at_same_update_id(
    case: dict[str, Any], fixtures_dir: Path, tmp_path: Path
) -> None:
    depth = json.loads((fixtures_dir / case["depth"]).read_text())
    tickers = {
        t["data"]["u"]: t["data"] for t in json.loads((fixtures_dir / case["ticker"]).read_text())
    }
    # cut the recording at the last depth event whose u has a recorded bookTicker
    last = max(i for i, m in enumerate(depth) if m["data"]["u"] in tickers)
    frames = _write_jsonl(tmp_path / "cut.jsonl", depth[: last + 1])
    code, rep = _replay_json(
        frames,
        "--venue",
        case["venue"],
        "--snapshot",
        fixtures_dir / case["snapshot"],
        "--exchange-info",
        fixtures_dir / case["info"],
    )
    ticker = tickers[depth[last]["data"]["u"]]
    assert code == 0
    assert rep["gaps"] == 0
    assert rep["update_id"] == ticker["u"]
    # the report prints at the book's dp, the ticker pads to 8 decimals: compare exactly
    assert [Decimal(x) for x in rep["best_bid"]] == [Decimal(ticker["b"]), Decimal(ticker["B"])]
    assert [Decimal(x) for x in rep["best_ask"]] == [Decimal(ticker["a"]), Decimal(ticker["A"])]
    assert len(rep["bids"]) == 5 and len(rep["asks"]) == 5


def test_replay_counts_stale_and_applied_on_spot(fixtures_dir: Path) -> None:
    code, rep = _replay_json(
        fixtures_dir / SPOT["depth"],
        "--venue",
        "binance-spot",
        "--snapshot",
        fixtures_dir / SPOT["snapshot"],
        "--depth",
        "20",
    )
    assert code == 0
    assert rep["messages"] == 150
    assert rep["stale_dropped"] == 1
    assert rep["resyncs_needed"] == 0
    # inferred from the data: legacy levels off the 0.0001 tick ("0.25974") need 5 decimals
    assert (rep["price_dp"], rep["qty_dp"]) == (5, 1)
    assert len(rep["bids"]) == 20
    assert rep["ns_per_message"] > 0


def test_replay_gap_without_later_snapshot_reports_invalid_book(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    depth = json.loads((fixtures_dir / SPOT["depth"]).read_text())
    del depth[60]  # lose one event mid-stream
    frames = _write_jsonl(tmp_path / "gap.jsonl", depth)
    code, rep = _replay_json(
        frames, "--venue", "binance-spot", "--snapshot", fixtures_dir / SPOT["snapshot"]
    )
    assert code == 3
    assert rep["gaps"] == 1
    assert rep["resyncs_needed"] == 1
    assert rep["book_valid"] is False
    assert "no later snapshot" in rep["invalid_reason"]
    assert rep["best_bid"] is None and rep["bids"] == []
    text = _veloz(
        "replay", frames, "--venue", "binance-spot", "--snapshot", fixtures_dir / SPOT["snapshot"]
    )
    assert "INVALID" in text.stdout and "gaps detected      1" in text.stdout


def test_replay_malformed_lines_counted_logged_and_skipped(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    depth = [json.dumps(m) for m in json.loads((fixtures_dir / SPOT["depth"]).read_text())]
    lines = [
        *depth[:10],
        "{not json",
        '{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate"}}',
        *depth[10:],
    ]
    frames = tmp_path / "bad.jsonl"
    frames.write_text("\n".join(lines) + "\n")
    proc = _veloz(
        "replay",
        frames,
        "--venue",
        "binance-spot",
        "--snapshot",
        fixtures_dir / SPOT["snapshot"],
        "--json",
    )
    rep = json.loads(proc.stdout)
    assert proc.returncode == 0
    assert rep["malformed"] == 2
    assert rep["gaps"] == 0 and rep["book_valid"] is True
    assert "replay.frame_malformed" in proc.stderr and "{not json" in proc.stderr


def test_replay_without_snapshot_says_book_invalid(fixtures_dir: Path) -> None:
    code, rep = _replay_json(fixtures_dir / SPOT["depth"], "--venue", "binance-spot")
    assert code == 3
    assert rep["book_valid"] is False
    assert "no snapshot given" in rep["invalid_reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope.json", "--venue", "binance-spot"], "cannot read nope.json"),
        (["x.json", "--venue", "kraken"], "invalid choice: 'kraken'"),
        (["x.json", "--venue", "binance-spot", "--depth", "0"], "--depth must be 1..5000"),
    ],
)
def test_replay_bad_arguments_exit_2_with_message(args: list[str], message: str) -> None:
    proc = _veloz("replay", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_replay_not_a_frames_file_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "frames.json"
    bad.write_text('{"a": 1}')
    proc = _veloz("replay", bad, "--venue", "binance-spot")
    assert proc.returncode == 2
    assert "expected a JSON array of frames" in proc.stderr
