"""``make demo``: the whole modality flow end to end, on this machine only.

Starts the Modality API simulator and the filters server as subprocesses on free loopback
ports (memory storage, fresh random credentials wired together), acquires an image through
the Modality API, creates a modality resource from it, applies every filter and writes the
results to ./demo-output/, then cleans up and stops both servers.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
OUT = Path.cwd() / "demo-output"
SIM_BASE = "/api/dsio/modality/v1"
FILTERS_BASE = "/api/dsio/filters/v1"
FILTER_CALLS = (
    [("unmap", None)]
    + [("select", {"enhancementMode": mode}) for mode in ("smooth", "edgeLow", "edgeHigh", "edgePro")]
    + [("supreme", {"task": "general", "sharpness": 70}), ("ae", {"task": "general", "sharpness": 70})]
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(user, password)}


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, stdout=handle, stderr=subprocess.STDOUT
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_until_up(
    http: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes], timeout: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited with status {process.returncode}")
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


async def expect(response: aiohttp.ClientResponse, status: int) -> aiohttp.ClientResponse:
    if response.status != status:
        raise RuntimeError(f"{response.method} {response.url.path}: {response.status} {await response.text()}")
    return response


async def run(
    sim_url: str,
    filters_url: str,
    sim_auth: dict[str, str],
    filters_auth: dict[str, str],
    sim: subprocess.Popen[bytes],
    server: subprocess.Popen[bytes],
) -> None:
    async with aiohttp.ClientSession() as http:
        await wait_until_up(http, sim_url + "/", sim)
        await wait_until_up(http, filters_url + "/", server)

        # The imaging software's side: a session on a sensor, enable, expose (simulator button).
        devices = await (await expect(await http.get(f"{sim_url}/devices", headers=sim_auth), 200)).json()
        device = next(d for d in devices if d["status"] == "Available")
        session = await (
            await expect(
                await http.post(
                    f"{sim_url}/acquisition",
                    json={"deviceId": device["deviceId"], "clientName": "make demo"},
                    headers=sim_auth,
                ),
                201,
            )
        ).json()
        session_id = session["sessionId"]
        await expect(
            await http.put(
                f"{sim_url}/acquisition/{session_id}/info",
                json={"enable": True, "binning": "Unbinned"},
                headers=sim_auth,
            ),
            200,
        )
        image = await (
            await expect(await http.post(f"{sim_url}/acquisition/{session_id}/expose", headers=sim_auth), 201)
        ).json()
        print(f"acquired {image['width']}x{image['height']} image {image['id']} on {device['name']}")

        # The filters server fetches it from the Modality API by reference.
        resource = await (
            await expect(
                await http.post(
                    f"{filters_url}/images/modality",
                    json={"sessionId": session_id, "imageId": image["id"]},
                    headers=filters_auth,
                ),
                201,
            )
        ).json()
        (OUT / "resource.json").write_text(json.dumps(resource, indent=2) + "\n")
        original = await (await expect(await http.get(resource["url"], headers=filters_auth), 200)).read()
        (OUT / "original.png").write_bytes(original)
        print(f"created modality resource {resource['id']}")

        for name, params in FILTER_CALLS:
            started = time.perf_counter()
            response = await expect(
                await http.post(
                    f"{filters_url}/images/{resource['id']}/filters/{name}", json=params, headers=filters_auth
                ),
                200,
            )
            label = name + "".join(f"-{v}" for k, v in (params or {}).items() if k != "sharpness")
            (OUT / f"{label}.png").write_bytes(await response.read())
            print(f"  {label:<16} {time.perf_counter() - started:6.2f} s -> demo-output/{label}.png")

        # Ending the session ends the resource: the next call answers 410 (the server runs with
        # --modality-session-check-seconds 0, so it does not answer from a cached "active").
        await expect(await http.delete(f"{sim_url}/acquisition/{session_id}", headers=sim_auth), 200)
        gone = await http.get(f"{filters_url}/images/{resource['id']}", headers=filters_auth)
        print(f"after the session was deleted: GET /images/{{id}} -> {gone.status}")


def main() -> int:
    OUT.mkdir(exist_ok=True)
    sim_port, filters_port = free_port(), free_port()
    sim_password, filters_password = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    sim_url = f"http://127.0.0.1:{sim_port}{SIM_BASE}"
    filters_url = f"http://127.0.0.1:{filters_port}{FILTERS_BASE}"
    sim = start(
        ["-m", "filters_server.simulator", "--host", "127.0.0.1", "--port", str(sim_port)],
        {"FILTERS_SIM_USERS": f"demo-sim:{sim_password}"},
        OUT / "simulator.log",
    )
    server = None
    try:
        server = start(
            [
                "-m",
                "filters_server",
                "--host",
                "127.0.0.1",
                "--port",
                str(filters_port),
                "--storage",
                "memory://",
                "--modality-url",
                sim_url,
                "--modality-user",
                "demo-sim",
                "--modality-session-check-seconds",
                "0",
            ],
            {"FILTERS_USERS": f"demo:{filters_password}", "FILTERS_MODALITY_PASSWORD": sim_password},
            OUT / "filters-server.log",
        )
        asyncio.run(
            run(sim_url, filters_url, basic("demo-sim", sim_password), basic("demo", filters_password), sim, server)
        )
    except RuntimeError as exc:
        print(f"demo failed: {exc} (logs in {OUT})", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            stop(server)
        stop(sim)
    print(f"results in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
