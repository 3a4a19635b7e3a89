"""`pdca user create`, and how any command reports an error: one line, no traceback."""

import pytest
from sqlmodel import Session, select
from typer.testing import Result

from pdca.models import User
from pdca.services.catalog import WorkflowCatalog
from pdca.services.context import Ctx
from pdca.services.organisation import create_department, password_matches

from .conftest import Cli


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture
def departments(engine) -> None:
    with Session(engine) as session:
        ctx = Ctx(session=session, actor=None, catalog=WorkflowCatalog({}))
        create_department(ctx, code="CS", name="Customer Service", name_zh="客户服务部")


def stored(engine, email: str) -> User | None:
    with Session(engine) as session:
        return session.exec(select(User).where(User.email == email)).first()


def test_it_creates_a_person_who_can_sign_in(cli: Cli, engine, departments):
    result = cli(
        "user", "create", "Li.Na@Example.com", "--name", "Li Na", "--role", "head",
        "--department", "cs", "--password", "a-long-password",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Created li.na@example.com (Li Na, head, CS)."
    user = stored(engine, "li.na@example.com")
    assert user is not None and user.role == "head" and user.department_id is not None
    assert password_matches(user, "a-long-password")


def test_in_a_terminal_it_asks_for_the_password_twice_without_showing_it(
    cli: Cli, engine, monkeypatch
):
    monkeypatch.setattr("pdca.cli._stdin_is_terminal", lambda: True)
    result = cli("user", "create", "ada@example.com", "--name", "Ada", "--role", "admin",
                 input="typed-in-secret\ntyped-in-secret\n")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Repeat for confirmation" in result.output
    assert "typed-in-secret" not in result.output
    user = stored(engine, "ada@example.com")
    assert user is not None and password_matches(user, "typed-in-secret")


def test_without_a_terminal_the_password_must_be_given(cli: Cli, engine):
    line = one_error_line(cli("user", "create", "ada@example.com", "--name", "Ada"))
    assert "--password" in line
    assert stored(engine, "ada@example.com") is None


def test_a_duplicate_email_is_one_clear_error_line(cli: Cli, engine):
    args = ("user", "create", "ada@example.com", "--name", "Ada", "--password", "long-enough-1")
    assert cli(*args).exit_code == 0
    line = one_error_line(cli(*args))
    assert line == "error: A user with the e-mail ada@example.com already exists."


def test_bad_input_says_every_reason_on_one_line(cli: Cli, engine):
    line = one_error_line(
        cli("user", "create", "not-an-email", "--name", " ", "--password", "short")
    )
    assert "'not-an-email' is not an e-mail address." in line
    assert "A user needs a name." in line
    assert "at least 8 characters" in line


def test_an_unknown_department_is_one_line(cli: Cli, engine):
    line = one_error_line(
        cli("user", "create", "a@example.com", "--name", "A", "--department", "XX",
            "--password", "long-enough-1")
    )  # fmt: skip
    assert line == "error: There is no department with the code XX."


def test_an_unknown_role_is_a_usage_error(cli: Cli, engine):
    result = cli("user", "create", "a@example.com", "--name", "A", "--role", "boss")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "boss" in result.output


def test_an_unreachable_database_is_one_line(cli: Cli, monkeypatch):
    monkeypatch.setenv("PDCA_DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:9/nowhere")
    line = one_error_line(
        cli("user", "create", "a@example.com", "--name", "A", "--password", "long-enough-1")
    )
    assert line.startswith("error: database error at postgresql+psycopg://nobody:***@127.0.0.1:9")
    assert "secret" not in line


def test_a_bad_setting_is_one_line_naming_the_variable(cli: Cli, monkeypatch):
    monkeypatch.setenv("PDCA_PORT", "eighty")
    line = one_error_line(cli("workflows", "check"))
    assert line.startswith("error: invalid setting: PDCA_PORT:")


def test_help_is_not_an_error(cli: Cli):
    for args in (["--help"], ["user", "create", "--help"], ["workflows", "show", "--help"]):
        result = cli(*args)
        assert result.exit_code == 0, result.output
        assert "Usage" in result.stdout
