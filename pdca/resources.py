"""What pdca reads at run time, found inside the installed package.

Templates, workflows and migrations live at the top of the repository
(templates/, workflows/, migrations/) and are installed as the packages
pdca.templates, pdca.workflows and pdca.migrations (see pyproject.toml); static
files and the catalogs sit in pdca/ itself. Everything is looked up through
importlib.resources, so an editable checkout and a wheel in any virtualenv find
the same files and nothing depends on the current directory.
"""

from functools import cache
from importlib.resources import files
from pathlib import Path


@cache
def _directory(package: str, *parts: str) -> Path:
    resource = files(package).joinpath(*parts)
    # Jinja, Alembic and StaticFiles read real directories; a zipped install has none.
    if not isinstance(resource, Path) or not resource.is_dir():
        raise RuntimeError(
            f"pdca's {package} files are not a directory on disk ({resource}); "
            "install pdca as a regular (unzipped) package"
        )
    return resource


def templates_dir() -> Path:
    return _directory("pdca.templates")


def workflows_dir() -> Path:
    """The built-in workflow definitions; PDCA_WORKFLOWS_DIR adds to them."""
    return _directory("pdca.workflows")


def indexes_dir() -> Path:
    """The built-in composite index definitions (QSI, QCI, PCI)."""
    return _directory("pdca.indexes")


def migrations_dir() -> Path:
    return _directory("pdca.migrations")


def static_dir() -> Path:
    return _directory("pdca", "static")


def locale_dir() -> Path:
    return _directory("pdca", "locale")
