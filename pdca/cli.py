"""The `pdca` command: migrate, serve, load the demo, create users, check workflows.

Settings are built inside each command, never at import time. Every write goes
through the services. Errors a person can act on (bad input, an unreachable
database, a broken workflow file, a missing secret) print one line on stderr
and exit non-zero; `_Commands.invoke` is the one place that turns them into it.
"""

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from alembic.util.exc import CommandError
from pydantic import ValidationError
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError
from sqlmodel import Session
from typer.core import TyperGroup

from pdca import backup as backups
from pdca import migrate, resources
from pdca.db import make_engine, normalise_url
from pdca.demo import existing_rows, load_demo
from pdca.engine.definition import WorkflowDefinition, WorkflowError, files_by_name, load_file
from pdca.engine.indexes import IndexDefinitionError
from pdca.engine.indexes import load_file as load_index_file
from pdca.engine.machine import diagram
from pdca.engine.registry import EFFECT_DESCRIPTIONS, GUARD_DESCRIPTIONS
from pdca.models import Role
from pdca.services import accounts, jobs, kpis, monitor, organisation, trail
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.services.errors import Invalid, ServiceError
from pdca.settings import Settings, SettingsError, get_settings
from pdca.web.app import job_config


class CliError(Exception):
    """A refusal of the command itself, already worded for the person at the terminal."""


# The database a command talks to, so that a database error can say which one.
_database: ContextVar[str | None] = ContextVar("pdca_cli_database", default=None)


def _safe_url(url: str) -> str:
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _one_line(text: str) -> str:
    return " ".join(text.split())


def error_line(exc: Exception) -> str | None:
    """The one line a person reads for an error they can act on; None for a bug."""
    if isinstance(exc, CliError | SettingsError | WorkflowError | CommandError):
        return _one_line(str(exc))
    if isinstance(exc, ServiceError):
        reasons = " ".join(r.message for r in exc.reasons if r.message not in exc.detail)
        return _one_line(f"{exc.detail} {reasons}")
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"PDCA_{'_'.join(str(part) for part in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        return _one_line(f"invalid setting: {problems}")
    if isinstance(exc, DBAPIError):
        where = _database.get() or "the database"
        cause = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        hint = ""
        if any(s in cause.lower() for s in ("no such table", "does not exist", "undefined")):
            hint = " (is the schema there? run `pdca db upgrade`)"
        return _one_line(f"database error at {where}: {cause}{hint}")
    if isinstance(exc, SQLAlchemyError):
        return _one_line(f"database error: {exc}")
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return _one_line(f"{exc.strerror or exc}{where}")
    return None


class _Commands(TyperGroup):
    """The root group: turns the errors above into `error: …` on stderr and exit code 1."""

    def invoke(self, ctx: typer.Context) -> Any:
        _database.set(None)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, BrokenPipeError):
            raise  # typer's own: --help, usage errors, Ctrl-C; and a closed pipe (`| head`)
        except Exception as exc:
            line = error_line(exc)
            if line is None:
                if _debug():
                    raise
                line = (
                    f"unexpected {type(exc).__name__}: {_one_line(str(exc))} "
                    "(a bug in pdca; run with PDCA_DEBUG=1 for the traceback)"
                )
            typer.echo(f"error: {line}", err=True)
            raise typer.Exit(1) from exc


def _debug() -> bool:
    try:
        return get_settings().debug
    except Exception:
        return False


