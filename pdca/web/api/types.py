"""Strict, bounded value types for the API's bodies and queries.

pydantic's lax mode turns `true` into 1, `0` into a date in 1970 and `"0"` into
`false`: a client's mistake silently becomes another value. These types accept only
what the OpenAPI document promises (a boolean is never an id or a number), and each
states its bounds in the document so a client can check before it sends.
"""

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, StrictInt

from pdca.services.text import storable

# The integer columns of both databases; past them a lookup would fail in the driver.
MAX_ID = 2**31 - 1
# A number a person would type: past it, a float column loses the digits anyway.
MAX_NUMBER = 1e15
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)

ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_MOMENT = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?$"
)


def _text_only(value: Any) -> Any:
    if isinstance(value, str) and not storable(value):
        raise ValueError("holds a lone surrogate, which is not text (send UTF-8)")
    return value


def _iso_date(value: Any) -> Any:
    # A date arrives as YYYY-MM-DD text (JSON or query), never as a number of seconds.
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError("must be a date written YYYY-MM-DD")
    return value


def _iso_moment(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not ISO_MOMENT.match(value):
        raise ValueError("must be a date and time in ISO 8601, e.g. 2026-11-25T09:00:00Z")
    return value


def _within_years(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        raise ValueError("must lie between 1970 and 2199")
    return value


def _query_bool(value: Any) -> Any:
    # In a query string only the words of JSON: `true` and `false` (not 0, 1, yes, on).
    if isinstance(value, bool):
        return value
    if value not in ("true", "false"):
        raise ValueError("must be true or false")
    return value == "true"


def Text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[
        str,
        Field(min_length=min_length, max_length=max_length),
        AfterValidator(_text_only),
    ]


Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Version = Annotated[
    StrictInt,
    Field(ge=0, le=MAX_ID, description="The version you read; 409 (412 with If-Match) if stale."),
]
Count = Annotated[StrictInt, Field(ge=0, le=MAX_ID)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_NUMBER, le=MAX_NUMBER)]
Flag = StrictBool
Day = Annotated[date, BeforeValidator(_iso_date)]
Moment = Annotated[
    datetime,
    BeforeValidator(_iso_moment),
    AfterValidator(_within_years),
    Field(description="ISO 8601 with a time zone, between 1970 and 2199."),
]

# Queries: the same rules for text arriving in a URL.
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]
QueryDay = Annotated[date, BeforeValidator(_iso_date)]
QueryMoment = Annotated[datetime, BeforeValidator(_iso_moment), AfterValidator(_within_years)]
QueryId = Annotated[int, Field(ge=1, le=MAX_ID)]

# Phase fields: names as the workflow files write them, values typed and bounded.
FIELD_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
FieldName = Annotated[
    str, Field(min_length=1, max_length=50, pattern=FIELD_NAME_PATTERN), AfterValidator(_text_only)
]
FIELD_TEXT_MAX = 10_000
WholeNumber = Annotated[StrictInt, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]
FieldValue = Annotated[
    WholeNumber | Number | Text(FIELD_TEXT_MAX) | None,
    Field(description="A number, a text (at most 10,000 characters), a date as text, or null."),
]


def names_in_property_names(schema: dict[str, Any]) -> None:
    """pydantic writes a patterned key as `patternProperties`, which lets any other key
    through as far as the document says; state it as `propertyNames` instead, so that
    the document refuses what the server refuses."""
    patterned = schema.pop("patternProperties", None)
    if patterned:
        (pattern, values), *_ = patterned.items()
        schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
        schema["additionalProperties"] = values


def sort_keys(*names: str) -> Any:
    """The `sort` query of a listing: each key ascending, or descending with a leading -."""
    keys = tuple(k for name in names for k in (name, f"-{name}"))
    return Literal[keys]  # type: ignore[valid-type]


SEARCH_MAX = 200
Search = Annotated[
    str | None,
    Query(
        max_length=SEARCH_MAX, description="Words to look for in titles (at most 200 characters)."
    ),
]
BoardSearch = Annotated[
    str | None,
    Query(
        max_length=SEARCH_MAX,
        description="The board's search language, e.g. `owner:me dept:IT due:<7d overdue "
        "kind:corrective status:open cycle:C-3 workflow:pdca`; other words search titles.",
    ),
]

# Lists answer JSON pages, or the whole filtered list as a spreadsheet file.
ExportFormat = Annotated[
    Literal["json", "csv", "xlsx"],
    Query(
        description="`json` (default): a page of the list. `csv` (UTF-8 with a BOM) or `xlsx`: "
        "every row the filters find, in id order, streamed (limit, offset and sort apply to "
        "JSON only); columns named by their keys, codes as codes, times in UTC.",
    ),
]
EXPORT_CONTENT = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            },
        }
    }
}
