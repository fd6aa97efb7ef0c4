"""Storing a batch around the drafts the database refuses, so one bad record blocks nothing.

The store refuses a whole transaction for one draft it cannot hold (a NUL in a
text column, a number out of range), and would refuse it again on every retry.
A refused batch is therefore split in two halves stored one after the other,
each split again if refused, until the refused drafts stand alone: with k such
drafts among n that costs about 2·k·log2(n) extra transactions, and a batch
without one costs one, as before. The halves are stored in order, so a room's
messages keep the log's order and their seqs stay contiguous.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from parley.models import Draft
from parley.store import Outcome, StoreRefused

Append = Callable[[Sequence[Draft]], Awaitable[list[Outcome]]]
Isolated = Outcome | StoreRefused
"""What the store did with a draft (see ``store.Outcome``), or why the database refused it."""


async def append_isolating(append: Append, drafts: Sequence[Draft]) -> list[Isolated]:
    """``append`` the drafts in order; each refused draft gets its ``StoreRefused`` in its place.

    Anything else ``append`` raises (an outage) goes through to the caller,
    which retries: the halves already stored are found again by client_id.
    """
    try:
        return list(await append(drafts))
    except StoreRefused as exc:
        if len(drafts) <= 1:
            return [exc]
    middle = len(drafts) // 2
    first = await append_isolating(append, drafts[:middle])
    return first + await append_isolating(append, drafts[middle:])
