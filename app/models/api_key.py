from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column

API_KEY_STATUSES = ("active", "revoked")


class ApiKey(Base):
    """An API key. Only its SHA-256 hash and last four characters are stored, never the key."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint(f"status IN {API_KEY_STATUSES}", name="status"),
        Index("ix_api_keys_user_id_status", "user_id", "status"),
    )

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    key_last4: Mapped[str] = mapped_column(String(4))
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = created_at_column()
