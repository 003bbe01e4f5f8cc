"""The viewer in a real browser: sign in, upload, list, look, filter, compare, download, delete."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from filters_server import imaging
from filters_server.api.viewer_routes import SECURITY_HEADERS
from filters_server.imaging import codecs, phantoms
from filters_server.testing import png16

from .conftest import TABLET, USERS, ThreadedServer, sync_api

expect = sync_api.expect
FILTERS = {
    "unmap": {},
    "select": {"mode": "smooth"},
    "supreme": {"task": "hygiene", "sharpness": "30"},
    "ae": {"task": "endodontic", "sharpness": "90"},
}
# The result key the page shows once a result is on screen (filter name and its JSON body).
KEYS = {
    "unmap": "unmap {}",
    "select": 'select {"enhancementMode":"smooth"}',
    "supreme": 'supreme {"task":"hygiene","sharpness":30}',
    "ae": 'ae {"task":"endodontic","sharpness":90}',
}
BODIES = {"unmap": None, "select": {"enhancementMode": "smooth"}, "supreme": {"task": "hygiene", "sharpness": 30}}
BODIES["ae"] = {"task": "endodontic", "sharpness": 90}


@pytest.fixture(scope="module")
def small_png(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("media") / "gradient.png"
    path.write_bytes(png16(300, 200))
    return path


@pytest.fixture(scope="module")
def phantom_png(tmp_path_factory) -> Path:
    """A small synthetic bitewing, so screenshots show something like an X-ray."""
    path = tmp_path_factory.mktemp("media") / "phantom.png"
    path.write_bytes(codecs.encode(phantoms.dental_image((342, 480)), "image/png"))
    return path


def sign_in(page: Any, server: ThreadedServer, user: str = "alice", password: str | None = None) -> None:
    page.goto(server.viewer_url, wait_until="commit")
    page.locator("#user").fill(user)
    page.locator("#password").fill(USERS[user] if password is None else password)
    page.get_by_role("button", name="Sign in").click()


def signed_in(page: Any, server: ThreadedServer, user: str = "alice") -> None:
    sign_in(page, server, user)
    expect(page.locator("#app")).to_be_visible()


def upload(page: Any, path: Path) -> str:
    """Upload through the page; the new resource's id once its original is on screen."""
    page.locator("#files").set_input_files(str(path))
    page.get_by_role("button", name="Upload", exact=True).click()
    stage = page.locator("#stage")
    expect(stage).to_have_attribute("data-original", re.compile(".+"))
    return stage.get_attribute("data-original")


def apply(page: Any, name: str) -> None:
    page.locator("#filter-name").select_option(name)
    for control, value in FILTERS[name].items():
        if control == "sharpness":
            page.locator("#sharpness").fill(value)
        else:
            page.locator(f"#{control}").select_option(value)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#stage")).to_have_attribute("data-result", KEYS[name])


def drawn(page: Any, description: str) -> None:
    expect(page.locator("#stage")).to_have_attribute("data-drawn", description)
    # A mode change resizes the canvas; the resize observer refits the image after that frame's
    # drawing and draws again on the next frame, with the same description. Wait for it, or a
    # test may read the first drawing and compare it with a later, refitted one.
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def row(page: Any, canvas: str = "#left", y: float = 0.5) -> list[int]:
    """Red values of 50 pixels across a canvas at height ``y`` (gray: R = G = B)."""
    script = """([selector, fy]) => {
        const canvas = document.querySelector(selector);
        const data = canvas.getContext("2d").getImageData(0, Math.floor(canvas.height * fy), canvas.width, 1).data;
        return Array.from({length: 50}, (_, i) => data[4 * Math.floor((i + 0.5) * canvas.width / 50)]);
    }"""
    return page.evaluate(script, [canvas, y])


def test_a_wrong_password_shows_a_message_and_no_browser_dialog(page, server):
    dialogs = []
    page.on("dialog", lambda dialog: dialogs.append(dialog))
    sign_in(page, server, password="not-the-password")
    expect(page.locator("#sign-in-error")).to_have_text("Wrong user name or password.")
    assert (dialogs, page.locator("#app").is_visible()) == ([], False)


def test_credentials_stay_in_the_tab_only(page, server):
    signed_in(page, server)
    stored = page.evaluate("() => [localStorage.length, document.cookie, sessionStorage.length]")
    assert (stored, page.context.cookies()) == ([0, "", 2], [])


def test_an_upload_is_shown_and_listed(page, server, phantom_png, screenshots):
    signed_in(page, server)
    resource_id = upload(page, phantom_png)
    expect(page.locator(f"#images li[data-id='{resource_id}']")).to_contain_text(re.compile(r"expires in 7:59:\d\d"))
    assert len(set(row(page))) > 10  # an image, not a blank canvas
    page.screenshot(path=str(screenshots / "viewer-upload.png"))


