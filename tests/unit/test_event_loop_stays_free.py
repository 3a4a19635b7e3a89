"""No database work on the event loop.

Wave 1's server locked up for good at 15 concurrent page requests: an `async def`
dependency waited for a pooled connection that only the event loop could give back.
Database work belongs in sync functions (run in the thread pool); an `async def` may
read the request and hand work to a thread, nothing else (conventions, habit 11).
This reads every `async def` of the package and fails on one that touches a session,
an engine or a service.
"""

import ast
from pathlib import Path

import pytest

import pdca

PACKAGE = Path(pdca.__file__).parent
# Identifiers that mean a database is used right here.
DATABASE_WORDS = {"session", "Session", "engine", "exec", "execute", "commit", "scalar", "ctx"}
# Async functions that may name them, and why.
ALLOWED = {
    # Runs once at start-up and shutdown: starts and stops the background threads.
    ("web/app.py", "lifespan"),
    # Makes the request's Session (no connection until the route's first query, in a
    # thread) and closes it; one still holding a connection is closed in a thread.
    ("web/deps.py", "get_session"),
    # Hands the route the request and its session; the credentials are checked in the
    # route's thread (PendingCtx).
    ("web/deps.py", "get_ctx"),
}


def _service_modules(tree: ast.Module) -> set[str]:
    """Local names bound to pdca.services, pdca.db or pdca.storage modules or members."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "pdca.services.errors":  # exceptions to raise, no database
                continue
            if node.module.startswith(("pdca.services", "pdca.db", "pdca.storage")) or (
                node.module == "pdca" and any(a.name in ("db", "storage") for a in node.names)
            ):
                names |= {a.asname or a.name for a in node.names}
    return names


def async_functions() -> list[tuple[str, ast.AsyncFunctionDef, set[str]]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("bench/"):  # the benchmark's own client, not the app
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        services = _service_modules(tree)
        found += [
            (relative, node, services)
            for node in ast.walk(tree)
            if isinstance(node, ast.AsyncFunctionDef)
        ]
    return found


def database_uses(node: ast.AsyncFunctionDef, services: set[str]) -> list[str]:
    uses = []
    for inner in ast.walk(node):
        if isinstance(inner, ast.Name) and inner.id in DATABASE_WORDS:
            uses.append(inner.id)
        elif isinstance(inner, ast.Attribute) and inner.attr in DATABASE_WORDS:
            uses.append(f".{inner.attr}")
        elif isinstance(inner, ast.Call):
            called = inner.func
            while isinstance(called, ast.Attribute):
                called = called.value
            if isinstance(called, ast.Name) and called.id in services:
                uses.append(f"{called.id}(…)")
    return uses


def test_the_check_finds_the_async_functions_of_the_app() -> None:
    names = {(path, node.name) for path, node, _ in async_functions()}
    assert ("web/pages/common.py", "read_form") in names
    assert ("web/app.py", "lifespan") in names


def test_the_check_would_see_a_session_used_on_the_event_loop() -> None:
    tree = ast.parse(
        "from pdca.services import problems\n"
        "async def page(request):\n"
        "    with Session(request.app.state.engine) as s:\n"
        "        return problems.list_problems(s)\n"
    )
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef))
    assert set(database_uses(node, _service_modules(tree))) >= {"Session", ".engine", "problems(…)"}


def test_no_async_function_of_the_app_touches_the_database() -> None:
    offenders = {
        f"{path}:{node.lineno} {node.name}: {', '.join(sorted(set(uses)))}"
        for path, node, services in async_functions()
        if (path, node.name) not in ALLOWED and (uses := database_uses(node, services))
    }
    assert not offenders, "database work on the event loop:\n" + "\n".join(sorted(offenders))


def test_an_async_route_that_takes_the_api_context_is_refused_when_the_app_is_built() -> None:
    """The credentials of an API request are checked by the sync routes' wrapper; an async
    route would get them unchecked, so it cannot be declared."""
    from fastapi import APIRouter

    from pdca.web.deps import CtxDep, ReleasingRoute

    router = APIRouter(route_class=ReleasingRoute)
    with pytest.raises(TypeError, match="must be a sync function"):

        @router.get("/unchecked")
        async def unchecked(ctx: CtxDep) -> None:  # pragma: no cover - never served
            return None

    @router.get("/checked")
    def checked(ctx: CtxDep) -> None:  # pragma: no cover - never served
        return None
