"""Privacy guard: shared database, detector backends, masking, and the sealed descriptions of what was removed."""

from .database import DatabaseError, Entry, PrivacyDatabase
from .guard import Finding, GuardResult, PrivacyGuard, default_backends

__all__ = ["DatabaseError", "Entry", "PrivacyDatabase", "Finding", "GuardResult", "PrivacyGuard", "default_backends"]
