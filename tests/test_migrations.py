"""Migrations on a real PostgreSQL: they go up and down cleanly and agree with the models."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.models import Base
from app.models.job import is_queue_table
from tests.conftest import ensure_database_exists, run_alembic


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade_round_trip(database_url: str) -> None:
    url = make_url(database_url)
    scratch_url = url.set(database=f"{url.database}_migrations").render_as_string(
        hide_password=False
    )
    await ensure_database_exists(scratch_url)
    engine = create_async_engine(scratch_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))

        await run_alembic(engine, lambda config: command.upgrade(config, "head"))
        expected = {table.name for table in Base.metadata.sorted_tables}
        assert expected <= await _tables(engine)

        await run_alembic(engine, lambda config: command.downgrade(config, "base"))
        assert await _tables(engine) == {"alembic_version"}

        await run_alembic(engine, lambda config: command.upgrade(config, "head"))
        assert expected <= await _tables(engine)
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def differences(sync_connection: object) -> list:
        context = MigrationContext.configure(
            sync_connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, _: (
                    not (type_ == "table" and is_queue_table(name))
                ),
            },
        )
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_schema_keeps_the_spec_indexes_and_cascades(engine: AsyncEngine) -> None:
    def describe(sync_connection: object) -> dict:
        inspector = inspect(sync_connection)
        return {
            table: {
                "indexes": {
                    (tuple(ix["column_names"]), bool(ix["unique"]))
                    for ix in inspector.get_indexes(table)
                },
                "cascades": {
                    fk["referred_table"]: fk["options"].get("ondelete")
                    for fk in inspector.get_foreign_keys(table)
                },
                "timestamps": {
                    column["name"]: column["type"].timezone
                    for column in inspector.get_columns(table)
                    if column["name"].endswith("_at")
                },
            }
            for table in ("users", "api_keys", "api_call_logs")
        }

    async with engine.connect() as connection:
        schema = await connection.run_sync(describe)
    assert (("email",), True) in schema["users"]["indexes"]
    assert (("key_hash",), True) in schema["api_keys"]["indexes"]
    assert (("user_id", "status"), False) in schema["api_keys"]["indexes"]
    assert (("user_id", "created_at"), False) in schema["api_call_logs"]["indexes"]
    assert schema["api_keys"]["cascades"] == {"users": "CASCADE"}
    assert schema["api_call_logs"]["cascades"]["users"] == "CASCADE"
    for table in schema.values():
        assert table["timestamps"] and all(table["timestamps"].values())
