"""The e-mail channel: one mail per notification ("immediately") or a digest.

Sent with aiosmtplib (plain, STARTTLS or implicit TLS, optional login). Each mail has a
plain-text and an HTML part (``compose``); every piece of user text (names, room names,
the excerpt) is escaped for HTML and kept out of headers but the subject, one line and
RFC 2047-encoded by ``email.header``, so a message cannot inject markup or headers.
The worker's batch only records each mail as pending in the ledger; an outbox loop
sends them over kept SMTP connections. The Message-ID derives from the idempotency
key, so the one window where a mail may go twice (sent, then a crash before the ledger
says "done") yields two copies with the same Message-ID, which mail clients and
servers merge (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import html
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from email.header import Header
from email.utils import formatdate, parseaddr
from typing import Any

import aiosmtplib
import orjson

from parley.config import SmtpSettings
from parley.models import now_micros
from parley.notify.base import ChannelName, DeliveryFailed, Notification, Reason
from parley.notify.store import NotificationStore
from parley.store.notifications import InboxItem, Outgoing

logger = logging.getLogger(__name__)

DIGEST_CHECK_SECONDS = 30.0
"""How often the digest loop looks for users whose digest is due."""
OUTBOX_CONNECTIONS = 4
"""Kept SMTP connections of the outbox, sending at once (aiosmtplib has no pipelining:
each mail is four round trips, so one connection at a time cannot keep up with the
batches). Each has at most one mail in the crash window."""
OUTBOX_BATCH = 200
"""Pending mails one outbox round claims at most."""
OUTBOX_IDLE_SECONDS = 5.0
"""How often an idle outbox looks for pending mails nobody woke it for (a crashed
sender's, once its lease ran out)."""
SMTP_TIMEOUT_SECONDS = 30.0
LEASE_SECONDS = 120
"""How long a claim holds its rows against other senders."""
LEASE_MARGIN_SECONDS = 60
"""No mail is begun this close to the claim's end (more than a send and its ``done`` can
take), so another sender never takes a row that may still be sent."""
RETRY_FIRST_SECONDS = 0.5
RETRY_MAX_SECONDS = 10.0


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


def _part(content_type: str, body: str) -> str:
    encoded = base64.encodebytes(body.encode()).decode().replace("\n", "\r\n")
    return (
        f'Content-Type: {content_type}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        f"{encoded}"
    )


def compose(
    sender: str,
    to: str,
    subject: str,
    entries: Sequence[tuple[str, str, str]],
    msg_id: str,
) -> bytes:
    """A mail of ``entries`` (headline, excerpt, link), with text and HTML alternatives,
    as the bytes sent.

    Written out directly: with the ``email`` package (even ``email.mime``), composing
    and flattening a mail was ~40% of the e-mail outbox's CPU, for a mail whose shape
    never changes. The headers are safe as they are: the subject is one line, encoded
    (RFC 2047, by ``email.header``) unless plain ASCII, the addresses come from validated
    settings, every piece of user text is in a base64 body, and no line is longer than
    the 78 characters RFC 5322 asks for."""
    line = " ".join(subject.split())  # one line whatever a name holds
    if not line.isascii():
        line = Header(line, "utf-8", header_name="Subject").encode(linesep="\r\n")
    boundary = f"=={secrets.token_hex(16)}=="
    text = "\n\n".join(f"{head}:\n  {body}\n  {url}" for head, body, url in entries)
    items = "".join(
        f"<li><p><strong>{html.escape(head)}</strong></p><blockquote>{html.escape(body)}"
        f'</blockquote><p><a href="{html.escape(url)}">Open in Parley</a></p></li>'
        for head, body, url in entries
    )
    plain = text + "\n\n-- \nParley notifications: change them in Parley's settings.\n"
    rich = (
        f"<!doctype html><html><body><ul>{items}</ul>"
        "<p><small>Parley notifications: change them in Parley's settings.</small></p>"
        "</body></html>"
    )
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {line}\r\n"
        f"Date: {formatdate(localtime=False)}\r\nMessage-ID: {msg_id}\r\n"
        f'MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n'
        f"\r\n--{boundary}\r\n{_part('text/plain', plain)}"
        f"\r\n--{boundary}\r\n{_part('text/html', rich)}"
        f"\r\n--{boundary}--\r\n"
    ).encode()


