"""Acquisition sessions: create, read, list, update, delete."""


async def test_create_session_answers_201_with_the_session(sim, base, device_ids):
    resp = await sim.post(
        f"{base}/acquisition", json={"deviceId": device_ids["Select"], "clientName": "OP4", "context": {"patient": 42}}
    )
    assert resp.status == 201
    session = await resp.json()
    assert session["deviceId"] == device_ids["Select"]
    assert session["clientName"] == "OP4" and session["context"] == {"patient": 42}
    assert session["createdOn"].endswith("Z")


async def test_get_session_returns_what_create_returned(sim, base, device_ids):
    created = await (await sim.post(f"{base}/acquisition", json={"deviceId": device_ids["Select"]})).json()
    resp = await sim.get(f"{base}/acquisition/{created['sessionId']}")
    assert resp.status == 200 and await resp.json() == created


async def test_second_session_on_a_busy_device_is_409(sim, base, device_ids, open_session):
    await open_session(sim, "Select")
    resp = await sim.post(f"{base}/acquisition", json={"deviceId": device_ids["Select"]})
    assert resp.status == 409


async def test_session_on_unknown_device_is_404(sim, base):
    resp = await sim.post(f"{base}/acquisition", json={"deviceId": "no-such-device"})
    assert resp.status == 404


async def test_session_without_json_body_is_400(sim, base):
    resp = await sim.post(f"{base}/acquisition", data=b"not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400


async def test_list_filters_by_device(sim, base, device_ids, open_session):
    select = await open_session(sim, "Select")
    await open_session(sim, "Supreme")
    everything = await (await sim.get(f"{base}/acquisition")).json()
    filtered = await (await sim.get(f"{base}/acquisition", params={"deviceId": device_ids["Select"]})).json()
    assert len(everything) == 2
    assert [s["sessionId"] for s in filtered] == [select]


async def test_update_session_changes_client_name(sim, base, open_session):
    session_id = await open_session(sim)
    resp = await sim.put(f"{base}/acquisition/{session_id}", json={"clientName": "renamed"})
    assert resp.status == 200 and (await resp.json())["clientName"] == "renamed"


async def test_delete_session_frees_device_and_forgets_session(sim, base, device_ids, open_session):
    session_id = await open_session(sim, "Select")
    assert (await sim.delete(f"{base}/acquisition/{session_id}")).status == 200
    assert (await sim.get(f"{base}/acquisition/{session_id}")).status == 404
    device = await (await sim.get(f"{base}/devices/{device_ids['Select']}")).json()
    assert device["status"] == "Available"


async def test_unknown_session_is_404_on_every_session_route(sim, base):
    for method, path in [
        ("GET", ""),
        ("PUT", ""),
        ("DELETE", ""),
        ("GET", "/status"),
        ("GET", "/info"),
        ("PUT", "/info"),
        ("GET", "/images"),
        ("POST", "/expose"),
    ]:
        resp = await sim.request(method, f"{base}/acquisition/no-such-session{path}", json={})
        assert resp.status == 404, (method, path)
