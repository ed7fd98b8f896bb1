"""Rotated refresh tokens keep their successor pair, sealed, for the reuse grace window.

Revision ID: refresh_grace
Revises: outbox_messages
Create Date: 2026-12-03 15:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "refresh_grace"
down_revision: str | Sequence[str] | None = "outbox_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("refresh_tokens", sa.Column("successor_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("refresh_tokens", "successor_sealed")
