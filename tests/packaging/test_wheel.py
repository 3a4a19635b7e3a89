"""A wheel built from the source runs anywhere: migrate, load the demo and serve.

The wheel goes into a virtualenv of its own, run from a temporary directory with
no PYTHONPATH, so nothing can be read from the source checkout. Its dependencies
come from this test run's virtualenv through a .pth line (the machine may be
offline); .pth files are not read from a directory named in a .pth, so this
virtualenv's editable pdca stays out of sight.
"""

import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import httpx
import pytest
from setuptools import find_packages

from pdca.settings import Settings
from tests.live import clean_environment, serving_process

REPO = Path(__file__).resolve().parents[2]
# What a clean clone would not hold, or the wheel does not need.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "data", "tests",
    "node_modules", "test-results",
)  # fmt: skip
SECRET = "wheel-test-secret-0123456789"


def run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=120, **kwargs
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr}"
    return result


def test_the_package_list_names_every_package_of_the_source():
    # The list in pyproject.toml is explicit; a new sub-package left out of it would be
    # missing from the wheel only.
    listed = set(
        tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {p for p in find_packages(str(REPO), include=["pdca", "pdca.*"])}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding pdca from a freshly built wheel; its bin directory."""
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=NOT_IN_A_CLONE)
    dist = root / "dist"
    run(sys.executable, "-m", "pip", "wheel", source, "--no-deps", "--no-build-isolation",
        "--quiet", "--wheel-dir", dist)  # fmt: skip
    [wheel] = dist.glob("pdca-*.whl")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel)  # fmt: skip
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    (Path(site.stdout.strip()) / "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    return venv / "bin"


def test_the_wheel_holds_what_pdca_reads_at_run_time(installed: Path, tmp_path: Path):
    where = run(
        installed / "python",
        "-c",
        "import pdca, pdca.resources as r; print(pdca.__file__); "
        "print(*(f() for f in (r.templates_dir, r.workflows_dir, r.migrations_dir, "
        "r.static_dir, r.locale_dir, r.indexes_dir)), sep='\\n')",
        cwd=tmp_path,
        env=clean_environment(),
    ).stdout.split()
    venv = installed.parent
    assert all(Path(p).is_relative_to(venv) for p in where), where
    templates, workflows, migrations, static, locale, indexes = map(Path, where[1:])
    assert (templates / "board" / "page.html").is_file()
    assert sorted(p.name for p in workflows.glob("*.yaml")) == [
        "8d.yaml", "dmaic.yaml", "five_step.yaml", "pdca.yaml"
    ]  # fmt: skip
    assert (migrations / "env.py").is_file() and list((migrations / "versions").glob("0001_*.py"))
    assert list(static.glob("vendor/htmx-*.min.js"))
    assert (locale / "zh_CN" / "LC_MESSAGES" / "messages.po").is_file()
    assert sorted(p.name for p in indexes.glob("*.yaml")) == ["pci.yaml", "qci.yaml", "qsi.yaml"]


def test_the_installed_pdca_migrates_loads_the_demo_and_serves_from_any_directory(
    installed: Path, tmp_path: Path, backend: str, settings: Settings
):
    pdca = installed / "pdca"
    here = tmp_path / "anywhere"
    here.mkdir()
    if backend == "sqlite":
        # No database URL: the default SQLite file goes to ./data under the directory.
        env = clean_environment(secret_key=SECRET, monitor_every_minutes="0")
    else:
        env = clean_environment(
            secret_key=SECRET, monitor_every_minutes="0", database_url=settings.database_url
        )

    upgraded = run(pdca, "db", "upgrade", cwd=here, env=env)
    assert "Upgraded the database to revision" in upgraded.stdout
    if backend == "sqlite":
        assert (here / "data" / "pdca.sqlite3").is_file()
    demo = run(pdca, "demo", cwd=here, env=env)
    assert demo.stdout.startswith("Loaded the demo")

    with serving_process([str(pdca), "serve"], env=env, cwd=here) as base:
        health = httpx.get(f"{base}/healthz").json()
        assert health["workflows"] == ["8d", "dmaic", "five_step", "pdca"]
        login = httpx.get(f"{base}/login")
        assert login.status_code == 200 and 'name="password"' in login.text
        assert httpx.get(f"{base}/static/pdca.css").status_code == 200
        zh = httpx.get(f"{base}/login", headers={"Accept-Language": "zh-CN"})
        assert "登录" in zh.text
