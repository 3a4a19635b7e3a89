"""Reading a row for a use case: the one the session holds when it is current, the
database's otherwise; a row that is gone is NotFound, never a stale copy."""

import pytest
from sqlmodel import Session

from pdca.models import Department
from pdca.services import organisation
from pdca.services.errors import NotFound
from pdca.services.store import get_or_404


def test_a_row_deleted_elsewhere_after_a_rollback_is_not_found_not_a_stale_copy(
    org, as_user, engine
):
    ctx = as_user(org.admin)
    spare = organisation.create_department(ctx, code="SPARE", name="Spare room")
    spare_id = spare.id
    assert get_or_404(ctx, Department, spare_id, "Department") is spare  # the session's own

    with Session(engine) as elsewhere:  # another request removes it meanwhile
        gone = elsewhere.get(Department, spare_id)
        elsewhere.delete(gone)
        elsewhere.commit()
    get_or_404(ctx, Department, org.cs, "Department")  # this request reads on …
    ctx.session.rollback()  # … and its attempt fails: what the session held is expired

    with pytest.raises(NotFound):
        get_or_404(ctx, Department, spare_id, "Department")
    assert get_or_404(ctx, Department, org.cs, "Department").code == "CS"
