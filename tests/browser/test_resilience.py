"""Connection handling in a real browser: restarts, offline users, resume, token expiry."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Request, WebSocket, expect

from tests.browser.conftest import Person, PersonFactory
from tests.support.client import PASSWORD, Client
from tests.support.server import ServerProcess

pytestmark = pytest.mark.browser


@pytest.fixture
async def roomy_server(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    """A server of the test's own with limits that let a test post hundreds of messages."""
    proc = ServerProcess(
        tmp_path / "server", env={"PARLEY_SEND_RATE": "5000", "PARLEY_SEND_BURST": "5000"}
    )
    await proc.start()
    yield proc
    await proc.stop()


async def api_client(http: aiohttp.ClientSession, server: ServerProcess, who: Person) -> Client:
    """Sign the browser user in over HTTP too, to check what the server stored."""
    client = Client(http, server.url)
    client.password = PASSWORD
    session = await client.call(
        "POST",
        "/api/auth/login",
        {"username": who.username, "password": PASSWORD},
        auth=False,
        expect=200,
    )
    client._adopt(session)
    return client


async def bodies(client: Client, room: str) -> list[str]:
    out: list[str] = []
    after = 0
    while True:
        page = await client.history(room, after=after, limit=100)
        out += [m["body"] for m in page["messages"]]
        if not page["has_more"]:
            return out
        after = page["messages"][-1]["seq"]


async def dm_pair(server: ServerProcess, people: PersonFactory) -> tuple[Person, Person]:
    ana = await (await people(server.url, "ana")).sign_up("Ana Lima")
    ben = await (await people(server.url, "ben")).sign_up("Ben Okafor")
    await ana.start_direct(ben)
    await ana.send("hello before anything happens")
    await ben.open_room("Ana Lima")
    await expect(ben.message("hello before anything happens")).to_have_count(1)
    return ana, ben


async def unread(client: Client, room: str) -> int:
    value: int = (await client.call("GET", f"/api/rooms/{room}"))["unread"]
    return value


