"""Dependencies through the API: they block starting, they can be edited after creation,
and an action says in full what it waits for and what waits for it."""

from tests.api.test_story import messages, ok, refused

API = "/api/v1"


def _read(client, headers, action_id: int) -> dict:
    return ok(client.get(f"{API}/actions/{action_id}", headers=headers))


def test_starting_an_action_blocked_by_an_open_one_is_refused_with_the_blocker_named(
    client, world, tokens, auth
):
    fiona, mia = auth(tokens["fiona"]), auth(tokens["mia"])
    cs = _read(client, fiona, world.action_cs)
    ok(
        client.post(
            f"{API}/actions/{world.action_cs}/dependencies",
            json={"depends_on_id": world.action_it, "version": cs["version"]},
            headers=fiona,
        )
    )

    options = ok(client.get(f"{API}/actions/{world.action_cs}/transitions", headers=mia))
    start = next(o for o in options if o["trigger"] == "start")
    blocker = f"A-{world.action_it}"
    assert start["allowed"] is False
    assert [r["code"] for r in start["reasons"]] == ["blocked"]
    assert blocker in start["reasons"][0]["message"]

    version = _read(client, mia, world.action_cs)["version"]
    body = refused(
        client.post(
            f"{API}/actions/{world.action_cs}/transitions",
            json={"trigger": "start", "version": version},
            headers=mia,
        ),
        409,
    )
    assert f"1 action it depends on is still open: {blocker}" in messages(body)
    assert _read(client, mia, world.action_cs)["status"] == "open"


def test_dependencies_are_added_replaced_and_removed_each_with_its_audit_event(
    client, world, tokens, auth
):
    hanna = auth(tokens["hanna"])  # head of CS: `action_cs` is her department's
    cs = _read(client, hanna, world.action_cs)

    added = ok(
        client.post(
            f"{API}/actions/{world.action_cs}/dependencies",
            json={"depends_on_id": world.action_done, "version": cs["version"]},
            headers=hanna,
        )
    )
    assert added["depends_on"] == [
        {
            "id": world.action_done,
            "key": f"A-{world.action_done}",
            "title": "Publish the refund checklist",
            "status": "done",
        }
    ]
    assert added["blocked_by"] == []  # a done blocker no longer blocks, but is still listed
    assert added["version"] == cs["version"] + 1
    done = _read(client, hanna, world.action_done)
    assert [b["key"] for b in done["blocks"]] == [f"A-{world.action_cs}"]

    replaced = ok(
        client.put(
            f"{API}/actions/{world.action_cs}/dependencies",
            json={"depends_on": [world.action_it], "version": added["version"]},
            headers=hanna,
        )
    )
    assert [(d["key"], d["status"]) for d in replaced["depends_on"]] == [
        (f"A-{world.action_it}", "open")
    ]
    assert replaced["blocked_by"] == [f"A-{world.action_it}"]

    # The version read before the replacement is stale now.
    stale = refused(
        client.delete(
            f"{API}/actions/{world.action_cs}/dependencies/{world.action_it}",
            params={"version": added["version"]},
            headers=hanna,
        ),
        409,
    )
    assert "changed by someone else" in stale["detail"]
    removed = ok(
        client.delete(
            f"{API}/actions/{world.action_cs}/dependencies/{world.action_it}",
            params={"version": replaced["version"]},
            headers=hanna,
        )
    )
    assert removed["depends_on"] == []

    events = ok(
        client.get(
            f"{API}/events",
            params={"entity_type": "action", "entity_id": world.action_cs, "limit": 100},
            headers=hanna,
        )
    )["items"]
    trail = [(e["verb"], e["data"]["depends_on"]) for e in events if "depend" in e["verb"]]
    assert trail == [
        ("dependency_added", f"A-{world.action_done}"),
        ("dependency_removed", f"A-{world.action_done}"),
        ("dependency_added", f"A-{world.action_it}"),
        ("dependency_removed", f"A-{world.action_it}"),
    ]


def test_a_dependency_loop_is_refused_with_its_path(client, world, tokens, auth):
    fiona = auth(tokens["fiona"])
    cs, it = world.action_cs, world.action_it
    version = _read(client, fiona, cs)["version"]
    ok(
        client.post(
            f"{API}/actions/{cs}/dependencies",
            json={"depends_on_id": it, "version": version},
            headers=fiona,
        )
    )

    body = refused(
        client.post(
            f"{API}/actions/{it}/dependencies",
            json={"depends_on_id": cs, "version": _read(client, fiona, it)["version"]},
            headers=fiona,
        ),
        422,
    )

    assert body["detail"] == (
        f"A-{it} cannot depend on A-{cs}: that would make a loop: A-{it} → A-{cs} → A-{it}."
    )
    assert _read(client, fiona, it)["depends_on"] == []
