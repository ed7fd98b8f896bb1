from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column


class EmailDelivery(Base):
    """The send-once guard of one queued email: written with the job that sends it, marked sent
    in the transaction that holds its row lock while the SMTP server takes the message.

    A second job for the same email (a retry after a crash, the same notice queued twice) finds
    it sent and does nothing; `email_id` also names the message (its Message-ID).
    """

    __tablename__ = "email_deliveries"

    email_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    queued_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
