"""Idempotency-Key on the API's creating POSTs, once for every route: `ApiRoute`.

Every API router is built with `route_class=ApiRoute`. A POST that answers 201 then
takes an optional `Idempotency-Key` header (declared in the OpenAPI document through
the dependency below): the key is claimed before the route runs, the route's answer
is kept when it succeeded and given back when it did not, and a retry of the same
request gets the kept answer with `Idempotent-Replayed: true`. The rules live in
pdca.services.idempotency.

A write that takes no key refuses one (422), so a client never believes itself
protected when it is not: its `version` already makes a retry harmless (409).
"""

import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.params import Depends as DependsParam
from sqlmodel import Session
from starlette.datastructures import UploadFile

from pdca.services import idempotency
from pdca.services.context import Ctx
from pdca.services.errors import Invalid
from pdca.web.deps import CtxDep, ReleasingRoute

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
# What a retry gets back besides the body.
KEPT_HEADERS = ("content-type", "location", "etag")
# Created things whose answer holds a secret shown once: it is never stored, so never
# replayed (a lost answer means making another token and revoking the first).
SHOWN_ONCE = frozenset({"create_token", "create_invitation"})
CHECKED_METHODS = frozenset({"POST", "PATCH"})
log = logging.getLogger("pdca")

KeyHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description=(
            "A key you make for this request (a UUID, say: visible ASCII, at most 255). "
            "Sent again with the same request within 24 hours, it gets the first answer "
            f"(with `{REPLAYED}: true`) and nothing is created twice; with another request "
            "it is refused (422); while the first is still running, 409 with Retry-After. "
            "A request that failed keeps nothing: its key may be sent again."
        ),
    ),
]


class Replay(Exception):
    """The answer kept for this key: sent instead of running the route again."""

    def __init__(self, answer: idempotency.Answer) -> None:
        super().__init__("replay")
        self.answer = answer

    def response(self) -> Response:
        headers = {**self.answer.headers, REPLAYED: "true"}
        media_type = headers.pop("content-type", None)
        return Response(
            self.answer.body, self.answer.status, headers=headers, media_type=media_type
        )


async def fingerprint(request: Request) -> str:
    """SHA-256 of what makes the request this one: method, path, query and body.

    async: it reads only the request, never the database (habit 11). A multipart body
    is taken by its fields and files' contents, not its bytes: its boundary is random,
    and a retry may well be encoded with another one.
    """
    digest = hashlib.sha256(f"{request.method} {request.url.path}?{request.url.query}\n".encode())
    if request.headers.get("content-type", "").startswith("multipart/"):
        form = await request.form()
        for name, value in form.multi_items():
            digest.update(name.encode() + b"\0")
            if isinstance(value, UploadFile):
                content = await value.read()
                await value.seek(0)
                digest.update(f"{value.filename}\0{value.content_type}\0".encode())
                digest.update(hashlib.sha256(content).digest())
            else:
                digest.update(value.encode() + b"\0")
    else:
        digest.update(await request.body())
    return digest.hexdigest()


def claim_key(
    request: Request,
    pending: CtxDep,
    body_print: Annotated[str, Depends(fingerprint)],
    key: KeyHeader = None,
) -> None:
    """Claim the key before the route runs, or replay the answer kept for it."""
    if key is None:
        return
    ctx = pending.resolve()  # type: ignore[attr-defined]
    outcome = idempotency.claim(
        ctx,
        key=key,
        fingerprint=body_print,
        request_line=f"{request.method} {request.url.path}",
    )
    if isinstance(outcome, idempotency.Answer):
        raise Replay(outcome)
    request.state.idempotency_claim = outcome


async def refuse_key(request: Request) -> None:
    """A write that takes no Idempotency-Key says so rather than ignore it."""
    if HEADER.lower() in request.headers and request.method in CHECKED_METHODS:
        raise Invalid(
            f"{request.method} {request.url.path} takes no {HEADER}: only POSTs that create "
            "do. Send the `version` you read instead: a retry of a change already made is "
            "then refused (409), never made twice."
        )


def takes_key(methods: set[str] | None, status_code: int | None, name: str) -> bool:
    return methods == {"POST"} and status_code == 201 and name not in SHOWN_ONCE


def _settle(request: Request, response: Response | None) -> None:
    """Keep a successful answer for the key's retries; give the key back otherwise."""
    claim_id = getattr(request.state, "idempotency_claim", None)
    if claim_id is None:
        return
    app = request.app
    with Session(app.state.engine, expire_on_commit=False) as session:
        ctx = Ctx(session=session, actor=None, catalog=app.state.catalog, clock=app.state.clock)
        if response is not None and 200 <= response.status_code < 300:
            headers = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
            idempotency.keep(
                ctx, claim_id, idempotency.Answer(response.status_code, headers, response.body)
            )
        else:
            idempotency.give_back(ctx, claim_id)


def _has(dependencies: list[Any], call: Callable[..., Any]) -> bool:
    return any(isinstance(d, DependsParam) and d.dependency is call for d in dependencies)


class ApiRoute(ReleasingRoute):
    """An API route: creating POSTs take an Idempotency-Key, other writes refuse one."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        name = kwargs.get("name") or getattr(endpoint, "__name__", "")
        methods = {m.upper() for m in kwargs.get("methods") or ()}
        self.takes_key = takes_key(methods, kwargs.get("status_code"), name)
        dependencies = list(kwargs.get("dependencies") or [])
        # include_router builds the route again with the dependencies it already has.
        wanted = claim_key if self.takes_key else refuse_key
        if not _has(dependencies, wanted):
            dependencies.append(Depends(wanted))
        kwargs["dependencies"] = dependencies
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.takes_key:
            return handler

        async def run(request: Request) -> Response:
            try:
                response = await handler(request)
            except Replay as replay:
                return replay.response()
            except BaseException:
                await run_in_threadpool(_settle, request, None)
                raise
            try:
                await run_in_threadpool(_settle, request, response)
            except Exception:
                # The change is made and its answer is on its way: failing it now would
                # tell the client to retry. The key stays claimed, so a retry is told
                # the request is in progress, never run twice.
                log.exception("the answer for an Idempotency-Key could not be kept")
            return response

        return run
