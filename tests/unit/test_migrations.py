"""Models and migrations never drift: `upgrade head` then autogenerate finds nothing."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from pdca import migrate


def test_upgrade_head_creates_every_table_of_the_models(migrated_engine):
    tables = set(inspect(migrated_engine).get_table_names())
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_autogenerate_finds_no_drift_after_upgrade_head(migrated_engine):
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []


def test_the_database_is_at_head_after_upgrade(settings, migrated_engine):
    assert migrate.at_head(settings, migrated_engine)
    assert migrate.current_revisions(migrated_engine) == migrate.head_revisions(settings)


def test_a_model_change_without_a_migration_is_detected(migrated_engine):
    # The check above is only worth something if it notices a change.
    from sqlalchemy import Column, MetaData, String

    changed = MetaData(naming_convention=SQLModel.metadata.naming_convention)
    for table in SQLModel.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["cycles"].append_column(Column("unmigrated_note", String(20)))
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, changed)
    assert [d[0] for d in diff] == ["add_column"]
    assert diff[0][3].name == "unmigrated_note"


def test_upgrading_a_database_that_holds_data_keeps_every_row(settings):
    # Recreating tables in batch mode on SQLite once failed on foreign keys with rows present.
    from sqlalchemy import text

    from pdca.db import make_engine

    migrate.upgrade(settings, revision="0004")
    engine = make_engine(settings)
    now = "2026-11-01 09:00:00"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO departments (id, code, name, created_at, version) "
                f"VALUES (1, 'CS', 'Customer Service', '{now}', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, email, name, role, department_id, locale, active, created_at,"
                f" version) VALUES (1, 'f@x.io', 'F', 'facilitator', 1, 'en', true, '{now}', 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO workflow_versions (id, name, number, digest, definition, created_at) "
                f"VALUES (1, 'pdca', 1, 'abc', '{{}}', '{now}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO problems (id, title, source, severity, status, department_id, reported_at,"
                f" occurrences, version) VALUES (1, 'Slow', 'complaint', 'high', 'accepted', 1, '{now}',"
                " 1, 1)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO cycles (id, title, workflow, workflow_version_id, state, iteration,"
                " failed_iterations, escalated, lead_id, extra, created_at, state_entered_at, version)"
                f" VALUES (1, 'C', 'pdca', 1, 'plan', 1, 0, false, 1, '{{}}', '{now}', '{now}', 1)"
            )
        )
        conn.execute(text("INSERT INTO cycle_problems (cycle_id, problem_id) VALUES (1, 1)"))

    migrate.upgrade(settings)

    with engine.connect() as conn:
        counts = [
            conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("problems", "cycles", "cycle_problems")
        ]
        assert counts == [1, 1, 1]
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    assert migrate.at_head(settings, engine)
    engine.dispose()
