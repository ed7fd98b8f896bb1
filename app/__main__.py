"""`python -m app`: migrate the database, then serve. Also the small admin commands.

python -m app [serve] [--host H] [--port P] [--workers N]   migrate + serve
python -m app migrate                                        migrations only
python -m app worker                                         a simulation job worker
"""

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys

import uvicorn
from alembic import command
from alembic.config import Config
from pydantic import ValidationError

from app.config import PROJECT_ROOT, Settings, get_settings
from app.database import (
    Database,
    embedded_data_dir,
    resolve_database_url,
    stop_embedded_postgres,
)
from app.logging_config import configure_logging
from app.observability.metrics_dir import worker_metrics_dir
from app.server import uvicorn_options


def migrate() -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def serve(
    settings: Settings, host: str, port: int, workers: int, *, job_worker: bool = False
) -> None:
    if settings.DATABASE_URL_ASYNC is None:
        # One embedded server, owned by this process: workers get its URL instead of each
        # starting (and holding) it themselves.
        os.environ["DATABASE_URL_ASYNC"] = resolve_database_url(settings)
        get_settings.cache_clear()
    # uvicorn re-raises SIGTERM once it has shut down; exiting through SystemExit instead lets
    # the exit handlers run, and they stop the embedded PostgreSQL.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if workers > 1 or job_worker:
        compile_engine()
    # The job worker gets the embedded server's URL from the environment set above.
    worker = start_job_worker() if job_worker else None
    try:
        with worker_metrics_dir():  # /metrics then adds up every worker's files
            uvicorn.run(
                "app.main:app",
                host=host,
                port=port,
                workers=workers,
                log_config=None,
                **uvicorn_options(get_settings()),
            )
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        stop_embedded_postgres(embedded_data_dir(settings))


def start_job_worker() -> subprocess.Popen:
    """`python -m app worker` beside the server, for a one-command setup."""
    return subprocess.Popen([sys.executable, "-m", "app", "worker"], cwd=PROJECT_ROOT)


def compile_engine() -> None:
    """Fill Numba's disk cache once, so that workers load the engine instead of each compiling it.

    The cache holds one entry per CPU model: on a machine other than the one that built the image
    this is where the engine compiles. A child process keeps the compiler out of this one.
    """
    warm_up = "from app.engine import warm_up; warm_up()"
    subprocess.run([sys.executable, "-c", warm_up], check=True, cwd=PROJECT_ROOT)  # noqa: S603


async def create_admin(settings: Settings, email: str, password: str | None) -> None:
    # Imported here: the schemas and services are not needed to migrate or serve.
    from app.schemas.user import AdminAccount
    from app.services.accounts import make_admin

    try:
        account = AdminAccount(email=email, password=password)
    except ValidationError as error:
        problems = "; ".join(e["msg"] for e in error.errors())
        raise SystemExit(f"create-admin: {problems}") from None
    database = Database.from_settings(settings)
    try:
        async with database.sessionmaker() as db:
            user, generated = await make_admin(
                db, settings=settings, email=account.email, password=account.password
            )
    finally:
        await database.dispose()
    print(f"{user.email} (id {user.id}) is an admin.")
    if generated:
        print(f"Account created with password: {generated}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="migrate, then serve (the default)")
    commands.add_parser("migrate", help="run database migrations and exit")
    commands.add_parser("worker", help="run a simulation job worker (Procrastinate + Dask)")
    admin_parser = commands.add_parser("create-admin", help="create or promote an admin account")
    admin_parser.add_argument("email")
    admin_parser.add_argument(
        "--password", help="for a new account; a random one is generated and shown if omitted"
    )
    for target in (parser, serve_parser):
        target.add_argument("--host", default="127.0.0.1")
        target.add_argument("--port", type=int, default=8000)
        target.add_argument("--workers", type=int, default=1)
        target.add_argument(
            "--job-worker",
            action="store_true",
            help="also start one job worker beside the server (what `make run` does)",
        )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    settings = get_settings()
    configure_logging(json_lines=settings.is_production, level=settings.LOG_LEVEL)
    logging.getLogger("app").info("running database migrations")
    migrate()
    if args.command in (None, "serve"):
        serve(settings, args.host, args.port, args.workers, job_worker=args.job_worker)
    elif args.command == "worker":
        from app.services.job_worker import run_worker  # Dask is needed by workers only

        asyncio.run(run_worker(settings))
    elif args.command == "create-admin":
        asyncio.run(create_admin(settings, args.email, args.password))


if __name__ == "__main__":
    main()
