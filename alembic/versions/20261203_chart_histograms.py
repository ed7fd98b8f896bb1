"""Simulations keep a histogram of their final values, for the histogram chart.

Revision ID: chart_histograms
Revises: session_activity
Create Date: 2026-12-03 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "chart_histograms"
down_revision: str | Sequence[str] | None = "session_activity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column(
        "simulations",
        sa.Column("final_value_histogram", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("simulations", "final_value_histogram")
