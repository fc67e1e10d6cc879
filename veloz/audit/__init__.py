"""Hash-chained, fsync'd audit log of critical actions, and its verifier.

Owns the audit file format and its integrity check; imports stdlib, model and errors only.
Must not hold or log secrets, and is wired into processes by `procs/`, never by itself.
"""

from veloz.audit.log import AuditConfig
from veloz.audit.log import AuditLog
from veloz.audit.log import audit_path
from veloz.audit.proc import ProcAudit
from veloz.audit.record import Kind
from veloz.audit.verify import Finding
from veloz.audit.verify import Problem
from veloz.audit.verify import Report
from veloz.audit.verify import verify

__all__ = [
    "AuditConfig",
    "AuditLog",
    "Finding",
    "Kind",
    "Problem",
    "ProcAudit",
    "Report",
    "audit_path",
    "verify",
]
