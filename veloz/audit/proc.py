"""A process's own audit records: proc_start, config_change and proc_stop, in one small API.

Owns what every process main writes about itself: at start its version, argv (flags that name
a secret redacted), effective-config digest and per-key digests; a ``config_change`` record
when the config differs from the previous start of the same file; at exit its exit code and
reason, also when the main leaves by an exception. Must not hold secrets (argv values of
secret-named flags and config values of secret-named keys are never written) and must not
decide anything for the process: it only records.
"""

import dataclasses
import functools
import importlib.metadata
import json
import logging
import os
import sys
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from veloz.audit.digest import config_digest
from veloz.audit.digest import config_entries
from veloz.audit.digest import diff_entries
from veloz.audit.log import AuditConfig
from veloz.audit.log import AuditLog
from veloz.audit.log import audit_path
from veloz.audit.record import MAX_DATA_BYTES
from veloz.audit.record import Kind
from veloz.audit.record import canonical
from veloz.audit.record import is_secret_key
from veloz.audit.record import record_hash

__all__ = ["AUDIT_DIR_ENV", "ProcAudit", "last_start", "redact_argv"]

log = logging.getLogger(__name__)

AUDIT_DIR_ENV = "VELOZ_AUDIT_DIR"  # audit files go here instead of <run>/audit when set
REDACTED = "***"
_ARGV_MAX = 64  # arguments kept
_ARG_MAX = 256  # chars kept of one argument
_MESSAGE_MAX = 200  # chars kept of an exception message
_CHUNK = 1 << 20  # backwards scan for the previous proc_start, 1 MiB at a time
_START_MARK = b'"kind":"proc_start"'


def redact_argv(argv: Sequence[str]) -> list[str]:
    """Return `argv` with the value of every secret-named flag replaced by ``***``.

    Covers ``--secret VALUE`` and ``--secret=VALUE`` (flags matching the audit secret regex:
    secret, signature, password, passphrase, private_key). VeloZ never takes a secret on the
    command line; this is the second line of defence. At most 64 arguments of 256 chars.
    """
    out: list[str] = []
    hide_next = False
    for arg in list(argv)[:_ARGV_MAX]:
        if hide_next:
            out.append(REDACTED)
            hide_next = False
            continue
        if arg.startswith("-"):
            flag, eq, _ = arg.partition("=")
            if is_secret_key(flag):
                if eq:
                    out.append(f"{flag}={REDACTED}")
                else:
                    out.append(arg)
                    hide_next = True
                continue
        out.append(arg[:_ARG_MAX])
    return out


