from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class IdempotencyKey(Base):
    """One Idempotency-Key of an account: the request it was first used with and, once that
    request succeeded, its response, answered again to a retry within 24 hours.

    The key itself is not kept, only its hash. A simulation's response is its saved row's (the
    record goes when the simulation does); any other response is kept Fernet-encrypted, since
    it may hold a secret (a new API key).
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key_hash"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    # Running until this time; a request still running past it is taken to have died.
    running_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)  # Fernet token of the JSON body
    simulation_id: Mapped[str | None] = mapped_column(
        ForeignKey("simulations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
