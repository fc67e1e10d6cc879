"""Key storage: named venue API keys, sealed at rest, handed out by scope and process.

Owns `Secret`, the key store backends and `load`. Must not import venues, the bus or logging
setup, and must never let secret material reach a log, argv, config or the bus.
"""

from veloz.keys.secret import Secret
from veloz.keys.store import ApiKey
from veloz.keys.store import AuditSink
from veloz.keys.store import KeyInfo
from veloz.keys.store import KeyStore
from veloz.keys.store import load
from veloz.keys.store import make_key
from veloz.keys.store import open_store

__all__ = ["ApiKey", "AuditSink", "KeyInfo", "KeyStore", "Secret", "load", "make_key", "open_store"]
