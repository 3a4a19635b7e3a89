"""The loaded workflows, and the version of each that a cycle runs under.

Definitions are loaded and validated once at start-up; each version is stored in
the database the first time a cycle uses it, so later edits of a YAML file never
change a running cycle. Machines are built once per version and shared.
"""

from pathlib import Path

from sqlmodel import Session, func, select

from pdca.engine.definition import WorkflowDefinition, from_dict, load_directories, load_directory
from pdca.engine.machine import WorkflowMachine
from pdca.models import WorkflowVersion
from pdca.services.errors import Invalid


class WorkflowCatalog:
    def __init__(self, definitions: dict[str, WorkflowDefinition]) -> None:
        self.definitions = definitions
        self._machines_by_digest: dict[str, WorkflowMachine] = {
            d.digest: WorkflowMachine(d) for d in definitions.values()
        }
        # (database, stored version id) -> machine. A stored version never changes (a new
        # file makes a new version), so a transition need not read it again.
        self._machines_by_version: dict[tuple[str, int], WorkflowMachine] = {}

    @classmethod
    def from_directory(cls, directory: Path) -> "WorkflowCatalog":
        return cls(load_directory(directory))

    @classmethod
    def from_directories(cls, directories: list[Path]) -> "WorkflowCatalog":
        """The built-in workflows and any added ones (Settings.workflow_dirs())."""
        return cls(load_directories(directories))

    def names(self) -> list[str]:
        return sorted(self.definitions)

    def current(self, name: str) -> WorkflowDefinition:
        try:
            return self.definitions[name]
        except KeyError:
            raise Invalid(
                f"Unknown workflow {name!r}; choose one of: {', '.join(self.names())}."
            ) from None

    def register_version(self, session: Session, name: str) -> WorkflowVersion:
        """The stored version matching the current file, created the first time it is used."""
        definition = self.current(name)
        existing = session.exec(
            select(WorkflowVersion).where(WorkflowVersion.digest == definition.digest)
        ).first()
        if existing is not None:
            return existing
        latest = session.exec(
            select(func.max(WorkflowVersion.number)).where(WorkflowVersion.name == name)
        ).one()
        version = WorkflowVersion(
            name=name,
            number=(latest or 0) + 1,
            digest=definition.digest,
            definition=dict(definition.raw),
        )
        session.add(version)
        session.flush()
        return version

    def machine_for_version_id(self, session: Session, version_id: int) -> WorkflowMachine:
        """The machine of a stored version, read from the database once per process."""
        cache_key = (str(session.get_bind().engine.url), version_id)
        machine = self._machines_by_version.get(cache_key)
        if machine is None:
            version = session.get(WorkflowVersion, version_id)
            assert version is not None  # a foreign key guarantees it
            machine = self.machine_for(version)
            self._machines_by_version[cache_key] = machine
        return machine

    def forget_stored_versions(self) -> None:
        """Read stored versions again: for a database emptied and refilled under the same
        address (the tests reuse PostgreSQL schemas), where an id can name another version."""
        self._machines_by_version.clear()

    def machine_for(self, version: WorkflowVersion) -> WorkflowMachine:
        """The machine for a stored version: today's file, or the snapshot a cycle began with."""
        machine = self._machines_by_digest.get(version.digest)
        if machine is None:
            source = f"stored workflow {version.name} v{version.number}"
            machine = WorkflowMachine(from_dict(version.definition, source))
            self._machines_by_digest[version.digest] = machine
        return machine
