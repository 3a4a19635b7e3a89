"""The benchmark's synthetic organisation is a real one: its trail verifies like any other."""

from pdca.bench import org as bench_org
from pdca.services import audit
from tests.conftest import NOW


def test_a_bench_organisation_grown_in_bulk_keeps_an_intact_trail(engine, catalog, session) -> None:
    built = bench_org.build(engine, catalog, NOW)
    bench_org.grow(engine, built, 30, NOW)

    report = audit.verify_trail(session)

    assert report.broken_at is None, report.reason
    assert report.checked > 30  # the cycles' events and one per action grown in bulk
