"""The *.lock files: complete, hashed, in step with the requirements*.txt they are made from.

A failure here after editing a requirements*.txt means: run `make lock` and commit the locks.
"""

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from app.config import PROJECT_ROOT

# Each human-edited input and the lock `make lock` resolves from it.
LOCKS = {
    "requirements.txt": "requirements.lock",
    "requirements-embedded.txt": "requirements-embedded.lock",
    "requirements-dev.txt": "requirements-dev.lock",
}
DEV_ONLY = {"pgserver", "pytest", "pytest-asyncio", "ruff", "uv"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _input_pins(path: Path) -> dict[str, str]:
    """name -> version of every requirement in `path` and the files it includes with -r."""
    pins: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            pins |= _input_pins(path.parent / line[3:].strip())
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)", line)
        assert match, f"{path.name}: {raw!r} is not pinned as name==version"
        pins[_canonical(match.group(1))] = match.group(3)
    return pins


def _locked(path: Path) -> dict[str, list[str]]:
    """name -> the versions a lock pins (one per environment marker), each with its hashes."""
    entries: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=\S)", path.read_text()):
        if block.startswith("#") or not block.strip():
            continue
        match = re.match(r"([a-z0-9-]+)==(\S+)", block)
        assert match, f"{path.name}: unpinned entry {block.splitlines()[0]!r}"
        assert "--hash=sha256:" in block, f"{path.name}: {match.group(0)} has no hash"
        entries.setdefault(match.group(1), []).append(match.group(2))
    return entries


@pytest.mark.parametrize("source", list(LOCKS))
def test_every_input_pin_is_locked_at_its_version(source: str) -> None:
    locked = _locked(PROJECT_ROOT / LOCKS[source])
    for name, version in _input_pins(PROJECT_ROOT / source).items():
        assert locked.get(name) == [version], f"{name}=={version} not in {LOCKS[source]}: make lock"


def test_locks_agree_on_every_shared_package() -> None:
    dev = _locked(PROJECT_ROOT / "requirements-dev.lock")
    for lock in ("requirements.lock", "requirements-embedded.lock"):
        for name, versions in _locked(PROJECT_ROOT / lock).items():
            assert dev.get(name) == versions, f"{lock} and requirements-dev.lock differ on {name}"


def test_the_runtime_lock_has_no_test_tool_and_no_embedded_postgres() -> None:
    runtime = set(_locked(PROJECT_ROOT / "requirements.lock"))
    assert not runtime & DEV_ONLY
    assert DEV_ONLY - {"uv"} <= set(_locked(PROJECT_ROOT / "requirements-dev.lock"))


@pytest.mark.parametrize(
    ("target", "lock"), [("run", "requirements-embedded.lock"), ("test", "requirements-dev.lock")]
)
def test_make_installs_only_hashed_locks(target: str, lock: str, tmp_path: Path) -> None:
    dry_run = subprocess.run(
        ["make", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    installs = [shlex.split(line) for line in dry_run.splitlines() if " pip install " in line]
    assert installs
    for command in installs:
        assert "--require-hashes" in command
        files = [command[i + 1] for i, word in enumerate(command) if word == "-r"]
        assert files == [lock]
