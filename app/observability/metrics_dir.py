"""The folder where workers write their metrics, prepared before any worker starts.

Kept apart from metrics.py: prometheus-client picks its storage when it is first imported, so
PROMETHEUS_MULTIPROC_DIR must be set before then, in the process that starts the workers.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def worker_metrics_dir() -> Iterator[Path]:
    """An empty metrics folder for this run's workers: the operator's PROMETHEUS_MULTIPROC_DIR
    (emptied of the last run's files) or a temporary one, removed afterwards."""
    configured = os.environ.get(VARIABLE)
    directory = Path(configured or tempfile.mkdtemp(prefix="monte-carlo-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        if not configured:
            shutil.rmtree(directory, ignore_errors=True)
