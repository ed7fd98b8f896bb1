"""Security emails on the job queue against a real SMTP server: queued in the transaction of
their change, retried while the server is down, delivered once, failed for good when refused."""

import asyncio
import json
import logging
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import EmailDelivery
from app.security import encrypt
from app.services import emails, task_queue
from app.services.clients import ClientInfo
from tests.conftest import AppClient, ClientFactory
from tests.mail import REFUSED_RECIPIENT, Inbox, free_port, queue_drained

PHONE = ClientInfo(ip="198.51.100.5", user_agent="Phone/1.0")


async def queue_emails(client: AppClient, *recipients: str) -> None:
    settings = client.app.state.settings
    async with client.app.state.database.sessionmaker() as db:
        for recipient in recipients:
            await emails.two_factor_changed(db, settings, to=recipient, enabled=True, client=PHONE)
        await db.commit()


async def jobs_of(db: AsyncSession, client: AppClient) -> list[dict]:
    rows = await db.execute(
        text(
            "SELECT id, status, attempts, task_name, args FROM procrastinate_jobs "
            "WHERE queue_name = :queue ORDER BY id"
        ),
        {"queue": client.app.state.settings.EMAIL_QUEUE},
    )
    await db.commit()
    return [dict(row) for row in rows.mappings()]


async def guards(db: AsyncSession) -> list[EmailDelivery]:
    db.expire_all()
    rows = list(await db.scalars(select(EmailDelivery).order_by(EmailDelivery.queued_at)))
    await db.commit()
    return rows


