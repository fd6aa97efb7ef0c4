"""A new user's username, display name and link label, from what a provider says.

The provider's names are the user's own choice there and may hold anything:
they are folded into Parley's username rules (3 to 32 of a-z, 0-9, ``_ . -``),
made unique with a suffix, and stripped of control and bidirectional
formatting characters before they are shown.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterator

from parley.auth.oauth.base import ExternalAccount
from parley.protocol import validation

MAX_USERNAME = 32
MIN_USERNAME = 3
MAX_LABEL = 64
NUMBERED_TRIES = 8
"""``ana``, then ``ana-2`` … ``ana-9``, then random suffixes."""
_OUTSIDE = re.compile(r"[^a-z0-9_.-]+")
_UNSAFE = re.compile(f"[{validation.CONTROLS}{validation.BIDI}" + r"\ud800-\udfff]")


def _fold(text: str) -> str:
    """Lowercase ASCII, accents dropped, other runs of characters become one ``_``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _OUTSIDE.sub("_", ascii_text.lower()).strip("_.-")[:MAX_USERNAME].strip("_.-")


def base_username(account: ExternalAccount) -> str:
    local_part = account.email.partition("@")[0] if account.email else None
    for hint in (account.username, account.name, local_part):
        folded = _fold(hint) if hint else ""
        if len(folded) >= MIN_USERNAME:
            return folded
    return "user"


def usernames(account: ExternalAccount) -> Iterator[str]:
    """Candidates in order; the caller takes the first one nobody has."""
    base = base_username(account)
    yield base
    for n in range(2, NUMBERED_TRIES + 2):
        yield f"{base[: MAX_USERNAME - 1 - len(str(n))]}-{n}"
    while True:
        suffix = secrets.token_hex(3)
        yield f"{base[: MAX_USERNAME - 1 - len(suffix)]}-{suffix}"


def clean(text: str | None, longest: int) -> str:
    """``text`` fit for showing: no control or bidi character, trimmed, at most ``longest``."""
    return _UNSAFE.sub("", text or "").strip()[:longest].strip()


def display_name(account: ExternalAccount, username: str) -> str:
    return (
        clean(account.name, validation.MAX_DISPLAY_NAME)
        or clean(account.username, validation.MAX_DISPLAY_NAME)
        or username
    )


def label(account: ExternalAccount) -> str:
    """How the account is called at the provider, to tell linked accounts apart."""
    for hint in (account.username, account.email, account.name):
        found = clean(hint, MAX_LABEL)
        if found:
            return found
    return clean(account.subject, MAX_LABEL)
