"""Models and migrations never drift: `upgrade head` then autogenerate finds nothing."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from pdca import migrate


def test_upgrade_head_creates_every_table_of_the_models(engine):
    tables = set(inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_autogenerate_finds_no_drift_after_upgrade_head(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_the_database_is_at_head_after_upgrade(settings, engine):
    assert migrate.at_head(settings, engine)
    assert migrate.current_revisions(engine) == migrate.head_revisions(settings)


def test_a_model_change_without_a_migration_is_detected(engine):
    # The check above is only worth something if it notices a change.
    from sqlalchemy import Column, MetaData, String

    changed = MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["cycles"].append_column(Column("unmigrated_note", String(20)))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, changed)
    assert [d[0] for d in diff] == ["add_column"]
    assert diff[0][3].name == "unmigrated_note"
