"""Settings: every knob an operator can turn, read from the environment and `.env`."""

import base64
import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from cryptography.fernet import Fernet, MultiFernet
from limits import parse as parse_limit
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

APP_VERSION = "1.0.0"
MIN_JWT_SECRET_BYTES = 32
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def to_asyncpg_url(url: str) -> str:
    """Turn a plain `postgresql://` (or `postgres://`) URL into SQLAlchemy's asyncpg form."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("a database URL looks like postgresql://user:password@host:5432/dbname")
    if scheme in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        return f"postgresql+asyncpg://{rest}"
    if scheme == "postgresql+asyncpg":
        return url
    raise ValueError(f"unsupported database URL scheme {scheme!r}: PostgreSQL is required")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=True)

    APP_NAME: str = Field(
        "Monte Carlo Simulation", description="Service name shown in docs and health."
    )
    ENVIRONMENT: Literal["development", "production"] = Field(
        "development", description="production enforces a strong JWT secret, HSTS and JSON logs."
    )
    LOG_LEVEL: str = Field("INFO", description="Python logging level.")
    DATA_DIR: Path = Field(
        PROJECT_ROOT / ".data",
        description="Embedded PostgreSQL data and the development JWT secret live here.",
    )

    DATABASE_URL: str | None = Field(
        None, description="postgresql:// URL; unset = embedded PostgreSQL in DATA_DIR/postgres."
    )
    DATABASE_URL_ASYNC: str | None = Field(
        None, description="postgresql+asyncpg:// URL; derived from DATABASE_URL when unset."
    )
    DB_POOL_SIZE: int = Field(20, ge=1, description="Connections kept in each worker's pool.")
    DB_MAX_OVERFLOW: int = Field(10, ge=0, description="Extra connections allowed under load.")
    DB_CONNECT_TIMEOUT_SECONDS: float = Field(
        5.0, gt=0, description="Longest wait for a new database connection before 503."
    )
    DB_POOL_TIMEOUT_SECONDS: float = Field(
        5.0, gt=0, description="Longest wait for a free pooled connection before 503."
    )
    DB_STATEMENT_TIMEOUT_SECONDS: float = Field(
        5.0, gt=0, description="Longest wait for one SQL statement's answer before 503."
    )

    JWT_SECRET_KEY: SecretStr | None = Field(
        None, description="HS256 signing secret, >= 32 bytes; required in production."
    )
    JWT_ALGORITHM: Literal["HS256"] = Field("HS256", description="JWT signing algorithm.")
    JWT_EXPIRATION_HOURS: float = Field(24, gt=0, description="Access token lifetime.")
    REFRESH_TOKEN_DAYS: float = Field(7, gt=0, description="Refresh token lifetime.")
    REFRESH_REUSE_GRACE_SECONDS: float = Field(
        20,
        ge=0,
        description="A refresh token presented again this soon after its rotation gets the same "
        "new pair (two tabs refreshing at once); later, reuse ends the session. 0 = off.",
    )
    BCRYPT_ROUNDS: int = Field(12, ge=4, le=16, description="bcrypt work factor.")
    LOCKOUT_THRESHOLD: int = Field(
        5, ge=1, description="Failed sign-ins to one account from one address before a lock."
    )
    LOCKOUT_MINUTES: float = Field(
        15, gt=0, description="How long that address stays locked out, and failures remembered."
    )
    DATA_ENCRYPTION_KEY: SecretStr | None = Field(
        None,
        description="Fernet key(s), comma-separated, the first encrypts: TOTP secrets and queued "
        "emails at rest; required in production (development: one kept in DATA_DIR).",
    )

    SMTP_HOST: str | None = Field(None, description="SMTP server; unset = emails are logged.")
    SMTP_PORT: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    SMTP_USERNAME: str | None = Field(None, description="SMTP login, if the server wants one.")
    SMTP_PASSWORD: SecretStr | None = Field(None, description="SMTP password.")
    SMTP_STARTTLS: bool = Field(True, description="Upgrade the SMTP connection with STARTTLS.")
    SMTP_TIMEOUT_SECONDS: float = Field(10.0, gt=0, description="Longest wait for the server.")
    MAIL_FROM: str = Field(
        "Monte Carlo <no-reply@localhost>", description="From address of security emails."
    )
    PASSWORD_RESET_URL: str = Field(
        "http://127.0.0.1:8000/reset-password#token={token}",
        description="The link of password-reset emails; {token} is replaced by the token.",
    )
    EMAIL_QUEUE: str = Field(
        "emails",
        min_length=1,
        max_length=100,
        description="The job queue of security emails; every API process sends from it.",
    )
    EMAIL_POLL_SECONDS: float = Field(
        2.0,
        gt=0,
        description="How often each worker looks for due emails (new ones come at once); "
        "the first wait before a retry.",
    )
    EMAIL_RETRY_MAX_SECONDS: float = Field(
        300.0, gt=0, description="Longest wait between two tries of an email while SMTP is down."
    )
    EXPIRY_NOTICE_INTERVAL_SECONDS: float = Field(
        86_400.0, gt=0, description="How often API keys expiring within 7 days are looked for."
    )

    API_KEY_PREFIX: str = Field("mk_live_", description="Prefix of every API key.")
    API_KEY_EXPIRY_DAYS: float = Field(30, gt=0, description="API key lifetime.")
    MAX_ACTIVE_API_KEYS: int = Field(10, ge=2, description="Active API keys allowed per user.")

    REDIS_URL: str | None = Field(
        None, description="redis:// URL shares rate-limit counters across workers; unset = memory."
    )
    REDIS_SOCKET_TIMEOUT_SECONDS: float = Field(
        0.25, gt=0, description="Longest wait for Redis; past it limits count in worker memory."
    )
    RATE_LIMIT_FALLBACK_SECONDS: float = Field(
        5.0, gt=0, description="How long limits stay in worker memory before Redis is retried."
    )
    AUTH_RATE_LIMIT: str = Field("10/minute", description="Per IP on /auth/register.")
    LOGIN_RATE_LIMIT: str = Field("20/minute", description="Per IP on login, token and refresh.")
    API_RATE_LIMIT: str = Field("60/minute", description="Per API key on /api/v1/*.")
    ACCOUNT_LOGIN_RATE_LIMIT: str = Field(
        "20/hour", description="Sign-in attempts per account from networks it never used."
    )

    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["*"], description="Comma-separated allowed origins."
    )
    MAX_REQUEST_BYTES: int = Field(1_048_576, ge=1024, description="Larger bodies get 413.")
    MAX_HEADER_BYTES: int = Field(
        16_384, ge=1024, description="Request line and headers together; larger get 431."
    )
    HEADER_READ_TIMEOUT_SECONDS: float = Field(
        10.0, gt=0, description="From connection (or request start) to the end of its headers."
    )
    BODY_READ_TIMEOUT_SECONDS: float = Field(
        30.0, gt=0, description="From the end of the headers to the end of the body."
    )
    MAX_CONNECTIONS_PER_WORKER: int = Field(
        2048, ge=1, description="Open connections per worker; past it 503 and closed."
    )
    FORWARDED_ALLOW_IPS: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated proxy addresses whose X-Forwarded-For is trusted (none).",
    )
    SHUTDOWN_GRACE_SECONDS: float = Field(
        30.0, gt=0, description="On SIGTERM, how long in-flight requests may take to finish."
    )

    MAX_SIMULATIONS: int = Field(1_000_000, ge=1, description="Upper bound of num_simulations.")
    MAX_SIMULATION_STEPS: int = Field(
        2_000_000_000,
        ge=1,
        description="Upper bound of num_simulations x 12 x years x assets (about 4 s on 2 cores).",
    )
    SIMULATION_MAX_CONCURRENCY: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="Simulations running at once per worker (default: CPU cores).",
    )
    SIMULATION_QUEUE_SECONDS: float = Field(
        5.0, ge=0, description="Longest wait for a simulation slot before 503."
    )
    SIMULATION_SLOTS_PER_ACCOUNT: int | None = Field(
        None,
        ge=1,
        description="Slots one account may hold at once per worker (default: all but one).",
    )
    SIMULATION_BUDGET_PATH_MONTHS: int = Field(
        6_000_000_000,
        ge=1,
        description="Path-months (paths x 12 x years) one account may run per minute; then 429.",
    )
    SAVED_SIMULATIONS_PER_ACCOUNT: int = Field(
        1000,
        ge=1,
        description="Saved simulations kept per account; each new one prunes the oldest.",
    )
    SAVED_SIMULATION_BYTES_PER_ACCOUNT: int = Field(
        200_000_000,
        ge=1,
        description="Compressed bytes of saved simulations kept per account; oldest pruned.",
    )
    SIMULATION_RETENTION_DAYS: float = Field(
        90, ge=0, description="Saved simulations older than this are purged hourly; 0 = never."
    )
    MAX_DATASETS_PER_USER: int = Field(
        50, ge=1, description="Uploaded datasets an account may keep; beyond, uploads get 409."
    )
    MAX_DATASET_BYTES: int = Field(
        2_097_152, ge=1024, description="Largest dataset CSV accepted (bytes); larger get 413."
    )
    MAX_JOB_SIMULATIONS: int = Field(
        100_000_000, ge=1, description="Upper bound of num_simulations for a job (POST /jobs)."
    )
    MAX_JOB_SIMULATION_STEPS: int = Field(
        250_000_000_000, ge=1, description="Upper bound of a job's paths x 12 x years x assets."
    )
    MAX_ACTIVE_JOBS_PER_USER: int = Field(
        3, ge=1, description="Queued or running jobs one account may have; then 429."
    )
    JOB_SHARD_STEPS: int = Field(
        100_000_000,
        ge=1,
        description="Paths x months x assets per Dask task of a job (about half a second).",
    )
    DASK_SCHEDULER_ADDRESS: str | None = Field(
        None, description="tcp://host:8786 of a Dask scheduler; unset = a LocalCluster per worker."
    )
    JOB_HEARTBEAT_SECONDS: float = Field(
        2.0, gt=0, description="How often a job worker tells the queue it is alive."
    )
    JOB_STALLED_SECONDS: float = Field(
        10.0, gt=0, description="A job worker silent this long is dead: its job is retried."
    )
    JOB_MAX_ATTEMPTS: int = Field(3, ge=1, description="Runs of a job before it is failed.")
    CHART_MAX_CONCURRENCY: int = Field(
        2, ge=1, description="Chart images rendered at once per worker (in worker threads)."
    )
    CHART_QUEUE_SECONDS: float = Field(
        5.0, ge=0, description="Longest wait for a chart rendering slot before 503."
    )
    CHART_CACHE_SECONDS: int = Field(
        3600, ge=0, description="max-age of chart images in the caller's (private) cache."
    )

    METRICS_TOKEN: SecretStr | None = Field(
        None, description="Bearer token for GET /metrics; unset = loopback clients only."
    )
    OTEL_EXPORTER_OTLP_ENDPOINT: str | None = Field(
        None, description="OTLP/HTTP collector URL for traces; unset = tracing off, not loaded."
    )

    @field_validator("CORS_ORIGINS", "FORWARDED_ALLOW_IPS", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator(
        "AUTH_RATE_LIMIT", "LOGIN_RATE_LIMIT", "API_RATE_LIMIT", "ACCOUNT_LOGIN_RATE_LIMIT"
    )
    @classmethod
    def _check_limit_notation(cls, value: str) -> str:
        parse_limit(value)  # raises ValueError: "couldn't parse rate limit string ..."
        return value

    @field_validator("DATA_ENCRYPTION_KEY")
    @classmethod
    def _check_fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                MultiFernet([Fernet(key) for key in _split_keys(value.get_secret_value())])
            except ValueError as error:
                raise ValueError(
                    "DATA_ENCRYPTION_KEY must be one or more comma-separated Fernet keys "
                    "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                    "print(Fernet.generate_key().decode())')"
                ) from error
        return value

    @field_validator("SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("PASSWORD_RESET_URL")
    @classmethod
    def _check_reset_url(cls, value: str) -> str:
        if "{token}" not in value:
            raise ValueError("PASSWORD_RESET_URL must contain {token}")
        return value

    @model_validator(mode="after")
    def _derive_async_url(self) -> "Settings":
        if self.DATABASE_URL_ASYNC:
            self.DATABASE_URL_ASYNC = to_asyncpg_url(self.DATABASE_URL_ASYNC)
        elif self.DATABASE_URL:
            self.DATABASE_URL_ASYNC = to_asyncpg_url(self.DATABASE_URL)
        return self

    @model_validator(mode="after")
    def _require_strong_secret_in_production(self) -> "Settings":
        if self.ENVIRONMENT != "production":
            return self
        secret = self.JWT_SECRET_KEY.get_secret_value() if self.JWT_SECRET_KEY else ""
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise ValueError(
                "JWT_SECRET_KEY must be set to at least 32 bytes in production "
                "(generate one with: openssl rand -hex 32)"
            )
        if self.DATA_ENCRYPTION_KEY is None:
            raise ValueError("DATA_ENCRYPTION_KEY must be set in production")
        return self

    @property
    def is_production(self) -> bool:
        return self.ENVIRONMENT == "production"

    def jwt_secret(self) -> str:
        """The signing secret; in development one is created once and kept in DATA_DIR."""
        if self.JWT_SECRET_KEY is not None:
            return self.JWT_SECRET_KEY.get_secret_value()
        return _development_secret(self.DATA_DIR / "jwt_secret")

    def data_encryption_keys(self) -> tuple[str, ...]:
        """The Fernet keys, newest first; in development one is created once in DATA_DIR."""
        if self.DATA_ENCRYPTION_KEY is not None:
            return _split_keys(self.DATA_ENCRYPTION_KEY.get_secret_value())
        secret = _development_secret(self.DATA_DIR / "data_encryption_key")
        return (base64.urlsafe_b64encode(bytes.fromhex(secret)).decode(),)


def _split_keys(value: str) -> tuple[str, ...]:
    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    if not keys:
        raise ValueError("no key")
    return keys


@lru_cache
def _development_secret(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        draft.write_text(secrets.token_hex(32))
        draft.chmod(0o600)
        # link() is atomic and refuses to overwrite: when several workers start at once,
        # exactly one secret wins and every worker reads that one.
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()
