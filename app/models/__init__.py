"""SQLAlchemy models; importing this package registers every table on Base.metadata."""

from app.models.api_call_log import ApiCallLog
from app.models.api_key import ApiKey
from app.models.base import Base
from app.models.user import User

__all__ = ["ApiCallLog", "ApiKey", "Base", "User"]