async def eventually(
    probe: Callable[[], Awaitable[object]], expected: object, timeout: float = 10.0
) -> None:
    """Poll a server-side value until it equals `expected` (state, not a fixed sleep)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value == expected:
            return
        if loop.time() > deadline:
            raise AssertionError(f"expected {expected!r}, still {value!r} after {timeout}s")
        await asyncio.sleep(0.1)


def room_id(person: Person) -> str:
    match = re.search(r"/r/([^/]+)$", person.page.url)
    assert match, person.page.url
    return match.group(1)


async def test_server_restart_while_typing_delivers_the_message_exactly_once(
    fresh_server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana, ben = await dm_pair(fresh_server, people)
    text = "typed while the server restarts"

    await ana.composer.press_sequentially("typed while")
    await expect(ben.page.get_by_test_id("typing")).to_contain_text("Ana Lima is typing")
    await fresh_server.stop()
    await expect(ana.banner).to_contain_text(re.compile("Reconnecting|Connection lost"))
    await expect(ben.banner).to_contain_text(re.compile("Reconnecting|Connection lost"))
    await ana.composer.press_sequentially(" the server restarts")
    await ana.composer.press("Enter")
    # Optimistic: shown at once as pending, waiting for the connection.
    await expect(ana.pending).to_have_count(1)
    await expect(ana.pending).to_contain_text(text)
    await expect(ana.pending).to_contain_text("Waiting for connection")
    await ana.shot("08-reconnecting-pending")

    await fresh_server.start()
    await expect(ana.banner).to_have_attribute("data-status", "online")
    await expect(ben.message(text)).to_have_count(1)
    await expect(ana.message(text)).to_have_count(1)
    await expect(ana.pending).to_have_count(0)
    await expect(ana.banner).to_have_text("")

    # A send racing the shutdown: its ack may be lost; the retry reuses the client_id.
    await ana.composer.fill("sent as the server goes down")
    await ana.composer.press("Enter")
    await fresh_server.restart()
    await expect(ben.message("sent as the server goes down")).to_have_count(1)
    await expect(ana.message("sent as the server goes down")).to_have_count(1)
    await expect(ana.pending).to_have_count(0)
    await ben.send("and the reply after the restarts")
    await expect(ana.message("and the reply after the restarts")).to_have_count(1)

    stored = await bodies(await api_client(http, fresh_server, ana), room_id(ana))
    assert stored == [
        "hello before anything happens",
        text,
        "sent as the server goes down",
        "and the reply after the restarts",
    ]
    await expect(ben.messages).to_have_count(4)
    await expect(ana.messages).to_have_count(4)


async def test_messages_sent_while_offline_appear_when_the_user_returns(
    server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana, ben = await dm_pair(server, people)
    cy = await (await people(server.url, "cy")).sign_up("Cy Park")
    await cy.create_group("Standup", ana, ben)
    await expect(ben.room_link("Standup")).to_be_visible()

    # Offline mode: the banner says so, nothing arrives meanwhile.
    await ben.context.set_offline(True)
    await expect(ben.banner).to_have_attribute("data-status", "offline")
    await expect(ben.banner).to_contain_text("offline")
    await ana.send("while you were away 1")
    await ana.send("while you were away 2")
    await cy.send("standup notes are up")
    await ben.shot("09-offline")
    await expect(ben.message("while you were away")).to_have_count(0)

    await ben.context.set_offline(False)
    await expect(ben.message("while you were away 1")).to_have_count(1)
    await expect(ben.message("while you were away 2")).to_have_count(1)
    await expect(ben.messages).to_have_count(3)
    await expect(ben.unread_badge("Standup")).to_have_text("1")
    await expect(ben.room_link("Standup")).to_contain_text("standup notes are up")
    await expect(ben.banner).to_have_text("")

    # Page closed entirely: the session comes back from storage, the message with it.
    # (First let Ben's read marker for what he just saw reach the server.)
    ben_api = await api_client(http, server, ben)
    await eventually(lambda: unread(ben_api, room_id(ben)), 0)
    await ben.page.close()
    await ana.send("are you there?")
    page = await ben.new_page()
    await page.goto(server.url)
    await expect(ben.unread_badge("Ana Lima")).to_have_text("1")
    await ben.open_room("Ana Lima")
    await expect(ben.message("are you there?")).to_have_count(1)
    await expect(ben.messages).to_have_count(4)


async def test_a_long_absence_is_paged_in_after_the_resume_cap(
    roomy_server: ServerProcess, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    ana, ben = await dm_pair(roomy_server, people)
    room = room_id(ben)
    await ben.context.set_offline(True)
    await expect(ben.banner).to_have_attribute("data-status", "offline")

    # More than the server's resume cap (500) while Ben is away.
    poster = await api_client(http, roomy_server, ana)
    total = 620
    for i in range(1, total + 1):
        body: dict[str, Any] = {"body": f"bulk {i:04d}", "client_id": f"bulk-{i}"}
        await poster.call("POST", f"/api/rooms/{room}/messages", body, expect=201)

    await ben.context.set_offline(False)
    last = ben.message(f"bulk {total:04d}")
    await expect(last).to_have_count(1, timeout=30_000)
    await expect(ben.messages).to_have_count(total + 1)
    # Exactly the seqs 1..N, each once, in order.
    seqs = await ben.messages.evaluate_all("els => els.map(e => Number(e.dataset.seq))")
    assert seqs == list(range(1, total + 2))


async def test_session_survives_access_token_expiry_and_revocation_signs_out(
    tmp_path: Path, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    # No grace window: the browser's next refresh after the theft is a reuse at once.
    server = ServerProcess(
        tmp_path / "server",
        env={"PARLEY_ACCESS_TOKEN_TTL": "5", "PARLEY_REFRESH_GRACE": "0"},
    )
    await server.start()
    try:
        ana, ben = await dm_pair(server, people)
        refreshes: list[str] = []

        def on_request(request: Request) -> None:
            if request.url.endswith("/api/auth/refresh"):
                refreshes.append(request.url)

        ana.page.on("request", on_request)
        # Let the 5-second access token run out.
        deadline = await ana.page.evaluate("() => Date.now() + 6000")
        await ana.page.wait_for_function("t => Date.now() > t", arg=deadline, timeout=15_000)
        # The socket is re-opened after a restart: the client must refresh first.
        await server.restart()
        await expect(ana.banner).to_have_attribute("data-status", "online")
        await ana.send("after the token expired")
        await expect(ben.message("after the token expired")).to_have_count(1)
        assert refreshes, "the client never refreshed its access token"

        # A thief with a copy of the cookie refreshes first; the browser's own refresh is
        # then a reuse, which revokes the session: back to sign-in.
        [stolen] = [
            c["value"] for c in await ana.context.cookies() if c["name"] == "parley_refresh"
        ]
        thief = Client(http, server.url)
        await thief.call("POST", "/api/auth/refresh", {"refresh_token": stolen}, auth=False)
        await ana.page.reload()
        await expect(ana.page.get_by_role("heading", name="Sign in to Parley")).to_be_visible()
    finally:
        await server.stop()


async def test_the_socket_stays_open_across_token_expiries(
    tmp_path: Path, people: PersonFactory
) -> None:
    """The server closes a socket whose token expires (4401); the client renews it in time."""
    server = ServerProcess(tmp_path / "server", env={"PARLEY_ACCESS_TOKEN_TTL": "5"})
    await server.start()
    try:
        ana, ben = await dm_pair(server, people)
        sockets: list[WebSocket] = []
        renewed: list[str] = []

        def watch(ws: WebSocket) -> None:
            sockets.append(ws)

            def on_frame(payload: str | bytes) -> None:
                if isinstance(payload, str) and '"reauthed"' in payload:
                    renewed.append(payload)

            ws.on("framereceived", on_frame)

        ana.page.on("websocket", watch)
        await ana.page.reload()  # so the listener sees the socket from its start
        await expect(ana.banner).to_have_attribute("data-status", "online")
        # Three lifetimes of the token: each renewed on the open socket before it ran out.
        deadline = await ana.page.evaluate("() => Date.now() + 15000")
        await ana.page.wait_for_function("t => Date.now() > t", arg=deadline, timeout=30_000)
        assert len(renewed) >= 3, renewed
        assert len(sockets) == 1 and not sockets[0].is_closed()
        await expect(ana.banner).to_have_attribute("data-status", "online")
        await ana.send("after three token lifetimes")
        await expect(ben.message("after three token lifetimes")).to_have_count(1)
    finally:
        await server.stop()


async def test_rate_limited_sends_are_retried_with_the_same_client_id(
    tmp_path: Path, people: PersonFactory, http: aiohttp.ClientSession
) -> None:
    server = ServerProcess(
        tmp_path / "server", env={"PARLEY_SEND_RATE": "0.5", "PARLEY_SEND_BURST": "1"}
    )
    await server.start()
    try:
        ana, ben = await dm_pair(server, people)  # uses one send of the burst
        refusals: list[str] = []

        def watch(ws: WebSocket) -> None:
            def on_frame(payload: str | bytes) -> None:
                if isinstance(payload, str) and '"rate_limited"' in payload:
                    refusals.append(payload)

            ws.on("framereceived", on_frame)

        ana.page.on("websocket", watch)
        await ana.page.reload()  # so the listener sees the socket from its start
        await expect(ana.banner).to_have_attribute("data-status", "online")
        for i in range(1, 4):
            await ana.composer.fill(f"burst {i}")
            await ana.composer.press("Enter")
        # Refused sends stay pending and go out again later, by themselves.
        await expect(ana.pending.first).to_have_attribute("data-status", "sending")
        for i in range(1, 4):
            await expect(ben.message(f"burst {i}")).to_have_count(1)
        await expect(ana.pending).to_have_count(0)
        assert refusals, "the server never refused a send: the test did not test anything"
        stored = await bodies(await api_client(http, server, ana), room_id(ana))
        assert stored == ["hello before anything happens", "burst 1", "burst 2", "burst 3"]
    finally:
        await server.stop()
