"""Uploads, attachments, file serving and avatars over HTTP and WebSocket, on the embedded
server (files on disk) and on PostgreSQL; the abandoned-upload sweep on a server of its own."""

from __future__ import annotations

import asyncio
import io
import time
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from tests.conftest import UserFactory
from tests.support.client import ApiError, Client
from tests.support.server import ServerProcess

HTML = b"<!doctype html><html><body><script>parent.pwned = 1</script></body></html>"


def png(width: int = 640, height: int = 480) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, "PNG", exif=exif)
    return out.getvalue()


async def upload(
    client: Client, room: str, data: bytes, name: str, *, expect: int = 201, raw: bool = False
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {client.access_token}"}
    url = f"{client.base_url}/api/rooms/{room}/files"
    if raw:
        async with client.http.post(f"{url}?name={name}", data=data, headers=headers) as r:
            body: dict[str, Any] = await r.json()
            status = r.status
    else:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type="image/png")
        async with client.http.post(url, data=form, headers=headers) as r:
            body = await r.json()
            status = r.status
    assert status == expect, body
    return body


async def fetch(
    client: Client, path: str, headers: dict[str, str] | None = None
) -> tuple[int, bytes, Any]:
    wanted = {"Authorization": f"Bearer {client.access_token}", **(headers or {})}
    async with client.http.get(client.base_url + path, headers=wanted) as r:
        return r.status, await r.read(), r.headers


async def test_an_image_travels_with_its_message(new_user: UserFactory) -> None:
    ana, bob, eve = await new_user(), await new_user(), await new_user()
    room = (await ana.group("pics", bob))["id"]
    bob_socket = await bob.connect()
    image = await upload(ana, room, png(), "cat.png")
    # The client's content type (image/png) is ignored for the HTML: bytes decide.
    page = await upload(ana, room, HTML, "page.png")
    assert (image["content_type"], image["width"], image["height"]) == ("image/png", 640, 480)
    assert image["thumbnail"] == f"/api/files/{image['id']}/thumbnail"
    assert page["content_type"] == "text/html" and page["thumbnail"] is None
    # Before it is sent, only the uploader sees it.
    assert (await fetch(bob, image["url"]))[0] == 404
    assert (await fetch(ana, image["url"]))[0] == 200

    sent = await ana.call(
        "POST",
        f"/api/rooms/{room}/messages",
        {"body": "", "attachments": [image["id"], page["id"]]},
        expect=201,
    )
    assert [a["id"] for a in sent["attachments"]] == [image["id"], page["id"]]
    live = await bob_socket.messages(room, 1)
    assert live[0]["attachments"] == sent["attachments"]
    history = await bob.history(room)
    assert history["messages"][-1]["attachments"] == sent["attachments"]

    status, body, headers = await fetch(bob, image["url"])
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert b"SecretCamera" not in body  # metadata stripped
    assert headers["Content-Disposition"].startswith("inline")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    status, thumb, headers = await fetch(bob, image["thumbnail"])
    assert status == 200 and headers["Content-Type"] == "image/webp"
    assert max(Image.open(io.BytesIO(thumb)).size) == 480
    status, body, headers = await fetch(bob, page["url"])
    assert status == 200 and body == HTML
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Disposition"].startswith("attachment")
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    # Not a member: the same 404 as no such file.
    assert (await fetch(eve, image["url"]))[0] == 404
    assert (await fetch(eve, "/api/files/999999999"))[0] == 404
    await bob_socket.close()
    # Leaving the room ends access.
    await bob.call("DELETE", f"/api/rooms/{room}/members/me", expect=204)
    assert (await fetch(bob, image["url"]))[0] == 404


async def test_ranges(new_user: UserFactory) -> None:
    ana = await new_user()
    room = (await ana.group("ranges"))["id"]
    data = bytes(range(256)) * 1024
    sent = await upload(ana, room, data, "blob.bin", raw=True)
    assert sent["content_type"] == "application/octet-stream" and sent["size"] == len(data)
    status, body, headers = await fetch(ana, sent["url"], {"Range": "bytes=1000-1999"})
    assert status == 206 and body == data[1000:2000]
    assert headers["Content-Range"] == f"bytes 1000-1999/{len(data)}"
    status, body, _ = await fetch(ana, sent["url"], {"Range": f"bytes={len(data) - 10}-"})
    assert status == 206 and body == data[-10:]
    assert (await fetch(ana, sent["url"], {"Range": f"bytes={len(data)}-"}))[0] == 416
    assert (await fetch(ana, sent["url"]))[1] == data


