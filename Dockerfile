# Production image: uvicorn with 4 workers; migrations run as their own step (see docker-compose.yml).
# Installs requirements.lock (`make lock`), the runtime dependencies only.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENVIRONMENT=production \
    NUMBA_THREADING_LAYER=threadsafe \
    NUMBA_CACHE_DIR=/home/app/numba-cache

# libgomp1: Numba's OpenMP threading layer, safe when several requests simulate at once.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 app

WORKDIR /srv
# The runtime lock only: no test tools, no embedded PostgreSQL; every file checked against its hash.
COPY requirements.lock .
RUN pip install --require-hashes -r requirements.lock

COPY alembic.ini pyproject.toml ./
COPY alembic ./alembic
COPY app ./app

USER app
# Compile the engine at build time into NUMBA_CACHE_DIR. Its entries are per CPU model: on another
# CPU, `python -m app serve` compiles once more before the workers start (~20-60 s, within the
# health check's start period) and the workers load that.
RUN python -c "from app.engine import warm_up; warm_up()"

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]

# Migrations are a no-op here once compose's migrate step has run.
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "4"]
