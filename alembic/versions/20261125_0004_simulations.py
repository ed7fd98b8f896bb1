"""Saved simulations: inputs, summary results, percentile bands and sample paths as JSONB.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:51:32.219663

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "simulations",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("percentile_bands", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sample_paths", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("execution_time_seconds", sa.Float(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"],
            ["api_keys.id"],
            name=op.f("fk_simulations_api_key_id_api_keys"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_simulations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_simulations")),
    )
    op.create_index(op.f("ix_simulations_api_key_id"), "simulations", ["api_key_id"], unique=False)
    op.create_index(
        "ix_simulations_user_id_created_at", "simulations", ["user_id", "created_at"], unique=False
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_simulations_user_id_created_at", table_name="simulations")
    op.drop_index(op.f("ix_simulations_api_key_id"), table_name="simulations")
    op.drop_table("simulations")
