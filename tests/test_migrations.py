"""Migrations on a real PostgreSQL: they go up and down cleanly and agree with the models."""

import json
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.models import Base
from app.models.job import is_queue_table
from app.security import encrypt
from app.services.emails import queue_email
from tests.conftest import (
    TEST_DATA_ENCRYPTION_KEY,
    app_clients,
    ensure_database_exists,
    make_settings,
    run_alembic,
)
from tests.mail import Inbox, queue_drained


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade_round_trip(database_url: str) -> None:
    url = make_url(database_url)
    scratch_url = url.set(database=f"{url.database}_migrations").render_as_string(
        hide_password=False
    )
    await ensure_database_exists(scratch_url)
    engine = create_async_engine(scratch_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))

        await run_alembic(engine, lambda config: command.upgrade(config, "head"))
        expected = {table.name for table in Base.metadata.sorted_tables}
        assert expected <= await _tables(engine)

        await run_alembic(engine, lambda config: command.downgrade(config, "base"))
        assert await _tables(engine) == {"alembic_version"}

        await run_alembic(engine, lambda config: command.upgrade(config, "head"))
        assert expected <= await _tables(engine)
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def differences(sync_connection: object) -> list:
        context = MigrationContext.configure(
            sync_connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, _: (
                    not (type_ == "table" and is_queue_table(name))
                ),
            },
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_schema_keeps_the_spec_indexes_and_cascades(engine: AsyncEngine) -> None:
    def describe(sync_connection: object) -> dict:
        inspector = inspect(sync_connection)
        return {
            table: {
                "indexes": {
                    (tuple(ix["column_names"]), bool(ix["unique"]))
                    for ix in inspector.get_indexes(table)
                },
                "cascades": {
                    fk["referred_table"]: fk["options"].get("ondelete")
                    for fk in inspector.get_foreign_keys(table)
                },
                "timestamps": {
                    column["name"]: column["type"].timezone
                    for column in inspector.get_columns(table)
                    if column["name"].endswith("_at")
                },
            }
            for table in ("users", "api_keys", "api_call_logs")
        }

    async with engine.connect() as connection:
        schema = await connection.run_sync(describe)
    assert (("email",), True) in schema["users"]["indexes"]
    assert (("key_hash",), True) in schema["api_keys"]["indexes"]
    assert (("user_id", "status"), False) in schema["api_keys"]["indexes"]
    assert (("user_id", "created_at"), False) in schema["api_call_logs"]["indexes"]
    assert schema["api_keys"]["cascades"] == {"users": "CASCADE"}
    assert schema["api_call_logs"]["cascades"]["users"] == "CASCADE"
    for table in schema.values():
        assert table["timestamps"] and all(table["timestamps"].values())


async def _scratch_engine(database_url: str, name: str) -> AsyncEngine:
    url = make_url(database_url)
    scratch_url = url.set(database=f"{url.database}_{name}").render_as_string(hide_password=False)
    await ensure_database_exists(scratch_url)
    engine = create_async_engine(scratch_url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    return engine


async def test_queued_outbox_emails_move_to_the_job_queue_and_are_sent_once(
    database_url: str, tmp_path: Path, inbox: Inbox
) -> None:
    engine = await _scratch_engine(database_url, "outbox_move")
    keys = (TEST_DATA_ENCRYPTION_KEY,)

    def payload(to: str) -> str:
        return encrypt(keys, json.dumps({"to": to, "subject": "Moved", "body": "A notice"}))

    try:
        await run_alembic(engine, lambda config: command.upgrade(config, "datasets"))
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO outbox_messages (task, payload, dedupe_key, sent_at, failed_at) "
                    "VALUES ('send_email', :pending, NULL, NULL, NULL), "
                    "('send_email', NULL, 'api-key-expiring:7', now(), NULL), "
                    "('send_email', NULL, NULL, now(), NULL), "
                    "('send_email', :refused, NULL, NULL, now()), "
                    "('issue_password_reset', :reset, NULL, NULL, NULL)"
                ),
                {
                    "pending": payload("pending@example.com"),
                    "refused": payload("refused@example.com"),
                    "reset": encrypt(keys, json.dumps({"email": "nobody@example.com"})),
                },
            )
        await run_alembic(engine, lambda config: command.upgrade(config, "head"))
        async with engine.connect() as connection:
            jobs = (
                await connection.execute(
                    text(
                        "SELECT queue_name, task_name, status, args->>'email_id' AS email_id "
                        "FROM procrastinate_jobs ORDER BY id"
                    )
                )
            ).all()
            guards = (
                await connection.execute(
                    text(
                        "SELECT email_id, sent_at IS NOT NULL FROM email_deliveries "
                        "ORDER BY email_id"
                    )
                )
            ).all()
        assert [tuple(job) for job in jobs] == [
            ("emails", "send_email", "todo", "outbox-1"),
            ("emails", "issue_password_reset", "todo", None),
        ]
        assert [tuple(guard) for guard in guards] == [
            ("api-key-expiring-7", True),
            ("outbox-1", False),
        ]
        url = engine.url.render_as_string(hide_password=False)
        settings = make_settings(url, tmp_path, EMAIL_QUEUE="emails", **inbox.settings())
        async with app_clients(lambda **_: settings) as build:
            client = await build()
            [message] = await inbox.wait_for(1)
            await queue_drained(client.app)
            async with client.app.state.database.sessionmaker() as db:
                # The key noticed before the move is not noticed again.
                await queue_email(
                    db,
                    settings,
                    to="x@example.com",
                    subject="s",
                    body="b",
                    email_id="api-key-expiring-7",
                )
                await db.commit()
            await queue_drained(client.app)
        assert message["To"] == "pending@example.com"
        assert message["Message-ID"] == "<outbox-1@localhost>"
        assert len(inbox.messages) == 1
    finally:
        await engine.dispose()


async def test_the_downgrade_moves_queued_emails_back_to_the_outbox(database_url: str) -> None:
    engine = await _scratch_engine(database_url, "outbox_back")
    try:
        await run_alembic(engine, lambda config: command.upgrade(config, "head"))
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('emails', 'send_email', 0, "
                    'NULL, NULL, \'{"email_id": "api-key-expiring-3", "payload": "p"}\', '
                    "NULL)::procrastinate_job_to_defer_v1])"
                )
            )
        await run_alembic(engine, lambda config: command.downgrade(config, "datasets"))
        async with engine.connect() as connection:
            outbox = text("SELECT task, payload, dedupe_key FROM outbox_messages")
            rows = (await connection.execute(outbox)).all()
            left = await connection.scalar(text("SELECT count(*) FROM procrastinate_jobs"))
        assert [tuple(row) for row in rows] == [("send_email", "p", "api-key-expiring:3")]
        assert left == 0
    finally:
        await engine.dispose()
