"""`pdca audit verify` walks the chain and names the first broken link."""

from sqlalchemy import text


def test_it_passes_on_an_intact_trail_and_names_a_forged_event(cli, engine, backend):
    for who in ("a", "b", "c"):
        made = cli("user", "create", f"{who}@example.com", "--name", who, "--password", "pass-1234")
        assert made.exit_code == 0, made.output

    intact = cli("audit", "verify")
    assert intact.exit_code == 0, intact.output
    assert "intact" in intact.output

    with engine.begin() as conn:
        ids = [row.id for row in conn.execute(text("SELECT id FROM events ORDER BY id"))]
        if backend == "postgres":
            conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER events_no_update"))
        conn.execute(text("UPDATE events SET verb = 'forged' WHERE id = :id"), {"id": ids[1]})

    broken = cli("audit", "verify")
    assert broken.exit_code == 1
    assert f"broken at event {ids[1]}" in broken.output
