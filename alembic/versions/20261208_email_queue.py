"""Security emails on the job queue (Procrastinate) instead of the outbox table.

Revision ID: email_queue
Revises: datasets
Create Date: 2026-12-08 00:30:00

Each pending outbox row becomes a job of the `emails` queue (the default EMAIL_QUEUE) with the
same task name and the same encrypted payload, so nothing queued is lost; an email keeps its
Message-ID (`<outbox-ID@domain>`). `email_deliveries` holds the send-once guard of each queued
email, and of each API-key expiry notice already sent (once per key still holds). Rows that had
failed for good (a refused recipient) are dropped with the table. The downgrade moves the
emails still queued back into a new outbox table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "email_queue"
down_revision: str | Sequence[str] | None = "datasets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUE = "emails"
TASKS = ("send_email", "issue_password_reset")

# An expiry notice's dedupe key `api-key-expiring:ID` is its email id `api-key-expiring-ID`.
_EMAIL_ID = "COALESCE(replace(dedupe_key, ':', '-'), 'outbox-' || id)"

_GUARDS = f"""
INSERT INTO email_deliveries (email_id, queued_at, sent_at)
SELECT {_EMAIL_ID}, created_at, sent_at FROM outbox_messages
WHERE task = 'send_email' AND failed_at IS NULL
  AND (sent_at IS NULL OR dedupe_key IS NOT NULL)
"""  # noqa: S608 (constants only)

_JOBS = f"""
SELECT procrastinate_defer_jobs_v1(ARRAY(
    SELECT ROW(
        '{QUEUE}', task, 0, NULL, NULL,
        CASE WHEN task = 'send_email'
             THEN jsonb_build_object('email_id', {_EMAIL_ID}, 'payload', payload)
             ELSE jsonb_build_object('payload', payload) END,
        available_at
    )::procrastinate_job_to_defer_v1
    FROM outbox_messages
    WHERE sent_at IS NULL AND failed_at IS NULL AND task IN {TASKS}
    ORDER BY id
))
"""  # noqa: S608

_BACK_TO_OUTBOX = f"""
INSERT INTO outbox_messages (task, payload, dedupe_key, available_at)
SELECT task_name, args->>'payload',
       CASE WHEN args->>'email_id' LIKE 'api-key-expiring-%'
            THEN replace(args->>'email_id', 'api-key-expiring-', 'api-key-expiring:') END,
       COALESCE(scheduled_at, now())
FROM procrastinate_jobs
WHERE queue_name = '{QUEUE}' AND status = 'todo' AND task_name IN {TASKS}
ORDER BY id
"""  # noqa: S608


def _outbox_table() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("task", sa.String(length=40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(length=100), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "available_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_messages_dedupe_key")),
    )
    op.create_index(
        "ix_outbox_messages_due",
        "outbox_messages",
        ["available_at"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )


def upgrade() -> None:
    op.create_table(
        "email_deliveries",
        sa.Column("email_id", sa.String(length=100), nullable=False),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email_id", name=op.f("pk_email_deliveries")),
    )
    op.execute(_GUARDS)
    op.execute(_JOBS)
    op.drop_index("ix_outbox_messages_due", table_name="outbox_messages")
    op.drop_table("outbox_messages")


def downgrade() -> None:
    _outbox_table()
    op.execute(_BACK_TO_OUTBOX)
    op.execute(
        f"DELETE FROM procrastinate_jobs WHERE queue_name = '{QUEUE}' AND status = 'todo' "  # noqa: S608
        f"AND task_name IN {TASKS}"
    )
    op.drop_table("email_deliveries")
