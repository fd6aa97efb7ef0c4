"""The in-app channel's batch, on SQLite and on PostgreSQL: the batch's inbox rows are one
multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING``, and only the rows it inserted are
announced, each once, to their user (docs/reliability.md: the row is the record)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from parley.announcer import Announcer
from parley.bus import MemoryBus
from parley.models import Draft, User, now_micros
from parley.notify.base import Notification, Reason
from parley.notify.inapp import InAppChannel
from parley.presence import LocalPresence
from parley.protocol import envelope
from parley.store import SqlStore


def note(user: User, room: int, seq: int, sender: User, text: str) -> Notification:
    return Notification(user.id, room, seq, Reason.DIRECT, sender, None, text, datetime.now(UTC))


async def test_a_batch_inserts_each_row_once_and_announces_only_new_rows(
    store: SqlStore,
) -> None:
    ana, bob, cy = [
        await store.create_user(f"{name}{secrets.token_hex(3)}", name.title(), "x")
        for name in ("ana", "bob", "cy")
    ]
    to_bob, _ = await store.direct_room(ana.id, bob.id)
    to_cy, _ = await store.direct_room(ana.id, cy.id)
    bus = MemoryBus()
    heard: list[tuple[str, bytes]] = []
    await bus.start(lambda channel, payload: heard.append((channel, payload)))
    for user in (bob, cy):
        await bus.subscribe(envelope.user_channel(user.id))
    inapp = InAppChannel(store, Announcer(store, bus, LocalPresence()))

    await inapp.deliver_many([note(bob, to_bob, 1, ana, "earlier")])
    heard.clear()
    batch = [
        note(bob, to_bob, 1, ana, "earlier"),  # in the inbox already
        note(bob, to_bob, 2, ana, "second"),
        note(cy, to_cy, 1, ana, "for cy"),
        note(bob, to_bob, 2, ana, "second"),  # twice in one batch
        note(bob, to_bob, 3, ana, "third"),
    ]
    await inapp.deliver_many(batch)

    bob_channel, cy_channel = envelope.user_channel(bob.id), envelope.user_channel(cy.id)
    assert [c for c, _ in heard] == [bob_channel, cy_channel, bob_channel]
    assert all(t in p for (_, p), t in zip(heard, (b"second", b"for cy", b"third"), strict=True))
    items, more, unread = await store.notifications(bob.id, None, 10)
    assert [(i.seq, i.excerpt) for i in items] == [(3, "third"), (2, "second"), (1, "earlier")]
    assert (more, unread) == (False, 3)
    assert [i.excerpt for i in (await store.notifications(cy.id, None, 10))[0]] == ["for cy"]

    heard.clear()
    await inapp.deliver_many(batch)  # a replay inserts nothing and announces nothing
    assert heard == []
    assert (await store.notifications(bob.id, None, 10))[2] == 3


async def test_the_notifier_looks_up_stored_messages_with_their_mentions(
    store: SqlStore,
) -> None:
    ana, bob, cy = [
        await store.create_user(f"{name}{secrets.token_hex(3)}", name.title(), "x")
        for name in ("ana", "bob", "cy")
    ]
    room = await store.create_group("plans", [ana.id, bob.id, cy.id])
    at = now_micros()
    texts = {"a": f"@{bob.username} and @{cy.username} lunch?", "b": "no one", "c": "gone"}
    for client_id, body in texts.items():
        await store.append(Draft(room, ana, body, client_id, at))
    await store.append(Draft(room, ana, "", None, at, kind="delete", target=3))
    keys = [(room, ana.id, c) for c in (*texts, "never sent")]
    found = await store.stored_messages(keys)
    assert sorted(found) == sorted(keys[:3])
    a, b, c = (found[(room, ana.id, k)] for k in texts)
    assert (a.seq, a.body, a.mentions) == (1, texts["a"], tuple(sorted((bob.id, cy.id))))
    assert (b.seq, b.mentions, b.deleted) == (2, (), False)
    assert (c.seq, c.deleted) == (3, True)
