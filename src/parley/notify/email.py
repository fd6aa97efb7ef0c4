"""The e-mail channel: one mail per notification ("immediately") or a digest.

Sent with aiosmtplib (plain, STARTTLS or implicit TLS, optional login). Each mail has a
plain-text and an HTML part built with the standard library's ``email`` package; every
piece of user text (names, room names, the excerpt) is escaped for HTML and kept out of
headers but the subject, where ``email`` encodes it, so a message cannot inject markup
or headers. The Message-ID derives from the idempotency key, so the one window where a
mail may go twice (sent, then a crash before the ledger says "done") yields two copies
with the same Message-ID, which mail clients and servers merge (docs/reliability.md).
The mails of a batch share one SMTP connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
from collections.abc import AsyncIterator, Sequence
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
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
) -> Message:
    """A mail of ``entries`` (headline, excerpt, link), with text and HTML alternatives.

    Built with ``email.mime`` (the ``compat32`` policy): the default policy's header
    parsing made composing and flattening a mail ~1.1 ms of the worker's CPU, three times
    this. Its headers are safe as they are: the subject is one line of ``Header``-encoded
    text, the addresses come from validated settings."""
    mail = MIMEMultipart("alternative")
    mail["From"] = sender
    mail["To"] = to
    line = " ".join(subject.split())  # one line whatever a name holds
    mail["Subject"] = line if line.isascii() else Header(line, "utf-8").encode()
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = msg_id
    text = "\n\n".join(f"{head}:\n  {body}\n  {url}" for head, body, url in entries)
    mail.attach(
        MIMEText(
            text + "\n\n-- \nParley notifications: change them in Parley's settings.\n",
            "plain",
            "utf-8",
        )
    )
    items = "".join(
        f"<li><p><strong>{html.escape(head)}</strong></p><blockquote>{html.escape(body)}"
        f'</blockquote><p><a href="{html.escape(url)}">Open in Parley</a></p></li>'
        for head, body, url in entries
    )
    mail.attach(
        MIMEText(
            f"<!doctype html><html><body><ul>{items}</ul>"
            "<p><small>Parley notifications: change them in Parley's settings.</small></p>"
            "</body></html>",
            "html",
            "utf-8",
        )
    )
    return mail


class EmailChannel:
    """Sends to users whose setting is "immediately"; "digest" users get the loop's mail."""

    name = ChannelName.EMAIL

    def __init__(self, store: NotificationStore, smtp: SmtpSettings, base_url: str) -> None:
        self._store = store
        self._smtp = smtp
        self._base_url = base_url

    async def deliver_many(self, notifications: Sequence[Notification]) -> None:
        """One settings read for the batch's users, the ledger's keys recorded together,
        the mails sent in order over one SMTP connection, each marked done once the server
        took it (so the window of a second copy stays one mail, docs/reliability.md)."""
        if not notifications:
            return
        settings = await self._store.notification_settings(
            sorted({n.user_id for n in notifications})
        )
        wanted: list[tuple[Notification, str]] = []
        for n in notifications:
            s = settings.get(n.user_id)
            if s is not None and s.email_mode == "immediately" and s.email:
                wanted.append((n, s.email))
        if not wanted:
            return
        states = await self._store.ledger_begin([n.key(self.name) for n, _ in wanted])
        mails: dict[str, tuple[Notification, str]] = {}  # a key once, if the batch has it twice
        for n, address in wanted:
            if states.get(n.key(self.name)) != "done":
                mails.setdefault(n.key(self.name), (n, address))
        if not mails:
            return
        async with self._connection() as client:
            for key, (n, address) in mails.items():
                try:
                    await self._send_on(client, self._mail(n, address), [address])
                except DeliveryFailed as exc:
                    if exc.retry:
                        raise
                    logger.warning("email: cannot deliver %s: %s", key, exc)
                    continue
                # Marked done before the next mail: a crash re-sends at most this one.
                await self._store.ledger_done([key])

    def _mail(self, notification: Notification, address: str) -> Message:
        headline = _line(
            notification.sender.display_name, notification.room_name, notification.reason
        )
        return compose(
            self._smtp.sender,
            address,
            headline,
            [
                (
                    headline,
                    notification.excerpt,
                    link(self._base_url, notification.room_id, notification.seq),
                )
            ],
            message_id(notification.key(self.name), self._smtp.sender),
        )

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """An SMTP connection for the mails of one batch (plain, STARTTLS or TLS, logged
        in when credentials are set): one handshake instead of one per mail."""
        smtp = self._smtp
        if smtp.host is None:
            raise DeliveryFailed("no SMTP server is configured", retry=False)
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            timeout=30,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed: {exc}", retry=True) from exc
        try:
            yield client
        finally:
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()

    async def _send_on(
        self, client: aiosmtplib.SMTP, mail: Message, recipients: Sequence[str]
    ) -> None:
        try:
            await client.send_message(mail, recipients=list(recipients))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc}", retry=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed: {exc}", retry=True) from exc

    async def send(self, mail: Message, recipients: Sequence[str]) -> None:
        """One mail on a connection of its own (a digest)."""
        async with self._connection() as client:
            await self._send_on(client, mail, recipients)

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

    def _digest(self, to: str, items: Sequence[InboxItem]) -> Message:
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
