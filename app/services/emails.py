"""The security emails: what each one says, queued in the outbox with the change it reports.

Each holds no secret but the password-reset link; client details (user agent, network) are
shown as plain text, control characters removed.
"""

import unicodedata
from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.services import outbox
from app.services.clients import ClientInfo
from app.services.mailer import Email, message_id_for, send

SEND_EMAIL = "send_email"
_SIGNATURE = "\n\n-- \nMonte Carlo Simulation: this is an automatic security notice."


def _plain(text: str | None) -> str:
    if not text:
        return "unknown"
    return "".join(" " if unicodedata.category(c).startswith("C") else c for c in text).strip()


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


async def send_email(db: AsyncSession, settings: Settings, payload: dict, outbox_id: int) -> None:
    """The outbox task that delivers one queued email."""
    await send(settings, Email(**payload), message_id=message_id_for(settings, outbox_id))


async def _queue(
    db: AsyncSession,
    settings: Settings,
    *,
    to: str,
    subject: str,
    body: str,
    dedupe_key: str | None = None,
) -> None:
    email = Email(to=to, subject=subject, body=body + _SIGNATURE)
    await outbox.enqueue(
        db, settings=settings, task=SEND_EMAIL, payload=asdict(email), dedupe_key=dedupe_key
    )


async def new_device(
    db: AsyncSession, settings: Settings, *, to: str, client: ClientInfo, at: datetime
) -> None:
    await _queue(
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
    await _queue(
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
    await _queue(
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
    await _queue(
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
    await _queue(
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
    await _queue(
        db,
        settings,
        to=to,
        subject="An API key expires soon",
        body=f'Your API key "{_plain(key_name)}" ({key_preview}) expires on {_when(expires_at)}.'
        "\n\nScripts that use it will then get 401 answers: generate a new key and switch them "
        "over before that date.",
        dedupe_key=f"api-key-expiring:{key_id}",
    )