def test_a_json_sidecar_chosen_with_the_image_is_its_image_info(page, server, small_png, api, tmp_path):
    info = {
        "acquisitionInfo": {"binning": "Binned2x2"},
        "lutInfo": {
            "gamma": 2.0,
            "slope": 60000,
            "offset": 10,
            "totalGrays": 4096,
            "minimumGray": 4000,
            "maximumGray": 100,
        },
    }
    sidecar = tmp_path / "gradient.json"
    sidecar.write_text(json.dumps({"imageInfo": info}))
    signed_in(page, server)
    page.locator("#files").set_input_files([str(small_png), str(sidecar)])
    expect(page.locator("#minimumGray")).to_have_value("4000")
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#stage")).to_have_attribute("data-original", re.compile(".+"))
    resource_id = page.locator("#stage").get_attribute("data-original")
    assert api.get(f"{server.base_url}/images/{resource_id}").json()["imageInfo"] == info


def test_a_file_that_is_not_a_16_bit_png_shows_the_servers_detail(page, server, tmp_path):
    signed_in(page, server)
    bad = tmp_path / "scan.png"
    bad.write_bytes(b"this is not a PNG at all")
    page.locator("#files").set_input_files(str(bad))
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#error")).to_contain_text(re.compile(r"^4\d\d .+: .*PNG", re.IGNORECASE))


def test_a_filter_the_server_refuses_shows_its_detail(page, server, small_png):
    signed_in(page, server)
    page.locator("#gamma").fill("0")  # stored as given; unusable for a filter (400 names the field)
    upload(page, small_png)
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#error")).to_contain_text("400 Bad Request")
    expect(page.locator("#error")).to_contain_text("gamma")


def test_the_list_shows_only_the_users_images_with_a_countdown(page, server, small_png, api, screenshots):
    bobs = requests.post(
        server.base_url + "/images",
        files={
            "imageInfo": (
                None,
                '{"lutInfo": {"gamma": 2.3, "slope": 65535, "offset": 0, "totalGrays": 4096,'
                ' "minimumGray": 3612, "maximumGray": 418}}',
                "application/json",
            ),
            "imageMedia": ("b.png", small_png.read_bytes(), "image/png"),
        },
        auth=("bob", USERS["bob"]),
        timeout=30,
    ).json()["id"]
    signed_in(page, server)
    mine = upload(page, small_png)
    listed = page.locator("#images li").evaluate_all("items => items.map(item => item.dataset.id)")
    assert mine in listed and bobs not in listed
    assert listed == [item["id"] for item in api.get(server.base_url + "/images").json()["items"]]
    expect(page.locator(f"#images li[data-id='{mine}'] .expiry")).to_have_text(re.compile(r"expires in 7:59:\d\d"))
    page.screenshot(path=str(screenshots / "viewer-list.png"))


def test_dragging_window_level_changes_the_pixels(page, server, small_png):
    signed_in(page, server)
    upload(page, small_png)
    drawn(page, "original plain split 50")
    readout = page.locator("#window-readout")
    before, label = row(page), readout.text_content()
    box = page.locator("#left").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.keyboard.down("Shift")
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 200, y + 60, steps=5)  # narrower window, lower level
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(readout).not_to_have_text(label)
    assert row(page) != before


def test_invert_from_the_keyboard_inverts_the_pixels(page, server, small_png):
    signed_in(page, server)
    upload(page, small_png)
    drawn(page, "original plain split 50")
    before = row(page)
    page.locator("#stage").press("i")
    drawn(page, "original inverted split 50")
    after = row(page)
    inside = [i for i, value in enumerate(before) if value != 17]  # not the dark background around the image
    assert inside and all(after[i] == 255 - before[i] for i in inside)


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_shows_its_result_beside_the_original(page, server, small_png, name):
    signed_in(page, server)
    upload(page, small_png)
    apply(page, name)
    drawn(page, "side plain split 50")
    expect(page.locator("#right")).to_be_visible()
    assert len(set(row(page, "#right"))) > 5


def test_the_before_after_slider_moves_the_divider(page, server, phantom_png, screenshots):
    signed_in(page, server)
    upload(page, phantom_png)
    apply(page, "supreme")
    page.get_by_label("Before/after", exact=True).first.check()
    drawn(page, "split plain split 50")
    at_half = row(page, y=0.6)
    page.locator("#split").fill("20")
    drawn(page, "split plain split 20")
    at_fifth = row(page, y=0.6)
    # Columns between 20 % and 50 % now show the result instead of the original; the rest stays.
    assert at_fifth[12:23] != at_half[12:23]
    assert at_fifth[:9] == at_half[:9] and at_fifth[27:] == at_half[27:]
    page.locator("#split").fill("50")
    drawn(page, "split plain split 50")
    page.screenshot(path=str(screenshots / "viewer-compare.png"))


