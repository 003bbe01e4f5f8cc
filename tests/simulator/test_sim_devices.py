"""Devices and sensors: three simulated families, status follows sessions."""


async def test_lists_one_device_per_sensor_family(sim, base):
    devices = await (await sim.get(f"{base}/devices")).json()
    families = set()
    for device in devices:
        sensor = await (await sim.get(f"{base}/devices/{device['deviceId']}/sensor")).json()
        families.add(sensor["family"])
    assert families == {"Select", "Supreme", "Velocity"}


async def test_device_info_has_the_spec_fields(sim, base, device_ids):
    device = await (await sim.get(f"{base}/devices/{device_ids['Supreme']}")).json()
    assert set(device) == {
        "deviceId",
        "name",
        "iconUrl",
        "hasSensor",
        "status",
        "interfaceType",
        "modelName",
        "serialNumber",
        "version",
        "battery",
    }
    assert device["status"] == "Available" and device["hasSensor"] is True


async def test_supreme_sensor_matches_the_spec_example_size(sim, base, device_ids):
    sensor = await (await sim.get(f"{base}/devices/{device_ids['Supreme']}/sensor")).json()
    assert (sensor["width"], sensor["height"], sensor["size"]) == (2400, 1708, 2)
    assert sensor["supportsBinning"] is True


async def test_device_is_in_use_while_a_session_holds_it(sim, base, device_ids, open_session):
    await open_session(sim, "Velocity")
    device = await (await sim.get(f"{base}/devices/{device_ids['Velocity']}")).json()
    assert device["status"] == "InUse"


async def test_icon_url_serves_a_png(sim, base, device_ids):
    device = await (await sim.get(f"{base}/devices/{device_ids['Select']}")).json()
    resp = await sim.get(device["iconUrl"].split(str(sim.make_url("")), 1)[-1])
    assert resp.status == 200 and resp.content_type == "image/png"


async def test_unknown_device_is_404(sim, base):
    assert (await sim.get(f"{base}/devices/no-such-device")).status == 404
    assert (await sim.get(f"{base}/devices/no-such-device/sensor")).status == 404
