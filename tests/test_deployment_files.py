"""No Docker engine runs here, so the deployment files are checked against the code they start."""

import re
import shlex

import yaml
from cryptography.fernet import Fernet

from app.__main__ import build_parser
from app.config import PROJECT_ROOT, Settings

SETTINGS_FIELDS = set(Settings.model_fields)


def _interpolate(text: str) -> str:
    """Compose's ${VAR:-default} and ${VAR:?error}, with nothing set in the environment."""
    text = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", text)
    return re.sub(r"\$\{(\w+):\?[^}]*\}", r"unset-\1", text)


def _compose() -> dict:
    return yaml.safe_load(_interpolate((PROJECT_ROOT / "docker-compose.yml").read_text()))


def _dockerfile() -> str:
    return (PROJECT_ROOT / "Dockerfile").read_text()


def test_env_example_lists_every_setting_and_nothing_else() -> None:
    text = (PROJECT_ROOT / ".env.example").read_text()
    names = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", text, re.MULTILINE))
    assert names == SETTINGS_FIELDS


def test_compose_passes_only_known_settings_and_loads() -> None:
    services = _compose()["services"]
    for name in ("migrate", "api"):
        environment = services[name]["environment"]
        assert set(environment) <= SETTINGS_FIELDS
        assert environment["JWT_SECRET_KEY"] == "unset-JWT_SECRET_KEY"  # required, no default
        assert environment["DATA_ENCRYPTION_KEY"] == "unset-DATA_ENCRYPTION_KEY"
        secrets = {
            "JWT_SECRET_KEY": "x" * 32,
            "DATA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        }
        Settings(_env_file=None, **{**environment, **secrets})
        assert environment["ENVIRONMENT"] == "production"
        assert environment["DATABASE_URL"].startswith("postgresql://")


def test_compose_migrates_before_the_api_starts_with_four_workers() -> None:
    services = _compose()["services"]
    migrate = services["migrate"]["command"]
    assert migrate[:3] == ["python", "-m", "app"]
    assert build_parser().parse_args(migrate[3:]).command == "migrate"
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    api = services["api"]["command"]
    assert api[:3] == ["python", "-m", "app"]
    serve = build_parser().parse_args(api[3:])
    assert (serve.command, serve.host, serve.workers) == ("serve", "0.0.0.0", 4)  # noqa: S104
    assert services["postgres"]["image"] == "postgres:15"
    environment = services["api"]["environment"]
    connections = 4 * (int(environment["DB_POOL_SIZE"]) + int(environment["DB_MAX_OVERFLOW"]))
    max_connections = int(services["postgres"]["command"][-1].split("=")[1])
    assert connections + 10 <= max_connections  # room for migrations and an operator's psql
    assert "healthcheck" in services["postgres"]
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])


def test_dockerfile_is_slim_non_root_and_checks_health() -> None:
    dockerfile = _dockerfile()
    assert "FROM python:3.11-slim" in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile and "/health" in dockerfile
    assert "libgomp1" in dockerfile
    cmd = re.search(r"^CMD (\[.*\])", dockerfile, re.MULTILINE).group(1)
    assert yaml.safe_load(cmd) == _compose()["services"]["api"]["command"]


def test_dockerfile_installs_the_hashed_runtime_lock_only() -> None:
    installs = re.findall(r"^RUN pip install (.*)$", _dockerfile(), re.MULTILINE)
    assert installs == ["--require-hashes -r requirements.lock"]
    assert "COPY requirements.lock ." in _dockerfile()
    assert not re.search(r"^COPY (\.|requirements-)", _dockerfile(), re.MULTILINE)


def test_dockerignore_keeps_secrets_venv_and_tests_out_of_the_build() -> None:
    lines = (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
    rules = [line for line in lines if line and not line.startswith("#")]
    assert rules[0] == "*"  # everything out, then the image's own files back in
    allowed = {rule[1:].rstrip("/") for rule in rules if rule.startswith("!")}
    assert allowed == {"app", "alembic", "alembic.ini", "pyproject.toml", "requirements.lock"}


def test_engine_compiled_at_start_fits_the_health_checks_start_period() -> None:
    # The image's Numba cache matches the build machine's CPU only; elsewhere `serve` compiles
    # the engine once (about 20 s on one core) before the workers load it.
    start_period = re.search(r"--start-period=(\d+)s", _dockerfile()).group(1)
    assert int(start_period) >= 90
    assert "warm_up()" in _dockerfile()


def test_compose_requires_a_postgres_password_and_restarts_services() -> None:
    raw = (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD:-" not in raw
    services = _compose()["services"]
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "unset-POSTGRES_PASSWORD"
    for name in ("migrate", "api"):
        assert ":unset-POSTGRES_PASSWORD@" in services[name]["environment"]["DATABASE_URL"]
    for name in ("postgres", "redis", "api"):
        assert services[name]["restart"] == "unless-stopped"
    assert services["migrate"]["restart"].startswith("on-failure")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    commands = [shlex.split(line) for line in ci.splitlines() if line.startswith("exec ")]
    assert commands == [["exec", "make", "test"]]
    assert "make test" in (PROJECT_ROOT / "README.md").read_text()


def test_compose_runs_job_workers_against_one_dask_scheduler() -> None:
    services = _compose()["services"]
    worker = services["worker"]
    assert worker["command"] == ["python", "-m", "app", "worker"]
    assert set(worker["environment"]) <= SETTINGS_FIELDS
    scheduler = worker["environment"]["DASK_SCHEDULER_ADDRESS"]
    assert scheduler == "tcp://dask-scheduler:8786"
    assert services["dask-scheduler"]["command"][:2] == ["dask", "scheduler"]
    assert services["dask-worker"]["command"][:3] == ["dask", "worker", scheduler]
    for name in ("worker", "dask-scheduler", "dask-worker"):
        assert services[name]["restart"] == "unless-stopped"
