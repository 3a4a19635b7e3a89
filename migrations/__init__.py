"""The Alembic environment; installed as pdca.migrations so a wheel can migrate."""
