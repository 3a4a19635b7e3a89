"""Schema migrations through Alembic, and whether a database is at head."""

import functools

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from pdca import resources
from pdca.settings import Settings


def alembic_config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(resources.migrations_dir()))
    config.attributes["database_url"] = settings.database_url
    return config


def upgrade(settings: Settings, engine: Engine | None = None, revision: str = "head") -> None:
    config = alembic_config(settings)
    if engine is None:
        command.upgrade(config, revision)
        return
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revisions(settings: Settings) -> set[str]:
    return set(_heads_of(str(resources.migrations_dir())))


@functools.cache
def _heads_of(script_location: str) -> frozenset[str]:
    # The scripts ship with the package and do not change while the process runs;
    # reading them all costs 0.1-0.2 s, paid by every app made.
    config = Config()
    config.set_main_option("script_location", script_location)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def schema_state(engine: Engine, heads: set[str]) -> str:
    """'head', 'behind' or 'unreachable', with one connection and one small query.

    What /healthz asks on every call: Alembic's MigrationContext is built for
    migrating, and configuring one per probe cost more than the probe itself.
    """
    try:
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except OperationalError as exc:
        # A database without the table is reachable but not migrated.
        return "behind" if "alembic_version" in str(exc) else "unreachable"
    except ProgrammingError:  # PostgreSQL: no such table
        return "behind"
    except Exception:
        return "unreachable"
    return "head" if {row[0] for row in rows} == heads else "behind"


def at_head(settings: Settings, engine: Engine) -> bool:
    return current_revisions(engine) == head_revisions(settings)
