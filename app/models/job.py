from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
QUEUE_TABLE_PREFIX = "procrastinate_"  # the job queue's tables: its schema, not our models


def is_queue_table(name: str | None) -> bool:
    """Alembic's autogenerate leaves the queue's tables alone (they are not our models)."""
    return bool(name) and name.startswith(QUEUE_TABLE_PREFIX)  # type: ignore[union-attr]


ACTIVE_STATUSES = ("queued", "running")


class SimulationJob(Base):
    """A simulation run in the background: its request, where it is, and what it produced.

    The queue itself (attempts, locks, heartbeats) lives in Procrastinate's tables;
    `queue_job_id` links the two.
    """

    __tablename__ = "simulation_jobs"
    __table_args__ = (
        Index("ix_simulation_jobs_user_id_created_at", "user_id", "created_at"),
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')", name="status"
        ),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # job_ + 12 hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    request: Mapped[dict] = mapped_column(JSONB)  # the simulate body, with its seed fixed
    paths_total: Mapped[int] = mapped_column(BigInteger)
    paths_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger)
    simulation_id: Mapped[str | None] = mapped_column(
        ForeignKey("simulations.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
