"""Accounts: registration, and the admin commands that create or promote one."""

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import User
from app.services.audit import log_security_event
from app.services.clients import ClientInfo
from app.services.errors import Conflict
from app.services.hashing import hash_password


async def register_user(
    db: AsyncSession,
    *,
    settings: Settings,
    email: str,
    password: str,
    full_name: str | None,
    company: str | None,
    client: ClientInfo,
) -> User:
    """Create an account. The unique index on email decides duplicates, races included."""
    user = User(
        email=email,
        password_hash=await hash_password(settings, password),
        full_name=full_name,
        company=company,
    )
    db.add(user)
    try:
        await db.commit()
    except IntegrityError as error:
        await db.rollback()
        raise Conflict("An account with this email already exists") from error
    log_security_event("user_registered", client, user.id)
    return user


async def make_admin(
    db: AsyncSession, *, settings: Settings, email: str, password: str | None
) -> tuple[User, str | None]:
    """Promote the account with this email to admin, or create it as an admin.

    Returns the user and, when an account was created without a given password, the generated
    one (shown once).
    """
    user = await db.scalar(select(User).where(User.email == email).with_for_update())
    generated = None
    if user is None:
        if password is None:
            generated = password = generate_password()
        user = User(email=email, password_hash=await hash_password(settings, password))
        db.add(user)
    user.role = "admin"
    await db.commit()
    return user, generated


def generate_password() -> str:
    """A random password that satisfies the password rules."""
    return "Aa1" + secrets.token_urlsafe(18)
