"""Privacy guard: shared database, detector backends, masking, keyed text embeddings."""

from .database import DatabaseError, Entry, PrivacyDatabase
from .guard import Finding, GuardResult, PrivacyGuard, default_backends

__all__ = ["DatabaseError", "Entry", "PrivacyDatabase", "Finding", "GuardResult", "PrivacyGuard", "default_backends"]
