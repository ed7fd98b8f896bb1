"""SQLAlchemy models; importing this package registers every table on Base.metadata."""

from app.models.api_call_log import ApiCallLog
from app.models.api_key import ApiKey
from app.models.audit_event import AuditEvent, AuditEventType
from app.models.auth_session import AuthSession, RefreshToken
from app.models.base import Base
from app.models.dataset import Dataset
from app.models.email_delivery import EmailDelivery
from app.models.idempotency_key import IdempotencyKey
from app.models.job import SimulationJob
from app.models.login_failure import LoginFailure
from app.models.password_reset import PasswordResetToken
from app.models.simulation import Simulation
from app.models.two_factor import BackupCode, LoginChallenge, TwoFactor
from app.models.user import User

__all__ = [
    "ApiCallLog",
    "ApiKey",
    "AuditEvent",
    "AuditEventType",
    "AuthSession",
    "BackupCode",
    "Base",
    "Dataset",
    "EmailDelivery",
    "IdempotencyKey",
    "LoginChallenge",
    "LoginFailure",
    "PasswordResetToken",
    "RefreshToken",
    "Simulation",
    "SimulationJob",
    "TwoFactor",
    "User",
]
