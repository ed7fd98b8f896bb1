"""No Docker engine runs here, so the deployment files are checked against the code they start."""

import re
import shlex

import yaml

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
        Settings(_env_file=None, **{**environment, "JWT_SECRET_KEY": "x" * 32})
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
    assert api[:2] == ["uvicorn", "app.main:app"]
    assert api[api.index("--workers") + 1] == "4"
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


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    commands = [shlex.split(line) for line in ci.splitlines() if line.startswith("exec ")]
    assert commands == [["exec", "make", "test"]]
    assert "make test" in (PROJECT_ROOT / "README.md").read_text()
