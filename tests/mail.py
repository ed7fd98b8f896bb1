"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests to read."""

import asyncio
import socket
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi import FastAPI
from sqlalchemy import text

REFUSED_RECIPIENT = "refused@example.com"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Inbox:
    """Messages received by the server, in order; `start` and `stop` it on a fixed port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address == REFUSED_RECIPIENT:
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 Message accepted"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict:
        """App settings that send to this server, polling often so tests stay short."""
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": self.port,
            "SMTP_STARTTLS": False,
            "SMTP_TIMEOUT_SECONDS": 2.0,
            "EMAIL_POLL_SECONDS": 0.05,
            "EMAIL_RETRY_MAX_SECONDS": 0.2,
        }

    def to(self, recipient: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == recipient]

    async def wait_for(self, count: int, *, recipient: str | None = None, seconds: float = 10):
        """The first `count` messages (to `recipient`), once they have arrived."""
        deadline = time.monotonic() + seconds
        while True:
            received = self.to(recipient) if recipient else self.messages
            if len(received) >= count:
                return received[:count]
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(received)} of {count} emails after {seconds} s")
            await asyncio.sleep(0.02)


async def queue_drained(app: FastAPI, seconds: float = 10) -> None:
    """Wait until the app's email queue holds no job to run or running (sent, or failed)."""
    queue = app.state.settings.EMAIL_QUEUE
    deadline = time.monotonic() + seconds
    while True:
        async with app.state.database.sessionmaker() as db:
            waiting = await db.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs "
                    "WHERE queue_name = :queue AND status IN ('todo', 'doing')"
                ),
                {"queue": queue},
            )
        if waiting == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{waiting} emails still queued after {seconds} s")
        await asyncio.sleep(0.05)


def body_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
