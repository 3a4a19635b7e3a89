"""`pdca backup` and `pdca restore` for SQLite, through SQLite's online backup API.

The backup API copies the database page by page under SQLite's own locking, so a
copy taken while `pdca serve` writes is a consistent snapshot (every transaction
in it whole or not at all), and WAL content is included. PostgreSQL has its own
tools (`pg_dump -Fc`, `pg_restore`); these functions refuse it with that advice.
"""

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from pdca import migrate
from pdca.db import normalise_url
from pdca.settings import Settings

PG_BACKUP = (
    "pdca backup copies SQLite databases; for PostgreSQL use "
    "`pg_dump -Fc -f pdca.dump DATABASE` (restore with `pg_restore --clean --if-exists "
    "-d DATABASE pdca.dump`), as the README's Deployment section shows"
)
PG_RESTORE = (
    "pdca restore writes SQLite databases; for PostgreSQL use "
    "`pg_restore --clean --if-exists -d DATABASE pdca.dump`"
)


class BackupError(Exception):
    """A refusal worded for the person at the terminal."""


@dataclass(frozen=True)
class Copied:
    path: Path
    revision: str
    size: int


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file the settings point at; None for another database."""
    url = make_url(normalise_url(settings.database_url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise BackupError("the database is in memory: there is nothing on disk to back up")
    return Path(url.database)


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def _revision(connection: sqlite3.Connection, what: str) -> str:
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a pdca database ({exc})") from exc
    if len(rows) != 1:
        raise BackupError(f"{what} is not a pdca database (no schema revision in it)")
    return str(rows[0][0])


def _copy(source: sqlite3.Connection, target: Path, journal_mode: str) -> None:
    with closing(sqlite3.connect(target)) as destination:
        # Copy in steps so that writers are not held up for the whole copy; SQLite
        # restarts a step that a write interrupted, so the result is still a snapshot.
        source.backup(destination, pages=1024)
        destination.execute(f"PRAGMA journal_mode={journal_mode}")


def backup(settings: Settings, target: Path, force: bool = False) -> Copied:
    source_path = sqlite_path(settings)
    if source_path is None:
        raise BackupError(PG_BACKUP)
    if not source_path.is_file():
        raise BackupError(f"there is no database at {source_path}")
    if target.exists() and not force:
        raise BackupError(f"{target} already exists (add --force to overwrite it)")
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    with closing(_read_only(source_path)) as source:
        revision = _revision(source, str(source_path))
        # A backup is one self-contained file: no -wal beside it.
        _copy(source, partial, "DELETE")
    # Only a complete copy takes the name: an interrupted backup never looks like one.
    os.replace(partial, target)
    return Copied(target, revision, target.stat().st_size)


def known_revisions(settings: Settings) -> set[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config(settings))
    return {s.revision for s in script.walk_revisions()}


def restore(settings: Settings, source_path: Path, force: bool = False) -> Copied:
    target = sqlite_path(settings)
    if target is None:
        raise BackupError(PG_RESTORE)
    if not source_path.is_file():
        raise BackupError(f"there is no backup at {source_path}")
    with closing(_read_only(source_path)) as source:
        try:
            check = source.execute("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{source_path} is not a SQLite database ({exc})") from exc
        if check != ("ok",):
            raise BackupError(f"{source_path} is damaged: {check[0] if check else 'unreadable'}")
        revision = _revision(source, str(source_path))
        if revision not in known_revisions(settings):
            raise BackupError(
                f"{source_path} is at schema revision {revision}, which this pdca does not "
                "know (a backup from a newer pdca?)"
            )
        if target.exists() and target.stat().st_size > 0 and not force:
            raise BackupError(
                f"a database already exists at {target}; stop pdca serve, then add --force "
                "to replace it with the backup"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        # Through SQLite rather than a file copy: a -wal file beside the old database
        # would otherwise be replayed over the restored one.
        _copy(source, target, "WAL")
    return Copied(target, revision, target.stat().st_size)
