"""`veloz audit verify FILE...` and `veloz audit show FILE`: check and read audit files.

verify exits 0 when every file is intact, 1 when any is tampered (each finding printed),
2 on bad usage or an unreadable file. show prints records (``--kind``, ``--json``) and
warns on stderr when the file fails verification. Never modifies a file.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from veloz.audit import Kind
from veloz.audit import verify
from veloz.audit.record import GENESIS_KIND


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="veloz audit", description="Check and read audit files.")
    sub = p.add_subparsers(dest="cmd", required=True, metavar="{verify,show}")
    v = sub.add_parser("verify", help="find edited, deleted, inserted or reordered records")
    v.add_argument("files", nargs="+", type=Path, metavar="FILE")
    s = sub.add_parser("show", help="print the records of one audit file")
    s.add_argument("file", type=Path, metavar="FILE")
    kinds = [GENESIS_KIND, *(k.value for k in Kind)]
    s.add_argument("--kind", choices=kinds, action="append", help="only these kinds")
    s.add_argument("--json", action="store_true", help="print the raw JSON lines")
    return p


def _verify(files: list[Path]) -> int:
    code = 0
    for path in files:
        try:
            report = verify(path)
        except OSError as e:
            print(f"{path}: unreadable: {e.strerror or e}", file=sys.stderr)
            code = 2
            continue
        if report.is_intact:
            print(
                f"{path}: intact: {report.n_records} records, last seq {report.last_seq} "
                f"hash {report.last_hash}"
            )
            continue
        print(f"{path}: TAMPERED: {len(report.findings)} finding(s)")
        for finding in report.findings:
            print(f"  {finding}")
        code = max(code, 1)
    return code


def _human(rec: dict[str, object]) -> str:
    wall_ns = rec.get("wall_ns")
    stamp = "?"
    if isinstance(wall_ns, int):
        t = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(wall_ns // 10**9))
        stamp = f"{t}.{wall_ns // 1000 % 10**6:06d}Z"
    data = rec.get("data")
    items = data.items() if isinstance(data, dict) else []
    fields = " ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in items)
    return (
        f"{rec.get('seq')} {stamp} {rec.get('proc')}[{rec.get('pid')}] {rec.get('kind')} {fields}"
    )


def _show(path: Path, kinds: list[str] | None, as_json: bool) -> int:
    try:
        blob = path.read_bytes()
    except OSError as e:
        print(f"{path}: unreadable: {e.strerror or e}", file=sys.stderr)
        return 2
    for n, line in enumerate(blob.splitlines(), 1):
        try:
            rec = json.loads(line)
        except ValueError:
            print(f"{path}:{n}: not JSON, skipped", file=sys.stderr)
            continue
        if not isinstance(rec, dict) or (kinds and rec.get("kind") not in kinds):
            continue
        print(line.decode("utf-8", "replace") if as_json else _human(rec))
    if not verify(path).is_intact:
        print(f"{path}: fails verification: run `veloz audit verify {path}`", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``veloz audit verify|show``; return the exit code (0, 1 tampered, 2 usage)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.cmd == "verify":
        return _verify(args.files)
    return _show(args.file, args.kind, args.json)


if __name__ == "__main__":
    raise SystemExit(main())
