"""Expert reviews: named reviewers (an outside expert on a viewer account among them)
each score and comment once; the review's score is their mean."""

from datetime import date

import pytest
from sqlmodel import select

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from pdca.models import Event, Kpi, Measurement
from pdca.services import inspection_reviews, inspections
from pdca.services.errors import Conflict, Forbidden, Invalid


@pytest.fixture
def review(org, as_user):
    desk = inspections.create_template(
        as_user(org.fiona), code="sd-audit", title="Service desk audit", body=SERVICE_DESK_AUDIT
    )
    # Vera has a viewer's account: an expert from outside who reads and scores this only.
    return inspection_reviews.create_review(
        as_user(org.fiona),
        checklist_id=desk.id,
        department_id=org.cs,
        due_on=date(2026, 12, 15),
        reviewer_ids=[org.frank.id, org.vera.id],
    )


def test_each_reviewer_scores_and_the_review_is_submitted_with_the_mean(
    org, as_user, review, session
):
    assert [line.inspection.id for line in inspections.due_for(as_user(org.vera), org.vera)] == [
        review.id
    ]
    halfway = inspection_reviews.score(
        as_user(org.frank), review.id, value=90, comment="Clear records", version=None
    )
    assert (halfway.inspection.status, halfway.mean, halfway.waiting) == ("planned", 90.0, 1)

    done = inspection_reviews.score(
        as_user(org.vera), review.id, value=65, comment="Slow replies", version=None
    )

    assert [(u.name, r.score, r.comment) for r, u in done.reviews] == [
        ("Frank Facilitator", 90.0, "Clear records"),
        ("Vera Viewer", 65.0, "Slow replies"),
    ]
    assert (done.inspection.status, done.inspection.score, done.inspection.passed) == (
        "submitted",
        77.5,
        False,  # below the checklist's pass score of 80
    )
    assert inspections.due_for(as_user(org.vera), org.vera) == []
    session.rollback()
    kpi = session.exec(select(Kpi).where(Kpi.code.startswith("INS-"))).one()
    assert list(session.exec(select(Measurement.value).where(Measurement.kpi_id == kpi.id))) == [
        77.5
    ]
    verbs = session.exec(
        select(Event.verb).where(Event.entity_type == "inspection", Event.entity_id == review.id)
    ).all()
    assert verbs == ["planned", "reviewed", "reviewed", "submitted"]


def test_only_a_named_reviewer_scores_once_from_0_to_100(org, as_user, review):
    with pytest.raises(Forbidden):
        inspection_reviews.score(as_user(org.fiona), review.id, value=80, comment="", version=None)
    with pytest.raises(Invalid, match="0 to 100"):
        inspection_reviews.score(as_user(org.frank), review.id, value=101, comment="", version=None)
    inspection_reviews.score(as_user(org.frank), review.id, value=80, comment="", version=None)
    with pytest.raises(Conflict):
        inspection_reviews.score(as_user(org.frank), review.id, value=70, comment="", version=None)
    # A review is scored, never answered as a checklist.
    with pytest.raises(Conflict):
        inspections.save_answers(as_user(org.fiona), review.id, answers={}, version=None)


def test_a_review_names_real_active_reviewers_each_once(org, as_user, review):
    with pytest.raises(Invalid) as refused:
        inspection_reviews.create_review(
            as_user(org.fiona),
            checklist_id=inspections.sheet(as_user(None), review.id).template.id,
            department_id=org.cs,
            due_on=date(2026, 12, 15),
            reviewer_ids=[org.frank.id, org.frank.id],
        )
    assert "named twice" in " ".join(r.message for r in refused.value.reasons)
    with pytest.raises(Forbidden):
        inspection_reviews.create_review(
            as_user(org.hanna),
            checklist_id=1,
            department_id=org.cs,
            due_on=date(2026, 12, 15),
            reviewer_ids=[org.frank.id],
        )
