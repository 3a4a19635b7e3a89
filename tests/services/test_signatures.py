"""Signed acts: a wrong password is counted like a failed sign-in, even though the act is not."""

import pytest

from pdca.models import SignInFailure
from pdca.services import actions
from pdca.services.accounts import Signature, Throttled
from pdca.services.errors import Forbidden
from tests.personas import PASSWORD
from tests.services.builders_services import a_cycle_in_do, fresh


def test_guessing_a_signature_password_is_throttled_like_signing_in(org, as_user, clock, session):
    built = a_cycle_in_do(org, as_user, clock)
    rota = built.rota
    actions.fire_action(as_user(org.mia), rota.id, trigger="complete", version=rota.version)
    fiona = as_user(org.fiona)

    for attempt in range(5):
        with pytest.raises(Forbidden, match="password is wrong"):
            actions.verify_action(
                fiona,
                rota.id,
                effective=True,
                note=None,
                version=rota.version,
                signature=Signature("verified effective", f"guess {attempt}"),
            )
    # The act was rolled back each time, but every wrong password was kept.
    assert fresh(session, rota).status == "done"
    failures = session.exec(
        SignInFailure.__table__.select().where(SignInFailure.email == org.fiona.email)
    ).all()
    assert len(failures) == 5

    with pytest.raises(Throttled):
        actions.verify_action(
            fiona,
            rota.id,
            effective=True,
            note=None,
            version=rota.version,
            signature=Signature("verified effective", PASSWORD),
        )

    clock.advance(minutes=16)
    actions.verify_action(
        fiona,
        rota.id,
        effective=True,
        note=None,
        version=rota.version,
        signature=Signature("verified effective", PASSWORD),
    )
    assert fresh(session, rota).status == "verified"
