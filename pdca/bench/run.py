"""One run of `pdca bench`: a throwaway database, the organisation, the server, the figures.

Order of a run (each figure right beside its floor, so both meet the same machine state):

1. a fresh database (a SQLite file in a temporary directory, or a schema of its own in
   a PostgreSQL database, dropped afterwards), migrated by the project's migrations;
2. the organisation, then the app in a uvicorn subprocess, signed in as an admin;
3. for each board size, smallest first (actions are added, never rebuilt): the board
   page and its template floor, the fragment, the API's board; at the smallest size the
   throughput figures against the bare endpoint (measured before and after them); at
   the reference size (2,000 cards, or the nearest below) a card move through the page
   and through the API;
4. the optional soak; the server stops;
5. transitions through the service against the raw write floor, and ingest with every
   detection rule against a raw `executemany`, in this process, on the same engine.
"""

import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, bindparam, insert, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from pdca import __version__, migrate
from pdca.bench import org as orgs
from pdca.bench.client import BenchError, Http, Timing, expect, load, sign_in, timed
from pdca.bench.figures import Report, Row, at_least, at_most
from pdca.bench.server import Server
from pdca.db import make_engine, normalise_url
from pdca.models import Measurement, Problem, ProblemOccurrence, User, UTCDateTime
from pdca.services import actions, kpis
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.settings import Settings

REFERENCE_CARDS = 2000
TRIGGERS = ("start", "complete", "reopen")  # open → in progress → done → open, for ever
STEP_OF_STATUS = {"open": 0, "in_progress": 1, "done": 2}
ALL_RULES = [
    "limit_breach",
    "warnings_in_a_row",
    "spc_beyond_3_sigma",
    "spc_2_of_3_beyond_2_sigma",
    "spc_4_of_5_beyond_1_sigma",
    "spc_8_on_one_side",
]


class Preset(StrEnum):
    quick = "quick"
    full = "full"


@dataclass(frozen=True)
class Config:
    cards: tuple[int, ...]
    seconds: float  # each throughput and write figure, and each floor of them
    latency_budget: float  # each timed request figure: at least `at_least`, and this long
    at_least: int
    floor_reps: int
    ingest_batch: int
    ingest_batches: int
    threads: int = 4
    soak_minutes: float = 0.0


PRESETS = {
    Preset.quick: Config(
        cards=(200, 2000),
        seconds=3.0,
        latency_budget=2.0,
        at_least=3,
        floor_reps=5,
        ingest_batch=5_000,
        ingest_batches=3,
    ),
    Preset.full: Config(
        cards=(200, 2000, 10_000),
        seconds=8.0,
        latency_budget=5.0,
        at_least=5,
        floor_reps=10,
        ingest_batch=10_000,
        ingest_batches=5,
    ),
}


def config_for(preset: Preset, cards: tuple[int, ...] | None, soak_minutes: float) -> Config:
    config = PRESETS[preset]
    if cards:
        config = replace(config, cards=tuple(sorted(set(cards))))
    return replace(config, soak_minutes=soak_minutes)


def reference_size(cards: tuple[int, ...]) -> int:
    """2,000 cards (the issue's yardstick), or the largest size below it, or the smallest."""
    below = [n for n in cards if n <= REFERENCE_CARDS]
    return max(below) if below else min(cards)


# --- the throwaway database -------------------------------------------------------------


@dataclass
class Database:
    settings: Settings
    label: str
    backend: str
    workdir: Path


def _bench_settings(url: str, workdir: Path) -> Settings:
    return Settings(
        database_url=url,
        secret_key=secrets.token_urlsafe(32),
        debug=False,
        data_dir=workdir,
        monitor_every_minutes=0,
    )


