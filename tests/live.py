"""Live servers for the tests that need real ones: the app in a thread (`serving`), or
`pdca serve` as a real process on a free port (`serving_process`)."""

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI


@dataclass
class LiveServer:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


@contextmanager
def serving(app: FastAPI) -> Iterator[LiveServer]:
    # Bind first, then hand the socket to uvicorn: no window in which the port could be taken.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        loop="asyncio",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=1,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", server, thread)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_environment(**pdca: str) -> dict[str, str]:
    """This process's environment without PDCA_ settings or PYTHONPATH, plus `pdca`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("PDCA_") and not k.startswith("PDCA_TEST_")) and k != "PYTHONPATH"
    }
    env.update({f"PDCA_{k.upper()}": v for k, v in pdca.items()})
    return env


@contextmanager
def serving_process(
    command: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = 90
) -> Iterator[str]:
    """Start `… pdca serve --port P`, wait until /healthz answers 200, yield its base URL.

    Up to 90 s: each worker process builds the whole app, which on a loaded CI machine
    takes tens of seconds."""
    port = free_port()
    log = cwd / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise AssertionError(f"pdca serve exited {process.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"pdca serve did not answer in {timeout} s:\n{log.read_text()}"
                )
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
