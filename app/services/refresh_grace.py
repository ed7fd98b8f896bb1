"""Two tabs refreshing at once: the same refresh token, presented again within
REFRESH_REUSE_GRACE_SECONDS of its rotation, gets the pair that rotation issued.

That pair is kept with the rotated token, sealed (AES-256-GCM) under a key derived from the old
refresh token itself: only a holder of that token can open it, and a copy of the database alone
cannot. Outside the window, a second use is a reuse as before and ends the session.
"""

import dataclasses
import json
import os
import uuid
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_INFO = b"monte-carlo refresh grace v1"
_NONCE_BYTES = 12


def _key(old_refresh_token: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        old_refresh_token.encode()
    )


def seal(old_refresh_token: str, successor: Any) -> bytes:
    """The successor pair (sessions.IssuedTokens), readable only with the token it replaced."""
    payload = json.dumps(dataclasses.asdict(successor), default=str).encode()
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(_key(old_refresh_token)).encrypt(nonce, payload, None)


def within_grace(rotated_at: datetime, now: datetime, grace_seconds: float) -> bool:
    return grace_seconds > 0 and now - rotated_at <= timedelta(seconds=grace_seconds)


def unseal(old_refresh_token: str, sealed: bytes, *, elapsed: timedelta) -> dict[str, Any]:
    """The fields of the pair sealed at rotation, its lifetimes counted down by the time since."""
    nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
    fields = json.loads(AESGCM(_key(old_refresh_token)).decrypt(nonce, ciphertext, None))
    spent = int(elapsed.total_seconds())
    fields["session_id"] = uuid.UUID(fields["session_id"])
    for lifetime in ("access_expires_in", "refresh_expires_in"):
        fields[lifetime] = max(0, fields[lifetime] - spent)
    return fields