@contextmanager
def throwaway_database(db: str, configured_url: str) -> Iterator[Database]:
    """sqlite: a file in a temporary directory. postgres (the configured database) or a
    PostgreSQL URL: a schema of its own there, dropped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="pdca-bench-"))
    try:
        if db == "sqlite":
            url = f"sqlite:///{workdir / 'bench.sqlite3'}"
            yield Database(
                _bench_settings(url, workdir), "SQLite, a temporary file", "sqlite", workdir
            )
            return
        base = normalise_url(configured_url if db == "postgres" else db)
        if not base.startswith("postgresql"):
            what = "PDCA_DATABASE_URL" if db == "postgres" else "--db"
            raise BenchError(
                f"{what} is not a PostgreSQL URL; give one (postgresql://user@host:port/db) "
                "or use --db sqlite"
            )
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = make_engine(Settings(database_url=base))
        try:
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
            safe = admin.url.render_as_string(hide_password=True)
            try:
                yield Database(
                    _bench_settings(url, workdir),
                    f"PostgreSQL, schema {schema} in {safe}",
                    "postgres",
                    workdir,
                )
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:
            admin.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- the run ------------------------------------------------------------------------------


@dataclass
class Bench:
    config: Config
    engine: Engine
    catalog: WorkflowCatalog
    org: orgs.Organisation
    report: Report
    progress: Callable[[str], None]
    now: datetime
    server: Server | None = None
    browser: Http | None = None
    csrf: str = ""
    api: Http | None = None
    per_card_ms: dict[int, float] = field(default_factory=dict)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def api_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.org.token}"}

    def timed(self, call: Callable[[int], Any], what: str, at_most: int = 50) -> Timing:
        return timed(
            call,
            what,
            at_least=self.config.at_least,
            budget=self.config.latency_budget,
            at_most=at_most,
        )


def run(config: Config, db: str, configured_url: str, progress: Callable[[str], None]) -> Report:
    started = time.monotonic()
    now = datetime.now(UTC)
    with throwaway_database(db, configured_url) as database:
        report = Report(
            {
                "pdca": __version__,
                "database": database.label,
                "backend": database.backend,
                "cards": list(config.cards),
                "config": {k: v for k, v in config.__dict__.items() if k != "cards"},
                "started": now.isoformat(timespec="seconds"),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
                "machine": platform.platform(terse=True),
            }
        )
        settings = database.settings
        progress(f"database: {database.label}; migrating")
        migrate.upgrade(settings)
        engine = make_engine(settings)
        try:
            catalog = WorkflowCatalog.from_directories(settings.workflow_dirs())
            progress("building the organisation")
            org = orgs.build(engine, catalog, now)
            bench = Bench(config, engine, catalog, org, report, progress, now)
            _served(bench, settings, database.workdir)
            _writes(bench)
            _ingest(bench)
        finally:
            engine.dispose()
    report.meta["seconds"] = round(time.monotonic() - started, 1)
    return report


def _served(bench: Bench, settings: Settings, workdir: Path) -> None:
    config = bench.config
    bench.server = Server(settings, workdir / "server.log")
    try:
        bench.server.wait_ready()
        bench.browser, bench.csrf = sign_in(bench.port, orgs.ADMIN_EMAIL, bench.org.password)
        bench.api = Http(bench.port, bench.api_headers())
        sizes = sorted(config.cards)
        for n in sizes:
            bench.progress(f"{n:,} cards: growing the board")
            orgs.grow(bench.engine, bench.org, n, bench.now)
            _board(bench, n)
            if n == sizes[0]:
                _throughput(bench, n)
            if n == reference_size(config.cards):
                _card_move(bench, n)
        if len(sizes) > 1:
            small, large = sizes[0], sizes[-1]
            bench.report.add(
                Row(
                    "Board page",
                    f"page cost per card, {large:,} vs {small:,} cards",
                    bench.per_card_ms[large],
                    "ms/card",
                    f"per card at {small:,} cards",
                    bench.per_card_ms[small],
                    "ms/card",
                    at_most(1.5, "≤ 1.5× (linear)"),
                )
            )
        if config.soak_minutes > 0:
            _soak(bench)
    finally:
        for client in (bench.browser, bench.api):
            if client is not None:
                client.close()
        bench.server.stop()


def _board(bench: Bench, n: int) -> None:
    browser, api = bench.browser, bench.api
    assert browser is not None and api is not None
    bench.progress(f"{n:,} cards: board page, template floor, fragment, API board")
    # One untimed request of each kind first: the figures are of a warm server.
    for warm_up in (browser.get("/board"), browser.get("/board", {"HX-Request": "true"})):
        expect(warm_up, f"GET /board ({n} cards)")
    expect(api.get("/api/v1/board"), "GET /api/v1/board")
    page = bench.timed(lambda _: browser.get("/board"), f"GET /board ({n} cards)")
    # The floor re-renders the context of the last full GET /board: the one just timed.
    floor = expect(
        browser.get(f"/bench/floor?reps={bench.config.floor_reps}"), "the template floor"
    ).json()
    floor_ms = statistics.median(floor["seconds"]) * 1000
    fragment = bench.timed(
        lambda _: browser.get("/board", {"HX-Request": "true"}), f"the board fragment ({n} cards)"
    )
    api_board = bench.timed(lambda _: api.get("/api/v1/board"), f"GET /api/v1/board ({n} cards)")
    data = expect(api.get("/api/v1/board"), "GET /api/v1/board").json()
    counts = data.get("column_counts") or {}
    on_board = sum(counts.values()) if counts else n
    # Per card means per card drawn: cells show their first cards and "n more", and
    # dividing by cards that were only counted would flatter the page.
    drawn = expect(browser.get("/board"), "GET /board").body.count(b'class="card-item')
    cards = drawn or on_board or n
    truncated = (
        f"; {drawn:,} cards drawn of {on_board:,} on the board (the rest behind 'n more')"
        if drawn < on_board
        else ""
    )
    page_ms = page.seconds * 1000
    bench.per_card_ms[n] = page_ms / cards
    section = "Board page (GET /board, signed in, full page)"
    bench.report.add(
        Row(
            section,
            f"board page, {n:,} cards",
            page_ms,
            "ms",
            "template render, same context",
            floor_ms,
            "ms",
            at_most(1.5) if n == REFERENCE_CARDS else None,
            f"{page_ms / cards:.3f} ms/card · {page.bytes / cards:,.0f} B/card · "
            f"{page.bytes / 1e6:.2f} MB{truncated}",
        )
    )
    bench.report.add(
        Row(
            section,
            f"template HTML per card, {n:,} cards",
            floor["bytes"] / cards,
            "B/card",
            "API board JSON per card",
            api_board.bytes / cards,
            "B/card",
            at_most(1200, "≤ 1.2 KB/card", on="value"),
        )
    )
    bench.report.add(
        Row(
            section,
            f"template render per card, {n:,} cards",
            floor_ms * 1000 / cards,
            "µs/card",
            "API board request per card",
            api_board.seconds * 1e6 / cards,
            "µs/card",
            at_most(60, "≤ 60 µs/card", on="value"),
        )
    )
    bench.report.add(
        Row(
            "Board fragment (GET /board, HX-Request: true)",
            f"board fragment, {n:,} cards",
            fragment.seconds * 1000,
            "ms",
            "template render, full page",
            floor_ms,
            "ms",
            None,
            f"{fragment.bytes / 1e6:.2f} MB",
        )
    )


def _transition_step(slots: list[list[list[int]]]) -> Callable[[Http, int, int], bool]:
    """Each client thread works its own actions round the start → complete → reopen loop."""

    def step(client: Http, thread: int, i: int) -> bool:
        mine = slots[thread]
        slot = mine[i % len(mine)]
        action_id, version, turn = slot
        answer = client.post_json(
            f"/api/v1/actions/{action_id}/transitions",
            {"trigger": TRIGGERS[turn % 3], "version": version, "note": "bench"},
        )
        if answer.status == 200:
            slot[1], slot[2] = answer.json()["version"], turn + 1
            return True
        # Out of step (should not happen: nobody else touches these): read it again.
        now = client.get(f"/api/v1/actions/{action_id}").json()
        slot[1], slot[2] = now["version"], STEP_OF_STATUS.get(now["status"], 0)
        return False

    return step


def _throughput(bench: Bench, n: int) -> None:
    config, port = bench.config, bench.port
    assert bench.browser is not None
    cookies = dict(bench.browser.cookies)
    api_headers = bench.api_headers()
    threads, seconds = config.threads, config.seconds
    section = f"Throughput ({threads} client threads × {seconds:g} s, {n:,} cards)"

    def ok_get(path: str) -> Callable[[Http, int, int], bool]:
        return lambda client, _t, _i: client.get(path).status == 200

    def measure(what: str, step: Callable[[Http, int, int], bool], **kw: Any) -> Any:
        bench.progress(f"throughput: {what}")
        return load(port, step, seconds=seconds, threads=threads, **kw)

    bare_before = measure("bare endpoint", ok_get("/bench/bare"))
    healthz = measure("/healthz", ok_get("/healthz"))
    api_list = measure("API list", ok_get("/api/v1/actions?limit=50"), headers=api_headers)
    fragment = measure(
        "board fragment",
        ok_get("/board"),
        headers={"HX-Request": "true"},
        cookies=cookies,
    )
    work = orgs.workable_actions(bench.engine, threads * 3)
    if len(work) < threads:
        raise BenchError("too few actions for the transition figure; use more cards")
    slots = [work[t::threads] for t in range(threads)]
    transitions = measure("transitions via HTTP", _transition_step(slots), headers=api_headers)
    bare_after = measure("bare endpoint again", ok_get("/bench/bare"))
    bare = (bare_before.rps + bare_after.rps) / 2
    floor = "bare endpoint, same app"
    spread = f"bare {bare_before.rps:,.0f} rps before, {bare_after.rps:,.0f} after"
    for figure, result, target in (
        ("/healthz", healthz, at_least(1 / 2, "≥ ½")),
        ("API list /api/v1/actions?limit=50", api_list, at_least(1 / 3, "≥ ⅓")),
        ("board fragment polled (HX-Request)", fragment, None),
        ("action transition via HTTP API", transitions, at_least(1 / 3, "≥ ⅓")),
    ):
        errors = f"{result.errors} failed requests · " if result.errors else ""
        bench.report.add(
            Row(section, figure, result.rps, "rps", floor, bare, "rps", target, errors + spread)
        )


def _card_move(bench: Bench, n: int) -> None:
    browser, api = bench.browser, bench.api
    assert browser is not None and api is not None
    bench.progress(f"{n:,} cards: card move through the page and through the API")
    most = 10
    ids = orgs.open_actions(bench.engine, 2 * most)
    # Spare the oldest actions: the transition and write figures work those.
    reserved = {a[0] for a in orgs.workable_actions(bench.engine, bench.config.threads * 3 + 6)}
    ids = [a for a in ids if a[0] not in reserved]
    by_page, by_api = ids[0::2], ids[1::2]
    if not by_page or not by_api:
        raise BenchError("too few open actions for the card move figure; use more cards")
    page = bench.timed(
        lambda i: browser.post_form(
            f"/board/actions/{by_page[i][0]}/start",
            {"version": str(by_page[i][1]), "csrf_token": bench.csrf, "return_to": "/board"},
            {"HX-Request": "true", "X-CSRF-Token": bench.csrf},
        ),
        "a card move through the page",
        at_most=len(by_page),
    )
    through_api = bench.timed(
        lambda i: api.post_json(
            f"/api/v1/actions/{by_api[i][0]}/transitions",
            {"trigger": "start", "version": by_api[i][1]},
        ),
        "a card move through the API",
        at_most=len(by_api),
    )
    section = f"Card move ({n:,} cards: POST /board/actions/{{id}}/start, HX-Request)"
    bench.report.add(
        Row(
            section,
            "card move through the page: time",
            page.seconds * 1000,
            "ms",
            "the same move through the API",
            through_api.seconds * 1000,
            "ms",
            at_most(3, "≤ 3×"),
        )
    )
    bench.report.add(
        Row(
            section,
            "card move through the page: size",
            page.bytes,
            "B",
            "the API's answer to the same move",
            through_api.bytes,
            "B",
            at_most(10 * 1024, "≤ 10 KB", on="value"),
        )
    )


def _soak(bench: Bench) -> None:
    assert bench.server is not None and bench.browser is not None
    half = bench.config.soak_minutes * 60 / 2
    cookies = dict(bench.browser.cookies)
    api_headers = bench.api_headers()

    def step(client: Http, _thread: int, i: int) -> bool:
        if i % 2:
            return client.get("/api/v1/actions?limit=50", api_headers).status == 200
        return client.get("/board").status == 200

    bench.progress(f"soak: {bench.config.soak_minutes:g} minutes of board and API load")
    start = bench.server.rss_mb() or 0.0
    first = load(bench.port, step, seconds=half, threads=2, cookies=cookies)
    middle = bench.server.rss_mb() or 0.0
    second = load(bench.port, step, seconds=half, threads=2, cookies=cookies)
    end = bench.server.rss_mb() or 0.0
    section = f"Soak ({bench.config.soak_minutes:g} min, board page and API list, 2 threads)"
    bench.report.add(
        Row(
            section,
            "server memory (RSS) at the end",
            end,
            "MB",
            "RSS at the start",
            start,
            "MB",
            at_most(1.2, "≤ 1.2× (flat)"),
            f"middle {middle:,.1f} MB",
        )
    )
    bench.report.add(
        Row(
            section,
            "requests per second, second half",
            second.rps,
            "rps",
            "first half",
            first.rps,
            "rps",
            at_least(0.9, "≥ 0.9× (no slow-down)"),
        )
    )


# --- writes and ingest, in this process ------------------------------------------------


def _writes(bench: Bench) -> None:
    seconds = bench.config.seconds
    engine = bench.engine
    with Session(engine, expire_on_commit=False) as session:
        admin = session.get(User, bench.org.admin_id)
    assert admin is not None
    work = orgs.workable_actions(engine, 6, skip=bench.config.threads * 3)
    if len(work) < 6:
        raise BenchError("too few actions for the write figures; use more cards")

    bench.progress("writes: raw UPDATE + INSERT + COMMIT")
    # The floor: two statements written once, on one connection of the same engine, with
    # a transaction per write; the only types applied are the ones that make the same SQL
    # run on both databases (UTC times, JSON).
    update_action = text(
        "UPDATE actions SET status = :new, version = :version + 1, status_changed_at = :now "
        "WHERE id = :id AND version = :version"
    ).bindparams(bindparam("now", type_=UTCDateTime()))
    insert_event = text(
        "INSERT INTO events (at, actor_id, entity_type, entity_id, verb, field, "
        "from_value, to_value, note, data) VALUES (:now, :actor, 'action', :id, :verb, "
        "'status', :old, :new, 'bench', :data)"
    ).bindparams(bindparam("now", type_=UTCDateTime()), bindparam("data", type_=JSON()))
    raw_slots = work[:3]
    raw_count, deadline = 0, time.perf_counter() + seconds
    began = time.perf_counter()
    with engine.connect() as conn:
        while time.perf_counter() < deadline:
            slot = raw_slots[raw_count % len(raw_slots)]
            action_id, version, turn = slot
            values = {
                "id": action_id,
                "version": version,
                "old": ("open", "in_progress", "done")[turn % 3],
                "new": ("in_progress", "done", "open")[turn % 3],
                "now": datetime.now(UTC),
                "actor": admin.id,
                "verb": TRIGGERS[turn % 3],
                "data": {},
            }
            with conn.begin():
                if conn.execute(update_action, values).rowcount != 1:
                    raise BenchError(f"the raw write lost its compare-and-set on {action_id}")
                conn.execute(insert_event, values)
            slot[1], slot[2] = version + 1, turn + 1
            raw_count += 1
    raw_rate = raw_count / (time.perf_counter() - began)

    bench.progress("writes: transitions through the service")
    service_slots = work[3:]
    count, deadline = 0, time.perf_counter() + seconds
    began = time.perf_counter()
    while time.perf_counter() < deadline:
        slot = service_slots[count % len(service_slots)]
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=admin, catalog=bench.catalog)
            action = actions.fire_action(
                ctx, slot[0], trigger=TRIGGERS[slot[2] % 3], version=slot[1], note="bench"
            )
        slot[1], slot[2] = action.version, slot[2] + 1
        count += 1
    service_rate = count / (time.perf_counter() - began)
    bench.report.add(
        Row(
            f"Writes (one thread, {seconds:g} s each)",
            "action transition via the service (fire_action)",
            service_rate,
            "/s",
            "raw UPDATE + INSERT event + COMMIT",
            raw_rate,
            "/s",
            at_least(0.10, "≥ 10 %"),
        )
    )


def _series(count: int, now: datetime) -> list[tuple[datetime, float]]:
    """(at, value): one point a minute ending an hour ago; noise around 100, a breach every 2,500."""
    import random

    rng = random.Random(20261125)
    start = now - timedelta(hours=1) - timedelta(minutes=count)
    return [
        (
            start + timedelta(minutes=i),
            85.0 if i % 2_500 == 2_499 else round(100 + rng.gauss(0, 1.5), 2),
        )
        for i in range(count)
    ]


def _ingest(bench: Bench) -> None:
    config, engine = bench.config, bench.engine
    bench.progress("ingest: kpis.ingest with every rule, and raw executemany")
    department = bench.org.department_ids[0]
    with Session(engine, expire_on_commit=False) as session:
        ctx = Ctx(session=session, actor=None, catalog=bench.catalog)
        common = {
            "unit": "%",
            "department_id": department,
            "direction": "higher",
            "target": 95.0,
            "warning_limit": 92.0,
            "breach_limit": 90.0,
            "interval_hours": 1,
        }
        scratch = kpis.create_kpi(ctx, code="BENCH_RAW", name="Bench raw", rules=[], **common)
        kpis.create_kpi(ctx, code="BENCH_ALL", name="Bench all rules", rules=ALL_RULES, **common)
        problems_before = session.exec(select(func.count()).select_from(Problem)).one()
    points = _series(config.ingest_batch * config.ingest_batches, datetime.now(UTC))
    raw_points = raw_seconds = ingest_points = ingest_seconds = 0.0
    received = datetime.now(UTC)
    # Batch by batch, each path in turn: the table grows alike under both.
    for i in range(0, len(points), config.ingest_batch):
        batch = points[i : i + config.ingest_batch]
        rows = [
            {"kpi_id": scratch.id, "at": at, "value": value, "received_at": received}
            for at, value in batch
        ]
        with Session(engine) as session:
            began = time.perf_counter()
            session.execute(insert(Measurement), rows)  # executemany
            session.commit()
            raw_seconds += time.perf_counter() - began
            raw_points += len(rows)
        with Session(engine, expire_on_commit=False) as session:
            ctx = Ctx(session=session, actor=None, catalog=bench.catalog)
            ins = [kpis.RowIn(j, "BENCH_ALL", at, value) for j, (at, value) in enumerate(batch, 1)]
            began = time.perf_counter()
            result = kpis.ingest(ctx, ins)
            ingest_seconds += time.perf_counter() - began
            ingest_points += result.stored
    with Session(engine) as session:
        problems = session.exec(select(func.count()).select_from(Problem)).one() - problems_before
        occurrences = session.exec(select(func.count()).select_from(ProblemOccurrence)).one()
    bench.report.add(
        Row(
            f"Ingest ({config.ingest_batches} batches of {config.ingest_batch:,} points a path)",
            "ingest with every detection rule (kpis.ingest)",
            ingest_points / ingest_seconds,
            "points/s",
            "raw INSERT executemany",
            raw_points / raw_seconds,
            "points/s",
            at_least(1 / 2, "≥ ½"),
            f"{problems} problems, {occurrences} occurrences raised",
        )
    )


def main_progress(line: str) -> None:
    print(f"· {line}", file=sys.stderr, flush=True)
