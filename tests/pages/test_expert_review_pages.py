"""An outside expert with a viewer's account scores an expert review in the page (a
plain form post) and reads each reviewer's score beside the mean."""

from datetime import date

from pdca.demo_inspections import SERVICE_DESK_AUDIT
from pdca.services import inspection_reviews, inspections


def test_an_outside_expert_scores_the_review_and_the_page_shows_each_score_and_the_mean(
    org, as_user, client_for
):
    desk = inspections.create_template(
        as_user(org.fiona), code="SD-AUDIT", title="Service desk audit", body=SERVICE_DESK_AUDIT
    )
    review = inspection_reviews.create_review(
        as_user(org.fiona),
        checklist_id=desk.id,
        department_id=org.cs,
        due_on=date(2026, 12, 15),
        reviewer_ids=[org.frank.id, org.vera.id],
    )
    inspection_reviews.score(as_user(org.frank), review.id, value=90, comment="", version=None)
    vera = client_for("vera")
    page = vera.client.get(f"/inspections/{review.id}")
    assert "Give my score" in page.text and 'name="a_logged"' not in page.text
    assert "Give my score" not in client_for("hanna").client.get(f"/inspections/{review.id}").text

    wrong = vera.client.post(
        f"/inspections/{review.id}/review",
        data={"csrf_token": vera.csrf, "version": "1", "score": "lots"},
    )
    scored = vera.client.post(
        f"/inspections/{review.id}/review",
        data={"csrf_token": vera.csrf, "version": "1", "score": "61", "comment": "Slow replies"},
        follow_redirects=True,
    )

    assert wrong.status_code == 422 and "A score is from 0 to 100." in wrong.text
    assert "Your score is recorded." in scored.text and "Give my score" not in scored.text
    rows = scored.text.split('data-testid="reviews"')[1].split("</table>")[0]
    assert "Frank Facilitator</td><td>90" in rows and "Vera Viewer</td><td>61" in rows
    assert 'data-testid="review-mean">75.5<' in rows and "Slow replies" in rows