def last_start(path: Path) -> tuple[dict[str, Any] | None, str]:
    """Return (the last own proc_start record of the audit file `path`, the last record's kind).

    Scans backwards from the end; records with a ``child`` field (the supervisor's records of
    its children) are not the process's own. A record whose hash does not match is skipped
    (``veloz audit verify`` reports it). The kind is ``""`` for a missing or header-only file.
    Reads only the tail since that start: O(size of the previous run's records).
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None, ""
    try:
        end = os.fstat(fd).st_size
        last_kind = ""
        carry = b""
        while end > 0:
            start = max(0, end - _CHUNK)
            block = os.pread(fd, end - start, start) + carry
            end = start
            lines = block.split(b"\n")
            carry = lines.pop(0) if start > 0 else b""  # maybe a partial line: next round
            for line in reversed(lines):
                if not line:
                    continue
                if not last_kind:
                    last_kind = _kind_of(line)
                if _START_MARK in line:
                    rec = _own_start(line)
                    if rec is not None:
                        return rec, last_kind
        return None, last_kind
    finally:
        os.close(fd)


class ProcAudit:
    """The audit file of one process with its start and stop records.

    Use `ProcAudit.start` at the top of a main, then ``with audit:`` around the rest and
    ``return audit.exit(rc)``: leaving the block by an exception writes ``proc_stop`` with
    rc 1 and the exception's type before it propagates. `disabled` gives one that writes
    nothing (``veloz feed --print``).

    Attributes
    ----------
    log : AuditLog | None
        The open file (hand it to components that append their own records), None if disabled.
    reason : str
        Why the process stops; set it (e.g. to the signal's name) before `exit`.
    stop_data : dict
        Extra proc_stop fields gathered while running (e.g. the final risk state).
    """

    __slots__ = ("_is_stopped", "log", "n_audit_errors", "reason", "stop_data")

    def __init__(self, audit_log: AuditLog | None) -> None:
        self.log = audit_log
        self.reason = ""
        self.stop_data: dict[str, Any] = {}
        self.n_audit_errors = 0
        self._is_stopped = audit_log is None

    @classmethod
    def disabled(cls) -> "ProcAudit":
        """Return a `ProcAudit` that writes nothing."""
        return cls(None)

    @classmethod
    def start(
        cls,
        run_dir: Path,
        proc: str,
        config: object,
        *,
        argv: Sequence[str] | None = None,
        audit: AuditConfig | None = None,
        data: Mapping[str, Any] | None = None,
        path: Path | None = None,
        env: Mapping[str, str] | None = None,
    ) -> "ProcAudit":
        """Open ``<run_dir>/audit/<proc>.jsonl`` and write proc_start (and config_change).

        Parameters
        ----------
        run_dir : Path
            The run directory. The file goes to ``audit.dir`` instead when that is set, else
            to ``$VELOZ_AUDIT_DIR`` when that is set.
        proc : str
            Process name: the file name and the ``proc`` of every record.
        config : object
            The effective config (a frozen dataclass); flattened into per-key digests.
        argv : sequence of str, optional
            The process's arguments (default ``sys.argv[1:]``); secret-named flags redacted.
        audit : AuditConfig, optional
            File location and group commit; proc_start is fsync'd whatever the setting.
        data : Mapping, optional
            Extra proc_start fields (e.g. ``venue``).
        path : Path, optional
            An explicit file instead of ``audit_path(run_dir, proc, audit)``.
        env : Mapping, optional
            Where ``VELOZ_AUDIT_DIR`` is read (default ``os.environ``).

        Raises
        ------
        ConfigError
            Another writer holds the file, or a bad name / group-commit value.
        WireError
            The existing file's chain is broken (the process must not start on it).
        OSError
            The file cannot be created or written.
        """
        cfg = audit if audit is not None else AuditConfig()
        env_dir = (os.environ if env is None else env).get(AUDIT_DIR_ENV, "")
        if cfg.dir is None and env_dir:
            cfg = dataclasses.replace(cfg, dir=Path(env_dir))
        file = path if path is not None else audit_path(run_dir, proc, cfg)
        audit_log = AuditLog(file, proc, fsync_every=cfg.fsync_every, fsync_ms=cfg.fsync_ms)
        try:
            previous, last_kind = last_start(file)
            entries = config_entries(config)
            digest = config_digest(config)
            start = {
                "version": _version(),
                "argv": redact_argv(sys.argv[1:] if argv is None else argv),
                "config_sha256": digest,
                "previous_stop": _previous_stop(previous, last_kind),
                **(dict(data) if data else {}),
            }
            audit_log.append(Kind.PROC_START, _fit_entries(start, entries))
            if previous is not None:
                change = _config_change(previous, digest, entries)
                if change is not None:
                    audit_log.append(Kind.CONFIG_CHANGE, change)
                    log.info(
                        "audit.config_change proc=%s n_keys=%d since_seq=%s",
                        proc,
                        len(change.get("changed") or ()),
                        change["since_seq"],
                    )
            audit_log.sync()
        except BaseException:
            audit_log.close()
            raise
        return cls(audit_log)

    def append(self, kind: Kind | str, data: Mapping[str, Any] | None = None) -> int:
        """Append one record (see `AuditLog.append`); 0 when disabled or after `exit`.

        A failing write is counted in ``n_audit_errors`` and logged, never raised: the audit
        file must not stop a process that is stopping or handling an error.
        """
        if self.log is None or self._is_stopped:
            return 0
        try:
            return self.log.append(kind, data)
        except (OSError, ValueError) as exc:
            self.n_audit_errors += 1
            log.error("audit.append_failed kind=%s error=%s", kind, exc)
            return 0

    def exit(self, rc: int, reason: str = "", data: Mapping[str, Any] | None = None) -> int:
        """Write proc_stop (``rc``, ``reason``, `stop_data`, `data`), close, return `rc`.

        Idempotent: only the first call writes. `reason` defaults to `ProcAudit.reason`,
        else ``"return"``.
        """
        if not self._is_stopped:
            why = reason or self.reason or "return"
            fields = {**self.stop_data, **(dict(data) if data else {})}
            self.append(Kind.PROC_STOP, {"rc": rc, "reason": why, **fields})
            self._is_stopped = True
            self._close()
        return rc

    def __enter__(self) -> "ProcAudit":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._is_stopped:
            return
        if exc is None:
            self.exit(0)
        elif isinstance(exc, SystemExit):
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            self.exit(code, "system_exit")
        else:
            # The message is cut: exceptions never carry secrets (keys are `Secret`s), and
            # the full traceback belongs in the process's log, not the audit file.
            detail = {"error": type(exc).__name__, "message": str(exc)[:_MESSAGE_MAX]}
            rc = 130 if isinstance(exc, KeyboardInterrupt) else 1
            self.exit(rc, "exception", detail)

    def _close(self) -> None:
        if self.log is None:
            return
        try:
            self.log.close()
        except OSError as exc:
            self.n_audit_errors += 1
            log.error("audit.close_failed path=%s error=%s", self.log.path, exc)


# ---- internals ----------------------------------------------------------------------------


@functools.cache
def _version() -> str:
    # From the installed metadata: importing the `veloz` package itself would pull in layers
    # this one must not depend on.
    try:
        return importlib.metadata.version("veloz")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _kind_of(line: bytes) -> str:
    # The envelope's kind follows `"hash":"<64 hex>",` in canonical order (data comes first).
    at = line.rfind(b'","kind":"')
    if at < 0:
        return ""
    start = at + len(b'","kind":"')
    stop = line.find(b'"', start)
    return line[start:stop].decode("ascii", "replace") if stop > 0 else ""


def _own_start(line: bytes) -> dict[str, Any] | None:
    try:
        rec = json.loads(line)
    except ValueError:
        return None
    if not isinstance(rec, dict) or rec.get("kind") != Kind.PROC_START.value:
        return None
    data = rec.get("data")
    if not isinstance(data, dict) or "child" in data or "strategy" in data:
        return None
    try:
        if record_hash(rec) != rec.get("hash"):
            log.warning("audit.previous_start_bad_hash seq=%s: ignored", rec.get("seq"))
            return None
    except (TypeError, ValueError):
        return None
    return rec


def _previous_stop(previous: dict[str, Any] | None, last_kind: str) -> str:
    # "none": first start of this file; "clean": the last record is a proc_stop; "missing":
    # the previous run ended without one (killed, power loss, or group commit lost it).
    if previous is None and last_kind in ("", "genesis"):
        return "none"
    return "clean" if last_kind == Kind.PROC_STOP.value else "missing"


def _size(data: Mapping[str, Any]) -> int:
    return len(canonical(data))


def _fit_entries(start: dict[str, Any], entries: list[list[Any]]) -> dict[str, Any]:
    # Keep the per-key map within a record: values first go, then the map itself.
    full = {**start, "config_keys": entries}
    if _size(full) <= MAX_DATA_BYTES:
        return full
    digests = {**start, "config_keys": [e[:2] for e in entries]}
    if _size(digests) <= MAX_DATA_BYTES:
        return digests
    log.warning("audit.config_keys_omitted n_keys=%d: too large for one record", len(entries))
    return {**start, "config_keys_omitted": len(entries)}


def _config_change(
    previous: dict[str, Any], digest: str, entries: list[list[Any]]
) -> dict[str, Any] | None:
    pdata = previous["data"]
    old_digest = pdata.get("config_sha256")
    if old_digest == digest:
        return None
    change: dict[str, Any] = {
        "since_seq": previous.get("seq"),
        "old_config_sha256": old_digest,
        "new_config_sha256": digest,
    }
    old_entries = pdata.get("config_keys")
    if not isinstance(old_entries, list):
        change["changed"] = None  # the previous start kept no per-key map
        return change
    changed = diff_entries(old_entries, entries)
    change["changed"] = changed
    if _size(change) > MAX_DATA_BYTES:
        change["changed"] = [
            {k: v for k, v in c.items() if k in ("key", "old", "new")} for c in changed
        ]
    while _size(change) > MAX_DATA_BYTES and change["changed"]:
        change["changed"] = change["changed"][: len(change["changed"]) // 2]
        change["n_changed"] = len(changed)
    return change
