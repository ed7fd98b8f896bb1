"""The outbox sender against a real SMTP server: retried while it is down, delivered once."""

import asyncio
import logging
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import OutboxMessage
from app.services import emails, outbox
from app.services.clients import ClientInfo
from tests.conftest import AppClient, ClientFactory
from tests.mail import REFUSED_RECIPIENT, Inbox, free_port

PHONE = ClientInfo(ip="198.51.100.5", user_agent="Phone/1.0")


async def queue_emails(client: AppClient, *recipients: str) -> None:
    settings = client.app.state.settings
    async with client.app.state.database.sessionmaker() as db:
        for recipient in recipients:
            await emails.two_factor_changed(db, settings, to=recipient, enabled=True, client=PHONE)
        await db.commit()


async def rows(db: AsyncSession) -> list[OutboxMessage]:
    db.expire_all()
    return list(await db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def wait_until(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_smtp_down_then_up_delivers_once(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    inbox = Inbox(free_port())  # not started yet: connections are refused
    client = await client_factory(**inbox.settings())
    await queue_emails(client, "owner@example.com")

    async def retried_twice() -> bool:
        [row] = await rows(db)
        return row.attempts >= 2

    await wait_until(retried_twice)
    [row] = await rows(db)
    assert row.sent_at is None
    assert "Connect" in row.last_error

    inbox.start()
    try:
        [message] = await inbox.wait_for(1)
        await asyncio.sleep(0.5)  # several more polls: nothing is sent again
        assert len(inbox.messages) == 1
    finally:
        inbox.stop()
    assert message["To"] == "owner@example.com"
    assert message["Message-ID"] == f"<outbox-{row.id}@localhost>"
    [row] = await rows(db)
    assert row.sent_at is not None
    assert row.payload is None


async def test_workers_sending_at_once_send_each_email_once(
    client_factory: ClientFactory, inbox: Inbox
) -> None:
    workers = [await client_factory(**inbox.settings()) for _ in range(3)]
    recipients = [f"user{n}@example.com" for n in range(20)]
    await queue_emails(workers[0], *recipients)
    await inbox.wait_for(20)
    await asyncio.gather(*(worker.app.state.outbox_sender.run_due() for worker in workers))
    await asyncio.sleep(0.2)  # a few more polls of every worker
    assert sorted(m["To"] for m in inbox.messages) == sorted(recipients)
    assert len({m["Message-ID"] for m in inbox.messages}) == 20


async def test_a_refused_recipient_fails_for_good_and_others_go_on(
    mail_client: AppClient, inbox: Inbox, db: AsyncSession
) -> None:
    await queue_emails(mail_client, REFUSED_RECIPIENT, "owner@example.com")

    async def both_handled() -> bool:
        return all(row.sent_at or row.failed_at for row in await rows(db))

    await wait_until(both_handled)
    assert [m["To"] for m in inbox.messages] == ["owner@example.com"]
    refused, sent = await rows(db)
    assert refused.failed_at is not None and refused.sent_at is None
    assert refused.attempts == 1 and "550" in refused.last_error
    assert sent.sent_at is not None


async def test_queued_emails_are_encrypted_at_rest(client: AppClient, db: AsyncSession) -> None:
    await client.app.state.outbox_sender.close()  # keep the row queued
    await queue_emails(client, "owner@example.com")
    stored = await db.scalar(text("SELECT payload FROM outbox_messages"))
    assert "owner@example.com" not in stored and "Two-factor" not in stored


async def test_a_dedupe_key_queues_one_task(client: AppClient, db: AsyncSession) -> None:
    await client.app.state.outbox_sender.close()
    settings = client.app.state.settings
    for _ in range(3):
        await outbox.enqueue(db, settings=settings, task="send_email", payload={}, dedupe_key="k")
    await db.commit()
    assert len(await rows(db)) == 1


async def test_without_smtp_emails_are_logged(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services.mailer")
    await queue_emails(client, "owner@example.com")
    await client.app.state.outbox_sender.run_due()
    [record] = [r for r in caplog.records if r.name == "app.services.mailer"]
    assert record.to == "owner@example.com"
    assert "Two-factor authentication was turned on" in record.body
