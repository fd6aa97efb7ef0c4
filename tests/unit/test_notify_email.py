"""The e-mail channel against a real SMTP server (aiosmtpd on 127.0.0.1) and a SQLite store:
one mail per notification with a stable Message-ID and no second copy on replay, sent by
the outbox apart from the batch, digests of everything unread, and user text that cannot
inject markup or headers (the outbox's claims and crashes: tests/integration)."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest

from parley.config import SmtpSettings
from parley.models import User
from parley.notify.base import ChannelName, Notification, Reason
from parley.notify.email import EmailChannel, compose, message_id
from parley.store import SqlStore
from parley.store.notifications import UserSettings
from tests.support.smtp import Mailbox, parts
from tests.unit.conftest import make_user

BASE = "https://chat.example.com"


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = await Mailbox().start()
    yield box
    await box.close()


def channel(store: SqlStore, box: Mailbox) -> EmailChannel:
    smtp = SmtpSettings(host="127.0.0.1", port=box.port, security="none", sender="P <p@ex.com>")
    return EmailChannel(store, smtp, BASE)


def note(user: int, room: int, seq: int, sender: User, text: str) -> Notification:
    return Notification(
        user_id=user,
        room_id=room,
        seq=seq,
        reason=Reason.DIRECT,
        sender=sender,
        room_name=None,
        excerpt=text,
        created_at=datetime.now(UTC),
    )


async def test_immediate_mail_once_per_key(store: SqlStore, mailbox: Mailbox) -> None:
    ana = await store.create_user("ana", "Ana <b>&</b>\r\nBcc: x@evil.com", None)
    bob = await make_user(store, "bob")
    room, _ = await store.direct_room(ana.id, bob.id)
    await store.put_notification_settings(
        bob.id, UserSettings(email="bob@example.com", email_mode="immediately")
    )
    mail = channel(store, mailbox)
    n = note(bob.id, room, 3, ana, "<script>alert(1)</script> & more")
    await mail.deliver_many([n])
    assert mailbox.received.empty()  # the batch only records it: the outbox sends
    assert await mail.send_pending() == 1
    recipients, sent = await mailbox.next()
    assert recipients == ["bob@example.com"]
    assert sent["To"] == "bob@example.com" and sent["Bcc"] is None
    assert sent["Subject"].startswith("Ana <b>&</b>") and "direct message" in sent["Subject"]
    assert sent["Message-ID"] == message_id(n.key(ChannelName.EMAIL), "P <p@ex.com>")
    body = parts(sent)
    assert "<script>alert(1)</script> & more" in body["text"]
    assert f"{BASE}/rooms/{room}/messages/3" in body["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in body["html"]
    assert "<script>" not in body["html"] and "<b>&</b>" not in body["html"]
    assert f'href="{BASE}/rooms/{room}/messages/3"' in body["html"]
    await mail.deliver_many([n])  # a replay: the ledger has it done
    assert await mail.send_pending() == 0
    await mail.deliver_many([note(bob.id, room, 4, ana, "next")])
    assert await mail.send_pending() == 1
    _, following = await mailbox.next()
    assert "next" in parts(following)["text"]
    assert mailbox.received.empty() and mail.sent == 2
    await mail.close()


async def test_each_mail_once_in_order_each_user_on_a_kept_connection(
    store: SqlStore, mailbox: Mailbox
) -> None:
    ana, bob, cy = [await make_user(store, name) for name in ("ana", "bob", "cy")]
    room, _ = await store.direct_room(ana.id, bob.id)
    for user in (bob, cy):
        await store.put_notification_settings(
            user.id, UserSettings(email=f"{user.username}@example.com", email_mode="immediately")
        )
    mail = channel(store, mailbox)
    await mail.deliver_many([note(bob.id, room, 1, ana, "before")])
    assert await mail.send_pending() == 1
    await mailbox.next()
    batch = [
        note(bob.id, room, 1, ana, "before"),  # done already: the ledger keeps it done
        note(bob.id, room, 2, ana, "one"),
        note(cy.id, room, 2, ana, "one"),
        note(bob.id, room, 2, ana, "one"),  # the same key twice in a batch: one mail
        note(bob.id, room, 3, ana, "two"),
    ]
    await mail.deliver_many(batch)
    assert await mail.send_pending() == 3
    got = [await mailbox.next() for _ in range(3)]
    by_user: dict[str, list[str]] = {}
    for (to,), sent in got:
        by_user.setdefault(to, []).append(parts(sent)["text"].split(":")[1].split()[0])
    assert by_user == {"bob@example.com": ["one", "two"], "cy@example.com": ["one"]}
    bobs = {peer for ((to,), _), peer in zip(got, mailbox.peers[1:], strict=True) if "bob" in to}
    assert bobs == {mailbox.peers[0]}, "bob's mails go over the connection kept from round 1"
    keys = [n.key(ChannelName.EMAIL) for n in batch]
    assert await store.ledger_states(keys) == dict.fromkeys(keys, "done")
    await mail.deliver_many(batch)  # a replay of the batch
    assert await mail.send_pending() == 0
    assert mailbox.received.empty()
    await mail.close()


async def test_off_or_digest_users_get_no_immediate_mail(store: SqlStore, mailbox: Mailbox) -> None:
    ana, bob = await make_user(store, "ana"), await make_user(store, "bob")
    room, _ = await store.direct_room(ana.id, bob.id)
    mail = channel(store, mailbox)
    await mail.deliver_many([note(bob.id, room, 1, ana, "no settings")])
    await store.put_notification_settings(
        bob.id, UserSettings(email="bob@example.com", email_mode="digest", digest_minutes=5)
    )
    await mail.deliver_many([note(bob.id, room, 2, ana, "digest")])
    assert await mail.send_pending() == 0
    assert await mail.send_digests() == 0  # nothing in the inbox yet
    for seq, text in ((1, "first <i>one</i>"), (2, "second")):
        assert await store.add_notifications([note(bob.id, room, seq, ana, text)]) != []
    assert await mail.send_digests() == 1
    recipients, digest = await mailbox.next()
    assert recipients == ["bob@example.com"]
    assert digest["Subject"] == "2 unread notifications in Parley"
    body = parts(digest)
    assert "first <i>one</i>" in body["text"] and "second" in body["text"]
    assert "first &lt;i&gt;one&lt;/i&gt;" in body["html"]
    assert await store.add_notifications([note(bob.id, room, 3, ana, "third")]) != []
    assert await mail.send_digests() == 0  # the last digest is younger than 5 minutes
    assert mailbox.received.empty()


def test_a_subject_beyond_ascii_is_encoded_and_reads_back() -> None:
    raw = compose("P <p@ex.com>", "bob@example.com", "Zoë 李\r\nBcc: x@evil.com", [], "<a@ex>")
    assert raw.isascii() and b"\nBcc:" not in raw
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert back["Subject"] == "Zoë 李 Bcc: x@evil.com" and back["Bcc"] is None


def test_a_long_subject_folds_and_the_parts_read_back() -> None:
    subject = "Zoë " * 40 + "mentioned you in #café"
    entries = [("Zoë mentioned you", "ça va? <b>李</b>\r\n.\r\nBcc: x", "https://x/rooms/1")]
    raw = compose("P <p@ex.com>", "bob@example.com", subject, entries, "<a@ex>")
    assert raw.isascii() and all(len(line) <= 78 for line in raw.split(b"\r\n"))
    back = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(back, EmailMessage)
    assert back["Subject"] == " ".join(subject.split()) and back["Message-ID"] == "<a@ex>"
    assert back["Bcc"] is None and back.get_content_type() == "multipart/alternative"
    body = parts(back)
    assert "ça va? <b>李</b>" in body["text"] and "https://x/rooms/1" in body["text"]
    assert "ça va? &lt;b&gt;李&lt;/b&gt;" in body["html"]
