"""Acquisition info, status state machine and the simulator-only exposure trigger."""


async def test_new_session_waits_for_acquisition_info(sim, base, open_session):
    session_id = await open_session(sim)
    status = await (await sim.get(f"{base}/acquisition/{session_id}/status")).json()
    assert status == {"ready": False, "state": "NoAcquisitionInfo", "lastImageId": None, "totalImages": 0}


async def test_enabling_acquisition_makes_the_sensor_ready(sim, base, open_session):
    session_id = await open_session(sim)
    await sim.put(f"{base}/acquisition/{session_id}/info", json={"enable": True})
    status = await (await sim.get(f"{base}/acquisition/{session_id}/status")).json()
    assert status["ready"] is True and status["state"] == "Ready"


async def test_acquisition_info_round_trips_and_null_keeps_values(sim, base, open_session):
    session_id = await open_session(sim)
    await sim.put(
        f"{base}/acquisition/{session_id}/info",
        json={"enable": True, "rotation": 90, "binning": "Binned2x2", "applyLut": True, "context": {"tooth": 36}},
    )
    await sim.put(f"{base}/acquisition/{session_id}/info", json={"rotation": None, "binning": None})
    info = await (await sim.get(f"{base}/acquisition/{session_id}/info")).json()
    assert info == {"enable": True, "rotation": 90, "binning": "Binned2x2", "applyLut": True, "context": {"tooth": 36}}


async def test_binning_accepts_dotnet_spellings(sim, base, open_session):
    session_id = await open_session(sim)
    for sent in ("binned2X2", 1):
        resp = await sim.put(f"{base}/acquisition/{session_id}/info", json={"binning": sent})
        assert (await resp.json())["binning"] == "Binned2x2"


async def test_invalid_rotation_is_400(sim, base, open_session):
    session_id = await open_session(sim)
    resp = await sim.put(f"{base}/acquisition/{session_id}/info", json={"rotation": 45})
    assert resp.status == 400


async def test_invalid_binning_is_400(sim, base, open_session):
    session_id = await open_session(sim)
    resp = await sim.put(f"{base}/acquisition/{session_id}/info", json={"binning": "Binned3x3"})
    assert resp.status == 400


async def test_expose_without_enable_is_409(sim, base, open_session):
    session_id = await open_session(sim)
    assert (await sim.post(f"{base}/acquisition/{session_id}/expose")).status == 409


async def test_exposure_reports_new_image_and_needs_fresh_info(sim, base, acquire):
    session_id, image = await acquire(sim)
    status = await (await sim.get(f"{base}/acquisition/{session_id}/status")).json()
    assert status == {"ready": False, "state": "NewImage", "lastImageId": image["id"], "totalImages": 1}
    assert (await sim.post(f"{base}/acquisition/{session_id}/expose")).status == 409


async def test_images_lists_every_exposure_in_order(sim, base, acquire, expose):
    session_id, first = await acquire(sim)
    second = await expose(sim, session_id)
    images = await (await sim.get(f"{base}/acquisition/{session_id}/images")).json()
    assert [i["id"] for i in images] == [first["id"], second["id"]]


async def test_auto_expose_exposes_after_enable(aiohttp_client, credentials, base, device_ids):
    import asyncio

    from filters_server.simulator import create_app

    client = await aiohttp_client(create_app({"u": "p"}, auto_expose=0.01), headers=credentials("u", "p"))
    session = await (await client.post(f"{base}/acquisition", json={"deviceId": device_ids["Select"]})).json()
    url = f"{base}/acquisition/{session['sessionId']}"
    await client.put(f"{url}/info", json={"enable": True, "binning": "Binned2x2"})
    for _ in range(200):
        status = await (await client.get(f"{url}/status")).json()
        if status["state"] == "NewImage":
            break
        await asyncio.sleep(0.05)
    assert status["totalImages"] == 1