async def wait_until(condition, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_an_email_is_queued_only_when_its_change_commits(
    client: AppClient, db: AsyncSession
) -> None:
    await client.app.state.task_worker.close()  # keep what is queued in the queue
    settings = client.app.state.settings
    async with client.app.state.database.sessionmaker() as session:
        await emails.two_factor_changed(
            session, settings, to="a@example.com", enabled=True, client=PHONE
        )
        await session.rollback()
    assert await jobs_of(db, client) == [] and await guards(db) == []
    async with client.app.state.database.sessionmaker() as session:
        await emails.two_factor_changed(
            session, settings, to="a@example.com", enabled=True, client=PHONE
        )
        # Not committed yet: nobody else sees the job.
        assert await jobs_of(db, client) == []
        await session.commit()
    [job] = await jobs_of(db, client)
    [guard] = await guards(db)
    assert job["status"] == "todo" and job["task_name"] == emails.SEND_EMAIL
    assert job["args"]["email_id"] == guard.email_id and guard.sent_at is None


async def test_smtp_down_then_up_delivers_once(
    client_factory: ClientFactory, db: AsyncSession
) -> None:
    inbox = Inbox(free_port())  # not started yet: connections are refused
    client = await client_factory(**inbox.settings())
    await queue_emails(client, "owner@example.com")

    async def retried_twice() -> bool:
        [job] = await jobs_of(db, client)
        return job["attempts"] >= 2

    await wait_until(retried_twice)
    [job] = await jobs_of(db, client)
    assert job["status"] in ("todo", "doing")  # waiting for its next try: not lost
    [guard] = await guards(db)
    assert guard.sent_at is None

    inbox.start()
    try:
        [message] = await inbox.wait_for(1)
        await queue_drained(client.app)
        await asyncio.sleep(0.5)  # several more polls: nothing is sent again
        assert len(inbox.messages) == 1
    finally:
        inbox.stop()
    assert message["To"] == "owner@example.com"
    assert message["Message-ID"] == f"<{guard.email_id}@localhost>"
    [guard] = await guards(db)
    assert guard.sent_at is not None
    assert await jobs_of(db, client) == []  # the sent job, and its payload, are gone


async def test_workers_sending_at_once_send_each_email_once(
    client_factory: ClientFactory, inbox: Inbox
) -> None:
    workers = [await client_factory(**inbox.settings()) for _ in range(3)]
    recipients = [f"user{n}@example.com" for n in range(20)]
    await queue_emails(workers[0], *recipients)
    await inbox.wait_for(20, seconds=30)
    for worker in workers:
        await queue_drained(worker.app)
    await asyncio.sleep(0.3)  # a few more polls of every worker
    assert sorted(m["To"] for m in inbox.messages) == sorted(recipients)
    assert len({m["Message-ID"] for m in inbox.messages}) == 20


async def test_a_second_job_for_a_sent_email_sends_nothing(
    mail_client: AppClient, inbox: Inbox, db: AsyncSession
) -> None:
    """A job run again (its worker died after sending, before the queue heard) finds the
    email's guard sent."""
    await queue_emails(mail_client, "owner@example.com")
    await inbox.wait_for(1)
    [guard] = await guards(db)
    settings = mail_client.app.state.settings
    payload = encrypt(
        settings.data_encryption_keys(),
        json.dumps({"to": "owner@example.com", "subject": "again", "body": "again"}),
    )
    async with mail_client.app.state.database.sessionmaker() as session:
        await task_queue.defer(
            session,
            settings=settings,
            task=emails.SEND_EMAIL,
            email_id=guard.email_id,
            payload=payload,
        )
        await session.commit()
    await queue_drained(mail_client.app)
    assert len(inbox.messages) == 1


async def test_a_refused_recipient_fails_for_good_and_others_go_on(
    mail_client: AppClient, inbox: Inbox, db: AsyncSession
) -> None:
    await queue_emails(mail_client, REFUSED_RECIPIENT, "owner@example.com")
    await inbox.wait_for(1)
    await queue_drained(mail_client.app)
    assert [m["To"] for m in inbox.messages] == ["owner@example.com"]
    [refused] = await jobs_of(db, mail_client)  # the sent one is deleted
    assert refused["status"] == "failed" and refused["attempts"] == 1
    sent_guards = [g for g in await guards(db) if g.sent_at is not None]
    assert len(sent_guards) == 1


async def test_queued_emails_are_encrypted_at_rest(client: AppClient, db: AsyncSession) -> None:
    await client.app.state.task_worker.close()  # keep the job queued
    await queue_emails(client, "owner@example.com")
    [job] = await jobs_of(db, client)
    stored = json.dumps(job["args"])
    assert "owner@example.com" not in stored and "Two-factor" not in stored


async def test_an_email_id_queues_one_email(client: AppClient, db: AsyncSession) -> None:
    await client.app.state.task_worker.close()
    settings = client.app.state.settings
    for _ in range(3):
        await emails.queue_email(
            db, settings, to="a@example.com", subject="s", body="b", email_id="k"
        )
    await db.commit()
    assert len(await jobs_of(db, client)) == 1 and len(await guards(db)) == 1


async def test_each_app_sends_from_its_own_queue_only(
    client_factory: ClientFactory, inbox: Inbox
) -> None:
    """Apps on other EMAIL_QUEUEs (another test's, still stopping) never take these emails."""
    other_inbox = Inbox()
    other_inbox.start()
    try:
        other = await client_factory(**other_inbox.settings(), EMAIL_QUEUE="emails-other")
        mine = await client_factory(**inbox.settings())
        await queue_emails(mine, "mine@example.com")
        await queue_emails(other, "other@example.com")
        await inbox.wait_for(1)
        await other_inbox.wait_for(1)
        await queue_drained(mine.app)
        await queue_drained(other.app)
        assert [m["To"] for m in inbox.messages] == ["mine@example.com"]
        assert [m["To"] for m in other_inbox.messages] == ["other@example.com"]
    finally:
        other_inbox.stop()


async def test_a_closed_app_leaves_no_worker_running(
    client_factory: ClientFactory, inbox: Inbox, db: AsyncSession
) -> None:
    client = await client_factory(**inbox.settings())
    await queue_emails(client, "first@example.com")
    await inbox.wait_for(1)
    await client.app.state.task_worker.close()
    await queue_emails(client, "second@example.com")
    await asyncio.sleep(0.5)  # ten polls' time
    assert [m["To"] for m in inbox.messages] == ["first@example.com"]
    [job] = await jobs_of(db, client)
    assert job["status"] == "todo"


async def test_without_smtp_emails_are_logged(
    client: AppClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.services.mailer")
    await queue_emails(client, "owner@example.com")
    await queue_drained(client.app)
    [record] = [r for r in caplog.records if r.name == "app.services.mailer"]
    assert record.to == "owner@example.com"
    assert "Two-factor authentication was turned on" in record.body
