"""A real SMTP server for tests (aiosmtpd) on 127.0.0.1, in the test's own event loop.

Each mail it accepts is parsed and put on a queue, so a test awaits the next mail
instead of sleeping.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[list[str], EmailMessage]] = asyncio.Queue()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.peers: list[object] = []
        """The client address each mail came from: mails sent on one connection share it."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        mail = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        self.peers.append(session.peer)
        self.received.put_nowait(([str(r) for r in envelope.rcpt_tos], mail))
        return "250 OK"

    async def start(self, port: int = 0) -> Mailbox:
        """Listen on ``port`` (0: a free one; a port a closed mailbox had: the server back)."""
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(self, hostname="localhost"), "127.0.0.1", port
        )
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def next(self, timeout: float = 15.0) -> tuple[list[str], EmailMessage]:
        return await asyncio.wait_for(self.received.get(), timeout)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


def parts(mail: EmailMessage) -> dict[str, Any]:
    """The text and HTML bodies of a multipart/alternative mail."""
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    return {"text": text.get_content(), "html": html.get_content()}