app = typer.Typer(
    cls=_Commands,
    name="pdca",
    help="pdca: continuous-improvement cycles, corrective actions and their audit trail.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
user_app = typer.Typer(help="People who sign in.", no_args_is_help=True)
workflows_app = typer.Typer(
    help="The workflow definitions: the built-in ones and those PDCA_WORKFLOWS_DIR adds.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(workflows_app, name="workflows")
indexes_app = typer.Typer(
    help="Composite quality indexes (QSI, QCI, PCI): check their definitions.",
    no_args_is_help=True,
)
app.add_typer(indexes_app, name="indexes")
token_app = typer.Typer(help="API tokens for scripts and monitoring systems.", no_args_is_help=True)
app.add_typer(token_app, name="token")
audit_app = typer.Typer(help="The audit trail and its hash chain.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
kpi_app = typer.Typer(
    help="Key performance indicators and their measurements.", no_args_is_help=True
)
app.add_typer(kpi_app, name="kpi")
monitor_app = typer.Typer(help="KPI monitoring on a schedule.", no_args_is_help=True)
app.add_typer(monitor_app, name="monitor")
jobs_app = typer.Typer(
    help="Notifications, reminders, escalation, digests and deliveries.", no_args_is_help=True
)
app.add_typer(jobs_app, name="jobs")


def main() -> None:
    """The console script: `pdca …`."""
    app(prog_name="pdca")


# --- helpers -----------------------------------------------------------------


def _settings() -> Settings:
    settings = get_settings()
    _database.set(_safe_url(settings.database_url))
    return settings


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    try:
        yield engine
    finally:
        engine.dispose()


def _require_head(settings: Settings, engine: Engine) -> None:
    current = migrate.current_revisions(engine)
    heads = migrate.head_revisions(settings)
    if current == heads:
        return
    if not current:
        raise CliError(
            f"the database at {_safe_url(settings.database_url)} has no pdca schema yet: "
            "run `pdca db upgrade`"
        )
    raise CliError(
        f"the database schema is at revision {', '.join(sorted(current))}, not at "
        f"{', '.join(sorted(heads))}: run `pdca db upgrade`"
    )


# --- db ----------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the schema to the newest revision."""
    settings = _settings()
    with _engine(settings) as engine:
        before = migrate.current_revisions(engine)
        migrate.upgrade(settings)
        after = migrate.current_revisions(engine)
    revision = ", ".join(sorted(after)) or "none"
    where = _safe_url(settings.database_url)
    if before == after:
        typer.echo(f"The database is already at revision {revision} (head): {where}")
    else:
        typer.echo(f"Upgraded the database to revision {revision} (head): {where}")


# --- serve -------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on [default: PDCA_HOST, 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [default: PDCA_PORT, 8000]")] = None,
    workers: Annotated[
        int | None,
        typer.Option(min=1, help="Worker processes [default: PDCA_WORKERS, 1]"),
    ] = None,
) -> None:
    """Serve the web app and the API."""
    # Only this command needs the web stack; the others start faster without it.
    import uvicorn

    from pdca.web.app import create_app

    settings = _settings()
    settings.check_secret()
    with _engine(settings) as engine:
        _require_head(settings, engine)
    # Built here even for several workers: a broken workflow file or template directory
    # stops the command with its reason before any process starts.
    application = create_app(settings)
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    workers = settings.workers if workers is None else workers
    where = f"http://{host}:{port} ({_safe_url(settings.database_url)})"
    if workers == 1:
        typer.echo(f"Serving pdca on {where}")
        uvicorn.run(application, host=host, port=port)
        return
    # Each worker process builds its own app from the same PDCA_ environment. Sessions,
    # CSRF tokens, sign-in throttling and the monitor's lease live in the database, so
    # the workers behave as one server.
    typer.echo(f"Serving pdca on {where} with {workers} worker processes")
    uvicorn.run(
        "pdca.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # A worker builds the whole app before it answers the supervisor's health check:
        # on a busy or small machine that takes longer than uvicorn's 5 s, and a worker
        # killed as "hung" while starting is started again, and again, for ever.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
    )


WORKER_START_SECONDS = 60


# --- backup and restore --------------------------------------------------------------


@app.command()
def backup(
    file: Annotated[
        Path, typer.Argument(help="Where to write the copy, e.g. pdca-2026-11-25.sqlite3")
    ],
    force: Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")] = False,
) -> None:
    """Copy the SQLite database to FILE, consistent even while pdca serve runs (PostgreSQL: pg_dump)."""
    settings = _settings()
    try:
        copied = backups.backup(settings, file, force=force)
    except backups.BackupError as exc:
        raise CliError(str(exc)) from exc
    typer.echo(
        f"Backed up the database (schema revision {copied.revision}) to {copied.path} "
        f"({copied.size:,} bytes)."
    )


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A file that `pdca backup` wrote.")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the database that is there now.")
    ] = False,
) -> None:
    """Put a backup in place of the SQLite database (stop pdca serve first; PostgreSQL: pg_restore)."""
    settings = _settings()
    try:
        copied = backups.restore(settings, file, force=force)
    except backups.BackupError as exc:
        raise CliError(str(exc)) from exc
    with _engine(settings) as engine:
        behind = migrate.current_revisions(engine) != migrate.head_revisions(settings)
    advice = " Run `pdca db upgrade` before serving it." if behind else ""
    typer.echo(f"Restored {file} (schema revision {copied.revision}) to {copied.path}.{advice}")


