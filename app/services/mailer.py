"""Sending one email over SMTP (aiosmtplib), or logging it when SMTP_HOST is unset."""

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, parseaddr

import aiosmtplib

from app.config import Settings
from app.services.task_queue import PermanentFailure, TemporaryFailure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


def compose(settings: Settings, email: Email, *, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.MAIL_FROM
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.body)
    return message


def message_id_for(settings: Settings, email_id: str) -> str:
    """The same id on every try of one email: a receiver can drop a re-sent duplicate."""
    domain = parseaddr(settings.MAIL_FROM)[1].rpartition("@")[2] or "localhost"
    return f"<{email_id}@{domain}>"


async def send(settings: Settings, email: Email, *, message_id: str) -> None:
    """Hand the email to the SMTP server. A refused recipient or message is a
    `PermanentFailure`; anything else (down, busy, timeout, login) a `TemporaryFailure`."""
    if not settings.SMTP_HOST:
        # Development: the message is the delivery (reset links included). Production without
        # SMTP keeps the bodies out of the logs.
        body = None if settings.is_production else email.body
        logger.info(
            "email not sent (SMTP_HOST unset)",
            extra={"to": email.to, "subject": email.subject, "body": body},
        )
        return
    message = compose(settings, email, message_id=message_id)
    password = settings.SMTP_PASSWORD.get_secret_value() if settings.SMTP_PASSWORD else None
    try:
        await aiosmtplib.send(
            message,
            hostname=settings.SMTP_HOST,
            port=settings.SMTP_PORT,
            username=settings.SMTP_USERNAME,
            password=password,
            start_tls=settings.SMTP_STARTTLS,
            timeout=settings.SMTP_TIMEOUT_SECONDS,
        )
    except aiosmtplib.SMTPRecipientsRefused as error:
        raise PermanentFailure(f"recipient refused: {error}") from error
    except aiosmtplib.SMTPDataError as error:
        if error.code >= 500:
            raise PermanentFailure(f"message refused: {error}") from error
        raise TemporaryFailure(str(error)) from error
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
        raise TemporaryFailure(f"{type(error).__name__}: {error}") from error
