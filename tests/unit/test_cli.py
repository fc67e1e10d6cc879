"""The `veloz` dispatcher and `veloz-bench`'s argument handling and core measurements."""

import pytest

from bench import cli as bench_cli
from bench import core as bench_core
from procs import cli
from veloz._core import build_info


def test_veloz_unknown_command_exits_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["frobnicate"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'frobnicate'" in err and "replay" in err


def test_veloz_no_command_exits_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert "usage: veloz" in capsys.readouterr().out


def test_veloz_version_names_the_build(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    build = "checked" if build_info()["checked"] else "release"
    assert f"({build} build" in capsys.readouterr().out


def test_veloz_bench_too_few_frames_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_cli.main(["--frames", "5"]) == 2
    assert "--frames must be >= 100, got 5" in capsys.readouterr().err


def test_veloz_bench_refuses_figures_on_checked_build(capsys: pytest.CaptureFixture[str]) -> None:
    if not build_info()["checked"]:
        pytest.skip("release build loaded: veloz-bench would measure for real")
    assert bench_cli.main(["--frames", "100"]) == 2
    assert "checked build" in capsys.readouterr().err


def test_veloz_bench_frame_to_applied_measures_every_frame_in_sync() -> None:
    out = bench_core.bench_frame_to_applied(100)
    assert out["count"] == 100
    assert out["p50_ns"] > 0 and out["baseline_mean_ns"] > 0
    assert out["p50_ns"] <= out["p99_ns"] <= out["max_ns"]


def test_veloz_bench_level_apply_and_parse_report_positive_figures() -> None:
    lv = bench_core.bench_level_apply(1000)
    assert lv["py_call_ns"] > 0 and lv["c_loop_ns"] > 0
    assert bench_core.bench_parse(1000)["ratio"] > 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rate", "0"], "--rate must be > 0, got 0"),
        (["--symbols", "5"], "--symbols must be 1..4, got 5"),
        (["--duration", "1"], "--duration must be >= 2 seconds, got 1"),
        (["--orders-per-s", "-1"], "--orders-per-s must be > 0, got -1"),
        (["--plot", "out.svg"], "--plot must name a .png file, got out.svg"),
        (["--core", "--sweep"], "--core takes neither --sweep nor --plot"),
    ],
)
def test_veloz_bench_bad_pipeline_argument_exits_2_naming_it(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert bench_cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_veloz_bench_unknown_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_cli.main(["--rates", "5"]) == 2
    assert "unrecognized arguments: --rates" in capsys.readouterr().err