# --- demo ----------------------------------------------------------------------------


@app.command()
def demo(
    if_empty: Annotated[
        bool,
        typer.Option(
            "--if-empty",
            help="On a database that already holds data, keep it and exit 0 instead of refusing.",
        ),
    ] = False,
) -> None:
    """Load a demo organisation (departments, people, problems, cycles, actions) into an empty database."""
    settings = _settings()
    catalog = WorkflowCatalog.from_directories(settings.workflow_dirs())
    with _engine(settings) as engine:
        _require_head(settings, engine)
        with Session(engine) as session:
            existing = existing_rows(session)
        if existing:
            held = ", ".join(f"{n} {name}" for name, n in existing.items())
            if if_empty:
                typer.echo(f"The database already holds data ({held}); kept it as it is.")
                return
            raise CliError(
                f"the database already holds data ({held}); `pdca demo` loads only into an "
                "empty database (use --if-empty to keep the data and carry on)"
            )
        started = time.monotonic()
        with engine.connect() as connection, connection.begin():
            # The services commit after each use case; inside this outer transaction those
            # commits only release savepoints, so a demo that fails half-way leaves nothing.
            session = Session(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
            )
            summary = load_demo(session, catalog, datetime.now(UTC))
            session.close()
        seconds = time.monotonic() - started
    typer.echo(
        f"Loaded the demo in {seconds:.1f} s: {summary.departments} departments, "
        f"{summary.users} users, {summary.problems} problems, {summary.cycles} cycles, "
        f"{summary.actions} actions ({summary.overdue} overdue, {summary.due_this_week} due "
        f"within 7 days), {summary.comments} comments."
    )
    if summary.kpis is not None:
        k = summary.kpis
        typer.echo(
            f"KPIs: {k.kpis} KPIs with {k.points:,} points over a year; monitoring raised "
            f"{k.problems} problems ({k.open_problems} open, {k.occurrences} occurrences in all)."
        )
    typer.echo("")
    typer.echo(
        f"Sign in at http://{settings.host}:{settings.port} with any of these accounts; "
        f"the password is {summary.password}"
    )
    width = max(len(s.email) for s in summary.sign_ins)
    for s in summary.sign_ins:
        typer.echo(f"  {s.email:<{width}}  {s.role:<11}  {s.department:<4}  {s.name}")


# --- users ------------------------------------------------------------------------------


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="Their e-mail address, used to sign in.")],
    name: Annotated[str, typer.Option("--name", help="Full name as colleagues see it.")],
    role: Annotated[Role, typer.Option("--role", case_sensitive=False)] = Role.member,
    department: Annotated[
        str | None, typer.Option("--department", metavar="CODE", help="Department code, e.g. CS.")
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(help="Asked for (hidden, twice) when omitted and run in a terminal."),
    ] = None,
    locale: Annotated[str, typer.Option(help="Language: en or zh_CN.")] = "en",
) -> None:
    """Create a person who can sign in."""
    settings = _settings()
    if password is None:
        if not _stdin_is_terminal():
            raise CliError("give the password with --password (there is no terminal to ask it on)")
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _engine(settings) as engine:
        _require_head(settings, engine)
        with Session(engine, expire_on_commit=False) as session:
            # Creating people needs no workflow: an empty catalog keeps a broken file out of it.
            ctx = Ctx(session=session, actor=None, catalog=WorkflowCatalog({}))
            user = organisation.create_user(
                ctx,
                email=email,
                name=name,
                role=role.value,
                department_code=department,
                password=password,
                locale=locale,
            )
    where = f", {department.upper()}" if department else ""
    typer.echo(f"Created {user.email} ({user.name}, {user.role}{where}).")


