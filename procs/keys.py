"""`veloz keys add|list|remove`: manage the named API keys of `veloz.keys`.

Secrets come only from stdin, a PEM file or a terminal prompt, never from argv; output shows
API keys as a 4+4 hint and never a secret. ``add`` and ``remove`` are operator commands: each
attempt that reaches the store is an ``operator_command`` audit record (key name, venue,
scope, kind, backend, result; never the secret or the API key) in ``<run>/audit/keys.jsonl``
with ``--run-dir``, else in ``$VELOZ_AUDIT_DIR``, else in ``audit/keys.jsonl`` beside the key
file (`audit_dir`). Exit codes: 0 done, 1 store refused (wrong passphrase, unknown or
duplicate name, audit file unusable), 2 bad usage or input.
"""

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from veloz import log as vlog
from veloz.audit import AuditLog
from veloz.audit.proc import AUDIT_DIR_ENV
from veloz.errors import ConfigError
from veloz.errors import WireError
from veloz.keys.admin import change_key
from veloz.keys.admin import key_table
from veloz.keys.store import AUDIT_PROC
from veloz.keys.store import SCOPES
from veloz.keys.store import ApiKey
from veloz.keys.store import audit_dir
from veloz.keys.store import make_key
from veloz.keys.store import open_store

log = logging.getLogger(__name__)


class _Usage(Exception):
    """Bad input on the command line or stdin: exit 2 with its one line."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="veloz keys",
        description="Store, list and remove venue API keys (system keyring, else a file "
        "sealed with a passphrase from VELOZ_KEYS_PASSPHRASE or a prompt).",
    )
    p.add_argument("--backend", choices=["auto", "keyring", "file"], help="default: auto")
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default="WARNING")
    p.add_argument(
        "--run-dir", type=Path, metavar="DIR", help="audit to DIR/audit (default: beside keys)"
    )
    sub = p.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="store a key (secret from stdin, a PEM file or a prompt)")
    add.add_argument("name")
    add.add_argument("--venue", required=True, help="e.g. binance-spot, binance-usdm")
    add.add_argument("--scope", required=True, choices=SCOPES)
    add.add_argument("--api-key-stdin", action="store_true", help="API key: first stdin line")
    src = add.add_mutually_exclusive_group()
    src.add_argument("--secret-stdin", action="store_true", help="HMAC secret: next stdin line")
    src.add_argument("--ed25519-pem", type=Path, metavar="FILE", help="Ed25519 PKCS#8 PEM")
    add.add_argument("--replace", action="store_true", help="overwrite a key of that name")
    sub.add_parser("list", help="show name, venue, scope, kind, API key hint and backend")
    rm = sub.add_parser("remove", help="delete a key")
    rm.add_argument("name")
    return p


def _read_key(args: argparse.Namespace) -> ApiKey:
    lines = iter(sys.stdin.read().splitlines()) if args.api_key_stdin or args.secret_stdin else None
    is_tty = sys.stdin.isatty()
    if lines is not None and args.api_key_stdin:
        api_key = next(lines, "").strip()
    elif is_tty:
        api_key = input("API key: ").strip()
    else:
        raise _Usage("no API key: pass --api-key-stdin or run in a terminal")
    if args.ed25519_pem is not None:
        try:
            secret, kind = args.ed25519_pem.read_text(), "ed25519"
        except (OSError, UnicodeDecodeError) as exc:
            raise _Usage(f"--ed25519-pem {args.ed25519_pem}: cannot read: {exc}") from None
    elif lines is not None and args.secret_stdin:
        secret, kind = next(lines, "").strip(), "hmac"
    elif is_tty:
        secret, kind = getpass.getpass("HMAC secret: ").strip(), "hmac"
    else:
        raise _Usage("no secret: pass --secret-stdin, --ed25519-pem FILE, or run in a terminal")
    if not api_key:
        raise _Usage("the API key is empty")
    if not secret:
        raise _Usage("the secret is empty")
    try:
        return make_key(args.name, args.venue, args.scope, kind, api_key, secret)
    except ConfigError as exc:
        raise _Usage(str(exc)) from None


def main(argv: list[str] | None = None) -> int:
    """Run ``veloz keys ...``; return 0, 1 (store refused) or 2 (bad usage)."""
    try:
        # parse_known_args so a mistyped `--secret VALUE` is refused without echoing VALUE.
        args, extra = _parser().parse_known_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if extra:
        print(
            f"veloz keys: {len(extra)} unrecognized argument(s), not shown as they may hold a "
            "secret; secrets go on stdin (--secret-stdin) or in --ed25519-pem FILE",
            file=sys.stderr,
        )
        return 2
    vlog.setup(args.log_level)
    try:
        if args.action == "list":
            store = open_store(backend=args.backend)
            print("\n".join(key_table(store.entries()) or [f"no keys in {store.backend}"]))
            return 0
        key = _read_key(args) if args.action == "add" else None
        with _open_audit(args.run_dir) as audit:
            store = open_store(backend=args.backend)
            replace = key is not None and args.replace
            change_key(store, args.name, key, replace=replace, audit=audit, say=print)
            return 0
    except _Usage as exc:
        print(f"veloz keys: {exc}", file=sys.stderr)
        return 2
    except (ConfigError, WireError, OSError) as exc:
        print(f"veloz keys: {exc}", file=sys.stderr)
        return 1


def _open_audit(run_dir: Path | None) -> AuditLog:
    # Opened before the store is touched: no key change happens unaudited.
    if run_dir is not None:
        return AuditLog.in_run_dir(run_dir, AUDIT_PROC)
    where = Path(os.environ.get(AUDIT_DIR_ENV) or audit_dir(os.environ))
    return AuditLog(where / f"{AUDIT_PROC}.jsonl", AUDIT_PROC)


if __name__ == "__main__":
    raise SystemExit(main())
