from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from parley.models import Draft, DraftKind, Message, RoomEvent, Settings, User, now_micros
from parley.notify.base import Notification, Reason
from parley.store import (
    IdentityTaken,
    LastSignInMethod,
    NotAllowed,
    NoTarget,
    NotMember,
    Outcome,
    Refusal,
    RoomChange,
    SqlStore,
    StoreFailed,
    StoreRefused,
    UsernameTaken,
)
from parley.store import notifications as inbox
from parley.store.migrate import upgrade_async
from parley.store.notifications import RoomMembers
from parley.store.schema import ADMIN, OWNER, members
from parley.store.sql import GroupCommit
from tests.unit.conftest import make_user


def draft(room: int, sender: User, body: str = "hi", client_id: str | None = None) -> Draft:
    return Draft(
        room_id=room, sender=sender, body=body, client_id=client_id, created_at=now_micros()
    )


async def test_usernames_are_unique(store: SqlStore) -> None:
    await make_user(store, "ana")
    with pytest.raises(UsernameTaken):
        await make_user(store, "ana")
    assert [u.username for u in await store.search_users("a", 10)] == ["ana"]
    assert await store.search_users("%", 10) == []


async def test_concurrent_appends_get_contiguous_seq(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("team", [ana.id, bob.id])
    stored = await asyncio.gather(
        *(store.append(draft(room, ana if i % 2 else bob, f"m{i}")) for i in range(40))
    )
    assert sorted(m.seq for m in stored if m is not None) == list(range(1, 41))
    page, has_more = await store.page(room, before=None, after=None, limit=100)
    assert [m.seq for m in page] == list(range(1, 41))
    assert not has_more
    assert (await store.last_seqs([room]))[room] == 40


async def test_a_retried_client_id_returns_the_original(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("solo", [ana.id])
    first = await store.append(draft(room, ana, "one", "c1"))
    again = await store.append(draft(room, ana, "one (retry)", "c1"))
    assert again == first
    batch = await store.append_many(
        [
            draft(room, ana, "two", "c2"),
            draft(room, ana, "two dup", "c2"),
            draft(room, ana, "one dup", "c1"),
            draft(room, ana, "no id"),
        ]
    )
    assert [m.seq for m in batch if isinstance(m, Message)] == [2, 2, 1, 3]
    assert batch[1] == batch[0]


async def test_a_retried_send_of_an_edited_message_returns_it_as_it_is_now(
    store: SqlStore,
) -> None:
    """SQLite's one-hop append only sees that the client_id is taken; the general path
    returns the original in its current state (the edit folded in)."""
    ana = await make_user(store, "ana")
    room = await store.create_group("solo", [ana.id])
    first = await store.append(draft(room, ana, "one", "c1"))
    assert first is not None
    await store.append(change(room, ana, "edit", first.seq, body="one, edited"))
    again = await store.append(draft(room, ana, "one (retry)", "c1"))
    assert isinstance(again, Message) and again.id == first.id and again.seq == first.seq
    assert again.body == "one, edited" and again.edited_at is not None
    assert (await store.last_seqs([room]))[room] == 2  # the retry took no seq


async def test_non_members_cannot_append(store: SqlStore) -> None:
    ana, eve = await make_user(store, "ana"), await make_user(store, "eve")
    room = await store.create_group("private", [ana.id])
    with pytest.raises(NotMember):
        await store.append(draft(room, eve))
    assert await store.append_many([draft(room, eve), draft(room, ana)]) == [
        Refusal.NOT_MEMBER,
        (await store.page(room, before=None, after=None, limit=1))[0][0],
    ]
    assert (await store.last_seqs([room]))[room] == 1


async def test_pages_in_both_directions(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    await store.append_many([draft(room, ana, f"m{i}") for i in range(1, 11)])

    async def seqs(**kw: int | None) -> tuple[list[int], bool]:
        page, more = await store.page(
            room, before=kw.get("before"), after=kw.get("after"), limit=kw["limit"] or 0
        )
        return [m.seq for m in page], more

    assert await seqs(limit=3) == ([8, 9, 10], True)
    assert await seqs(before=8, limit=3) == ([5, 6, 7], True)
    assert await seqs(before=4, limit=3) == ([1, 2, 3], False)
    assert await seqs(after=0, limit=4) == ([1, 2, 3, 4], True)
    assert await seqs(after=7, limit=3) == ([8, 9, 10], False)
    assert [m.seq for m in await store.between(room, 2, 5)] == [3, 4, 5]


async def test_read_markers_only_move_forward_and_drive_unread(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("r", [ana.id, bob.id])
    await store.append_many([draft(room, ana, f"m{i}") for i in range(5)])
    assert (await store.room(room, bob.id)).unread == 5  # type: ignore[union-attr]
    assert (await store.room(room, ana.id)).unread == 0  # type: ignore[union-attr]
    assert await store.mark_read(room, bob.id, 3) == 3
    assert await store.mark_read(room, bob.id, 2) is None
    assert await store.mark_read(room, bob.id, 99) == 5
    assert (await store.room(room, bob.id)).unread == 0  # type: ignore[union-attr]
    with pytest.raises(NotMember):
        await store.mark_read(room, 999, 1)


async def test_concurrent_read_markers_share_one_transaction_and_keep_their_answers(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ana, bob, cara = [await make_user(store, n) for n in ("ana", "bob", "cara")]
    room = await store.create_group("r", [ana.id, bob.id])
    await store.append_many([draft(room, ana, f"m{i}") for i in range(5)])
    # On SQLite the markers go to the appender's thread, one transaction per batch;
    # PostgreSQL (tests/cluster/test_store_on_postgres.py) writes each on its own.
    appender = store._appender
    batches: list[int] = []
    if appender is not None:
        real = appender.mark_read

        async def counted(marks: Sequence[tuple[int, int, int]]) -> list[int | None]:
            batches.append(len(marks))
            return await real(marks)

        monkeypatch.setattr(appender, "mark_read", counted)
    results = await asyncio.gather(
        store.mark_read(room, bob.id, 4),
        store.mark_read(room, ana.id, 2),  # the sender's marker is at 5 already
        store.mark_read(room, cara.id, 1),
        store.mark_read(room, bob.id, 99),  # capped at the room's last seq
        return_exceptions=True,
    )
    assert batches == ([4] if appender is not None else [])
    assert list(results[:2]) == [4, None] and results[3] == 5
    assert isinstance(results[2], NotMember)
    # Committed: read back through the other connection (SQLAlchemy's).
    assert [m.user for m in await store.read_markers(room, ana.id, 5)] == [ana, bob]


async def test_rooms_list_newest_activity_first_with_last_message(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    older = await store.create_group("older", [ana.id, bob.id])
    newer, created = await store.direct_room(ana.id, bob.id)
    assert created
    assert await store.direct_room(bob.id, ana.id) == (newer, False)
    await store.append(draft(older, bob, "latest"))
    rooms = await store.rooms(ana.id)
    assert [r.id for r in rooms] == [older, newer]
    assert rooms[0].last_message is not None and rooms[0].last_message.body == "latest"
    assert rooms[1].last_message is None and rooms[1].kind == "direct"
    assert {u.username for u in rooms[0].members} == {"ana", "bob"}


async def test_membership_changes(store: SqlStore) -> None:
    ana, bob, cy = [await make_user(store, n) for n in ("ana", "bob", "cy")]
    room = await store.create_group("r", [ana.id])
    await store.append(draft(room, ana))
    assert await store.add_member(room, ana.id, bob.id)
    assert not await store.add_member(room, ana.id, bob.id)
    assert (await store.room(room, bob.id)).unread == 0  # type: ignore[union-attr]
    with pytest.raises(NotMember):
        await store.add_member(room, cy.id, cy.id)
    await store.remove_member(room, bob.id)
    with pytest.raises(NotMember):
        await store.remove_member(room, bob.id)
    assert await store.room(room, bob.id) is None
    assert (await store.members_of([room]))[room] == [ana.id]
    assert await store.room_ids(ana.id) == [room]
    assert await store.is_member(room, ana.id)
    assert not await store.is_member(room, bob.id)


async def test_roles_one_owner_and_who_inherits_a_group(store: SqlStore) -> None:
    ana, bob, cy, dee = [await make_user(store, n) for n in ("ana", "bob", "cy", "dee")]
    room = await store.create_group("r", [ana.id, bob.id, cy.id, dee.id], public=True, topic="t")
    with pytest.raises(NotAllowed):
        await store.add_member(room, bob.id, bob.id)
    await store.set_member_role(room, ana.id, dee.id, "admin")
    with pytest.raises(NotAllowed):
        await store.set_member_role(room, dee.id, bob.id, "admin")
    with pytest.raises(NotAllowed):
        await store.expel_member(room, dee.id, ana.id)
    await store.update_room(room, dee.id, RoomChange(topic="", public=False))
    seen = await store.room(room, bob.id)
    assert seen is not None and (seen.topic, seen.public) == (None, False)
    # Two hand-overs at once: the second finds its actor no longer the owner.
    outcome = await asyncio.gather(
        store.transfer_ownership(room, ana.id, bob.id),
        store.transfer_ownership(room, ana.id, cy.id),
        return_exceptions=True,
    )
    assert sum(isinstance(o, NotAllowed) for o in outcome) == 1
    roles = dict((await store.room(room, ana.id)).roles)  # type: ignore[union-attr]
    assert list(roles.values()).count(OWNER) == 1 and roles[ana.id] == ADMIN
    owner = next(u for u, r in roles.items() if r == OWNER)
    # The database itself refuses a second owner, whatever the code above it does.
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(
                members.update()
                .where(members.c.room_id == room, members.c.user_id == ana.id)
                .values(role=OWNER)
            )
    # The owner leaves: the longest-standing admin inherits (ana and dee joined together;
    # the lower id first), then, with no admin left, the longest-standing member.
    await store.remove_member(room, owner)
    roles = dict((await store.room(room, ana.id)).roles)  # type: ignore[union-attr]
    assert roles[min(ana.id, dee.id)] == OWNER


async def test_hidden_rooms_and_the_directory(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    direct, _ = await store.direct_room(ana.id, bob.id)
    await store.append(draft(direct, bob))
    await store.hide_room(direct, ana.id)
    assert await store.rooms(ana.id) == [] and await store.room(direct, ana.id) is not None
    await store.append(draft(direct, bob))
    assert [r.id for r in await store.rooms(ana.id)] == [direct]
    with pytest.raises(NotMember):
        await store.hide_room(direct, 999)
    public = [
        await store.create_group(name, [ana.id], public=True) for name in ("50%", "5_0", "abc")
    ]
    await store.create_group("50% closed", [ana.id])
    found, more = await store.directory("50%", after=None, limit=10)
    assert [r.id for r in found] == [public[0]] and not more
    assert [r.name for r in (await store.directory("", after=None, limit=2))[0]] == ["50%", "5_0"]
    rest, more = await store.directory("", after=public[1], limit=2)
    assert [r.id for r in rest] == [public[2]] and rest[0].members == 1 and not more
    assert await store.join_room(public[2], bob.id)
    assert not await store.join_room(public[2], bob.id)
    with pytest.raises(NotMember):
        await store.join_room(direct, bob.id)


YEAR = 365 * 24 * 3600 * 10**6
GRACE = 10 * 10**6


async def rotate(
    store: SqlStore, token: str, now: int, grace: int = GRACE
) -> tuple[str, int | None, str | None]:
    """Rotate ``token`` to ``token + "'"`` (the successor's stand-in)."""
    use = await store.rotate_refresh_token(
        token, token + "'", now=now, expires_at=now + YEAR, grace=grace
    )
    return use.outcome, use.user_id, use.family


async def test_refresh_tokens_rotate_and_detect_reuse(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    now = now_micros()
    await store.start_refresh_family("t", "fam", ana.id, now + YEAR)
    await store.start_refresh_family("old", "other", ana.id, now - 1)
    assert await rotate(store, "t", now) == ("rotated", ana.id, "fam")
    assert await rotate(store, "t'", now + 1) == ("rotated", ana.id, "fam")
    # t's successor t' has been used: t coming back now is theft, even within the grace.
    assert await rotate(store, "t", now + 2) == ("reused", ana.id, "fam")
    assert (await rotate(store, "t''", now + 3))[0] == "invalid"  # the family is revoked
    assert (await rotate(store, "old", now))[0] == "invalid"  # expired
    assert (await rotate(store, "nope", now))[0] == "invalid"


async def test_logout_revokes_one_family_and_says_whose(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    now = now_micros()
    await store.start_refresh_family("t", "fam", ana.id, now + YEAR)
    await store.start_refresh_family("u", "kept", ana.id, now + YEAR)
    assert await store.refresh_family_live("fam")
    assert await store.revoke_refresh_family("t", now) == (ana.id, "fam")
    assert await store.revoke_refresh_family("t", now) is None  # already ended
    assert await store.revoke_refresh_family("nope", now) is None
    assert not await store.refresh_family_live("fam")
    assert await store.refresh_family_live("kept")
    assert not await store.refresh_family_live("unknown")


async def test_revoking_a_users_families_can_keep_one(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    bob = await make_user(store, "bob")
    now = now_micros()
    for token, family, user in [("a1", "f1", ana), ("a2", "f2", ana), ("a3", "f3", ana)]:
        await store.start_refresh_family(token, family, user.id, now + YEAR)
    await store.start_refresh_family("b1", "g1", bob.id, now + YEAR)
    await store.revoke_user_families(ana.id, now, keep="f2")
    assert [await store.refresh_family_live(f) for f in ("f1", "f2", "f3", "g1")] == [
        False,
        True,
        False,
        True,
    ]
    assert (await rotate(store, "a1", now))[0] == "invalid"
    await store.revoke_user_families(ana.id, now, keep=None)
    assert not await store.refresh_family_live("f2")
    assert (await rotate(store, "a2", now))[0] == "invalid"
    assert await store.refresh_family_live("g1")


async def test_a_rotated_token_replays_its_successor_within_the_grace_only(
    store: SqlStore,
) -> None:
    ana = await make_user(store, "ana")
    now = now_micros()
    await store.start_refresh_family("t", "fam", ana.id, now + YEAR)
    assert (await rotate(store, "t", now))[0] == "rotated"
    assert await rotate(store, "t", now + GRACE - 1) == ("replayed", ana.id, "fam")
    # After the grace the old token is a stolen copy: no successor, and the session ends.
    assert (await rotate(store, "t", now + GRACE))[0] == "reused"
    assert (await rotate(store, "t'", now + GRACE + 1))[0] == "invalid"


async def test_without_a_grace_a_late_comer_is_a_reuse_even_with_an_earlier_clock(
    store: SqlStore,
) -> None:
    """Gateways read the time before queueing for the lock, so the loser's may be earlier."""
    ana = await make_user(store, "ana")
    now = now_micros()
    await store.start_refresh_family("t", "fam", ana.id, now + YEAR)
    assert (await rotate(store, "t", now + 5, grace=0))[0] == "rotated"
    assert (await rotate(store, "t", now, grace=0))[0] == "reused"


async def test_concurrent_rotations_of_one_token_leave_no_live_token_after_a_reuse(
    store: SqlStore,
) -> None:
    """Without a grace every presentation but the first is a reuse: the winner's new token dies."""
    ana = await make_user(store, "ana")
    for round_ in range(5):
        now = now_micros()
        token = f"t{round_}"
        await store.start_refresh_family(token, f"fam{round_}", ana.id, now + YEAR)
        outcomes = await asyncio.gather(*(rotate(store, token, now, grace=0) for _ in range(8)))
        # One rotates, the next is the reuse that revokes, the rest find the family revoked.
        assert sorted(o[0] for o in outcomes) == ["invalid"] * 6 + ["reused", "rotated"]
        assert (await rotate(store, token + "'", now + 1))[0] == "invalid"


async def test_concurrent_rotations_within_the_grace_share_one_successor(
    store: SqlStore,
) -> None:
    ana = await make_user(store, "ana")
    now = now_micros()
    await store.start_refresh_family("t", "fam", ana.id, now + YEAR)
    outcomes = await asyncio.gather(*(rotate(store, "t", now) for _ in range(8)))
    assert sorted(o[0] for o in outcomes) == ["replayed"] * 7 + ["rotated"]
    assert (await rotate(store, "t'", now + 1))[0] == "rotated"


async def test_a_revocation_racing_a_rotation_leaves_no_live_token(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    for round_ in range(5):
        now = now_micros()
        token = f"t{round_}"
        await store.start_refresh_family(token, f"fam{round_}", ana.id, now + YEAR)
        await asyncio.gather(rotate(store, token, now), store.revoke_refresh_family(token, now))
        assert (await rotate(store, token + "'", now + 1))[0] == "invalid"
        assert (await rotate(store, token, now + 1))[0] == "invalid"


async def test_group_commit_batches_concurrent_appends_and_isolates_failures() -> None:
    ana = User(1, "ana", "Ana")
    batches: list[list[str]] = []

    async def write(drafts: list[Draft]) -> list[Outcome]:
        batches.append([d.body for d in drafts])
        if any(d.body == "bad" for d in drafts):
            raise RuntimeError("constraint")
        return [Message(i, 1, i, ana, d.body, d.created_at, None) for i, d in enumerate(drafts)]

    commit = GroupCommit(write)
    results = await asyncio.gather(
        *(commit.submit(draft(1, ana, body)) for body in ("a", "bad", "c")),
        return_exceptions=True,
    )
    assert batches[0] == ["a", "bad", "c"]  # one transaction for all three ...
    assert batches[1:] == [["a"], ["bad"], ["c"]]  # ... retried one by one after a failure
    assert [r.body if isinstance(r, Message) else type(r) for r in results] == [
        "a",
        RuntimeError,
        "c",
    ]


async def test_identities_find_their_user_by_issuer_and_subject(store: SqlStore) -> None:
    ana = await store.create_user_with_identity("ana", "Ana", "https://id.example", "s1", "ana")
    assert await store.identity_user("https://id.example", "s1") == ana
    assert await store.identity_user("https://id.example", "s2") is None
    assert await store.identity_user("https://other.example", "s1") is None
    assert (await store.credentials("ana")) == (ana, None)
    with pytest.raises(IdentityTaken) as taken:
        await store.create_user_with_identity("ana2", "A", "https://id.example", "s1", "x")
    assert taken.value.user_id == ana.id
    assert await store.users_named(["ana2"]) == []  # the user was not kept without it
    with pytest.raises(UsernameTaken):
        await store.create_user_with_identity("ana", "A", "https://id.example", "s9", "x")
    assert await store.identity_user("https://id.example", "s9") is None


async def test_linking_and_unlinking_keep_a_way_to_sign_in(store: SqlStore) -> None:
    ana = await store.create_user_with_identity("ana", "Ana", "https://id.example", "s1", "ana")
    bob = await make_user(store, "bob")
    assert await store.link_identity(ana.id, "https://gh.example", "42", "ana-gh")
    assert not await store.link_identity(ana.id, "https://gh.example", "42", "ana-gh")
    with pytest.raises(IdentityTaken):
        await store.link_identity(bob.id, "https://gh.example", "42", "bob")
    first, second = await store.identities(ana.id)
    assert (first.issuer, first.label, second.subject) == ("https://id.example", "ana", "42")
    assert not await store.unlink_identity(bob.id, first.id)  # not bob's
    assert await store.unlink_identity(ana.id, first.id)
    with pytest.raises(LastSignInMethod):
        await store.unlink_identity(ana.id, second.id)
    await store.set_password(ana.id, "a-hash")
    assert await store.unlink_identity(ana.id, second.id)
    assert await store.identities(ana.id) == []
    assert (await store.credentials("ana")) == (ana, "a-hash")


async def test_concurrent_unlinks_never_remove_the_last_way(store: SqlStore) -> None:
    ana = await store.create_user_with_identity("ana", "Ana", "https://id.example", "s1", "a")
    for n in range(2, 5):
        await store.link_identity(ana.id, "https://id.example", f"s{n}", "a")
    linked = await store.identities(ana.id)

    async def unlink(identity_id: int) -> bool | None:
        try:
            return await store.unlink_identity(ana.id, identity_id)
        except LastSignInMethod:
            return None

    outcomes = await asyncio.gather(*(unlink(i.id) for i in linked))
    assert sorted(outcomes, key=str) == [None, True, True, True]
    assert len(await store.identities(ana.id)) == 1


async def test_a_number_the_database_cannot_hold_is_refused_not_an_outage(store: SqlStore) -> None:
    """``StoreRefused``, not ``StoreFailed``: retrying would never help (SQLite raises
    OverflowError past 64 bits, asyncpg refuses to encode it for a bigint)."""
    ana = await make_user(store, "ana")
    room = await store.create_group("r", [ana.id])
    with pytest.raises(StoreRefused):
        await store.append_many([Draft(room, ana, "later", "c1", 2**63)])
    with pytest.raises(StoreRefused):
        await store.append(Draft(room, ana, "later", "c2", 2**63))
    stored = await store.append(Draft(room, ana, "now", "c3", now_micros()))
    assert stored is not None and stored.seq == 1  # nothing of the refused drafts took a seq


# ---- the room stream: room events folded into messages -----------------------------------


def change(
    room: int,
    sender: User,
    kind: DraftKind,
    target: int,
    *,
    body: str = "",
    emoji: str | None = None,
    client_id: str | None = None,
) -> Draft:
    return Draft(room, sender, body, client_id, now_micros(), kind, target, emoji)


async def stored_message(store: SqlStore, room: int, seq: int) -> Message:
    page, _ = await store.around(room, seq, 1)
    assert page and page[0].seq == seq
    return page[0]


async def test_room_events_share_the_seq_and_fold_into_history(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("team", [ana.id, bob.id])
    first = await store.append(draft(room, ana, "hello"))
    assert isinstance(first, Message)
    edit = await store.append(change(room, ana, "edit", 1, body="hello @BOB.", client_id="e1"))
    assert isinstance(edit, RoomEvent) and (edit.seq, edit.target, edit.mentions) == (
        2,
        1,
        (bob.id,),
    )
    react = await store.append(change(room, bob, "react", 1, emoji="👍"))
    again = await store.append(change(room, bob, "react", 1, emoji="👍"))
    ana_too = await store.append(change(room, ana, "react", 1, emoji="👍"))
    heart = await store.append(change(room, ana, "react", 1, emoji="❤️"))
    assert again is None  # nothing changed, no seq taken
    assert [e.seq for e in (react, ana_too, heart) if e is not None] == [3, 4, 5]
    now = await stored_message(store, room, 1)
    assert (now.body, now.mentions, now.edited_at) == ("hello @BOB.", (bob.id,), edit.created_at)
    assert [(r.emoji, r.count, r.users) for r in now.reactions] == [
        ("👍", 2, (bob.id, ana.id)),
        ("❤️", 1, (ana.id,)),
    ]
    assert await store.append(change(room, ana, "unreact", 1, emoji="👍")) is not None
    assert await store.append(change(room, ana, "unreact", 1, emoji="👍")) is None
    assert (await store.last_seqs([room]))[room] == 6
    entries = await store.between(room, 0, 6)
    assert [(e.seq, type(e).__name__) for e in entries] == [
        (1, "Message"),
        *((seq, "RoomEvent") for seq in range(2, 7)),
    ]
    # A retried client_id gets the original event back, whatever the retry says.
    assert await store.append(change(room, ana, "edit", 1, body="other", client_id="e1")) == edit
    # A room's newest message is still its last_message though events came after it.
    listed = await store.room(room, bob.id)
    assert listed is not None and listed.last_message == await stored_message(store, room, 1)


async def test_only_the_sender_edits_and_only_sender_or_owner_deletes(store: SqlStore) -> None:
    ana, bob, cy = [await make_user(store, n) for n in ("ana", "bob", "cyd")]
    room = await store.create_group("team", [ana.id, bob.id, cy.id])  # ana owns it
    await store.append_many([draft(room, bob, "bob's"), draft(room, cy, "cyd's")])
    with pytest.raises(NotAllowed):
        await store.append(change(room, ana, "edit", 1, body="not mine"))
    with pytest.raises(NotAllowed):
        await store.append(change(room, cy, "delete", 1))
    deleted = await store.append(change(room, ana, "delete", 1))  # the owner may
    assert isinstance(deleted, RoomEvent) and deleted.seq == 3
    assert await store.append(change(room, cy, "delete", 2)) is not None  # their own
    tomb = await stored_message(store, room, 1)
    assert (tomb.deleted, tomb.body, tomb.reactions, tomb.sender) == (True, "", (), bob)
    # A deleted message, a seq that is an event, and one of no entry are all not found.
    for target in (1, 3, 99, 2**63 - 1):
        with pytest.raises(NoTarget):
            await store.append(change(room, bob, "react", target, emoji="👍"))
    assert (await store.last_seqs([room]))[room] == 4


async def test_a_moderator_deletes_in_any_room_but_nothing_else(store: SqlStore) -> None:
    ana, bob, mod = [await make_user(store, n) for n in ("ana", "bob", "mod")]
    room = await store.create_group("team", [ana.id, bob.id])  # mod is no member
    await store.append(draft(room, bob, "spam"))
    moderated = dataclasses.replace(change(room, mod, "delete", 1), moderator=True)
    deleted = await store.append(moderated)
    assert isinstance(deleted, RoomEvent) and (deleted.seq, deleted.sender) == (2, mod)
    assert (await stored_message(store, room, 1)).deleted
    # The flag lets a moderator delete, nothing else: their edit or message is a non-member's.
    for kind in ("edit", "react"):
        with pytest.raises(NotMember):
            await store.append(
                dataclasses.replace(change(room, mod, kind, 1, emoji="👍"), moderator=True)
            )
    with pytest.raises(NotMember):
        await store.append(dataclasses.replace(draft(room, mod), moderator=True))
    with pytest.raises(NoTarget):
        await store.append(moderated)  # already deleted
    assert (await store.last_seqs([room]))[room] == 2


async def test_accounts_roles_disabling_and_the_audit_log(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bobby")
    assert await store.set_role("ana", "admin") and not await store.set_role("nobody", "admin")
    found = await store.accounts("BB", offset=0, limit=10)
    assert [(a.user, a.role, a.disabled_at) for a in found] == [(bob, "member", None)]
    assert [a.user for a in await store.accounts("", offset=1, limit=10)] == [bob]
    assert [a.user for a in await store.accounts("%", offset=0, limit=10)] == []
    disabled = await store.set_disabled(bob.id, 123)
    assert disabled is not None and disabled.disabled_at == 123
    account = await store.account(ana.id)
    assert account is not None and account.admin
    assert await store.set_disabled(999, 1) is None
    for action in ("user.disable", "user.enable", "user.logout_all"):
        await store.record_audit(ana.id, action, f"user:{bob.id}", "127.0.0.1")
    newest = await store.audit(before=None, limit=2)
    assert [e.action for e in newest] == ["user.logout_all", "user.enable"]
    assert newest[0].actor == ana and newest[0].client == "127.0.0.1"
    older = await store.audit(before=newest[-1].id, limit=2)
    assert [e.action for e in older] == ["user.disable"]


async def test_the_first_user_is_an_admin_only_when_asked(tmp_path: Path) -> None:
    for first_admin in (True, False):
        url = f"sqlite+aiosqlite:///{tmp_path}/first-{first_admin}.db"
        await upgrade_async(url)
        store = SqlStore(url, first_user_admin=first_admin)
        try:
            users = await asyncio.gather(*(make_user(store, f"user{i}") for i in range(4)))
            accounts = [await store.account(u.id) for u in users]
            admins = [a for a in accounts if a is not None and a.admin]
            assert len(admins) == (1 if first_admin else 0)
        finally:
            await store.close()


async def test_a_batch_checks_each_event_against_the_ones_before_it(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room = await store.create_group("team", [ana.id, bob.id])
    other = await store.create_group("other", [ana.id])
    await store.append(draft(room, ana, "one"))
    outcomes = await store.append_many(
        [
            change(room, bob, "react", 1, emoji="👍"),
            change(room, bob, "react", 1, emoji="👍"),
            change(room, ana, "delete", 1),
            change(room, ana, "edit", 1, body="too late"),
            change(other, ana, "edit", 1, body="seq of another room"),
            change(room, ana, "edit", 1, body="dup", client_id="k"),
            draft(room, ana, "same key", "k"),
        ]
    )
    kinds = [o.kind if isinstance(o, RoomEvent) else o for o in outcomes]
    assert kinds[:5] == [
        "react",
        Refusal.UNCHANGED,
        "delete",
        Refusal.NO_TARGET,
        Refusal.NO_TARGET,
    ]
    assert outcomes[5] == outcomes[6] == Refusal.NO_TARGET  # one key, one outcome
    assert (await store.last_seqs([room]))[room] == 3
    assert (await store.last_seqs([other]))[other] == 0


async def test_replies_mentions_and_the_mention_count(store: SqlStore) -> None:
    ana, bob, eve = [await make_user(store, n) for n in ("ana", "bob", "eve")]
    room = await store.create_group("team", [ana.id, bob.id])
    await store.append(draft(room, bob, "question"))
    reply = await store.append(
        Draft(room, ana, "@bob @eve mail@bob.io @bobby", None, now_micros(), target=1)
    )
    assert isinstance(reply, Message)
    assert reply.mentions == (bob.id,)  # eve is no member, the others are no mention
    assert reply.reply_to is not None and reply.reply_to.body == "question"
    with pytest.raises(NoTarget):
        await store.append(Draft(room, ana, "to nothing", None, now_micros(), target=9))
    listed = await store.room(room, bob.id)
    assert listed is not None and (listed.unread, listed.mentions) == (1, 1)
    assert await store.mark_read(room, bob.id, 2) == 2
    listed = await store.room(room, bob.id)
    assert listed is not None and (listed.unread, listed.mentions) == (0, 0)
    await store.append(change(room, bob, "delete", 1))
    shown = await stored_message(store, room, 2)
    assert shown.reply_to is not None and (shown.reply_to.deleted, shown.reply_to.body) == (
        True,
        "",
    )
    assert eve.id not in shown.mentions


async def test_around_centres_on_a_seq(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    room = await store.create_group("solo", [ana.id])
    await store.append_many([draft(room, ana, f"m{i}") for i in range(1, 11)])
    page, older = await store.around(room, 5, 4)
    assert ([m.seq for m in page], older) == ([3, 4, 5, 6], True)
    page, older = await store.around(room, 2, 6)
    assert ([m.seq for m in page], older) == ([1, 2, 3, 4, 5, 6], False)
    page, older = await store.around(room, 10, 4)
    assert ([m.seq for m in page], older) == ([8, 9, 10], True)


async def test_profiles_show_last_seen_only_to_people_who_share_a_room(store: SqlStore) -> None:
    ana, bob, cy = [await make_user(store, n) for n in ("ana", "bob", "cy")]
    await store.create_group("r", [ana.id, bob.id])
    await store.record_last_seen(bob.id, 1_700_000_000_000_000)
    assert await store.visible_user(ana.id, bob.id) == (bob, 1_700_000_000_000_000)
    assert await store.visible_user(bob.id, bob.id) == (bob, 1_700_000_000_000_000)
    assert await store.visible_user(cy.id, bob.id) is None  # no shared room
    assert await store.visible_user(ana.id, 999) is None
    renamed = await store.set_display_name(bob.id, "Bobby")
    assert renamed == User(bob.id, "bob", "Bobby") and await store.user(bob.id) == renamed
    assert await store.set_display_name(999, "Nobody") is None


async def test_settings_default_then_replace(store: SqlStore) -> None:
    ana = await make_user(store, "ana")
    assert await store.settings(ana.id) == Settings("system", "auto")
    await store.put_settings(ana.id, Settings("dark", "12h"))
    await store.put_settings(ana.id, Settings("light", "24h"))
    assert await store.settings(ana.id) == Settings("light", "24h")


def _note(user: int, room: int, seq: int, sender: User, text: str) -> Notification:
    return Notification(user, room, seq, Reason.DIRECT, sender, None, text, datetime.now(UTC))


async def test_the_notifiers_look_ups_name_rooms_members_and_levels(store: SqlStore) -> None:
    """On SQLite plain statements on the appender's thread, on PostgreSQL SQLAlchemy's:
    the same answers."""
    ana, bob, cara = [await make_user(store, n) for n in ("ana", "bob", "cara")]
    group = await store.create_group("g", [ana.id, bob.id, cara.id])
    direct, _ = await store.direct_room(ana.id, bob.id)
    await store.put_room_level(group, bob.id, "nothing")
    await store.put_room_level(direct, bob.id, "mentions")
    await store.put_room_level(group, cara.id, "mentions")
    found = await store.room_members([group, direct, 999_999])
    assert found == {
        group: RoomMembers("group", "g", frozenset({ana.id, bob.id, cara.id})),
        direct: RoomMembers("direct", None, frozenset({ana.id, bob.id})),
    }
    assert await store.room_members([]) == {}
    assert await store.room_levels([group, direct], [bob.id, ana.id]) == {
        (group, bob.id): "nothing",
        (direct, bob.id): "mentions",
    }


async def test_the_inbox_takes_each_notification_once(store: SqlStore) -> None:
    ana, bob, cara = [await make_user(store, n) for n in ("ana", "bob", "cara")]
    room = await store.create_group("g", [ana.id, bob.id, cara.id])
    first = await store.add_notifications(
        [
            _note(bob.id, room, 1, ana, "one"),
            _note(bob.id, room, 1, ana, "again"),
            _note(cara.id, room, 1, ana, "one"),
            _note(bob.id, room, 2, ana, "two"),
        ]
    )
    assert [(user, item.seq, item.excerpt) for user, item in first] == [
        (bob.id, 1, "one"),
        (cara.id, 1, "one"),
        (bob.id, 2, "two"),
    ]
    replayed = await store.add_notifications(
        [_note(bob.id, room, 2, ana, "two"), _note(bob.id, room, 3, ana, "three")]
    )
    assert [(user, item.seq) for user, item in replayed] == [(bob.id, 3)]
    items, more, unread = await store.notifications(bob.id, None, 10)
    assert [(i.id, i.seq, i.excerpt) for i in items] == [
        (replayed[0][1].id, 3, "three"),
        (first[2][1].id, 2, "two"),
        (first[0][1].id, 1, "one"),
    ]
    assert (more, unread) == (False, 3)


async def test_push_subscriptions_of_a_signed_out_session_are_dropped(store: SqlStore) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    now = now_micros()
    await store.start_refresh_family("t", "fam", ana.id, now + YEAR)
    await store.add_push_subscription(ana.id, "fam", "https://push.example/a", "k", "s")
    await store.add_push_subscription(ana.id, None, "https://push.example/b", "k", "s")
    await store.add_push_subscription(bob.id, None, "https://push.example/c", "k", "s")
    found = await store.users_push_subscriptions([ana.id, bob.id, ana.id])
    assert {u: [s.endpoint for s in subs] for u, subs in found.items()} == {
        ana.id: ["https://push.example/a", "https://push.example/b"],
        bob.id: ["https://push.example/c"],
    }
    await store.revoke_refresh_family("t", now)
    assert [s.endpoint for s in await store.push_subscriptions(ana.id)] == [
        "https://push.example/b"
    ]
    assert await store.users_push_subscriptions([]) == {}


async def test_a_failing_notifier_statement_is_store_failed(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own errors from the appender's thread reach the notifier as an outage
    (it retries), as the engine's do."""
    if store._appender is None:
        pytest.skip("SQLite's appender only")

    def broken(conn: sqlite3.Connection, room_ids: Sequence[int]) -> dict[int, RoomMembers]:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(inbox, "room_members_sqlite", broken)
    with pytest.raises(StoreFailed):
        await store.room_members([1])
