"""verify(): every tamper class is detected and named with its line; hypothesis fuzz."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.unit.audit.conftest import reseal
from veloz.audit import AuditLog
from veloz.audit import Kind
from veloz.audit import Problem
from veloz.audit import verify

# Line i (1-based) of a file from write_log holds seq i - 1; record seq s has px "10<s-1>".
N = 8


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def _put(path: Path, lines: list[bytes], *, newline: bool = True) -> None:
    path.write_bytes(b"\n".join(lines) + (b"\n" if newline else b""))


def test_verify_intact_file_reports_count_and_head(make_log: Callable[[int], Path]) -> None:
    path = make_log(N)
    report = verify(path)
    assert report.is_intact and report.first is None
    assert report.n_records == N and report.last_seq == N
    assert report.last_hash == json.loads(_lines(path)[-1])["hash"]
    assert len(report.file_id) == 32


def test_verify_edited_field_is_named_edited_at_its_line(make_log: Callable[[int], Path]) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[3] = lines[3].replace(b'"px":"102"', b'"px":"999"')
    _put(path, lines)
    report = verify(path)
    assert [(f.problem, f.line, f.seq) for f in report.findings] == [(Problem.EDITED, 4, 3)]


def test_verify_edit_with_recomputed_hash_is_caught_by_chain(
    make_log: Callable[[int], Path],
) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[3] = reseal(lines[3], data={"px": "999"})
    _put(path, lines)
    first = verify(path).first
    assert first is not None and (first.problem, first.line, first.seq) == (Problem.EDITED, 4, 3)


def test_verify_whitespace_edit_is_named_edited(make_log: Callable[[int], Path]) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[2] = lines[2].replace(b',"kind"', b', "kind"')
    _put(path, lines)
    assert verify(path).problems() == {Problem.EDITED}


@pytest.mark.parametrize(("start", "stop"), [(3, 4), (1, 2), (3, 6)], ids=["one", "first", "three"])
def test_verify_deleted_lines_are_named_deleted_at_the_next_line(
    make_log: Callable[[int], Path], start: int, stop: int
) -> None:
    path = make_log(N)
    lines = _lines(path)
    del lines[start:stop]
    _put(path, lines)
    findings = verify(path).findings
    assert [(f.problem, f.line, f.seq) for f in findings] == [(Problem.DELETED, start + 1, stop)]
    assert f"seq {start}..{stop - 1} missing" in findings[0].detail


@pytest.mark.parametrize(
    "forge",
    ["chained", "same-prev", "junk-seq"],
)
def test_verify_inserted_forged_line_with_valid_hash_is_named_inserted(
    make_log: Callable[[int], Path], forge: str
) -> None:
    path = make_log(N)
    lines = _lines(path)
    prev_hash = json.loads(lines[3])["hash"]
    changes: dict[str, object] = {
        "chained": {"seq": 4, "prev": prev_hash},
        "same-prev": {},
        "junk-seq": {"seq": 77},
    }[forge]
    lines.insert(4, reseal(lines[3], data={"forged": 1}, **changes))
    _put(path, lines)
    report = verify(path)
    assert [(f.problem, f.line) for f in report.findings] == [(Problem.INSERTED, 5)]


@pytest.mark.parametrize(("a", "b"), [(3, 4), (7, 8), (1, 2)], ids=["middle", "last", "first"])
def test_verify_swapped_adjacent_lines_are_named_reordered(
    make_log: Callable[[int], Path], a: int, b: int
) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[a], lines[b] = lines[b], lines[a]
    _put(path, lines)
    report = verify(path)
    assert report.problems() == {Problem.REORDERED}
    assert report.first is not None and report.first.line == a + 1


def test_verify_swapped_distant_lines_are_named_reordered(
    make_log: Callable[[int], Path],
) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[2], lines[6] = lines[6], lines[2]
    _put(path, lines)
    report = verify(path)
    assert report.problems() == {Problem.REORDERED}
    assert report.first is not None and report.first.line == 3


def test_verify_duplicated_line_is_named_duplicated(make_log: Callable[[int], Path]) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines.insert(4, lines[3])
    _put(path, lines)
    findings = verify(path).findings
    assert [(f.problem, f.line, f.seq) for f in findings] == [(Problem.DUPLICATED, 5, 3)]


def test_verify_truncated_mid_line_is_named_truncated(make_log: Callable[[int], Path]) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[-1] = lines[-1][:40]
    _put(path, lines, newline=False)
    findings = verify(path).findings
    assert [(f.problem, f.line) for f in findings] == [(Problem.TRUNCATED, N + 1)]


def test_verify_bad_json_line_is_named_bad_json_only(make_log: Callable[[int], Path]) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[3] = b'{"seq":3,'
    _put(path, lines)
    findings = verify(path).findings
    assert [(f.problem, f.line) for f in findings] == [(Problem.BAD_JSON, 4)]


def test_verify_wrong_fields_are_named_bad_record(make_log: Callable[[int], Path]) -> None:
    path = make_log(N)
    lines = _lines(path)
    lines[3] = reseal(lines[3], kind="order_filled")
    _put(path, lines)
    first = verify(path).first
    assert first is not None and (first.problem, first.line) == (Problem.BAD_RECORD, 4)


@pytest.mark.parametrize("damage", ["deleted", "empty", "garbage"])
def test_verify_bad_header_is_named_bad_header(
    make_log: Callable[[int], Path], damage: str
) -> None:
    path = make_log(N)
    lines = _lines(path)
    if damage == "deleted":
        del lines[0]
        _put(path, lines)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        lines[0] = b"VELOZ AUDIT"
        _put(path, lines)
    first = verify(path).first
    assert first is not None and (first.problem, first.line) == (Problem.BAD_HEADER, 1)


def test_verify_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify(tmp_path / "nope.jsonl")


# -- property: any single tamper is never reported intact ----------------------------------

_NAMED = {
    "edit": Problem.EDITED,
    "reseal": Problem.EDITED,
    "delete": Problem.DELETED,
    "insert": Problem.INSERTED,
    "swap": Problem.REORDERED,
    "truncate": Problem.TRUNCATED,
    "duplicate": Problem.DUPLICATED,
    "garbage": Problem.BAD_JSON,
}
_TAMPERS = sorted(_NAMED)


def _tamper(lines: list[bytes], how: str, i: int, j: int) -> tuple[list[bytes], bool]:
    # Returns (lines, ends_with_newline). i, j index records (line 0 is the header) and are
    # chosen so every tamper changes the file's meaning (e.g. never delete only the last line:
    # a cut at a line boundary is invisible to a chain, see verify's docstring).
    out = list(lines)
    rec = json.loads(out[i])
    if how == "edit":
        rec["data"]["v"] = rec["data"].get("v", 0) + 1
        out[i] = json.dumps(rec, sort_keys=True, separators=(",", ":")).encode()
    elif how == "reseal":
        out[i] = reseal(out[i], wall_ns=rec["wall_ns"] + 1)
        if i == len(out) - 1:  # nothing chains from the last record: tamper the one before
            out[i - 1] = reseal(out[i - 1], wall_ns=json.loads(out[i - 1])["wall_ns"] + 1)
            out[i] = lines[i]
    elif how == "delete":
        i = min(i, len(out) - 2)
        del out[i : min(max(i + 1, j), len(out) - 1)]
    elif how == "insert":
        out.insert(j, reseal(out[i], data={"forged": True}))
    elif how == "swap":
        if out[i] == out[j] or i == j:
            j = i + 1 if i + 1 < len(out) else i - 1
        out[i], out[j] = out[j], out[i]
    elif how == "truncate":
        out[-1] = out[-1][: max(1, j % len(out[-1]))]
        return out, False
    elif how == "duplicate":
        out.insert(j, out[i])
    else:
        out.insert(j, b"\x00not json")
    return out, True


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    n=st.integers(min_value=2, max_value=12),
    kinds=st.lists(st.sampled_from(list(Kind)), min_size=12, max_size=12),
    values=st.lists(st.integers(min_value=-(2**40), max_value=2**40), min_size=12, max_size=12),
    how=st.sampled_from(_TAMPERS),
    i=st.integers(min_value=1, max_value=12),
    j=st.integers(min_value=1, max_value=13),
)
def test_verify_random_records_with_one_random_tamper_are_never_intact_and_named(
    tmp_path: Path,
    n: int,
    kinds: list[Kind],
    values: list[int],
    how: str,
    i: int,
    j: int,
) -> None:
    path = tmp_path / f"h-{n}-{how}-{i}-{j}.jsonl"
    path.unlink(missing_ok=True)
    with AuditLog(path, "prop") as audit:
        for k in range(n):
            audit.append(kinds[k], {"v": values[k], "note": f"r{k}"})
    lines = _lines(path)
    i = 1 + (i - 1) % n
    j = 1 + (j - 1) % n
    tampered, newline = _tamper(lines, how, i, j)
    assert tampered != lines or not newline
    _put(path, tampered, newline=newline)
    report = verify(path)
    assert not report.is_intact, (how, i, j, n)
    assert report.problems() == {_NAMED[how]}, (how, i, j, n, [str(f) for f in report.findings])
