"""An operator makes an API token for a monitoring script from the command line."""

from fastapi.testclient import TestClient

from pdca.web.app import create_app


def test_a_token_made_on_the_command_line_works_against_the_api(cli, engine, settings):
    created = cli(
        "user",
        "create",
        "mon@example.com",
        "--name",
        "Monitoring",
        "--role",
        "member",
        "--password",
        "monitoring-pass",
    )
    assert created.exit_code == 0, created.output

    result = cli("token", "create", "mon@example.com", "--name", "kpi feed", "--days", "30")

    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert secret.startswith("pdca_")
    assert "not shown again" in result.output
    with TestClient(create_app(settings)) as client:
        me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {secret}"})
        tokens = client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["email"] == "mon@example.com"
    assert [t["name"] for t in tokens.json()] == ["kpi feed"]
    assert secret not in tokens.text


def test_a_token_for_nobody_is_one_clear_error_line(cli, engine):
    result = cli("token", "create", "ghost@example.com")

    assert result.exit_code == 1
    assert result.output.strip() == "error: there is no user with the e-mail ghost@example.com"


def test_a_signing_token_from_the_command_line_expires_within_thirty_days(cli, engine):
    created = cli("user", "create", "s@example.com", "--name", "S", "--password", "pass-word-1")
    assert created.exit_code == 0, created.output

    forever = cli("token", "create", "s@example.com", "--signing", "--never-expires")
    assert forever.exit_code == 1 and "30 days" in forever.output
    made = cli("token", "create", "s@example.com", "--signing")
    assert made.exit_code == 0, made.output
    assert "may sign" in made.output and "expires never" not in made.output
