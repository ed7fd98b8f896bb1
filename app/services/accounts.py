"""Accounts: registration, and the admin commands that create or promote one."""

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import AuditEventType, User
from app.services import audit
from app.services.clients import ClientInfo
from app.services.errors import Conflict, NotFound
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
        await db.flush()
    except IntegrityError as error:
        await db.rollback()
        raise Conflict("An account with this email already exists") from error
    audit.record(db, AuditEventType.USER_REGISTERED, client=client, user_id=user.id)
    await db.commit()
    return user


COMMAND_LINE = ClientInfo(ip=None, user_agent="python -m app create-admin")


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
    await db.flush()
    audit.record(db, AuditEventType.ADMIN_GRANTED, client=COMMAND_LINE, user_id=user.id)
    await db.commit()
    return user, generated


async def set_status(
    db: AsyncSession, *, admin: User, user_id: int, status: str, client: ClientInfo
) -> User:
    """An admin disables or enables an account. Disabling ends all its sessions (a trigger on
    users does it, for plain SQL too); an admin cannot disable their own account."""
    user = await db.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("User not found")
    if user.id == admin.id and status == "disabled":
        raise Conflict("You cannot disable your own account")
    if user.status != status:
        user.status = status
        event = (
            AuditEventType.USER_DISABLED if status == "disabled" else AuditEventType.USER_ENABLED
        )
        audit.record(
            db,
            event,
            client=client,
            user_id=user.id,
            actor_id=admin.id,
            object_type="user",
            object_id=user.id,
        )
        await db.commit()
        await db.refresh(user)
    return user


def generate_password() -> str:
    """A random password that satisfies the password rules."""
    return "Aa1" + secrets.token_urlsafe(18)
