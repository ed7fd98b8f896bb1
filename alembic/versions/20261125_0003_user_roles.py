"""User roles: `user` (default) and `admin` (usage analytics of every user).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 15:46:03.476186

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "users", sa.Column("role", sa.String(length=20), server_default="user", nullable=False)
    )
    op.create_check_constraint(op.f("ck_users_role"), "users", "role IN ('user', 'admin')")


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
    op.drop_column("users", "role")
