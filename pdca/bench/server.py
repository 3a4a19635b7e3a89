"""The app under test, served by uvicorn in its own process, with two routes only the bench adds.

- `GET /bench/bare`: a bare sync endpoint of the same app (same middleware, same thread
  pool, same uvicorn), the floor for requests per second.
- `GET /bench/floor?reps=N`: the board template rendered again, N times, from the very
  context the last full `GET /board` handed to it (captured on the way through), so the
  floor is render time alone, in the same process as the figure.

Neither route exists in the product: `pdca serve` never calls `bench_app`.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from pdca.settings import Settings, get_settings

BOARD_TEMPLATE = "board/page.html"


class _Recording:
    """A template that remembers the context of its last full render."""

    def __init__(self, template: Any, captured: dict[str, Any]) -> None:
        self._template = template
        self._captured = captured

    def render(self, *args: Any, **kwargs: Any) -> str:
        self._captured["context"] = dict(*args, **kwargs)
        self._captured["template"] = self._template
        return str(self._template.render(*args, **kwargs))

    def __getattr__(self, name: str) -> Any:  # blocks, new_context, … for render_block
        return getattr(self._template, name)


def bench_app(settings: Settings) -> FastAPI:
    from pdca.web.app import create_app

    app = create_app(settings)
    env = app.state.templates
    captured: dict[str, Any] = {}
    get_template = env.get_template

    def recording_get_template(name: Any, *args: Any, **kwargs: Any) -> Any:
        template = get_template(name, *args, **kwargs)
        return _Recording(template, captured) if name == BOARD_TEMPLATE else template

    env.get_template = recording_get_template

    @app.get("/bench/bare", include_in_schema=False)
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/bench/floor", include_in_schema=False)
    def floor(reps: int = 5) -> JSONResponse:
        if "context" not in captured:
            return JSONResponse({"error": f"no full render of {BOARD_TEMPLATE} yet"}, 404)
        template, context = captured["template"], captured["context"]
        seconds, html = [], ""
        for _ in range(max(1, min(reps, 100))):
            began = time.perf_counter()
            html = template.render(context)
            seconds.append(time.perf_counter() - began)
        return JSONResponse({"bytes": len(html.encode()), "seconds": seconds})

    return app


def main() -> None:
    """`python -m pdca.bench.server PORT`: settings from the PDCA_ variables the bench set."""
    import uvicorn

    port = int(sys.argv[1])
    app = bench_app(get_settings())
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_environment(settings: Settings) -> dict[str, str]:
    environment = {
        "PDCA_DATABASE_URL": settings.database_url,
        "PDCA_SECRET_KEY": settings.secret_key,
        "PDCA_DEBUG": "1" if settings.debug else "0",
        "PDCA_DATA_DIR": str(settings.data_dir),
        "PDCA_TEMPLATES_DIR": str(settings.templates_dir),
        "PDCA_MONITOR_EVERY_MINUTES": "0",
    }
    if settings.workflows_dir is not None:
        environment["PDCA_WORKFLOWS_DIR"] = str(settings.workflows_dir)
    return environment


class Server:
    """`pdca.bench.server` in a subprocess on a free port of 127.0.0.1."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pdca.bench.server", str(self.port)],
            env={**os.environ, **settings_environment(settings)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.log = log

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the bench server exited ({self.process.returncode}): "
                    + self.log.read_text(errors="replace")[-2000:]
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the bench server did not listen on port {self.port} in {timeout} s")

    def rss_mb(self) -> float | None:
        """Resident memory of the server process (Linux /proc), in MB."""
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


if __name__ == "__main__":
    main()
