"""Files in cluster mode: the S3 file store against a real S3-compatible server (S3Proxy
from ``scripts/services``), and two gateways sharing uploads through it."""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import AsyncIterator

import aiohttp
import pytest
from PIL import Image

from parley.files import InvalidKey, MissingFile
from parley.files.s3 import S3FileStore, S3Settings
from tests.support.client import Client
from tests.support.cluster import Cluster
from tests.support.services import Services

pytestmark = pytest.mark.cluster


def s3_store(services: Services, bucket: str) -> S3FileStore:
    return S3FileStore(
        S3Settings(
            endpoint=services.s3_endpoint,
            bucket=bucket,
            region="us-east-1",
            access_key=services.s3_access_key,
            secret_key=services.s3_secret_key,
            prefix="p/",
        )
    )


@pytest.fixture
async def s3(services: Services) -> AsyncIterator[S3FileStore]:
    store = s3_store(services, f"parley-test-{secrets.token_hex(6)}")
    await store.start()
    yield store
    await store.close()


async def test_gateways_starting_together_share_one_new_bucket(services: Services) -> None:
    """Each gateway creates the bucket when it is missing; the one that loses the race to
    create it must start all the same."""
    bucket = f"parley-test-{secrets.token_hex(6)}"
    stores = [s3_store(services, bucket) for _ in range(4)]
    try:
        await asyncio.gather(*(store.start() for store in stores))
        await stores[0].put("files/shared", b"shared", "text/plain")
        assert await read(stores[3], "files/shared") == b"shared"
    finally:
        for store in stores:
            await store.close()


async def read(store: S3FileStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    blob = await store.get(key, start, end)
    return b"".join([chunk async for chunk in blob.chunks])


async def test_put_get_range_stat_delete(s3: S3FileStore) -> None:
    data = secrets.token_bytes(200_000)
    await s3.put("files/abc", data, "application/octet-stream")
    assert await read(s3, "files/abc") == data
    assert await read(s3, "files/abc", 1000, 1999) == data[1000:2000]
    assert await read(s3, "files/abc", 199_990) == data[199_990:]
    assert (await s3.get("files/abc", 5, 9)).size == len(data)
    assert await s3.stat("files/abc") == len(data)
    await s3.put("files/empty", b"", "text/plain")
    assert await read(s3, "files/empty") == b""
    await s3.delete("files/abc")
    await s3.delete("files/abc")  # deleting what is gone is fine (the sweep retries)
    assert await s3.stat("files/abc") is None
    with pytest.raises(MissingFile):
        await s3.get("files/abc")
    with pytest.raises(InvalidKey):
        await s3.put("../escape", b"x", "text/plain")


async def test_two_gateways_share_files(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    gw1, gw2 = await cluster.start()
    ana = await Client(http, gw1.url).register()
    bob = await Client(http, gw2.url).register()
    room = (await ana.group("shared files", bob))["id"]
    bob_socket = await bob.connect()
    image = io.BytesIO()
    Image.new("RGB", (300, 200), "blue").save(image, "PNG")
    form = aiohttp.FormData()
    form.add_field("file", image.getvalue(), filename="blue.png")
    headers = {"Authorization": f"Bearer {ana.access_token}"}
    async with http.post(f"{gw1.url}/api/rooms/{room}/files", data=form, headers=headers) as r:
        assert r.status == 201
        uploaded = await r.json()
    ana_socket = await ana.connect()
    await ana_socket.send(
        {
            "type": "send",
            "room": room,
            "body": "",
            "client_id": "f",
            "attachments": [uploaded["id"]],
        }
    )
    ack = await ana_socket.settled("f")
    assert ack["type"] == "ack" and ack["message"]["attachments"] == [uploaded]
    live = await bob_socket.messages(room, 1)
    assert live[0]["attachments"] == [uploaded]
    bob_headers = {"Authorization": f"Bearer {bob.access_token}"}
    async with http.get(gw2.url + uploaded["url"], headers=bob_headers) as r:
        assert r.status == 200
        assert Image.open(io.BytesIO(await r.read())).size == (300, 200)
    async with http.get(gw2.url + uploaded["thumbnail"], headers=bob_headers) as r:
        assert r.status == 200 and r.headers["Content-Type"] == "image/webp"
    await ana_socket.close()
    await bob_socket.close()
