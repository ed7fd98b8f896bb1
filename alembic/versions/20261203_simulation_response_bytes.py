"""Simulations keep the response they answered, zstd-compressed, instead of bands and sample
paths as JSONB (a row was up to 1.6 MB); an index on created_at for the retention purge.

Existing rows get a response built from their columns (the old key order was lost to JSONB).

Revision ID: simulation_response_bytes
Revises: two_factor
Create Date: 2026-12-03 15:00:00

"""

import json
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
import zstandard
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = "simulation_response_bytes"
down_revision: str | Sequence[str] | None = "two_factor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 200


def _batches(connection: sa.Connection, columns: str) -> Iterator[list]:
    """Every row, _BATCH at a time in id order (a large table never sits in memory at once)."""
    query = sa.text(
        f"SELECT id, {columns} FROM simulations WHERE id > :after ORDER BY id LIMIT {_BATCH}"  # noqa: S608
    )
    after = ""
    while rows := list(connection.execute(query, {"after": after})):
        yield rows
        after = rows[-1].id


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("simulations", sa.Column("response_body", sa.LargeBinary(), nullable=True))
    op.add_column("simulations", sa.Column("stored_bytes", sa.Integer(), nullable=True))
    connection = op.get_bind()
    compressor = zstandard.ZstdCompressor(level=1)
    update = sa.text(
        "UPDATE simulations SET response_body = :body, stored_bytes = :size WHERE id = :id"
    )
    columns = "created_at, execution_time_seconds, inputs, summary, percentile_bands, sample_paths"
    for rows in _batches(connection, columns):
        batch = []
        for row in rows:
            body = {
                "simulation_id": row.id,
                "status": "completed",
                "created_at": row.created_at.isoformat().replace("+00:00", "Z"),
                "execution_time_seconds": row.execution_time_seconds,
                "results": {
                    "real": None,
                    **row.summary,
                    "percentile_bands": row.percentile_bands,
                    "sample_paths": row.sample_paths,
                },
                "inputs": row.inputs,
            }
            packed = compressor.compress(json.dumps(body, separators=(",", ":")).encode())
            batch.append({"id": row.id, "body": packed, "size": len(packed)})
        connection.execute(update, batch)
    op.alter_column("simulations", "response_body", nullable=False)
    op.alter_column("simulations", "stored_bytes", nullable=False)
    op.drop_column("simulations", "percentile_bands")
    op.drop_column("simulations", "sample_paths")
    op.create_index("ix_simulations_created_at", "simulations", ["created_at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_simulations_created_at", table_name="simulations")
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    op.add_column("simulations", sa.Column("sample_paths", jsonb, nullable=True))
    op.add_column("simulations", sa.Column("percentile_bands", jsonb, nullable=True))
    connection = op.get_bind()
    decompressor = zstandard.ZstdDecompressor()
    update = sa.text(
        "UPDATE simulations SET percentile_bands = CAST(:bands AS jsonb), "
        "sample_paths = CAST(:paths AS jsonb) WHERE id = :id"
    )
    for rows in _batches(connection, "response_body"):
        batch = []
        for row in rows:
            results = json.loads(decompressor.decompress(row.response_body))["results"]
            batch.append(
                {
                    "id": row.id,
                    "bands": json.dumps(results["percentile_bands"]),
                    "paths": json.dumps(results["sample_paths"]),
                }
            )
        connection.execute(update, batch)
    op.alter_column("simulations", "sample_paths", nullable=False)
    op.alter_column("simulations", "percentile_bands", nullable=False)
    op.drop_column("simulations", "stored_bytes")
    op.drop_column("simulations", "response_body")
