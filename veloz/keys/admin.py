"""Operator commands on the key store: add or remove one key with its audit record, and the
rows of the key listing.

Owns the ``operator_command`` record of ``veloz keys add|remove`` (command, key name,
backend, venue, scope, kind, replace, result, and the error of a refused one), written
through `AuditSink` whatever the outcome, and the table ``veloz keys list`` prints. Must not
read a secret from anywhere (the caller hands in a made `ApiKey`), print (lines go to the
caller's ``say``), import the audit package, or put a secret or a whole API key in a record
or a line.
"""

from collections.abc import Callable
from typing import Any

from veloz.errors import ConfigError
from veloz.keys.store import ApiKey
from veloz.keys.store import AuditSink
from veloz.keys.store import KeyInfo
from veloz.keys.store import KeyStore

__all__ = ["change_key", "key_table"]


def change_key(
    store: KeyStore,
    name: str,
    key: ApiKey | None,
    *,
    replace: bool,
    audit: AuditSink,
    say: Callable[[str], None],
) -> None:
    """Store `key` (or, when it is None, remove the key called `name`) and audit the attempt.

    Parameters
    ----------
    store : KeyStore
        Where the key goes or comes from.
    name : str
        The key's name (`key`'s own when adding).
    key : ApiKey or None
        The key to add; None removes `name`.
    replace : bool
        Overwrite a key of that name when adding.
    audit : AuditSink
        Gets one ``operator_command`` record, ``result`` ok or refused.
    say : callable
        Gets the one line telling what was done (``print`` in ``veloz keys``).

    Raises
    ------
    ConfigError
        The store refused (duplicate or unknown name, wrong passphrase); audited first.
    OSError
        The audit record could not be written.
    """
    rec: dict[str, Any] = {"command": "keys add" if key is not None else "keys remove"}
    rec["key"] = name
    rec["backend"] = store.backend
    try:
        if key is not None:
            rec |= {"venue": key.venue, "scope": key.scope, "kind": key.kind}
            rec["replace"] = bool(replace)
            store.add(key, replace=replace)
            say(f"stored key {key.name} ({key.venue}, {key.scope}) in {store.backend}")
        else:
            info = store.remove(name)
            rec |= {"venue": info.venue, "scope": info.scope, "kind": info.kind}
            say(f"removed key {name} from {store.backend}")
    except ConfigError as exc:
        audit.append("operator_command", rec | {"result": "refused", "error": str(exc)[:200]})
        raise
    audit.append("operator_command", rec | {"result": "ok"})


def key_table(infos: list[KeyInfo]) -> list[str]:
    """Return the lines of ``veloz keys list``: a header and one row per key in `infos`,
    columns padded to width; no lines when there is no key."""
    rows = [("NAME", "VENUE", "SCOPE", "KIND", "API KEY", "BACKEND")]
    rows += [(i.name, i.venue, i.scope, i.kind, i.api_key_hint, i.backend) for i in infos]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
        for r in (rows if infos else [])
    ]
