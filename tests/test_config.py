import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from app.config import Settings, to_asyncpg_url

FERNET_KEY = Fernet.generate_key().decode()


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)


def test_defaults_match_the_spec_table() -> None:
    defaults = settings()
    assert defaults.APP_NAME == "Monte Carlo Simulation"
    assert defaults.JWT_ALGORITHM == "HS256"
    assert defaults.JWT_EXPIRATION_HOURS == 24
    assert defaults.API_KEY_PREFIX == "mk_live_"
    assert defaults.API_KEY_EXPIRY_DAYS == 30
    assert defaults.CORS_ORIGINS == ["*"]
    assert defaults.DB_POOL_SIZE == 20
    assert defaults.DB_MAX_OVERFLOW == 10
    assert defaults.ENVIRONMENT == "development"
    assert defaults.DATABASE_URL is None
    assert defaults.DATABASE_URL_ASYNC is None


def test_bcrypt_rounds_default_to_twelve() -> None:
    assert settings().BCRYPT_ROUNDS == 12


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("postgresql://u:p@db:5432/mc", "postgresql+asyncpg://u:p@db:5432/mc"),
        ("postgres://u:p@db/mc", "postgresql+asyncpg://u:p@db/mc"),
        ("postgresql+asyncpg://u:p@db/mc", "postgresql+asyncpg://u:p@db/mc"),
    ],
)
def test_one_plain_database_url_is_enough(plain: str, expected: str) -> None:
    assert expected == settings(DATABASE_URL=plain).DATABASE_URL_ASYNC


def test_explicit_async_url_wins_over_the_plain_one() -> None:
    configured = settings(
        DATABASE_URL="postgresql://a@one/x", DATABASE_URL_ASYNC="postgresql://b@two/y"
    )
    assert configured.DATABASE_URL_ASYNC == "postgresql+asyncpg://b@two/y"


def test_non_postgres_urls_are_refused() -> None:
    with pytest.raises(ValidationError, match="PostgreSQL is required"):
        settings(DATABASE_URL="sqlite:///x.db")
    with pytest.raises(ValueError, match="looks like"):
        to_asyncpg_url("not a url")


def test_cors_origins_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://localhost:3000, http://localhost:5173")
    assert settings().CORS_ORIGINS == ["http://localhost:3000", "http://localhost:5173"]


@pytest.mark.parametrize("secret", [None, "short-secret"])
def test_production_refuses_a_missing_or_short_jwt_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET_KEY must be set to at least 32 bytes"):
        settings(ENVIRONMENT="production", JWT_SECRET_KEY=secret)


def test_production_accepts_a_strong_secret() -> None:
    strong = "x" * 32
    production = settings(
        ENVIRONMENT="production", JWT_SECRET_KEY=strong, DATA_ENCRYPTION_KEY=FERNET_KEY
    )
    assert production.jwt_secret() == strong
    assert production.data_encryption_keys() == (FERNET_KEY,)


def test_production_requires_a_data_encryption_key() -> None:
    with pytest.raises(ValidationError, match="DATA_ENCRYPTION_KEY must be set in production"):
        settings(ENVIRONMENT="production", JWT_SECRET_KEY="x" * 32)


@pytest.mark.parametrize("keys", ["not-a-key", f"{FERNET_KEY},short", ","])
def test_data_encryption_keys_must_be_fernet_keys(keys: str) -> None:
    with pytest.raises(ValidationError, match="comma-separated Fernet keys"):
        settings(DATA_ENCRYPTION_KEY=keys)


def test_several_data_encryption_keys_rotate(tmp_path) -> None:
    older = Fernet.generate_key().decode()
    rotated = settings(DATA_ENCRYPTION_KEY=f"{FERNET_KEY}, {older}")
    assert rotated.data_encryption_keys() == (FERNET_KEY, older)


def test_development_encryption_key_is_created_once_and_kept(tmp_path) -> None:
    first = settings(DATA_DIR=tmp_path).data_encryption_keys()
    assert settings(DATA_DIR=tmp_path).data_encryption_keys() == first
    Fernet(first[0])
    assert (tmp_path / "data_encryption_key").stat().st_mode & 0o077 == 0


def test_development_secret_is_created_once_and_kept(tmp_path) -> None:
    first = settings(DATA_DIR=tmp_path).jwt_secret()
    again = settings(DATA_DIR=tmp_path).jwt_secret()
    assert first == again
    assert len(first) >= 32
    assert (tmp_path / "jwt_secret").stat().st_mode & 0o077 == 0
    assert settings(DATA_DIR=tmp_path / "other").jwt_secret() != first
