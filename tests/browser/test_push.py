"""Web Push in chromium: the toggle in account settings, the service worker, the push.

Chromium's own push subscriptions go through Google's push service, which this machine
cannot reach, so ``PushManager.subscribe`` is stubbed in the page to return a subscription
at the local push service (keys made by the test, as a browser makes them). Everything
around it is real: the permission, the service worker registered from /sw.js with the
server's headers, the key passed to subscribe, the subscription posted to the API, the
channel's push verified and decrypted by the push service, and that payload handed to
the service worker as a push event (DevTools' ``ServiceWorker.deliverPushMessage``),
which shows the notification read back with ``getNotifications()``.

Not covered: a subscription at a real push service and its delivery to the browser, and
a click on the notification (headless chromium shows no notification to click).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from playwright.async_api import expect

from parley.api.headers import CONTENT_SECURITY_POLICY
from parley.config import Settings
from parley.models import User
from parley.notify.base import Notification, Reason
from parley.notify.webpush import WebPushChannel
from parley.store import SqlStore
from tests.browser.conftest import PersonFactory
from tests.support.pushservice import PushService, Subscriber
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser

# Runs in the page before its scripts: subscribe() and getSubscription() answer with the
# test's subscription, and record the applicationServerKey they were given.
STUB = """(() => {
  const made = %s;
  const seen = { keys: [], unsubscribed: 0 };
  window.__push = seen;
  let current = null;
  const b64 = (bytes) =>
    btoa(String.fromCharCode(...bytes))
      .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
  PushManager.prototype.subscribe = async function (options) {
    const key = new Uint8Array(options.applicationServerKey);
    seen.keys.push(b64(key));
    current = {
      endpoint: made.endpoint,
      expirationTime: null,
      options: { applicationServerKey: key.buffer, userVisibleOnly: true },
      toJSON: () => made,
      unsubscribe: async () => { seen.unsubscribed += 1; current = null; return true; },
    };
    return current;
  };
  PushManager.prototype.getSubscription = async function () { return current; };
})();"""


@pytest.fixture(scope="module")
async def push_service() -> AsyncIterator[PushService]:
    service = PushService()
    await service.start()
    yield service
    await service.stop()


@pytest.fixture(scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[ServerProcess]:
    async with ServerProcess(
        tmp_path_factory.mktemp("push-browser"), {"PARLEY_PUSH_ALLOW_PRIVATE": "1"}
    ) as proc:
        yield proc


async def deliver(data_dir: Path, user: User, sender: User) -> None:
    """What the notifications worker does: the channel, on the server's database and key."""
    settings = Settings.from_env({"PARLEY_DATA_DIR": str(data_dir)})
    store = SqlStore(settings.database_url)
    channel = WebPushChannel(
        store,
        vapid_private_key=settings.vapid_private_key,
        subject=settings.vapid_subject,
        ttl=settings.push_ttl_seconds,
        allow_private=True,
    )
    try:
        await channel.deliver(
            Notification(
                user.id, 4, 9, Reason.DIRECT, sender, None, "see you at 5", datetime.now(UTC)
            )
        )
    finally:
        await channel.close()
        await store.close()


async def subscriptions(data_dir: Path, username: str) -> tuple[User, list[str]]:
    store = SqlStore(Settings.from_env({"PARLEY_DATA_DIR": str(data_dir)}).database_url)
    try:
        found = await store.credentials(username)
        assert found is not None
        return found[0], [s.endpoint for s in await store.push_subscriptions(found[0].id)]
    finally:
        await store.close()


async def test_the_service_worker_is_served_from_the_root_with_the_policy(
    server: ServerProcess, http: aiohttp.ClientSession
) -> None:
    async with http.get(server.url + "/sw.js") as response:
        assert response.status == 200
        assert response.content_type in ("text/javascript", "application/javascript")
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["Cache-Control"] == "no-cache"  # an update is seen at once
        assert "showNotification" in await response.text()


async def test_push_toggle_subscribes_and_the_worker_shows_the_push(
    server: ServerProcess,
    people: PersonFactory,
    push_service: PushService,
    http: aiohttp.ClientSession,
) -> None:
    ada = await people(server.url, "push")
    phone: Subscriber = push_service.subscriber()
    await ada.context.grant_permissions(["notifications"], origin=server.url)
    await ada.context.add_init_script(STUB % orjson.dumps(phone.to_json()).decode())
    await ada.sign_up("Ada Push")
    page = ada.page

    await page.get_by_role("button", name="Account settings").click()
    switch = page.get_by_role("switch", name="Push notifications on this device")
    await expect(switch).to_have_attribute("aria-checked", "false")
    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "true")

    worker = await page.evaluate(
        """async () => {
          const r = await navigator.serviceWorker.getRegistration('/');
          return { scope: r.scope, script: r.active && r.active.scriptURL };
        }"""
    )
    assert worker == {"scope": server.url + "/", "script": server.url + "/sw.js"}
    async with http.get(server.url + "/api/push/key") as response:
        key = (await response.json())["public_key"]
    assert await page.evaluate("window.__push.keys") == [key]
    user, endpoints = await subscriptions(server.data_dir, ada.username)
    assert endpoints == [phone.endpoint]

    await deliver(server.data_dir, user, User(user.id + 1000, "bob", "Bob"))
    [received] = push_service.to(phone)
    assert received.vapid_key == key
    assert received.payload["url"] == "/rooms/4/messages/9"

    cdp = await ada.context.new_cdp_session(page)
    registrations: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()

    def updated(event: dict[str, Any]) -> None:
        if not registrations.done() and event["registrations"]:
            registrations.set_result(event["registrations"])

    cdp.on("ServiceWorker.workerRegistrationUpdated", updated)
    await cdp.send("ServiceWorker.enable")
    [registration] = await asyncio.wait_for(registrations, 10)
    await cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server.url,
            "registrationId": registration["registrationId"],
            "data": orjson.dumps(received.payload).decode(),
        },
    )
    shown = await page.wait_for_function(
        """async () => {
          const r = await navigator.serviceWorker.ready;
          const found = await r.getNotifications();
          return found.length
            ? found.map((n) => ({ title: n.title, body: n.body, url: n.data.url, tag: n.tag }))
            : null;
        }"""
    )
    assert await shown.json_value() == [
        {"title": "Bob", "body": "see you at 5", "url": "/rooms/4/messages/9", "tag": "parley:4:9"}
    ]

    await switch.click()
    await expect(switch).to_have_attribute("aria-checked", "false")
    assert await page.evaluate("window.__push.unsubscribed") == 1
    assert (await subscriptions(server.data_dir, ada.username))[1] == []