# --- tokens ---------------------------------------------------------------------------------


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Argument(help="Whose token: the API acts as this person.")],
    name: Annotated[str, typer.Option("--name", help="What it is for, e.g. 'monitoring'.")] = "cli",
    days: Annotated[
        int | None,
        typer.Option(
            "--days", help="Valid for this many days (omit: 90, or 30 for a signing token)."
        ),
    ] = None,
    never_expires: Annotated[bool, typer.Option("--never-expires")] = False,
    signing: Annotated[
        bool, typer.Option("--signing", help="May sign verifications and closures.")
    ] = False,
) -> None:
    """Create a bearer token and print it once (only its hash is stored)."""
    settings = _settings()
    with _engine(settings) as engine:
        _require_head(settings, engine)
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=None, catalog=WorkflowCatalog({}))
            user = organisation.user_by_email(ctx, email)
            if user is None or user.id is None:
                raise CliError(f"there is no user with the e-mail {email.strip().lower()}")
            new = accounts.create_token(
                ctx,
                user.id,
                name=name,
                can_sign=signing,
                # A signing token always expires: at most 30 days (refused above that).
                expires_in_days=None
                if never_expires
                else days or (accounts.SIGNING_TOKEN_MAX_DAYS if signing else 90),
            )
    expiry = new.token.expires_at.date().isoformat() if new.token.expires_at else "never"
    typer.echo(
        f"Token {new.token.name!r} for {user.email} (expires {expiry}"
        f"{', may sign' if signing else ''}). Store it now; it is not shown again:"
    )
    typer.echo(new.secret)


