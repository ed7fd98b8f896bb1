"""Password hashing, JWT encoding/decoding, API key generation and hashing, encryption at rest:
pure functions.

Hashing is CPU-bound (bcrypt): callers run it in a worker thread, never on the event loop.
"""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Literal

from cryptography.fernet import Fernet, MultiFernet
from jose import JWTError, jwt
from passlib.context import CryptContext

BCRYPT_MAX_BYTES = 72
TokenType = Literal["access", "refresh"]


class PasswordHasher:
    """bcrypt through passlib (the `libpass` fork), with a fixed work factor."""

    def __init__(self, rounds: int) -> None:
        self._context = CryptContext(schemes=["bcrypt"], bcrypt__rounds=rounds)

    def hash(self, password: str) -> str:
        return self._context.hash(password)

    def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one used other rounds and should be replaced)."""
        if len(password.encode()) > BCRYPT_MAX_BYTES or "\x00" in password:
            return False, None  # no stored password is like that; bcrypt would refuse it
        return self._context.verify_and_update(password, password_hash)

    @cached_property
    def _dummy_hash(self) -> str:
        return self.hash(secrets.token_urlsafe(16))

    def verify_dummy(self, password: str) -> None:
        """Spend the time a real verification takes, for unknown accounts."""
        self.verify(password, self._dummy_hash)


@lru_cache
def password_hasher(rounds: int) -> PasswordHasher:
    return PasswordHasher(rounds)


@dataclass(frozen=True)
class TokenClaims:
    subject: int
    token_type: TokenType
    jti: uuid.UUID
    session_id: uuid.UUID
    issued_at: datetime
    expires_at: datetime


class InvalidToken(Exception):
    """Bad signature, wrong algorithm, expired, malformed, or of the wrong type."""


def encode_token(
    *,
    secret: str,
    user_id: int,
    token_type: TokenType,
    session_id: uuid.UUID,
    lifetime: timedelta,
    algorithm: str = "HS256",
) -> tuple[str, TokenClaims]:
    issued_at = datetime.now(UTC).replace(microsecond=0)
    claims = TokenClaims(
        subject=user_id,
        token_type=token_type,
        jti=uuid.uuid4(),
        session_id=session_id,
        issued_at=issued_at,
        expires_at=issued_at + lifetime,
    )
    payload = {
        "sub": str(user_id),
        "type": token_type,
        "jti": str(claims.jti),
        "sid": str(claims.session_id),
        "iat": int(issued_at.timestamp()),
        "exp": int(claims.expires_at.timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=algorithm), claims


def decode_token(
    token: str, *, secret: str, expected_type: TokenType, algorithm: str = "HS256"
) -> TokenClaims:
    try:
        # A fixed algorithm list refuses `alg: none` and algorithm-confusion tokens.
        payload = jwt.decode(
            token,
            secret,
            algorithms=[algorithm],
            options={"require_exp": True, "require_iat": True, "require_sub": True},
        )
        claims = TokenClaims(
            subject=int(payload["sub"]),
            token_type=payload["type"],
            jti=uuid.UUID(payload["jti"]),
            session_id=uuid.UUID(payload["sid"]),
            issued_at=datetime.fromtimestamp(payload["iat"], UTC),
            expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        )
    except (JWTError, KeyError, TypeError, ValueError) as error:
        raise InvalidToken(str(error)) from error
    if claims.token_type != expected_type:
        raise InvalidToken(f"expected a {expected_type} token")
    return claims


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


API_KEY_RANDOM_BYTES = 24  # 32 URL-safe characters after the prefix


def generate_api_key(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(API_KEY_RANDOM_BYTES)


@lru_cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(keys: tuple[str, ...], plaintext: str) -> str:
    """Fernet-encrypt with the first key (AES-128-CBC + HMAC-SHA256, timestamped)."""
    return _cipher(keys).encrypt(plaintext.encode()).decode()


def decrypt(keys: tuple[str, ...], token: str) -> str:
    """Decrypt with whichever key encrypted it; raises `cryptography.fernet.InvalidToken`."""
    return _cipher(keys).decrypt(token.encode()).decode()
