"""The e-mail channel: one mail per notification ("immediately") or a digest.

Sent with aiosmtplib (plain, STARTTLS or implicit TLS, optional login). Each mail has a
plain-text and an HTML part built with the standard library's ``email`` package; every
piece of user text (names, room names, the excerpt) is escaped for HTML and kept out of
headers but the subject, where ``email`` encodes it, so a message cannot inject markup
or headers. The Message-ID derives from the idempotency key, so the one window where a
mail may go twice (sent, then a crash before the ledger says "done") yields two copies
with the same Message-ID, which mail clients and servers merge (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from parley.config import SmtpSettings
from parley.models import now_micros
from parley.notify.base import ChannelName, DeliveryFailed, Notification, Reason
from parley.notify.store import NotificationStore
from parley.store.notifications import InboxItem

logger = logging.getLogger(__name__)

DIGEST_CHECK_SECONDS = 30.0
"""How often the digest loop looks for users whose digest is due."""


def _domain(sender: str) -> str:
    return sender.rsplit("@", 1)[-1].strip(" >") or "localhost"


def message_id(key: str, sender: str) -> str:
    """A stable Message-ID for an idempotency key: a resend is recognisably the same mail."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{_domain(sender)}>"


def link(base_url: str, room_id: int, seq: int) -> str:
    return f"{base_url.rstrip('/')}/rooms/{room_id}/messages/{seq}"


def _where(room_name: str | None) -> str:
    return "a direct message" if room_name is None else f"#{room_name}"


def _line(sender: str, room_name: str | None, reason: str) -> str:
    if reason == Reason.MENTION:
        return f"{sender} mentioned you in {_where(room_name)}"
    return f"{sender} sent you a direct message"


def compose(
    sender: str,
    to: str,
    subject: str,
    entries: Sequence[tuple[str, str, str]],
    msg_id: str,
) -> EmailMessage:
    """A mail of ``entries`` (headline, excerpt, link), with text and HTML alternatives."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = " ".join(subject.split())  # one line whatever a name holds
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = msg_id
    text = "\n\n".join(f"{head}:\n  {body}\n  {url}" for head, body, url in entries)
    mail.set_content(text + "\n\n-- \nParley notifications: change them in Parley's settings.\n")
    items = "".join(
        f"<li><p><strong>{html.escape(head)}</strong></p><blockquote>{html.escape(body)}"
        f'</blockquote><p><a href="{html.escape(url)}">Open in Parley</a></p></li>'
        for head, body, url in entries
    )
    mail.add_alternative(
        f"<!doctype html><html><body><ul>{items}</ul>"
        "<p><small>Parley notifications: change them in Parley's settings.</small></p>"
        "</body></html>",
        subtype="html",
    )
    return mail


class EmailChannel:
    """Sends to users whose setting is "immediately"; "digest" users get the loop's mail."""

    name = ChannelName.EMAIL

    def __init__(self, store: NotificationStore, smtp: SmtpSettings, base_url: str) -> None:
        self._store = store
        self._smtp = smtp
        self._base_url = base_url

    async def deliver(self, notification: Notification) -> None:
        settings = (await self._store.notification_settings([notification.user_id])).get(
            notification.user_id
        )
        if settings is None or settings.email_mode != "immediately" or not settings.email:
            return
        key = notification.key(self.name)
        if await self._store.ledger_begin(key) == "done":
            return
        headline = _line(
            notification.sender.display_name, notification.room_name, notification.reason
        )
        mail = compose(
            self._smtp.sender,
            settings.email,
            headline,
            [
                (
                    headline,
                    notification.excerpt,
                    link(self._base_url, notification.room_id, notification.seq),
                )
            ],
            message_id(key, self._smtp.sender),
        )
        await self.send(mail, [settings.email])
        await self._store.ledger_done(key)

    async def send(self, mail: EmailMessage, recipients: Sequence[str]) -> None:
        smtp = self._smtp
        if smtp.host is None:
            raise DeliveryFailed("no SMTP server is configured", retry=False)
        try:
            await aiosmtplib.send(
                mail,
                recipients=list(recipients),
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                use_tls=smtp.security == "tls",
                start_tls=smtp.security == "starttls",
                timeout=30,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc}", retry=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed: {exc}", retry=True) from exc

    async def send_digests(self) -> int:
        """One mail per user whose digest is due, of everything unread and not yet mailed."""
        now = now_micros()
        sent = 0
        for user_id, address in await self._store.digests_due(now):
            items = await self._store.digest_items(user_id)
            if not items:
                continue
            await self.send(self._digest(address, items), [address])
            await self._store.digest_sent(user_id, [i.id for i in items], now)
            sent += 1
        return sent

    def _digest(self, to: str, items: Sequence[InboxItem]) -> EmailMessage:
        entries = [
            (
                _line(i.sender.display_name, i.room_name, i.reason),
                i.excerpt,
                link(self._base_url, i.room_id, i.seq),
            )
            for i in items
        ]
        key = f"digest:{items[0].id}:{items[-1].id}"
        subject = f"{len(items)} unread notification{'s' if len(items) != 1 else ''} in Parley"
        return compose(self._smtp.sender, to, subject, entries, message_id(key, self._smtp.sender))

    async def run_digests(
        self, stop: asyncio.Event, interval: float = DIGEST_CHECK_SECONDS
    ) -> None:
        """Send due digests every ``interval`` until ``stop``; a failed round is retried."""
        while not stop.is_set():
            try:
                await self.send_digests()
            except Exception as exc:
                logger.warning("digest round failed, retrying: %r", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
