"""Keys of the link, derived from the database secret, and the authenticated encryption they give.

From the 32-byte secret HKDF-SHA256 derives one key per purpose (the ``info`` labels below), so
no key serves two jobs:

- ``aead``: AES-256-GCM key sealing each EMBEDDING message (a fresh random 96-bit nonce per
  message; the frame's identifying fields as associated data, see :mod:`~sdr_semcom.privacy.wire`).
- ``key-id``: 8 bytes sent in clear, so a receiver tells "sealed under another key" apart from
  "altered on the way" without trying to decrypt.
- ``db-version``: HMAC key for an 8-byte tag of :attr:`PrivacyDatabase.entries_hash`, sent in
  clear: two holders of the same secret see whether their entries agree, while an eavesdropper
  cannot test guesses of the entries against it.

This replaces the earlier keyed rotation of the embedding (a fixed orthogonal matrix per
database): rotations keep inner products, so ciphertexts of guessable descriptions gave the
enrolled identity away (issue #11).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .database import PrivacyDatabase

KEY_ID_LEN = 8
VERSION_TAG_LEN = 8
NONCE_LEN = 12
TAG_LEN = 16

#: The results of :meth:`LinkKeys.check`.
KEY_OK = "ok"
KEY_MISMATCH = "key mismatch"
DATABASE_DIFFERS = "database differs (same secret, other entries)"


class AuthenticationFailed(ValueError):
    """A sealed message did not verify: another key, or altered on the way (never partial plaintext)."""


def _derive(secret: bytes, label: str, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=f"sdr-semcom/{label}/v1".encode()).derive(secret)


@dataclass(frozen=True)
class LinkKeys:
    """The keys one database gives the link.

    Parameters
    ----------
    key_id : bytes
        8 bytes, sent in clear beside each sealed message.
    version_tag : bytes
        8-byte keyed tag of the database's entries, sent in clear.

    Build with :meth:`from_database` (or :meth:`from_secret`); the key material never shows in ``repr``.
    """

    key_id: bytes
    version_tag: bytes
    _aead_key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: bytes, entries_hash: str) -> "LinkKeys":
        if len(secret) < 16:
            raise ValueError(f"the database secret must be at least 16 bytes, got {len(secret)}")
        tag = hmac.new(_derive(secret, "db-version", 32), entries_hash.encode(), hashlib.sha256).digest()
        return cls(_derive(secret, "key-id", KEY_ID_LEN), tag[:VERSION_TAG_LEN], _derive(secret, "aead", 32))

    @classmethod
    def from_database(cls, db: PrivacyDatabase) -> "LinkKeys":
        return cls.from_secret(db.secret, db.entries_hash)

    def check(self, key_id: bytes, version_tag: bytes) -> str:
        """Compare a sender's clear key fields with ours: :data:`KEY_OK`, :data:`KEY_MISMATCH` or
        :data:`DATABASE_DIFFERS`."""
        if not hmac.compare_digest(key_id, self.key_id):
            return KEY_MISMATCH
        if not hmac.compare_digest(version_tag, self.version_tag):
            return DATABASE_DIFFERS
        return KEY_OK

    def seal(self, plaintext: bytes, associated: bytes, randbytes: Callable[[int], bytes] = os.urandom) -> bytes:
        """``nonce (12 B) | ciphertext | tag (16 B)``; a fresh random nonce each call, drawn from
        ``randbytes`` (default ``os.urandom``; a seeded source only for runs that must repeat, e.g.
        ``sdr-semcom eval``: never on the air, where a repeated nonce under one key breaks GCM)."""
        nonce = randbytes(NONCE_LEN)
        if len(nonce) != NONCE_LEN:
            raise ValueError(f"randbytes gave {len(nonce)} B for a {NONCE_LEN}-byte nonce")
        return nonce + AESGCM(self._aead_key).encrypt(nonce, plaintext, associated)

    def open(self, sealed: bytes, associated: bytes) -> bytes:
        """The plaintext of :meth:`seal`'s output; :class:`AuthenticationFailed` if it does not verify."""
        if len(sealed) < NONCE_LEN + TAG_LEN:
            raise AuthenticationFailed(f"sealed message of {len(sealed)} B is shorter than nonce + tag")
        try:
            return AESGCM(self._aead_key).decrypt(sealed[:NONCE_LEN], sealed[NONCE_LEN:], associated)
        except InvalidTag:
            raise AuthenticationFailed("authentication failed") from None
