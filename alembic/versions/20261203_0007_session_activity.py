"""Sessions know when they were last used and when their newest tokens expire.

Revision ID: session_activity
Revises: audit_events
Create Date: 2026-12-03 15:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "session_activity"
down_revision: str | Sequence[str] | None = "audit_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "auth_sessions", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "auth_sessions", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        """
        UPDATE auth_sessions AS s SET
            last_used_at = coalesce(
                (SELECT max(r.created_at) FROM refresh_tokens r WHERE r.session_id = s.id),
                s.created_at),
            expires_at = coalesce(
                (SELECT max(r.expires_at) FROM refresh_tokens r WHERE r.session_id = s.id),
                s.created_at)
        """
    )
    op.alter_column("auth_sessions", "last_used_at", nullable=False)
    op.alter_column("auth_sessions", "expires_at", nullable=False)


def downgrade() -> None:
    op.drop_column("auth_sessions", "expires_at")
    op.drop_column("auth_sessions", "last_used_at")