async def test_only_your_own_unsent_uploads_in_that_room(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("claims", bob))["id"]
    other = (await ana.group("elsewhere", bob))["id"]
    mine = await upload(ana, room, b"notes", "notes.txt", raw=True)
    assert mine["content_type"] == "text/plain"

    async def send(client: Client, where: str, ids: Any, expect: int) -> Any:
        return await client.call(
            "POST", f"/api/rooms/{where}/messages", {"body": "x", "attachments": ids}, expect=expect
        )

    refused = await send(bob, room, [mine["id"]], 422)  # not bob's
    assert refused["error"]["code"] == "invalid_input"
    await send(ana, other, [mine["id"]], 422)  # another room
    await send(ana, room, [mine["id"], mine["id"]], 422)  # repeated
    await send(ana, room, ["999999999"], 422)  # no such upload
    await send(ana, room, [str(i) for i in range(1, 12)], 422)  # over the count
    before = (await ana.history(room))["messages"]
    # A refused send stored nothing and took no seq.
    assert before == []

    # Two sends at once: one message gets the file, the other is refused.
    async def attempt() -> bool:
        try:
            await send(ana, room, [mine["id"]], 201)
        except ApiError as exc:
            assert exc.status == 422
            return False
        return True

    assert sorted(await asyncio.gather(attempt(), attempt())) == [False, True]
    after = (await ana.history(room))["messages"]
    assert [m["seq"] for m in after] == [1]
    assert after[0]["attachments"][0]["id"] == mine["id"]


async def test_limits_and_names(new_user: UserFactory, server: ServerProcess) -> None:
    ana, eve = await new_user(), await new_user()
    room = (await ana.group("limits"))["id"]
    big = b"\0" * (int(server.env.get("PARLEY_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)) + 1)
    too_large = await upload(ana, room, big, "big.bin", raw=True, expect=413)
    assert too_large["error"]["code"] == "too_large"
    assert "limit" in too_large["error"]["message"]
    bad = await upload(ana, room, b"x", "a%00b", raw=True, expect=422)
    assert bad["error"]["code"] == "invalid_input"
    await upload(ana, room, b"x", "..%2Fetc", raw=True, expect=422)
    await upload(eve, room, b"x", "a.txt", raw=True, expect=404)
    headers = {"Authorization": f"Bearer {ana.access_token}"}
    async with ana.http.post(f"{ana.base_url}/api/rooms/{room}/files?name=a", headers={}) as r:
        assert r.status == 401
    async with ana.http.get(f"{ana.base_url}/api/files/abc", headers=headers) as r:
        assert r.status == 404


async def test_a_message_with_files_over_the_socket_and_resume(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("socket", bob))["id"]
    image = await upload(ana, room, png(32, 16), "dot.png")
    ana_socket = await ana.connect()
    await ana_socket.send(
        {"type": "send", "room": room, "body": "", "client_id": "f1", "attachments": [image["id"]]}
    )
    ack = await ana_socket.settled("f1")
    assert ack["type"] == "ack", ack
    assert ack["message"]["attachments"][0]["width"] == 32
    await ana_socket.close()
    bob_socket = await bob.connect(resume={room: 0})
    missed = await bob_socket.messages(room, 1)
    assert missed[0]["attachments"] == ack["message"]["attachments"]
    await bob_socket.close()


async def test_avatars(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    headers = {"Authorization": f"Bearer {ana.access_token}"}
    async with ana.http.put(
        f"{ana.base_url}/api/me/avatar", data=png(900, 300), headers=headers
    ) as r:
        assert r.status == 200
        url = (await r.json())["avatar"]
    assert url.startswith(f"/api/users/{ana.id}/avatar?v=")
    status, body, got = await fetch(bob, url)
    assert status == 200 and got["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(body)).size == (256, 256)
    async with ana.http.put(f"{ana.base_url}/api/me/avatar", data=HTML, headers=headers) as r:
        assert r.status == 422
    await ana.call("DELETE", "/api/me/avatar", expect=204)
    assert (await fetch(bob, f"/api/users/{ana.id}/avatar"))[0] == 404


async def test_abandoned_uploads_are_swept(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    proc = ServerProcess(
        tmp_path, {"PARLEY_UPLOAD_TTL": "1", "PARLEY_UPLOAD_SWEEP_INTERVAL": "0.2"}
    )
    await proc.start()
    try:
        ana = await Client(http, proc.url).register()
        room = (await ana.group("sweep"))["id"]
        kept = await upload(ana, room, b"kept", "kept.txt", raw=True)
        dropped = await upload(ana, room, b"dropped", "dropped.txt", raw=True)
        await ana.call(
            "POST", f"/api/rooms/{room}/messages", {"body": "k", "attachments": [kept["id"]]}
        )
        objects = tmp_path / "files" / "files"
        assert len(list(objects.iterdir())) == 2
        deadline = time.monotonic() + 15
        while (await fetch(ana, dropped["url"]))[0] != 404:
            assert time.monotonic() < deadline, "the abandoned upload was never swept"
            await asyncio.sleep(0.2)
        while len(list(objects.iterdir())) != 1:
            assert time.monotonic() < deadline, "its object was never deleted"
            await asyncio.sleep(0.2)
        assert (await fetch(ana, kept["url"]))[1] == b"kept"
    finally:
        await proc.stop()
