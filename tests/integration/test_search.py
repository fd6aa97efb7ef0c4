"""Full-text search over HTTP: GET /api/search, on the embedded server with SQLite and with
PostgreSQL. The servers are shared, so each test searches for words of its own."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator

from parley.protocol import schema
from tests.conftest import UserFactory
from tests.support.client import ApiError, Client

PAGE = Draft202012Validator({"$defs": schema.document()["$defs"], "$ref": "#/$defs/SearchPage"})


def word() -> str:
    """A word no other test sends: letters only, so both stemmers keep it whole."""
    return "zq" + "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(10))


async def search(client: Client, **params: Any) -> dict[str, Any]:
    page: dict[str, Any] = await client.call("GET", "/api/search?" + urlencode(params))
    PAGE.validate(page)
    return page


async def bodies(client: Client, **params: Any) -> list[str]:
    return [r["message"]["body"] for r in (await search(client, **params))["results"]]


async def post(client: Client, room: str, body: str) -> dict[str, Any]:
    message: dict[str, Any] = await client.call(
        "POST", f"/api/rooms/{room}/messages", {"body": body}, expect=201
    )
    return message


async def test_edits_deletes_and_snippets(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("search", bob))["id"]
    w, fresh, gone = word(), word(), word()
    first = await post(ana, room, f"the {w} is <b>ready</b> & waiting")
    await post(bob, room, f"no {gone} here")
    await post(bob, room, "unrelated")
    page = await search(bob, q=w)
    assert [r["message"]["id"] for r in page["results"]] == [first["id"]]
    assert page["next_cursor"] is None
    snippet = page["results"][0]["snippet"]
    assert [p["text"] for p in snippet if p["hit"]] == [w]
    assert "".join(p["text"] for p in snippet) == first["body"]  # no markup added or escaped
    await ana.call("PATCH", f"/api/rooms/{room}/messages/1", {"body": f"now {fresh}"})
    assert await bodies(bob, q=w) == []
    edited = (await search(bob, q=fresh))["results"]
    assert edited[0]["message"]["edited_at"] is not None
    await bob.call("DELETE", f"/api/rooms/{room}/messages/2")
    assert await bodies(bob, q=gone) == []


async def test_only_rooms_you_are_in_now(new_user: UserFactory) -> None:
    ana, bob, eve = await new_user(), await new_user(), await new_user()
    room = (await ana.group("inner", bob))["id"]
    w = word()
    await post(bob, room, f"the {w} plan")
    assert await bodies(ana, q=w) == [f"the {w} plan"]
    assert await bodies(eve, q=w) == []
    assert await bodies(eve, q=w, room=room) == []
    await ana.call("DELETE", f"/api/rooms/{room}/members/me", expect=204)
    assert await bodies(ana, q=w) == []
    assert await bodies(ana, q=w, room=room) == []
    assert await bodies(bob, q=w) == [f"the {w} plan"]


async def test_filters_and_paging(new_user: UserFactory) -> None:
    ana, bob = await new_user(), await new_user()
    room = (await ana.group("one", bob))["id"]
    other = (await ana.group("two", bob))["id"]
    w = word()
    sent = [await post(ana if i % 2 else bob, room, f"{w} number {i}") for i in range(5)]
    await post(ana, other, f"{w} elsewhere")
    assert await bodies(bob, q=w, room=other) == [f"{w} elsewhere"]
    assert await bodies(bob, q=w, room=room, sender=ana.username) == [
        f"{w} number 3",
        f"{w} number 1",
    ]
    assert await bodies(bob, q=w, sender=ana.username.upper(), room=other) == [f"{w} elsewhere"]
    created = sent[0]["created_at"]
    assert len(await bodies(bob, q=w, after=created)) == 6
    assert await bodies(bob, q=w, before=created) == []
    assert await bodies(bob, q=w, before="2000-01-01") == []
    assert len(await bodies(bob, q=w, after="2000-01-01", before="2999-01-01")) == 6
    seen: list[str] = []
    params: dict[str, Any] = {"q": w, "room": room, "limit": 2}
    while True:
        page = await search(bob, **params)
        seen += [r["message"]["id"] for r in page["results"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [m["id"] for m in reversed(sent)]
    assert await bodies(bob, q=f'"{w} number 2"') == [f"{w} number 2"]
    assert len(await bodies(bob, q=f"{w} -elsewhere")) == 5


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"q": ""},
        {"q": "   "},
        {"q": "a\x00b"},
        {"q": "tab\there"},
        {"q": "x" * 5000},
        {"q": "x", "after": "yesterday"},
        {"q": "x", "after": "2026-02-30"},
        {"q": "x", "before": "2026-12-02T10:00:00"},
        {"q": "x", "before": "2026-12-02 10:00:00Z"},
        {"q": "x", "limit": "51"},
        {"q": "x", "limit": "0"},
        {"q": "x", "limit": "1e1"},
        {"q": "x", "cursor": "-1"},
        {"q": "x", "room": "seven"},
        {"q": "x", "room": str(2**63)},
        {"q": "x", "sender": "no such name!"},
    ],
)
async def test_hostile_input_is_refused(new_user: UserFactory, params: dict[str, str]) -> None:
    ana = await new_user()
    with pytest.raises(ApiError) as caught:
        await ana.call("GET", "/api/search?" + urlencode(params))
    assert caught.value.status == 422
    assert caught.value.body["error"]["code"] == "invalid_input"


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "NEAR(",
        "a AND OR NOT b",
        "*",
        "^x",
        "col:x",
        "'; DROP TABLE messages; --",
        "\U0001d54f",
    ],
)
async def test_search_syntax_never_fails(new_user: UserFactory, q: str) -> None:
    ana = await new_user()
    assert (await search(ana, q=q))["results"] == []


async def test_search_needs_a_session(new_user: UserFactory) -> None:
    ana = await new_user()
    with pytest.raises(ApiError) as caught:
        await ana.call("GET", "/api/search?q=x", auth=False)
    assert caught.value.status == 401
