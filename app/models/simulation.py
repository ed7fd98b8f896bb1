from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class Simulation(Base):
    """A completed simulation: the response it answered, byte for byte, and who asked.

    `inputs` and `summary` repeat the small parts of the response that lists and charts query;
    the chart data (bands and sample paths) lives only in the compressed response.
    """

    __tablename__ = "simulations"
    __table_args__ = (
        Index("ix_simulations_user_id_created_at", "user_id", "created_at"),
        Index("ix_simulations_created_at", "created_at"),  # the retention purge
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # sim_ + 12 hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    inputs: Mapped[dict] = mapped_column(JSONB)
    summary: Mapped[dict] = mapped_column(JSONB)
    # Counts of final values per bin (engine.histogram); NULL for runs saved before it was kept.
    final_value_histogram: Mapped[dict | None] = mapped_column(JSONB)
    # The JSON body POST /simulate answered, zstd-compressed (services.compression).
    response_body: Mapped[bytes] = mapped_column(LargeBinary)
    stored_bytes: Mapped[int] = mapped_column(Integer)  # len(response_body): the account quota
    execution_time_seconds: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = created_at_column()
