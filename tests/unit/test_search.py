"""Full-text search in the store (SQLite here; tests/cluster/test_store_on_postgres.py runs
the store tests again on PostgreSQL, and tests/integration searches through HTTP on both)."""

from __future__ import annotations

import dataclasses

import pytest

from parley.models import Draft, DraftKind, Message, SearchFilter, User, now_micros
from parley.protocol import validation
from parley.protocol.errors import ProtocolError
from parley.store import SqlStore
from parley.store.search import fts5_query, snippet_parts
from tests.unit.conftest import make_user


def entry(
    room: int, sender: User, body: str, kind: DraftKind = "message", target: int | None = None
) -> Draft:
    return Draft(
        room_id=room,
        sender=sender,
        body=body,
        client_id=None,
        created_at=now_micros(),
        kind=kind,
        target=target,
    )


async def found(store: SqlStore, viewer: User, text: str, **filters: object) -> list[str]:
    hits, _ = await store.search(SearchFilter(viewer.id, text, **filters))  # type: ignore[arg-type]
    return [hit.message.body for hit in hits]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("deploy friday", '("deploy" "friday")'),
        ('"release notes" -draft', '("release notes" NOT "draft")'),
        ("cats or dogs", '("cats") OR ("dogs")'),
        ("NEAR( * x", '("NEAR(" "*" "x")'),
        ("-only -exclusions", None),
        ('say ""hi""', '("say" "hi""""")'),
        ('quote"inside', '("quote""inside")'),
    ],
)
def test_user_text_never_becomes_fts5_syntax(text: str, query: str | None) -> None:
    assert fts5_query(text) == query


def test_snippet_parts_split_on_the_markers_only() -> None:
    assert snippet_parts("we \x02deploy\x03 on \x02friday\x03") == (
        ("we ", False),
        ("deploy", True),
        (" on ", False),
        ("friday", True),
    )
    assert snippet_parts("<b>plain</b>") == (("<b>plain</b>", False),)
    # PostgreSQL's headline is cut from the body with < and & masked (see MASKS).
    assert snippet_parts("\x05b>\x02x\x03 \x06amp;") == (
        ("<b>", False),
        ("x", True),
        (" &amp;", False),
    )


async def test_search_follows_edits_deletes_and_membership(store: SqlStore) -> None:
    ana, bob, cyd = [await make_user(store, n) for n in ("ana", "bob", "cyd")]
    team = await store.create_group("team", [ana.id, bob.id])
    secret = await store.create_group("secret", [cyd.id])
    await store.append(entry(team, ana, "we deploy on Friday"))
    await store.append(entry(team, bob, "deploying failed"))
    await store.append(entry(team, ana, "lunch?"))
    await store.append(entry(secret, cyd, "deploy the secret"))
    assert await found(store, bob, "deploy") == ["deploying failed", "we deploy on Friday"]
    await store.append(entry(team, ana, "we ship on Friday", "edit", 1))
    await store.append(entry(team, bob, "", "delete", 2))
    assert await found(store, bob, "deploy") == []
    assert await found(store, bob, "ship") == ["we ship on Friday"]
    assert await found(store, bob, "lunch") == ["lunch?"]
    assert await found(store, cyd, "deploy") == ["deploy the secret"]
    await store.remove_member(team, bob.id)
    assert await found(store, bob, "ship") == []


async def test_filters_paging_and_snippets(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    team = await store.create_group("team", [ana.id, bob.id])
    other = await store.create_group("other", [ana.id])
    for i in range(5):
        await store.append(entry(team, ana if i % 2 else bob, f"report {i} <b>&amp;</b>"))
    await store.append(entry(other, ana, "report elsewhere"))
    assert len(await found(store, ana, "report")) == 6
    assert await found(store, ana, "report", room_id=other) == ["report elsewhere"]
    assert await found(store, ana, "report", sender="ana", room_id=team) == [
        "report 3 <b>&amp;</b>",
        "report 1 <b>&amp;</b>",
    ]
    assert await found(store, ana, "report", after=now_micros()) == []
    assert await found(store, ana, "report", before=0) == []
    wanted = SearchFilter(ana.id, "report", room_id=team, limit=2)
    pages: list[list[int]] = []
    more = True
    while more:
        hits, more = await store.search(wanted)
        pages.append([h.message.seq for h in hits])
        wanted = dataclasses.replace(wanted, cursor=hits[-1].message.id)
    assert pages == [[5, 4], [3, 2], [1]]
    hits, _ = await store.search(SearchFilter(ana.id, "reports", room_id=team, limit=1))
    assert hits[0].snippet == (("report", True), (" 4 <b>&amp;</b>", False))


async def test_pages_hold_every_match_of_every_room_newest_first(store: SqlStore) -> None:
    """Rooms of every shape at once: one whose matches are all older than the others', busy
    and quiet rooms interleaved, an empty one, one left, one never joined. Pages of every
    size must together be every match, newest first, whichever rooms a page leaves out
    (PostgreSQL searches the rooms newest first and skips those too old to matter)."""
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    old, busy, quiet, sparse, _empty, left = [
        await store.create_group(name, [ana.id, bob.id])
        for name in ("old", "busy", "quiet", "sparse", "empty", "left")
    ]
    elsewhere = await store.create_group("elsewhere", [bob.id])
    sent: list[Message] = []

    async def say(room: int, sender: User, body: str) -> None:
        stored = await store.append(entry(room, sender, body))
        assert isinstance(stored, Message)
        sent.append(stored)

    for i in range(8):
        await say(old, bob if i % 3 else ana, f"report old {i}")
    for i in range(30):
        room = [busy, busy, quiet, busy, sparse, left, elsewhere][i % 7]
        words = "report" if room != sparse or i % 3 == 0 else "filler"
        await say(room, ana if i % 2 and room != elsewhere else bob, f"{words} {room} {i}")
    await store.remove_member(left, ana.id)
    mine = {old, busy, quiet, sparse}
    for sender in (None, "bob"):
        expected = sorted(
            (
                m.id
                for m in sent
                if m.body.startswith("report")
                and m.room_id in mine
                and sender in (None, m.sender.username)
            ),
            reverse=True,
        )
        for limit in (1, 2, 3, 7, 50):
            wanted = SearchFilter(ana.id, "report", sender=sender, limit=limit)
            pages: list[int] = []
            more = True
            while more:
                hits, more = await store.search(wanted)
                assert len(hits) == limit or not more
                pages += [h.message.id for h in hits]
                wanted = dataclasses.replace(wanted, cursor=pages[-1])
            assert pages == expected, (sender, limit)


@pytest.mark.parametrize("text", ["", "   ", "a\x00b", "x" * 201, "tab\there", 5])
def test_search_text_is_refused(text: object) -> None:
    with pytest.raises(ProtocolError):
        validation.search_text(text)


@pytest.mark.parametrize(
    "text",
    ["2026-13-01", "2026-02-30", "20261202", "2026-12-02T10:00:00", "2026-W49", "yesterday", ""],
)
def test_instants_are_rfc3339_only(text: str) -> None:
    with pytest.raises(ProtocolError):
        validation.instant(text, "after")


def test_instants_read_dates_as_midnight_utc_and_keep_offsets() -> None:
    assert validation.instant("1970-01-02", "after") == 86_400_000_000
    assert validation.instant("1970-01-01T01:00:00.5+01:00", "after") == 500_000
