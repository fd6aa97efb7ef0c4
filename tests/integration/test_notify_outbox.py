"""The e-mail outbox on SQLite and on PostgreSQL, against a real SMTP server (aiosmtpd):
the worker's batch records each mail as pending and the outbox sends it later, so an SMTP
server that is down delays mails without holding up the batch, and a sender that crashes
with mails claimed leaves them to be taken back, none sent twice (docs/reliability.md)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from parley.config import SmtpSettings
from parley.models import User, now_micros
from parley.notify.base import ChannelName, DeliveryFailed, Notification, Reason
from parley.notify.email import LEASE_SECONDS, EmailChannel
from parley.store import SqlStore
from parley.store.notifications import UserSettings
from tests.support.smtp import Mailbox, parts


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = await Mailbox().start()
    yield box
    await box.close()


def outbox(store: SqlStore, port: int, owner: str) -> EmailChannel:
    smtp = SmtpSettings(host="127.0.0.1", port=port, security="none", sender="P <p@ex.com>")
    return EmailChannel(store, smtp, "https://chat.example.com", owner=owner)


async def people(store: SqlStore) -> tuple[User, User, int]:
    """Ana, and Bob who wants every mail at once, in a direct room."""
    ana, bob = [
        await store.create_user(f"{name}{secrets.token_hex(3)}", name.title(), "x")
        for name in ("ana", "bob")
    ]
    await store.put_notification_settings(
        bob.id, UserSettings(email="bob@example.com", email_mode="immediately")
    )
    room, _ = await store.direct_room(ana.id, bob.id)
    return ana, bob, room


def note(user: User, room: int, seq: int, sender: User) -> Notification:
    return Notification(
        user.id, room, seq, Reason.DIRECT, sender, None, f"m{seq}", datetime.now(UTC)
    )


def text(mail: EmailMessage) -> str:
    """The excerpt of a mail of one notification."""
    return str(parts(mail)["text"]).split("\n")[1].strip()


async def test_smtp_down_then_up_mails_sent_later_none_twice(store: SqlStore) -> None:
    ana, bob, room = await people(store)
    down = await Mailbox().start()
    port = down.port
    await down.close()
    mail = outbox(store, port, "w1")
    batch = [note(bob, room, seq, ana) for seq in (1, 2)]
    await mail.deliver_many(batch)  # the batch is done: SMTP is not on its path
    keys = [n.key(ChannelName.EMAIL) for n in batch]
    assert await store.ledger_states(keys) == dict.fromkeys(keys, "pending")
    with pytest.raises(DeliveryFailed) as failed:
        await mail.send_pending()
    assert failed.value.retry
    now = now_micros()  # the failed round gave its claim back: a claim ending now finds them
    assert [o.key for o in await store.ledger_claim("probe", now, now, 10, reclaim=False)] == keys

    up = await Mailbox().start(port)
    stop = asyncio.Event()
    running = asyncio.create_task(mail.run_outbox(stop))
    try:
        got = [await up.next() for _ in batch]
        assert [text(m) for _, m in got] == ["m1", "m2"]
        await mail.deliver_many(batch)  # a replay of the batch
    finally:
        stop.set()
        await running
    assert await mail.send_pending() == 0
    assert up.received.empty() and mail.sent == 2
    assert await store.ledger_states(keys) == dict.fromkeys(keys, "done")
    await mail.close()
    await up.close()


async def test_a_crashed_senders_claim_is_taken_back_by_its_successor_only(
    store: SqlStore, mailbox: Mailbox
) -> None:
    ana, bob, room = await people(store)
    batch = [note(bob, room, seq, ana) for seq in (1, 2, 3)]
    await outbox(store, mailbox.port, "w1").deliver_many(batch)
    now = now_micros()  # w1 claims two, then dies before sending them
    held = await store.ledger_claim("w1", now, now + LEASE_SECONDS * 1_000_000, 2, reclaim=False)
    assert [o.key for o in held] == [n.key(ChannelName.EMAIL) for n in batch[:2]]

    other = outbox(store, mailbox.port, "w2")
    assert await other.send_pending(reclaim=True) == 1  # w1's lease holds: only the third
    assert text((await mailbox.next())[1]) == "m3"
    successor = outbox(store, mailbox.port, "w1")  # restarted under the same name
    assert await successor.send_pending() == 0  # a running outbox leaves its name's claims
    assert await successor.send_pending(reclaim=True) == 2
    assert [text((await mailbox.next())[1]) for _ in range(2)] == ["m1", "m2"]
    assert await other.send_pending() == 0 and await successor.send_pending() == 0
    assert mailbox.received.empty()
    for sender in (other, successor):
        await sender.close()


async def test_two_outboxes_at_once_send_each_mail_once(store: SqlStore, mailbox: Mailbox) -> None:
    ana, bob, room = await people(store)
    carol = await store.create_user(f"carol{secrets.token_hex(3)}", "Carol", "x")
    await store.put_notification_settings(
        carol.id, UserSettings(email="carol@example.com", email_mode="immediately")
    )
    to_carol, _ = await store.direct_room(ana.id, carol.id)
    batch = [note(bob, room, s, ana) for s in range(1, 21)]
    batch += [note(carol, to_carol, s, ana) for s in range(1, 21)]
    await outbox(store, mailbox.port, "w1").deliver_many(batch)
    senders = [outbox(store, mailbox.port, f"w{i}") for i in (1, 2)]
    while sum(await asyncio.gather(*(s.send_pending() for s in senders))):
        pass
    got = [await mailbox.next() for _ in batch]
    assert len({m["Message-ID"] for _, m in got}) == len(batch)
    assert sum(s.sent for s in senders) == len(batch) and mailbox.received.empty()
    for sender in senders:
        await sender.close()
