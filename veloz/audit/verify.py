"""Verify an audit file: find edited, deleted, inserted, reordered or truncated records.

Owns the classification of what is wrong with a file. Must not modify the file. A hash chain
without a secret cannot see a tail cut at a line boundary, nor a rewrite of every record
after the first change; compare the last hash with one logged elsewhere (``audit_close``
log lines) to anchor the tail.
"""

import json
from collections import Counter
from dataclasses import dataclass
from dataclasses import field
from enum import StrEnum
from pathlib import Path
from typing import Any

from veloz.audit.record import FORMAT_VERSION
from veloz.audit.record import GENESIS_KIND
from veloz.audit.record import GENESIS_PREV
from veloz.audit.record import RECORD_KEYS
from veloz.audit.record import Kind
from veloz.audit.record import canonical
from veloz.audit.record import record_hash

__all__ = ["Finding", "Problem", "Report", "verify"]

_KINDS = frozenset(k.value for k in Kind)


class Problem(StrEnum):
    """The class of one finding."""

    BAD_HEADER = "bad_header"
    BAD_JSON = "bad_json"
    BAD_RECORD = "bad_record"
    EDITED = "edited"
    DELETED = "deleted"
    INSERTED = "inserted"
    DUPLICATED = "duplicated"
    REORDERED = "reordered"
    TRUNCATED = "truncated"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: its class, 1-based line number, the seq the line claims (-1 if none)."""

    problem: Problem
    line: int
    seq: int
    detail: str

    def __str__(self) -> str:
        seq = str(self.seq) if self.seq >= 0 else "?"
        return f"line {self.line} seq {seq}: {self.problem.value}: {self.detail}"


@dataclass(slots=True)
class Report:
    """What `verify` found in one file.

    Attributes
    ----------
    path : Path
    n_records : int
        Lines that parsed as records, header excluded.
    file_id : str
        The header's random id ('' when the header is bad).
    last_seq, last_hash : int, str
        Seq and hash of the last record that parsed.
    findings : list[Finding]
        In file order; the first is the first problem.
    """

    path: Path
    n_records: int = 0
    file_id: str = ""
    last_seq: int = -1
    last_hash: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def is_intact(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    @property
    def first(self) -> Finding | None:
        """The first problem in file order, or None."""
        return self.findings[0] if self.findings else None

    def problems(self) -> set[Problem]:
        """Return the set of problem classes found."""
        return {f.problem for f in self.findings}


@dataclass(slots=True)
class _Rec:
    line: int
    raw: bytes
    seq: int
    prev: str
    hash: str
    eff_seq: int  # the seq the chain gives it (differs from `seq` when the seq was edited)


def verify(path: Path) -> Report:
    """Walk the audit file at `path` and report every problem it can classify.

    Each line is checked alone (JSON, fields, canonical form, hash: ``edited``), then the
    chain of ``seq`` and ``prev`` links is followed, and each break is named: ``deleted``
    (seq gap, the missing predecessor is nowhere in the file), ``inserted`` (a record no
    chain passes through, sitting between two linked records), ``duplicated`` (a byte copy
    of an earlier line), ``reordered`` (a genuine record out of place), ``edited`` (a
    record rewritten with a recomputed hash: its successor's ``prev`` no longer matches),
    ``truncated`` (the last line has no newline). O(n) time and memory in the file size.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    blob = Path(path).read_bytes()
    report = Report(path=Path(path))
    lines = blob.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    if tail:
        report.findings.append(
            Finding(
                Problem.TRUNCATED,
                len(lines) + 1,
                -1,
                f"last line has no newline ({len(tail)} bytes)",
            )
        )
    if not lines:
        report.findings.insert(0, Finding(Problem.BAD_HEADER, 1, -1, "empty file: no header"))
        return report
    recs = _parse_lines(lines, report)
    _walk_chain(recs, report)
    report.findings.sort(key=lambda f: f.line)
    return report


def _parse_lines(lines: list[bytes], report: Report) -> list[_Rec | None]:
    recs: list[_Rec | None] = []
    for i, raw in enumerate(lines):
        lineno = i + 1
        try:
            obj = json.loads(raw)
        except ValueError:
            problem = Problem.BAD_HEADER if i == 0 else Problem.BAD_JSON
            report.findings.append(Finding(problem, lineno, -1, "not JSON"))
            recs.append(None)
            continue
        why = _shape_error(obj, is_header=i == 0)
        if why:
            seq = obj.get("seq", -1) if isinstance(obj, dict) else -1
            seq = seq if isinstance(seq, int) else -1
            problem = Problem.BAD_HEADER if i == 0 else Problem.BAD_RECORD
            report.findings.append(Finding(problem, lineno, seq, why))
            recs.append(None)
            continue
        if record_hash(obj) != obj["hash"]:
            report.findings.append(
                Finding(Problem.EDITED, lineno, obj["seq"], "hash does not match the record")
            )
        elif canonical(obj) != raw:
            report.findings.append(
                Finding(Problem.EDITED, lineno, obj["seq"], "bytes are not the canonical form")
            )
        if i == 0:
            report.file_id = obj["data"]["file_id"]
        else:
            report.n_records += 1
            report.last_seq, report.last_hash = obj["seq"], obj["hash"]
        recs.append(_Rec(lineno, raw, obj["seq"], obj["prev"], obj["hash"], obj["seq"]))
    return recs


def _shape_error(obj: Any, *, is_header: bool) -> str:
    if not isinstance(obj, dict):
        return "not a JSON object"
    if set(obj) != RECORD_KEYS:
        return f"fields are {sorted(obj)}, want {sorted(RECORD_KEYS)}"
    for key in ("seq", "wall_ns", "pid"):
        if not isinstance(obj[key], int) or isinstance(obj[key], bool) or obj[key] < 0:
            return f"{key} is not a non-negative int"
    for key in ("prev", "hash"):
        value = obj[key]
        if not (isinstance(value, str) and len(value) == 64 and _is_hex(value)):
            return f"{key} is not 64 lowercase hex digits"
    if not isinstance(obj["proc"], str) or not isinstance(obj["data"], dict):
        return "proc is not a string or data is not an object"
    if is_header:
        data = obj["data"]
        if obj["kind"] != GENESIS_KIND or obj["seq"] != 0 or obj["prev"] != GENESIS_PREV:
            return "line 1 is not a genesis header (kind genesis, seq 0, zero prev)"
        if data.get("version") != FORMAT_VERSION or not isinstance(data.get("file_id"), str):
            return f"header data must hold version {FORMAT_VERSION} and a file_id"
    elif obj["kind"] not in _KINDS:
        return f"unknown kind {obj['kind']!r}"
    return ""


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _links(a: _Rec, b: _Rec) -> bool:
    return b.prev == a.hash and b.seq == a.eff_seq + 1


def _walk_chain(recs: list[_Rec | None], report: Report) -> None:
    add = report.findings.append
    seen_raw: set[bytes] = set()
    line_of_hash: dict[str, int] = {}
    referenced: set[str] = set()
    n_raw: Counter[bytes] = Counter()
    n_seq: Counter[int] = Counter()
    for r in recs:
        if r is not None:
            line_of_hash.setdefault(r.hash, r.line)
            referenced.add(r.prev)
            n_raw[r.raw] += 1
            n_seq[r.seq] += 1
    edited_lines = {f.line for f in report.findings if f.problem is Problem.EDITED}
    head = recs[0]
    last: _Rec | None = head
    before_last: _Rec | None = None
    displaced: dict[str, _Rec] = {}  # genuine records met out of place, by hash
    after_bad_line = False
    if head is not None:
        seen_raw.add(head.raw)
    for i in range(1, len(recs)):
        r = recs[i]
        if r is None:
            after_bad_line = True
            continue
        if r.raw in seen_raw:
            add(Finding(Problem.DUPLICATED, r.line, r.seq, "byte copy of an earlier line"))
            continue
        if last is None:  # the header itself was unreadable: start the chain here
            seen_raw.add(r.raw)
            last, after_bad_line = r, False
            continue
        if _links(last, r):
            seen_raw.add(r.raw)
            before_last, last, after_bad_line = last, r, False
            continue
        if n_raw[r.raw] > 1:  # a copy placed before its original: the original links later
            add(Finding(Problem.DUPLICATED, r.line, r.seq, "byte copy of a later line"))
            continue
        seen_raw.add(r.raw)
        if r.line in edited_lines and r.prev == last.hash:
            # Its seq was edited (already reported): keep the chain's seq.
            r.eff_seq = last.eff_seq + 1
            before_last, last, after_bad_line = last, r, False
            continue
        nxt = _next_rec(recs, i)
        if nxt is not None and _links(last, nxt):
            add(_stray(r, referenced, n_seq, line_of_hash, displaced))
            continue
        if before_last is not None and _links(before_last, r):
            add(_stray(last, referenced, n_seq, line_of_hash, displaced))
            last, after_bad_line = r, False
            continue
        moved = displaced.get(r.prev)
        if moved is not None and _links(moved, r):
            before_last, last, after_bad_line = moved, r, False  # follows a displaced record
            continue
        if after_bad_line and r.prev not in line_of_hash:
            # Its predecessor is the unreadable line already reported: resume the chain.
            before_last, last, after_bad_line = None, r, False
            continue
        add(_classify_break(last, r, line_of_hash))
        before_last, last, after_bad_line = last, r, False


def _stray(
    r: _Rec,
    referenced: set[str],
    n_seq: Counter[int],
    line_of_hash: dict[str, int],
    displaced: dict[str, _Rec],
) -> Finding:
    # A record the chain skips: genuine and moved when another record chains from it, or
    # when its seq is its own and its predecessor sits later in the file (the true last
    # record moved up); otherwise a forgery nothing links to.
    is_moved_tail = n_seq[r.seq] == 1 and line_of_hash.get(r.prev, 0) > r.line
    if r.hash in referenced or is_moved_tail:
        displaced[r.hash] = r
        return Finding(Problem.REORDERED, r.line, r.seq, "record out of place")
    return Finding(Problem.INSERTED, r.line, r.seq, "no record chains through it")


def _next_rec(recs: list[_Rec | None], i: int) -> _Rec | None:
    for j in range(i + 1, len(recs)):
        nxt = recs[j]
        if nxt is not None:
            return nxt
    return None


def _classify_break(last: _Rec, r: _Rec, line_of_hash: dict[str, int]) -> Finding:
    want = last.eff_seq + 1
    if r.prev in line_of_hash or r.seq < want:
        where = line_of_hash.get(r.prev)
        detail = f"follows line {where}" if where is not None else f"seq {r.seq} after {last.seq}"
        return Finding(Problem.REORDERED, r.line, r.seq, f"out of order: {detail}")
    if r.seq > want:
        return Finding(
            Problem.DELETED, r.line, r.seq, f"seq {want}..{r.seq - 1} missing, prev not in file"
        )
    # Right seq, unknown prev: the previous record was rewritten with a recomputed hash.
    return Finding(
        Problem.EDITED,
        last.line,
        last.seq,
        f"rewritten with a new hash: line {r.line} prev differs",
    )
