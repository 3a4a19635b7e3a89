"""No request body turns a JSON boolean into a number, or a number or a word into a flag.

pydantic's lax mode reads `true` as 1 and `false` as 0: `{"up_to": true}` would mark
the caller's first notification read, `{"chair_id": true}` would make the admin chair
a meeting. Every number field of every body the API accepts is checked here, so a new
body with a plain `int` fails this test rather than a client.
"""

import types
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, ValidationError

import pdca.web.api.schemas_feedback
import pdca.web.api.schemas_meetings
import pdca.web.api.schemas_notifications  # noqa: F401
from pdca.web.api.schemas import Strict


def request_bodies() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    pending = list(Strict.__subclasses__())
    while pending:
        model = pending.pop()
        found.append(model)
        pending.extend(model.__subclasses__())
    return sorted(found, key=lambda m: m.__qualname__)


def _arms(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, types.UnionType):
        return [arm for a in get_args(annotation) for arm in _arms(a)]
    if hasattr(annotation, "__metadata__"):  # Annotated[...]
        return _arms(get_args(annotation)[0])
    return [annotation]


def flag_fields(model: type[BaseModel]) -> list[str]:
    return [
        info.alias or name
        for name, info in model.model_fields.items()
        if bool in _arms(info.annotation)
    ]


def number_fields(model: type[BaseModel]) -> list[tuple[str, bool]]:
    """(name, is a list of numbers) for each field that takes a number and never a flag."""
    fields = []
    for name, info in model.model_fields.items():
        arms = _arms(info.annotation)
        if bool in arms or any(get_origin(a) is Literal for a in arms):
            continue
        if any(a in (int, float) for a in arms):
            fields.append((info.alias or name, False))
        elif any(get_origin(a) is list and set(_arms(get_args(a)[0])) & {int, float} for a in arms):
            fields.append((info.alias or name, True))
    return fields


CASES = [
    pytest.param(model, name, in_list, id=f"{model.__qualname__}.{name}")
    for model in request_bodies()
    for name, in_list in number_fields(model)
]


def test_the_check_sees_the_bodies_it_guards() -> None:
    named = {f"{m.__qualname__}.{n}" for m in request_bodies() for n, _ in number_fields(m)}
    assert {"ReadIn.up_to", "ReadIn.ids", "SeriesCreate.chair_id"} <= named
    flags = {f"{m.__qualname__}.{n}" for m in request_bodies() for n in flag_fields(m)}
    assert "PreferencesIn.muted" in flags


@pytest.mark.parametrize(("model", "name", "in_list"), CASES)
def test_a_boolean_is_never_taken_for_a_number(
    model: type[BaseModel], name: str, in_list: bool
) -> None:
    value: Any = [True] if in_list else True
    with pytest.raises(ValidationError) as refused:
        model.model_validate({name: value})
    at_field = [e for e in refused.value.errors() if e["loc"][:1] == (name,)]
    assert at_field, f"{model.__qualname__}.{name} took {value!r} as a number"


FLAG_CASES = [
    pytest.param(model, name, id=f"{model.__qualname__}.{name}")
    for model in request_bodies()
    for name in flag_fields(model)
]


@pytest.mark.parametrize(("model", "name"), FLAG_CASES)
@pytest.mark.parametrize("value", [1, "true", "yes"])
def test_a_flag_is_only_true_or_false(model: type[BaseModel], name: str, value: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate({name: value})
    at_field = [e for e in refused.value.errors() if e["loc"][:1] == (name,)]
    assert at_field, f"{model.__qualname__}.{name} took {value!r} as a flag"
