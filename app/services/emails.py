"""The security emails: what each one says, queued on the task queue with the change it reports,
and the task that sends one.

Each holds no secret but the password-reset link; client details (user agent, network) are
shown as plain text, control characters removed. The job's payload is encrypted with
DATA_ENCRYPTION_KEY and deleted once sent. Sending is guarded by the email's
`email_deliveries` row: sent at most once, short of a crash between the SMTP server's
acceptance and the commit (then re-sent with the same Message-ID).
"""

import json
import logging
import unicodedata
import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from cryptography.fernet import InvalidToken
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.models import EmailDelivery
from app.security import decrypt, encrypt
from app.services import task_queue
from app.services.clients import ClientInfo
from app.services.mailer import Email, message_id_for, send
from app.services.task_queue import PermanentFailure

logger = logging.getLogger(__name__)

SEND_EMAIL = "send_email"
SENT_RETENTION = timedelta(days=30)
_SIGNATURE = "\n\n-- \nMonte Carlo Simulation: this is an automatic security notice."


def _plain(text: str | None) -> str:
    if not text:
        return "unknown"
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text).strip()


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


async def queue_email(
    db: AsyncSession,
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    email_id: str | None = None,
) -> None:
    """Queue the email in `db`'s transaction; an `email_id` already queued queues nothing."""
    email_id = email_id or f"email-{uuid.uuid4().hex}"
    guarded = await db.scalar(
        insert(EmailDelivery)
        .values(email_id=email_id)
        .on_conflict_do_nothing(index_elements=["email_id"])
        .returning(EmailDelivery.email_id)
    )
    if guarded is None:
        return
    email = Email(to=to, subject=subject, body=body + _SIGNATURE)
    payload = encrypt(settings.data_encryption_keys(), json.dumps(asdict(email)))
    await task_queue.defer(
        db, settings=settings, task=SEND_EMAIL, email_id=email_id, payload=payload
    )


async def deliver(
    sessionmaker: async_sessionmaker, settings: Settings, *, email_id: str, payload: str
) -> None:
    """The task that sends one queued email, unless it was sent already."""
    try:
        email = Email(**json.loads(decrypt(settings.data_encryption_keys(), payload)))
    except InvalidToken as error:
        raise PermanentFailure("payload not readable with DATA_ENCRYPTION_KEY") from error
    async with sessionmaker() as db, db.begin():
        guard = await db.scalar(
            select(EmailDelivery).where(EmailDelivery.email_id == email_id).with_for_update()
        )
        if guard is None:  # queued by hand, or its guard pruned: a new one, held from now
            guard = EmailDelivery(email_id=email_id)
            db.add(guard)
            await db.flush()
        elif guard.sent_at is not None:
            logger.info("email already sent", extra={"email_id": email_id})
            return
        await send(settings, email, message_id=message_id_for(settings, email_id))
        guard.sent_at = datetime.now(UTC)


async def prune_sent(db: AsyncSession) -> int:
    """Forget emails sent more than 30 days ago (their guards have done their job)."""
    cutoff = datetime.now(UTC) - SENT_RETENTION
    result = await db.execute(delete(EmailDelivery).where(EmailDelivery.sent_at < cutoff))
    await db.commit()
    return result.rowcount


async def new_device(
    db: AsyncSession, settings: Settings, *, to: str, client: ClientInfo, at: datetime
) -> None:
    await queue_email(
        db,
        settings,
        to=to,
        subject="New sign-in to your account",
        body=f"Your account {to} was signed in to on {_when(at)} from a device we had not seen:\n\n"
        f"  Browser or app: {_plain(client.user_agent)}\n"
        f"  Network: {_plain(client.network)}\n\n"
        "If this was you, there is nothing to do. If not, change your password now and end "
        "that session in your list of signed-in devices.",
    )


async def lockout(
    db: AsyncSession,
    settings: Settings,
    *,
    to: str,
    client: ClientInfo,
    failures: int,
    minutes: float,
) -> None:
    await queue_email(
        db,
        settings,
        to=to,
        subject="Failed sign-ins to your account",
        body=f"There were {failures} failed sign-ins to your account {to} from network "
        f"{_plain(client.network)}. That address may not sign in to your account for the next "
        f"{minutes:g} minutes; you can still sign in from anywhere else.\n\n"
        "If this was not you, someone may be guessing your password: choose a strong one and "
        "turn on two-factor authentication.",
    )


async def two_factor_changed(
    db: AsyncSession, settings: Settings, *, to: str, enabled: bool, client: ClientInfo
) -> None:
    state = "turned on" if enabled else "turned off"
    await queue_email(
        db,
        settings,
        to=to,
        subject=f"Two-factor authentication {state}",
        body=f"Two-factor authentication was {state} for your account {to}, from network "
        f"{_plain(client.network)}.\n\nIf this was not you, reset your password now.",
    )


async def password_changed(
    db: AsyncSession, settings: Settings, *, to: str, reset: bool, client: ClientInfo
) -> None:
    how = "reset with an emailed link" if reset else "changed"
    await queue_email(
        db,
        settings,
        to=to,
        subject="Your password was changed",
        body=f"The password of your account {to} was {how}, from network "
        f"{_plain(client.network)}. Every other signed-in device was signed out.\n\n"
        "If this was not you, reset your password now and review your signed-in devices.",
    )


async def password_reset_link(
    db: AsyncSession, settings: Settings, *, to: str, link: str, minutes: int
) -> None:
    await queue_email(
        db,
        settings,
        to=to,
        subject="Reset your password",
        body=f"Someone asked to reset the password of your account {to}. To choose a new one, "
        f"open this link within {minutes} minutes (it works once):\n\n{link}\n\n"
        "If you did not ask, ignore this email: your password stays as it is.",
    )


async def api_key_expiring(
    db: AsyncSession,
    settings: Settings,
    *,
    to: str,
    key_id: int,
    key_name: str,
    key_preview: str,
    expires_at: datetime,
) -> None:
    await queue_email(
        db,
        settings,
        to=to,
        subject="An API key expires soon",
        body=f'Your API key "{_plain(key_name)}" ({key_preview}) expires on {_when(expires_at)}.'
        "\n\nScripts that use it will then get 401 answers: generate a new key and switch them "
        "over before that date.",
        email_id=f"api-key-expiring-{key_id}",
    )
