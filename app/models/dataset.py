from datetime import date, datetime

import numpy as np
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column

RETURNS_DTYPE = np.dtype("<f8")  # how `returns` is stored: little-endian float64, row-major


class Dataset(Base):
    """A user's uploaded monthly history: its monthly simple returns, months x tickers, as one
    float64 array (8 bytes a cell, not a row per cell), and the statistics its answer shows.

    `returns` is deferred: lists and answers read only the small columns.
    """

    __tablename__ = "datasets"
    __table_args__ = (
        Index("ix_datasets_user_id_created_at", "user_id", "created_at"),
        CheckConstraint("kind IN ('prices', 'returns')", name="kind"),
        CheckConstraint("months >= 1", name="months"),
        CheckConstraint(
            "octet_length(returns) = 8 * months * cardinality(tickers)", name="returns_shape"
        ),
    )

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # ds_ + 12 hex
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8))  # what was uploaded: prices or returns
    tickers: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    first_month: Mapped[date] = mapped_column(Date)  # the first return's month, day 1
    months: Mapped[int] = mapped_column(Integer)
    returns: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # {"statistics": {ticker: {annual_return, annual_volatility}}, "correlation": [[...]]}
    summary: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at_column()

    def monthly_returns(self) -> np.ndarray:
        """The returns as an array, shape (months, tickers)."""
        values = np.frombuffer(self.returns, dtype=RETURNS_DTYPE)
        return values.reshape(self.months, len(self.tickers)).astype(np.float64)
