from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Identity, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class ApiCallLog(Base):
    """One row per /api/v1 request made with a valid API key: usage analytics and billing."""

    __tablename__ = "api_call_logs"
    __table_args__ = (Index("ix_api_call_logs_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(10))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    execution_time_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = created_at_column()