async def _quit(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        with contextlib.suppress(aiosmtplib.SMTPException, OSError):
            await client.quit()
    client.close()


class EmailChannel:
    """Sends to users whose setting is "immediately"; "digest" users get the loop's mail.

    ``deliver_many`` (on the worker's batch path) only records each mail as pending in
    the ledger; the outbox (``run_outbox``) sends them apart from the batch, so the log's
    offsets never wait on SMTP round trips. ``owner`` names this sender in the ledger's
    claims: the same name after a restart (the worker's static id) takes back at once
    what the crashed process held; another waits for the claim's lease to run out."""

    name = ChannelName.EMAIL

    def __init__(
        self, store: NotificationStore, smtp: SmtpSettings, base_url: str, *, owner: str = ""
    ) -> None:
        self._store = store
        self._smtp = smtp
        self._base_url = base_url
        self._owner = owner or f"email-{secrets.token_hex(4)}"
        self._envelope_from = parseaddr(smtp.sender)[1]
        self._wake = asyncio.Event()
        self._clients: list[aiosmtplib.SMTP | None] = [None] * OUTBOX_CONNECTIONS
        self._last_at = 0
        self.sent = 0
        """Mails the SMTP server accepted from the outbox."""

    async def deliver_many(self, notifications: Sequence[Notification]) -> None:
        """One settings read for the batch's users and one ledger insert of their mails
        as pending (a key recorded already, a replay, is left as it is); the outbox is
        woken to send them."""
        if not notifications:
            return
        settings = await self._store.notification_settings(
            sorted({n.user_id for n in notifications})
        )
        mails: dict[str, str] = {}  # a key once, if the batch has it twice
        for n in notifications:
            s = settings.get(n.user_id)
            if s is not None and s.email_mode == "immediately" and s.email:
                mails.setdefault(n.key(self.name), self._payload(n, s.email))
        if not mails:
            return
        # Increasing per process, so the outbox sends each user's mails in log order.
        first = max(now_micros(), self._last_at + 1)
        self._last_at = first + len(mails) - 1
        await self._store.ledger_add(
            [(key, payload, first + i) for i, (key, payload) in enumerate(mails.items())]
        )
        self._wake.set()

    def _payload(self, n: Notification, address: str) -> str:
        return orjson.dumps(
            {
                "to": address,
                "sender": n.sender.display_name,
                "room_name": n.room_name,
                "reason": n.reason,
                "excerpt": n.excerpt,
                "room": n.room_id,
                "seq": n.seq,
            }
        ).decode()

    def _mail(self, key: str, payload: dict[str, Any]) -> bytes:
        headline = _line(payload["sender"], payload["room_name"], payload["reason"])
        return compose(
            self._smtp.sender,
            payload["to"],
            headline,
            [(headline, payload["excerpt"], link(self._base_url, payload["room"], payload["seq"]))],
            message_id(key, self._smtp.sender),
        )

    async def run(self, stop: asyncio.Event) -> None:
        """The outbox and the digest loop, until ``stop``."""
        await asyncio.gather(self.run_outbox(stop), self.run_digests(stop))

    async def run_outbox(self, stop: asyncio.Event) -> None:
        """Send pending mails until ``stop``: at once when ``deliver_many`` recorded some,
        else every ``OUTBOX_IDLE_SECONDS`` (rows a crashed sender's lease let go); an SMTP
        server or store that fails leaves the rows pending and is retried with backoff."""
        reclaim = True
        delay = RETRY_FIRST_SECONDS
        try:
            while not stop.is_set():
                self._wake.clear()
                try:
                    claimed = await self.send_pending(reclaim=reclaim)
                except Exception as exc:
                    logger.warning("email outbox: sending failed, retrying: %r", exc)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), delay)
                    delay = min(delay * 2, RETRY_MAX_SECONDS)
                    continue
                reclaim, delay = False, RETRY_FIRST_SECONDS
                if not claimed:
                    waits = [asyncio.ensure_future(e.wait()) for e in (self._wake, stop)]
                    try:
                        await asyncio.wait(
                            waits, timeout=OUTBOX_IDLE_SECONDS, return_when=asyncio.FIRST_COMPLETED
                        )
                    finally:
                        for w in waits:
                            w.cancel()
        finally:
            await self.close()

    async def send_pending(self, *, reclaim: bool = False) -> int:
        """One round of the outbox: claim up to ``OUTBOX_BATCH`` pending mails and send
        them over ``OUTBOX_CONNECTIONS`` kept SMTP connections, each user's on one
        connection in order; each key is marked done right after the server accepted its
        mail, before the connection sends the next, so a crash leaves at most one mail per
        connection sent and not done (sent again, under the same Message-ID). Returns how
        many were claimed; raises what stopped a connection (``DeliveryFailed``, retry;
        a store failure) after giving back what it did not send."""
        now = now_micros()
        until = now + LEASE_SECONDS * 1_000_000
        claimed = await self._store.ledger_claim(
            self._owner, now, until, OUTBOX_BATCH, reclaim=reclaim
        )
        if not claimed:
            return 0
        lanes: list[list[Outgoing]] = [[] for _ in range(OUTBOX_CONNECTIONS)]
        for row in claimed:  # the key starts with the user id
            lanes[int(row.key.split(":", 1)[0]) % OUTBOX_CONNECTIONS].append(row)
        outcomes = await asyncio.gather(
            *(self._send_lane(i, lane, until) for i, lane in enumerate(lanes) if lane)
        )
        unsent = [key for keys, _ in outcomes for key in keys]
        if unsent:
            await self._store.ledger_release(self._owner, unsent)
        failures = [exc for _, exc in outcomes if exc is not None]
        if failures:
            raise failures[0]
        return len(claimed)

    async def _send_lane(
        self, lane: int, rows: list[Outgoing], until: int
    ) -> tuple[list[str], Exception | None]:
        """Send ``rows`` in order on connection ``lane``: the keys to give back, and the
        failure that stopped it (None when it went through). Stops short of the lease's
        end so another sender never takes a row this one may still send. A mail accepted
        whose ``done`` could not be written (the store failed) is not given back: it is
        sent again once its claim runs out, as after a crash in that window."""
        for i, row in enumerate(rows):
            if now_micros() > until - LEASE_MARGIN_SECONDS * 1_000_000:
                return [r.key for r in rows[i:]], None
            payload = orjson.loads(row.payload)
            try:
                await self._send_kept(lane, self._mail(row.key, payload), [payload["to"]])
            except DeliveryFailed as exc:
                if exc.retry:
                    return [r.key for r in rows[i:]], exc
                logger.warning("email: cannot deliver %s: %s", row.key, exc)
                state = "refused"
            else:
                self.sent += 1
                state = "done"
            try:
                # Settled before this connection's next mail: a crash re-sends at most one.
                await self._store.ledger_settle(row.key, state)
            except Exception as exc:
                return [r.key for r in rows[i + 1 :]], exc
        return [], None

    async def _send_kept(self, lane: int, mail: bytes, recipients: list[str]) -> None:
        """Send on lane ``lane``'s kept connection, connecting when there is none; a kept
        connection the server closed meanwhile (idle timeout) is replaced once."""
        client = self._clients[lane]
        if client is not None and client.is_connected:
            try:
                await self._send_on(client, mail, recipients)
                return
            except DeliveryFailed as exc:
                if not exc.retry:
                    raise
                await self._drop(lane)
        self._clients[lane] = client = await self._connect()
        try:
            await self._send_on(client, mail, recipients)
        except DeliveryFailed as exc:
            if exc.retry:
                await self._drop(lane)
            raise

    async def _drop(self, lane: int) -> None:
        client, self._clients[lane] = self._clients[lane], None
        if client is not None:
            await _quit(client)

    async def close(self) -> None:
        """Close the outbox's kept SMTP connections."""
        for lane in range(OUTBOX_CONNECTIONS):
            await self._drop(lane)

    async def _connect(self) -> aiosmtplib.SMTP:
        """A connection to the SMTP server (plain, STARTTLS or TLS, logged in when
        credentials are set)."""
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
            timeout=SMTP_TIMEOUT_SECONDS,
        )
        try:
            await client.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed: {exc}", retry=True) from exc
        return client

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connection of its own, closed after use (a digest)."""
        client = await self._connect()
        try:
            yield client
        finally:
            await _quit(client)

    async def _send_on(
        self, client: aiosmtplib.SMTP, mail: bytes, recipients: Sequence[str]
    ) -> None:
        try:
            await client.sendmail(self._envelope_from, list(recipients), mail)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryFailed(f"recipient refused: {exc}", retry=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryFailed(f"SMTP failed: {exc}", retry=True) from exc

    async def send(self, mail: bytes, recipients: Sequence[str]) -> None:
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

    def _digest(self, to: str, items: Sequence[InboxItem]) -> bytes:
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
