"""Other systems hear of events through signed webhooks, retried until they answer."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlmodel import select

from pdca.models import Outbox
from pdca.services import actions, jobs, webhooks
from pdca.services.errors import Forbidden, Invalid
from pdca.services.jobs import JobConfig
from tests.services.builders_services import a_cycle_in_do


class Receiver:
    """A service desk on 127.0.0.1 that checks each signature and fails the first `fail` times."""

    def __init__(self, fail: int = 0) -> None:
        self.secret = ""
        self.fail = fail
        self.received: list[dict] = []  # what it accepted or refused, in order
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                signed = webhooks.verify(
                    receiver.secret,
                    self.headers.get("X-Pdca-Timestamp", ""),
                    body,
                    self.headers.get("X-Pdca-Signature", ""),
                )
                if not signed:
                    status = 401
                elif receiver.fail > 0:
                    receiver.fail -= 1
                    status = 500
                else:
                    status = 204
                receiver.received.append(
                    {
                        "status": status,
                        "delivery": self.headers.get("X-Pdca-Delivery"),
                        "event": self.headers.get("X-Pdca-Event"),
                        "body": json.loads(body),
                    }
                )
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/pdca"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_receiver_gets_signed_deliveries_and_retries_after_failing_twice(
    org, as_user, clock, session
):
    with Receiver(fail=2) as desk:
        hook = webhooks.register(as_user(org.admin), url=desk.url, kinds=["action.done"])
        desk.secret = hook.secret
        built = a_cycle_in_do(org, as_user, clock)
        actions.fire_action(as_user(org.mia), built.rota.id, trigger="complete", version=None)
        system, config = as_user(None), JobConfig(mail=None)

        jobs.run_all(system, config, "test")  # queued and tried at once: 500
        jobs.run_all(system, config, "test")  # not due yet: nothing
        assert [r["status"] for r in desk.received] == [500]
        clock.advance(seconds=30)
        jobs.run_all(system, config, "test")  # the first retry, after 30 s: 500 again
        clock.advance(seconds=59)
        jobs.run_all(system, config, "test")  # the next waits a minute: not yet
        assert [r["status"] for r in desk.received] == [500, 500]
        clock.advance(seconds=1)
        jobs.run_all(system, config, "test")
        clock.advance(hours=1)
        jobs.run_all(system, config, "test")  # delivered: never again

    assert [r["status"] for r in desk.received] == [500, 500, 204]
    assert len({r["delivery"] for r in desk.received}) == 1  # one delivery, three tries
    last = desk.received[-1]
    assert last["event"] == "action.done"
    assert last["body"]["kind"] == "action.done"
    assert last["body"]["entity"] == {
        "type": "action",
        "id": built.rota.id,
        "key": f"A-{built.rota.id}",
        "title": "Stagger breaks",
    }
    [view] = webhooks.hooks(as_user(org.admin))
    [delivery] = view.recent
    assert (delivery.status, delivery.attempts, delivery.last_result) == ("sent", 3, "ok")


def test_a_receiver_refuses_a_wrong_signature(org, as_user, clock):
    with Receiver() as desk:
        hook = webhooks.register(as_user(org.admin), url=desk.url, kinds=["action.assigned"])
        desk.secret = "not-the-hooks-secret"
        a_cycle_in_do(org, as_user, clock)
        jobs.run_all(as_user(None), JobConfig(mail=None), "test")
        assert {r["status"] for r in desk.received} == {401}
        desk.secret = hook.secret
        clock.advance(minutes=1)
        jobs.run_all(as_user(None), JobConfig(mail=None), "test")
    assert [r["status"] for r in desk.received].count(204) == 2  # Mia's and Max's actions
    assert webhooks.verify(
        hook.secret, "1700000000", b"{}", webhooks.signature(hook.secret, "1700000000", b"{}")
    )
    assert not webhooks.verify(
        hook.secret, "1700000001", b"{}", webhooks.signature(hook.secret, "1700000000", b"{}")
    )


def test_a_paused_hook_gets_nothing_and_only_administrators_register_hooks(
    org, as_user, clock, session
):
    with pytest.raises(Forbidden):
        webhooks.register(as_user(org.fiona), url="https://x.test/h", kinds=["action.done"])
    with pytest.raises(Invalid) as refused:
        webhooks.register(as_user(org.admin), url="ftp://x.test", kinds=[])
    assert {r.code for r in refused.value.reasons} == {"url_invalid", "kinds_missing"}
    hook = webhooks.register(as_user(org.admin), url="https://x.test/h", kinds=["action.assigned"])
    webhooks.update(
        as_user(org.admin),
        hook.id,
        version=1,
        url=hook.url,
        kinds=["action.assigned"],
        active=False,
    )
    a_cycle_in_do(org, as_user, clock)
    jobs.run_all(as_user(None), JobConfig(mail=None), "test", only=("notify",))
    assert session.exec(select(Outbox)).all() == []
