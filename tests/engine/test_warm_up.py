"""The engine refuses to serve on a threading layer that concurrent requests would crash."""

import os
import subprocess
import sys
from pathlib import Path

from app.engine import warm_up

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_warm_up_reports_a_thread_safe_layer():
    assert warm_up() in {"omp", "tbb"}


def test_warm_up_refuses_the_workqueue_layer():
    script = (
        "from app.engine import warm_up\n"
        "try:\n    warm_up()\nexcept RuntimeError as error:\n    print('refused:', error)\n"
    )
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "refused:" in result.stdout and "not thread safe" in result.stdout
