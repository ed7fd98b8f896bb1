"""The task worker's tasks by name, bound to a process's database and settings."""

from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.services import emails, passwords
from app.services.task_queue import Task


def background_tasks(sessionmaker: async_sessionmaker, settings: Settings) -> dict[str, Task]:
    async def send_email(email_id: str, payload: str) -> None:
        await emails.deliver(sessionmaker, settings, email_id=email_id, payload=payload)

    async def issue_password_reset(payload: str) -> None:
        await passwords.issue_reset_link(sessionmaker, settings, payload=payload)

    return {emails.SEND_EMAIL: send_email, passwords.ISSUE_PASSWORD_RESET: issue_password_reset}
