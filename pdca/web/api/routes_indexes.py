"""Composite quality indexes (QSI, QCI, PCI): their definitions and computed values."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from pdca.engine.indexes import IndexDefinition
from pdca.models import IndexValue
from pdca.services import indexes
from pdca.web.api.idempotency import ApiRoute
from pdca.web.api.types import QueryDay, QueryId
from pdca.web.deps import CtxDep

router = APIRouter(tags=["indexes"], route_class=ApiRoute)
Limit = Annotated[int, Query(ge=1, le=5000)]


class IndexMemberOut(BaseModel):
    kpi: str | None  # None for a selector
    select: str | None  # the tag a selector finds its KPIs by; they share its weight
    weight: float
    share: float  # the weight normalised: the member's share of the index
    method: str  # limits | linear | pass_fail
    score_0: float | None
    score_100: float | None
    at_least: float | None
    at_most: float | None
    category: str | None


class IndexWatchOut(BaseModel):
    period: str
    target: float
    warning_limit: float | None
    breach_limit: float | None
    rules: list[str]
    warnings_in_a_row: int


class IndexOut(BaseModel):
    code: str
    titles: dict[str, str]
    description: dict[str, str]
    digest: str
    per_base: str | None
    members: list[IndexMemberOut]
    watch: IndexWatchOut


class IndexMemberValueOut(BaseModel):
    kpi: str
    weight: float
    share: float
    value: float | None
    score: float | None  # None: no data in the period (never counted as zero)
    contribution: float
    group: str | None = None  # the selector's tag that found this KPI


class IndexValueOut(BaseModel):
    code: str
    department_id: int | None  # None: the whole organisation
    period: str
    start: date
    value: float
    status: str
    members_used: int
    members_total: int
    definition_version: int
    members: list[IndexMemberValueOut]


def index_out(d: IndexDefinition) -> IndexOut:
    shares = d.weights()
    return IndexOut(
        code=d.code,
        titles=dict(d.titles),
        description=dict(d.description),
        digest=d.digest,
        per_base=d.per_base,
        members=[
            IndexMemberOut(
                kpi=m.kpi or None,
                select=m.select,
                weight=m.weight,
                share=shares[m.key],
                method=m.scoring.method,
                score_0=m.scoring.score_0,
                score_100=m.scoring.score_100,
                at_least=m.scoring.at_least,
                at_most=m.scoring.at_most,
                category=m.category,
            )
            for m in d.members
        ],
        watch=IndexWatchOut(
            period=d.watch.period,
            target=d.watch.target,
            warning_limit=d.watch.warning_limit,
            breach_limit=d.watch.breach_limit,
            rules=list(d.watch.rules),
            warnings_in_a_row=d.watch.warnings_in_a_row,
        ),
    )


@router.get("/indexes", response_model=list[IndexOut], summary="The composite index definitions")
def list_indexes(ctx: CtxDep) -> Any:
    return [index_out(d) for _, d in sorted(indexes.builtin_definitions().items())]


@router.get("/indexes/{code}", response_model=IndexOut, summary="One index definition")
def get_index(ctx: CtxDep, code: str) -> Any:
    return index_out(indexes.definition_of(code))


@router.get(
    "/indexes/{code}/values",
    response_model=list[IndexValueOut],
    summary="An index's values per period, oldest first, with the members each stood on",
)
def index_values(
    ctx: CtxDep,
    code: str,
    period: Literal["day", "week", "month"] | None = None,
    department_id: QueryId | None = None,
    start: QueryDay | None = None,
    end: QueryDay | None = None,
    limit: Limit = 1000,
) -> Any:
    rows = indexes.values(
        ctx,
        code,
        period=period,
        department_id=department_id,
        start=start,
        end=end,
        limit=limit,
    )
    numbers: dict[int, int] = {}
    return [value_out(ctx, v, numbers) for v in rows]


def value_out(ctx: Any, v: IndexValue, numbers: dict[int, int]) -> IndexValueOut:
    if v.version_id not in numbers:
        numbers[v.version_id] = indexes.version_number(ctx, v.version_id)
    return IndexValueOut(
        code=v.code,
        department_id=v.scope or None,
        period=v.period,
        start=v.start,
        value=v.value,
        status=v.status,
        members_used=v.members_used,
        members_total=v.members_total,
        definition_version=numbers[v.version_id],
        members=[IndexMemberValueOut(**m) for m in v.members],
    )
