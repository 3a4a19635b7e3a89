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


def test_the_readmes_app_role_writes_the_trail_but_can_neither_change_it_nor_drop_its_guards(
    cli, engine, settings, backend, tmp_path, monkeypatch
):
    """On PostgreSQL an owner role migrates and the role the app serves with has
    `REVOKE UPDATE, DELETE, TRUNCATE ON events` (README, Security): pdca still works as
    that role, and the role cannot rewrite events even by dropping the triggers first."""
    import uuid

    import pytest
    from sqlalchemy.exc import DBAPIError

    from pdca.db import make_engine
    from tests.cli.conftest import _environment

    if backend != "postgres":
        pytest.skip("roles and grants are PostgreSQL's; SQLite has only its triggers")
    role = f"pdca_app_{uuid.uuid4().hex[:8]}"
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f'CREATE ROLE "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(
            text(
                f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'
            )
        )
        conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'REVOKE UPDATE, DELETE, TRUNCATE ON events FROM "{role}"'))
    as_app = settings.database_url.replace("options=", f"options=-crole%3D{role}%20", 1)
    app_engine = make_engine(settings.model_copy(update={"database_url": as_app}))
    try:
        _environment(monkeypatch, as_app, tmp_path)
        made = cli("user", "create", "ann@example.com", "--name", "Ann", "--password", "pass-1234")
        assert made.exit_code == 0, made.output
        for statement in (
            "UPDATE events SET verb = 'forged'",
            "DELETE FROM events",
            "TRUNCATE events",
            "ALTER TABLE events DISABLE TRIGGER USER",
            "DROP TRIGGER events_append_only ON events",
        ):
            with app_engine.connect() as conn:
                assert conn.execute(text("SELECT current_user")).scalar_one() == role
                with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                    conn.execute(text(statement))
        intact = cli("audit", "verify")
        assert intact.exit_code == 0, intact.output
    finally:
        app_engine.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