def test_the_difference_view_shows_where_the_result_differs(page, server, small_png):
    signed_in(page, server)
    upload(page, small_png)
    apply(page, "unmap")
    page.locator("#stage").press("5")
    drawn(page, "diff plain split 50")
    assert any(value not in (17, 128) for value in row(page))


DOWNLOADS = {  # media type: (button label, file extension)
    "image/png": ("PNG", "png"),
    "image/tiff": ("TIFF", "tiff"),
    "image/jpeg": ("JPEG", "jpg"),
    "image/gif": ("GIF", "gif"),
    "application/dicom": ("DICOM", "dcm"),
}


@pytest.mark.parametrize("media_type", list(DOWNLOADS))
def test_a_download_has_the_same_bytes_as_the_api(page, server, small_png, api, media_type):
    signed_in(page, server)
    resource_id = upload(page, small_png)
    apply(page, "ae")
    label, ext = DOWNLOADS[media_type]
    with page.expect_download() as download:
        page.get_by_role("button", name=f"Download the result as {label}").click()
    expected = api.post(
        f"{server.base_url}/images/{resource_id}/filters/ae", json=BODIES["ae"], headers={"Accept": media_type}
    )
    assert Path(download.value.path()).read_bytes() == expected.content
    assert download.value.suggested_filename.endswith("." + ext)


def test_delete_removes_the_image_here_and_on_the_server(page, server, small_png, api):
    signed_in(page, server)
    resource_id = upload(page, small_png)
    button = page.get_by_role("button", name=f"Delete image {resource_id[:8]}")
    button.click()
    button.click()  # the second press confirms
    expect(page.locator(f"#images li[data-id='{resource_id}']")).to_have_count(0)
    assert api.get(f"{server.base_url}/images/{resource_id}").status_code == 404


def test_every_viewer_response_carries_the_security_headers_and_nothing_comes_from_elsewhere(page, server, small_png):
    responses = []
    page.on("response", lambda response: responses.append(response))
    signed_in(page, server)
    upload(page, small_png)
    apply(page, "select")
    viewer = [r for r in responses if "/viewer/" in r.url]
    assert {r.url.rsplit("/", 1)[1] for r in viewer} >= {"", "main.js", "api.js", "viewer.css", "png16.js"}
    for response in viewer:
        headers = response.all_headers()
        assert {name: headers.get(name.lower()) for name in SECURITY_HEADERS} == dict(SECURITY_HEADERS), response.url
    origin = server.base_url.split("/api/")[0]
    assert all(r.url.startswith(origin + "/") for r in responses)


def test_the_page_fits_a_tablet(page, server, small_png):
    page.set_viewport_size(TABLET)
    signed_in(page, server)
    upload(page, small_png)
    apply(page, "unmap")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= TABLET["width"]
    for selector in ("#images", "#stage", "#apply", "#download-buttons"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= TABLET["width"], selector


@pytest.mark.parametrize("media_type", ["image/png", "image/tiff"])
def test_the_page_decodes_all_16_bits_of_the_servers_images(page, server, media_type):
    signed_in(page, server)
    image = codecs.decode_png16(png16(300, 200, seed=3))
    encoded = codecs.encode(image, media_type)
    script = """async ([b64, kind]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const decoded = kind === "image/png"
            ? await (await import("./png16.js")).decodePng16(bytes.buffer)
            : (await import("./tiff16.js")).decodeTiff16(bytes.buffer);
        return [decoded.width, decoded.height, Array.from(decoded.data)];
    }"""
    width, height, data = page.evaluate(script, [base64.b64encode(encoded).decode(), media_type])
    assert (width, height, data) == (300, 200, image.ravel().tolist())


def test_two_fingers_spreading_zoom_in(browser, server, small_png):
    context = browser.new_context(viewport=TABLET, has_touch=True)
    page = context.new_page()
    try:
        signed_in(page, server)
        upload(page, small_png)
        stage = page.locator("#stage")
        drawn(page, "original plain split 50")
        before = float(stage.get_attribute("data-zoom"))
        box = page.locator("#left").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        touch = context.new_cdp_session(page)
        for kind, spread in (("touchStart", 40), ("touchMove", 80), ("touchMove", 120), ("touchEnd", None)):
            points = [] if spread is None else [{"x": x - spread, "y": y, "id": 1}, {"x": x + spread, "y": y, "id": 2}]
            touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
        expect(stage).to_have_attribute("data-zoom", f"{before * 3:.3f}")
    finally:
        context.close()


def test_the_filter_choices_are_the_servers(page, server):
    signed_in(page, server)
    options = "options => options.map(option => option.value)"
    choices = {"select": page.locator("#mode option").evaluate_all(options)}
    for name in ("supreme", "ae"):
        page.locator("#filter-name").select_option(name)
        choices[name] = page.locator("#task option").evaluate_all(options)
    assert choices == {
        "select": list(imaging.SELECT_MODES),
        "supreme": list(imaging.SUPREME_TASKS),
        "ae": list(imaging.AE_TASKS),
    }
