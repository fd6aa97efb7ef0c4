"""Web Push: the channel against a local push service that checks VAPID and decrypts,
on SQLite and PostgreSQL, and the subscription API of a real server."""

from __future__ import annotations

import base64
import logging
import secrets
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from parley.config import Settings
from parley.models import User
from parley.notify.base import ChannelName, DeliveryFailed, Notification, Reason
from parley.notify.webpush import WebPushChannel, public_key, topic
from parley.store import SqlStore
from tests.support.client import ApiError, Client
from tests.support.pushservice import PushService, Subscriber, b64
from tests.support.server import ServerProcess

SUBJECT = "mailto:ops@parley.test"
TTL = 3600


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="module")
def vapid_key(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Generated as the embedded default generates its own."""
    return Settings.from_env(
        {"PARLEY_DATA_DIR": str(tmp_path_factory.mktemp("vapid"))}
    ).vapid_private_key


@pytest.fixture
async def channel(store: SqlStore, vapid_key: str) -> AsyncIterator[WebPushChannel]:
    found = WebPushChannel(
        store, vapid_private_key=vapid_key, subject=SUBJECT, ttl=TTL, allow_private=True
    )
    yield found
    await found.close()


async def subscribe(
    store: SqlStore, user: User, sub: Subscriber, family: str | None = None
) -> None:
    await store.add_push_subscription(user.id, family, sub.endpoint, sub.p256dh, sub.auth)


def notification(
    user: User, sender: User, seq: int = 1, room: str | None = "general"
) -> Notification:
    return Notification(
        user_id=user.id,
        room_id=7,
        seq=seq,
        reason=Reason.MENTION,
        sender=sender,
        room_name=room,
        excerpt="@ada lunch?",
        created_at=datetime.now(UTC),
    )


async def two_users(store: SqlStore) -> tuple[User, User]:
    ada = await store.create_user(f"ada{secrets.token_hex(3)}", "Ada", "x")
    bob = await store.create_user(f"bob{secrets.token_hex(3)}", "Bob", "x")
    return ada, bob


async def test_delivers_to_every_device_encrypted_and_signed(
    store: SqlStore, channel: WebPushChannel, push_service: PushService, vapid_key: str
) -> None:
    ada, bob = await two_users(store)
    laptop, phone, other = (push_service.subscriber() for _ in range(3))
    await subscribe(store, ada, laptop)
    await subscribe(store, ada, phone)
    await subscribe(store, bob, other)
    before = len(push_service.received)
    sent = notification(ada, bob, seq=3)

    await channel.deliver_many([sent])

    assert push_service.refused == []
    assert [len(push_service.to(s)) for s in (laptop, phone, other)] == [1, 1, 0]
    assert len(push_service.received) == before + 2
    got = push_service.to(phone)[0]
    assert got.payload == {
        "title": "Bob in general",
        "body": "@ada lunch?",
        "room": "7",
        "seq": 3,
        "reason": "mention",
        "url": "/rooms/7/messages/3",
    }
    assert got.topic == topic(sent.key(ChannelName.PUSH)) and len(got.topic) == 32
    assert got.ttl == str(TTL) and got.urgency == "high"
    assert got.vapid_key == public_key(vapid_key)
    assert got.claims["sub"] == SUBJECT and got.claims["aud"] == push_service.origin


async def test_direct_room_is_titled_by_the_sender(
    store: SqlStore, channel: WebPushChannel, push_service: PushService
) -> None:
    ada, bob = await two_users(store)
    phone = push_service.subscriber()
    await subscribe(store, ada, phone)
    await channel.deliver_many([notification(ada, bob, room=None)])
    assert push_service.to(phone)[0].payload["title"] == "Bob"


@pytest.mark.parametrize("status", [404, 410])
async def test_a_gone_subscription_is_removed(
    store: SqlStore, channel: WebPushChannel, push_service: PushService, status: int
) -> None:
    ada, bob = await two_users(store)
    gone, kept = push_service.subscriber(), push_service.subscriber()
    await subscribe(store, ada, gone)
    await subscribe(store, ada, kept)
    push_service.answer(gone, status)

    await channel.deliver_many([notification(ada, bob)])

    assert [s.endpoint for s in await store.push_subscriptions(ada.id)] == [kept.endpoint]
    assert len(push_service.to(kept)) == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_too_many_or_down_retries_only_the_device_that_missed_it(
    store: SqlStore, channel: WebPushChannel, push_service: PushService, status: int
) -> None:
    ada, bob = await two_users(store)
    busy, fine = push_service.subscriber(), push_service.subscriber()
    await subscribe(store, ada, busy)
    await subscribe(store, ada, fine)
    push_service.answer(busy, status)
    sent = notification(ada, bob)

    with pytest.raises(DeliveryFailed) as failed:
        await channel.deliver_many([sent])
    assert failed.value.retry
    assert len(await store.push_subscriptions(ada.id)) == 2

    del push_service.answers[busy.id]
    await channel.deliver_many([sent])
    assert (len(push_service.to(busy)), len(push_service.to(fine))) == (1, 1)


async def test_a_batch_keeps_each_users_order_when_one_must_retry(
    store: SqlStore, channel: WebPushChannel, push_service: PushService
) -> None:
    """One subscriptions read for the batch's users; a user whose push service asks to try
    later gets none of their later notifications until the retry, the others get theirs."""
    ada, bob = await two_users(store)
    busy, fine = push_service.subscriber(), push_service.subscriber()
    await subscribe(store, ada, busy)
    await subscribe(store, bob, fine)
    push_service.answer(busy, 503)
    batch = [notification(ada, bob, seq=1), notification(bob, ada, seq=1)]
    batch.append(notification(ada, bob, seq=2))

    with pytest.raises(DeliveryFailed) as failed:
        await channel.deliver_many(batch)
    assert failed.value.retry
    assert [r.payload["seq"] for r in push_service.to(fine)] == [1]
    assert push_service.to(busy) == []

    del push_service.answers[busy.id]
    await channel.deliver_many(batch)
    assert [r.payload["seq"] for r in push_service.to(busy)] == [1, 2]
    assert [r.payload["seq"] for r in push_service.to(fine)] == [1]


async def test_refused_everywhere_is_not_retried(
    store: SqlStore,
    channel: WebPushChannel,
    push_service: PushService,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ada, bob = await two_users(store)
    bad = push_service.subscriber()
    await subscribe(store, ada, bad)
    push_service.answer(bad, 400)
    with caplog.at_level(logging.WARNING, logger="parley.notify.webpush"):
        await channel.deliver_many([notification(ada, bob)])  # logged, not raised: no retry
    assert "every push service refused it" in caplog.text
    assert len(await store.push_subscriptions(ada.id)) == 1


async def test_unreachable_push_service_is_retried(store: SqlStore, vapid_key: str) -> None:
    ada, bob = await two_users(store)
    nowhere = PushService()  # never started: nothing listens on its port
    await nowhere.start()
    sub = nowhere.subscriber()
    await nowhere.stop()
    await subscribe(store, ada, sub)
    channel = WebPushChannel(
        store, vapid_private_key=vapid_key, subject=SUBJECT, ttl=TTL, allow_private=True
    )
    try:
        with pytest.raises(DeliveryFailed) as failed:
            await channel.deliver_many([notification(ada, bob)])
    finally:
        await channel.close()
    assert failed.value.retry


async def test_private_endpoints_are_refused_when_sending_too(
    store: SqlStore, push_service: PushService, vapid_key: str
) -> None:
    """A row that names 127.0.0.1 (stored before the setting changed) reaches nothing."""
    ada, bob = await two_users(store)
    sub = push_service.subscriber()
    await subscribe(store, ada, sub)
    channel = WebPushChannel(store, vapid_private_key=vapid_key, subject=SUBJECT, ttl=TTL)
    try:
        await channel.deliver_many([notification(ada, bob)])
    finally:
        await channel.close()
    assert push_service.to(sub) == []
    assert await store.push_subscriptions(ada.id) == []


async def test_signed_out_sessions_lose_their_subscriptions(
    store: SqlStore, push_service: PushService
) -> None:
    ada, _ = await two_users(store)
    family = secrets.token_hex(8)
    await store.start_refresh_family(secrets.token_hex(16), family, ada.id, 2**40)
    kept, ended = push_service.subscriber(), push_service.subscriber()
    await subscribe(store, ada, kept)
    await subscribe(store, ada, ended, family)
    assert len(await store.push_subscriptions(ada.id)) == 2
    await store.revoke_user_families(ada.id, 1, keep=None)
    assert [s.endpoint for s in await store.push_subscriptions(ada.id)] == [kept.endpoint]


async def test_an_endpoint_moves_to_whoever_registers_it_last_and_devices_are_capped(
    store: SqlStore, push_service: PushService
) -> None:
    ada, bob = await two_users(store)
    shared = push_service.subscriber()
    await subscribe(store, ada, shared)
    await subscribe(store, bob, shared)
    assert await store.push_subscriptions(ada.id) == []
    assert len(await store.push_subscriptions(bob.id)) == 1

    many = [push_service.subscriber() for _ in range(22)]
    for sub in many:
        await subscribe(store, ada, sub)
    kept = [s.endpoint for s in await store.push_subscriptions(ada.id)]
    assert kept == [s.endpoint for s in many[2:]]
    assert not await store.remove_push_subscription(bob.id, many[5].endpoint)
    assert await store.remove_push_subscription(ada.id, many[5].endpoint)


# The API of a real server (production settings: private endpoints refused).

PUBLIC_ENDPOINT = "https://push.example.com/wpush/v2/"


def browser_subscription(push_service: PushService, endpoint: str | None = None) -> dict[str, Any]:
    found = push_service.subscriber().to_json()
    found["endpoint"] = endpoint or PUBLIC_ENDPOINT + secrets.token_urlsafe(16)
    return found


async def test_the_key_is_a_p256_point(http: aiohttp.ClientSession, server: ServerProcess) -> None:
    async with http.get(server.url + "/api/push/key") as response:
        assert response.status == 200
        key = (await response.json())["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4


async def test_subscribe_and_unsubscribe(new_user: Any, push_service: PushService) -> None:
    ada: Client = await new_user()
    bob: Client = await new_user()
    sub = browser_subscription(push_service)
    await ada.call("POST", "/api/push/subscriptions", sub, expect=204)
    await ada.call("POST", "/api/push/subscriptions", sub, expect=204)  # again: no second row
    gone = {"endpoint": sub["endpoint"]}
    await bob.call("DELETE", "/api/push/subscriptions", gone, expect=404)
    await ada.call("DELETE", "/api/push/subscriptions", gone, expect=204)
    await ada.call("DELETE", "/api/push/subscriptions", gone, expect=404)
    await ada.call("POST", "/api/push/subscriptions", sub, auth=False, expect=401)
    await ada.call("DELETE", "/api/push/subscriptions", gone, auth=False, expect=401)


def _with(sub: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {**sub, "keys": {**sub["keys"], **keys}}


async def test_bad_subscriptions_are_refused(new_user: Any, push_service: PushService) -> None:
    ada: Client = await new_user()
    good = browser_subscription(push_service)
    other_key = push_service.subscriber().p256dh
    bad: list[Any] = [
        {**good, "endpoint": push_service.subscriber().endpoint},  # http://127.0.0.1
        {**good, "endpoint": "https://127.0.0.1/push/x"},
        {**good, "endpoint": "https://10.1.2.3/push/x"},
        {**good, "endpoint": "https://[::1]/push/x"},
        {**good, "endpoint": "https://localhost/push/x"},
        {**good, "endpoint": "https://push.example.com:99999/x"},
        {**good, "endpoint": "https://user:pw@push.example.com/x"},
        {**good, "endpoint": "ftp://push.example.com/x"},
        {**good, "endpoint": "http://push.example.com/x"},
        {**good, "endpoint": PUBLIC_ENDPOINT + "a\x00b"},
        {**good, "endpoint": PUBLIC_ENDPOINT + "x" * 1024},
        {**good, "endpoint": 7},
        {"endpoint": good["endpoint"]},
        {**good, "keys": "p256dh"},
        _with(good, p256dh=other_key[:-4]),
        _with(good, p256dh=b64(b"\x04" + b"\x01" * 64)),  # not on the curve
        _with(good, p256dh=other_key + "\n"),
        _with(good, auth="c2hvcnQ"),
        _with(good, auth=None),
        _with(good, p256dh="A" * 5000),
    ]
    for body in bad:
        with pytest.raises(ApiError) as refused:
            await ada.call("POST", "/api/push/subscriptions", body)
        assert refused.value.status == 422, body
        assert refused.value.body["error"]["code"] == "invalid_input"


async def test_a_subscription_end_to_end_with_the_generated_key(
    tmp_path: Path, http: aiohttp.ClientSession, push_service: PushService
) -> None:
    """The embedded default: the key generated and kept (0600), the browser's subscription
    registered through the API, a push signed with that key, and signing out ends it."""
    async with ServerProcess(tmp_path / "server", {"PARLEY_PUSH_ALLOW_PRIVATE": "1"}) as server:
        key_file = tmp_path / "server" / "vapid_private_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        async with http.get(server.url + "/api/push/key") as response:
            served = (await response.json())["public_key"]
        assert served == public_key(key_file.read_text())
        ada = await Client(http, server.url).register()
        bob = await Client(http, server.url).register()
        phone = push_service.subscriber()
        await ada.call("POST", "/api/push/subscriptions", phone.to_json(), expect=204)

        store = SqlStore(f"sqlite+aiosqlite:///{tmp_path / 'server' / 'parley.db'}")
        settings = Settings.from_env({"PARLEY_DATA_DIR": str(tmp_path / "server")})
        channel = WebPushChannel(
            store,
            vapid_private_key=settings.vapid_private_key,
            subject=settings.vapid_subject,
            ttl=settings.push_ttl_seconds,
            allow_private=True,
        )
        try:
            sender = User(int(bob.id), bob.username, bob.username)
            target = User(int(ada.id), ada.username, ada.username)
            await channel.deliver_many([notification(target, sender)])
            assert push_service.to(phone)[0].vapid_key == served
            await ada.call("POST", "/api/auth/logout", {"refresh_token": ada.refresh_token})
            await channel.deliver_many([notification(target, sender, seq=2)])
            assert len(push_service.to(phone)) == 1
            assert await store.push_subscriptions(target.id) == []
        finally:
            await channel.close()
            await store.close()