# --- the audit trail --------------------------------------------------------------------------


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the trail's hash chain; name the first event that does not follow (exit 1).

    The outcome is recorded in the trail (by the system), as the audit page's button does.
    """
    settings = _settings()
    with _engine(settings) as engine:
        _require_head(settings, engine)
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=None, catalog=WorkflowCatalog({}))
            report = trail.verify(ctx)
    if report.broken_at is not None:
        raise CliError(
            f"the audit trail is broken at event {report.broken_at}: {report.reason} "
            f"({report.checked} events before it are intact)"
        )
    typer.echo(f"The audit trail is intact: {report.checked} events, every link checked.")


# --- KPIs and monitoring ---------------------------------------------------------------------


def read_csv_rows(path: Path) -> list[kpis.RowIn]:
    # Read line by line: a file past one batch is refused at its limit, not read whole.
    try:
        with path.open(encoding="utf-8-sig", newline="") as lines:
            return kpis.rows_from_csv(lines)
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text") from exc


@kpi_app.command("import")
def kpi_import(
    file: Annotated[Path, typer.Argument(help="CSV with the header kpi,at,value.")],
) -> None:
    """Import measurements from CSV: all or nothing; bad lines are listed and nothing is stored."""
    settings = _settings()
    with _engine(settings) as engine:
        _require_head(settings, engine)
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=None, catalog=WorkflowCatalog({}))
            try:
                result = kpis.ingest(ctx, read_csv_rows(file))
            except Invalid as exc:
                for reason in exc.reasons:
                    typer.echo(f"{file}: {reason.message}", err=True)
                raise CliError(exc.detail) from exc
    typer.echo(
        f"Stored {result.stored} points ({result.duplicates} already there); "
        f"{len(result.problems_raised)} problems raised, "
        f"{result.occurrences_added} occurrences added."
    )


@monitor_app.command("run")
def monitor_run() -> None:
    """Run the scheduled checks once (missing data); skips if another worker is running them."""
    settings = _settings()
    with _engine(settings) as engine:
        _require_head(settings, engine)
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=None, catalog=WorkflowCatalog({}))
            run = monitor.run_once(ctx, holder=f"cli:{socket.gethostname()}:{os.getpid()}")
    if not run.ran:
        typer.echo("Another worker is running the monitor now; nothing done.")
        return
    typer.echo(f"Checked the KPIs: {len(run.problems)} missing-data problems raised or repeated.")


@jobs_app.command("run")
def jobs_run() -> None:
    """Run the notification jobs once (also run inside pdca serve); each skips if another
    process holds its lease, and none sends anything twice."""
    settings = _settings()
    catalog = WorkflowCatalog.from_directories(settings.workflow_dirs())
    with _engine(settings) as engine:
        _require_head(settings, engine)
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=None, catalog=catalog)
            holder = f"cli:{socket.gethostname()}:{os.getpid()}"
            report = jobs.run_all(ctx, job_config(settings), holder)
    for name in report.ran:
        typer.echo(f"{name}: {report.counts[name]}")
    for name in report.skipped:
        typer.echo(f"{name}: another process is running it now; skipped")
    if not settings.smtp_host:
        typer.echo("No PDCA_SMTP_HOST: nothing is mailed, notifications stay in the inbox.")


# --- bench -----------------------------------------------------------------------------------


def _card_sizes(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    try:
        sizes = tuple(int(part.replace("_", "")) for part in text.split(",") if part.strip())
    except ValueError:
        raise CliError(f"--cards takes whole numbers separated by commas, not {text!r}") from None
    if not sizes or min(sizes) < 10:
        raise CliError("--cards takes sizes of at least 10 cards, e.g. 200,2000,10000")
    return sizes


@app.command()
def bench(
    preset: Annotated[
        str, typer.Option(help="quick (under 3 minutes) or full (under 10).")
    ] = "quick",
    db: Annotated[
        str,
        typer.Option(
            "--db",
            help="sqlite (a temporary file), postgres (a throwaway schema in PDCA_DATABASE_URL) "
            "or a PostgreSQL URL (a throwaway schema there).",
        ),
    ] = "sqlite",
    json_to: Annotated[
        str | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Also write the figures as JSON to FILE; `--json -` writes them to stdout "
            "(the table then goes to stderr).",
        ),
    ] = None,
    cards: Annotated[
        str | None,
        typer.Option("--cards", metavar="SIZES", help="Board sizes, e.g. 200,2000,10000."),
    ] = None,
    soak: Annotated[
        float,
        typer.Option(
            "--soak",
            metavar="MINUTES",
            help="Also load the board and the API this long and report the server's memory.",
        ),
    ] = 0.0,
) -> None:
    """Measure pdca on a synthetic organisation: each figure beside its floor from the same run."""
    from pdca.bench.client import BenchError
    from pdca.bench.run import Preset, config_for, main_progress, run

    if preset not in Preset.__members__:
        raise CliError(f"--preset is quick or full, not {preset!r}")
    if soak < 0:
        raise CliError("--soak takes a number of minutes (0 for none)")
    config = config_for(Preset(preset), _card_sizes(cards), soak)
    configured = get_settings().database_url if db == "postgres" else ""
    try:
        report = run(config, db, configured, main_progress)
    except BenchError as exc:
        raise CliError(f"bench: {exc}") from exc
    meta = report.meta
    heading = (
        f"pdca bench · {preset} · {meta['database']} · cards {', '.join(f'{n:,}' for n in config.cards)}"
        f" · {meta['cpus']} CPUs · {meta['seconds']} s"
    )
    table = f"{heading}\n\n{report.table()}"
    if json_to == "-":
        typer.echo(table, err=True)
        typer.echo(report.as_json())
        return
    typer.echo(table)
    if json_to:
        Path(json_to).write_text(report.as_json() + "\n", encoding="utf-8")
        typer.echo(f"\nWrote the figures as JSON to {json_to}")


# --- workflows ----------------------------------------------------------------------------


def _workflow_files(settings: Settings) -> dict[str, Path]:
    return files_by_name(settings.workflow_dirs())


@workflows_app.command("check")
def workflows_check() -> None:
    """Load and validate every workflow file; exit 1 naming the file, item and reason of each fault."""
    settings = _settings()
    failures = 0
    for path in _workflow_files(settings).values():
        try:
            d = load_file(path)
        except WorkflowError as exc:
            failures += 1
            typer.echo(f"error: {_one_line(str(exc))}", err=True)
            continue
        typer.echo(
            f"ok  {d.name:<10} {d.title('en'):<28} {len(d.states):>2} states  "
            f"{len(d.transitions):>2} transitions  digest {d.digest[:12]}"
        )
    if failures:
        raise typer.Exit(1)


@indexes_app.command("check")
def indexes_check() -> None:
    """Load and validate every index definition; exit 1 naming the file, item and reason."""
    failures = 0
    for path in sorted(resources.indexes_dir().glob("*.yaml")):
        try:
            d = load_index_file(path)
        except IndexDefinitionError as exc:
            failures += 1
            typer.echo(f"error: {_one_line(str(exc))}", err=True)
            continue
        shares = ", ".join(f"{code} {share:.0%}" for code, share in d.weights().items())
        typer.echo(f"ok  {d.code:<5} {d.title('en'):<36} {len(d.members)} members: {shares}")
    if failures:
        raise typer.Exit(1)


@workflows_app.command("show")
def workflows_show(name: Annotated[str, typer.Argument(help="The workflow, e.g. pdca.")]) -> None:
    """Show a workflow as a person reads it: states, transitions, guards and a Mermaid diagram."""
    settings = _settings()
    files = _workflow_files(settings)
    if name not in files:
        raise CliError(f"there is no workflow {name!r}; known: {', '.join(sorted(files))}")
    typer.echo(describe_workflow(load_file(files[name])))


def _titles(titles: Any) -> str:
    en, zh = titles.get("en", ""), titles.get("zh_CN", "")
    return f"{en} · {zh}" if zh else en


def _field_label(definition: WorkflowDefinition, name: str) -> str:
    for f in definition.fields:
        if f.name == name:
            return f"{f.titles['en']} ({name})"
    return name.replace("_", " ")


def describe_workflow(d: WorkflowDefinition) -> str:
    lines = [f"{_titles(d.titles)}", f"name {d.name} · digest {d.digest[:12]} · {d.source}"]
    for lang in ("en", "zh_CN"):
        if d.description.get(lang):
            lines.append(d.description[lang])
    initial = d.states[d.initial]
    lines += ["", f"Initial state: {d.initial} ({_titles(initial.titles)})"]
    if d.fields:
        lines += ["", "Fields of this workflow:"]
        lines += [f"  {f.name}: {_titles(f.titles)} [{f.type}]" for f in d.fields]
    lines += ["", "States:"]
    width = max(len(s) for s in d.states)
    for state in d.states.values():
        mark = "  [final]" if state.final else ""
        lines.append(f"  {state.name:<{width}}  {_titles(state.titles)}{mark}")
        pad = " " * (width + 4)
        for lang in ("en", "zh_CN"):
            if state.description.get(lang):
                lines.append(f"{pad}{state.description[lang]}")
        if state.requires:
            required = ", ".join(_field_label(d, f) for f in state.requires)
            lines.append(f"{pad}to leave it: {required}")
    lines += ["", "Transitions:"]
    for t in d.transitions:
        lines.append(f"  {t.trigger}: {_titles(t.titles)}")
        lines.append(f"      {', '.join(t.sources)} → {t.dest}")
        for g in t.guards:
            lines.append(f"      guard {g}: {GUARD_DESCRIPTIONS.get(g, '')}")
        for e in t.effects:
            lines.append(f"      effect {e}: {EFFECT_DESCRIPTIONS.get(e, '')}")
        if t.signed:
            lines.append(
                "      signed: whoever fires it re-enters their password (approved closure)"
            )
        if not t.check_requirements:
            lines.append("      (the state's required fields are not needed for this one)")
    lines += ["", "Diagram (Mermaid):", diagram(d)]
    return "\n".join(lines)
