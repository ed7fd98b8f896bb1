"""`python -m app`: migrate the database, then serve. Also the small admin commands.

python -m app [serve] [--host H] [--port P] [--workers N]   migrate + serve
python -m app migrate                                        migrations only
"""

import argparse
import logging

import uvicorn
from alembic.config import Config

from alembic import command
from app.config import PROJECT_ROOT, get_settings
from app.logging_config import configure_logging


def migrate() -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["configure_logger"] = False
    command.upgrade(config, "head")


def serve(host: str, port: int, workers: int) -> None:
    uvicorn.run(
        "app.main:app", host=host, port=port, workers=workers, log_config=None, proxy_headers=True
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    serve_parser = commands.add_parser("serve", help="migrate, then serve (the default)")
    commands.add_parser("migrate", help="run database migrations and exit")
    for target in (parser, serve_parser):
        target.add_argument("--host", default="127.0.0.1")
        target.add_argument("--port", type=int, default=8000)
        target.add_argument("--workers", type=int, default=1)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    settings = get_settings()
    configure_logging(json_lines=settings.is_production, level=settings.LOG_LEVEL)
    logging.getLogger("app").info("running database migrations")
    migrate()
    if args.command in (None, "serve"):
        serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    main()
