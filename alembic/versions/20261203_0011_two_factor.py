"""Two-factor authentication: TOTP secrets, backup codes, sign-in challenges.

Revision ID: two_factor
Revises: password_reset_tokens
Create Date: 2026-12-03 18:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "two_factor"
down_revision: str | Sequence[str] | None = "password_reset_tokens"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _created_at() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
    )


def _user_id(table: str) -> tuple[sa.Column, sa.Constraint]:
    return (
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
        ),
    )


def upgrade() -> None:
    op.create_table(
        "two_factor",
        *_user_id("two_factor"),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("enabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_two_factor")),
    )
    op.create_table(
        "backup_codes",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        *_user_id("backup_codes"),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _created_at(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_codes")),
    )
    op.create_index(op.f("ix_backup_codes_user_id"), "backup_codes", ["user_id"])
    op.create_table(
        "login_challenges",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        *_user_id("login_challenges"),
        _created_at(),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_login_challenges")),
    )
    op.create_index(op.f("ix_login_challenges_user_id"), "login_challenges", ["user_id"])


def downgrade() -> None:
    op.drop_table("login_challenges")
    op.drop_table("backup_codes")
    op.drop_table("two_factor")
