"""Migrations 0007 and 0009 on databases that already hold tokens and events."""

from sqlalchemy import text
from sqlmodel import Session

from pdca import migrate
from pdca.db import make_engine
from pdca.services import audit

NOW = "2026-11-01 09:00:00"


def test_old_tokens_keep_their_rights_and_old_events_are_chained(settings):
    migrate.upgrade(settings, revision="0006")
    engine = make_engine(settings)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (id, email, name, role, locale, active, created_at, version)"
                f" VALUES (1, 'f@x.io', 'F', 'facilitator', 'en', true, '{NOW}', 1)"
            )
        )
        for i, can_sign in ((1, False), (2, True)):
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, can_sign,"
                    f" created_at) VALUES ({i}, 1, 't', 'pdca_x', '{i:064d}', :sign, '{NOW}')"
                ),
                {"sign": can_sign},
            )
        for i in range(1, 4):
            conn.execute(
                text(
                    "INSERT INTO events (id, at, actor_id, entity_type, entity_id, verb, data,"
                    f" signature_meaning) VALUES ({i}, '{NOW}', 1, 'user', 1, 'v{i}',"
                    ' \'{"k": [1, "zh 中文"]}\', :meaning)'
                ),
                {"meaning": "approved closure" if i == 2 else None},
            )

    migrate.upgrade(settings)

    with engine.connect() as conn:
        scopes = conn.execute(text("SELECT scopes FROM api_tokens ORDER BY id")).scalars().all()
    assert scopes == ["read write", "read write sign"]
    with Session(engine) as db:
        report = audit.verify_trail(db)
    assert report.broken_at is None and report.checked == 3
    engine.dispose()
