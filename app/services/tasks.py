"""The outbox's tasks by name: what a job queue's task registry would hold."""

from app.services import emails, passwords
from app.services.outbox import Task

TASKS: dict[str, Task] = {
    emails.SEND_EMAIL: emails.send_email,
    passwords.ISSUE_PASSWORD_RESET: passwords.issue_reset_link,
}
