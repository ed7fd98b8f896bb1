"""Simulation jobs, and the job queue's own schema (Procrastinate, at its pinned version).

Revision ID: simulation_jobs
Revises: idempotency_keys
Create Date: 2026-12-03 19:00:00

Procrastinate's tables come from the schema SQL shipped in the installed package, checked
against the version pinned in requirements.txt: upgrading Procrastinate means a new revision
applying its migration scripts (procrastinate/sql/migrations) from this version on.
"""

from collections.abc import Sequence
from importlib import metadata, resources

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.util import await_only

revision: str = "simulation_jobs"
down_revision: str | Sequence[str] | None = "idempotency_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCRASTINATE_VERSION = "3.10.0"

# Everything Procrastinate's schema.sql creates, by kind, dropped on downgrade.
_DROP_QUEUE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
            WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
            AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def _queue_schema() -> str:
    installed = metadata.version("procrastinate")
    if installed != PROCRASTINATE_VERSION:
        raise RuntimeError(
            f"this revision applies Procrastinate {PROCRASTINATE_VERSION}'s schema, but "
            f"{installed} is installed: add a revision with its migration scripts"
        )
    return (resources.files("procrastinate.sql") / "schema.sql").read_text()


def _execute_script(sql: str) -> None:
    """Run many statements at once (asyncpg's simple protocol; a prepared one takes one)."""
    await_only(op.get_bind().connection.driver_connection.execute(sql))


def upgrade() -> None:
    _execute_script(_queue_schema())
    op.create_table(
        "simulation_jobs",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("paths_total", sa.BigInteger(), nullable=False),
        sa.Column("paths_done", sa.BigInteger(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("queue_job_id", sa.BigInteger(), nullable=True),
        sa.Column("simulation_id", sa.String(length=16), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')",
            name=op.f("ck_simulation_jobs_status"),
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 1", name=op.f("ck_simulation_jobs_progress")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_simulation_jobs_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["simulation_id"],
            ["simulations.id"],
            name=op.f("fk_simulation_jobs_simulation_id_simulations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_simulation_jobs_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulation_jobs")),
    )
    op.create_index(
        op.f("ix_simulation_jobs_api_key_id"), "simulation_jobs", ["api_key_id"], unique=False
    )
    op.create_index(
        "ix_simulation_jobs_user_id_created_at",
        "simulation_jobs",
        ["user_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_simulation_jobs_user_id_created_at", table_name="simulation_jobs")
    op.drop_index(op.f("ix_simulation_jobs_api_key_id"), table_name="simulation_jobs")
    op.drop_table("simulation_jobs")
    _execute_script(_DROP_QUEUE)
