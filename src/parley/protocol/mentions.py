"""Who a message body mentions: ``@username`` of a room member, parsed on the server.

Case-insensitive, at a word boundary (not inside an e-mail address or a word),
and a trailing ``.`` or ``-`` is punctuation when the name with it is nobody's
(``@bob.`` mentions bob). Non-members and unknown names stay plain text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_MENTION = re.compile(r"(?<![\w@.-])@([A-Za-z0-9_.-]{3,32})")


def mentioned(body: str, members: Mapping[str, int]) -> tuple[int, ...]:
    """The ids of ``members`` (username -> id) the body names, each once, in id order."""
    found: set[int] = set()
    for match in _MENTION.finditer(body):
        name = match.group(1).lower()
        user = members.get(name)
        if user is None:
            user = members.get(name.rstrip(".-"))
        if user is not None:
            found.add(user)
    return tuple(sorted(found))
