"""What a resume replays, given what the client saw and what the connection delivered.

A connection joins a room's live feed at a known seq (``live_from``): every
message after it is delivered live, or held while a replay runs. So a resume
only needs the messages the client missed up to ``live_from``; replaying
anything later would duplicate it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Replay:
    after: int
    """Replay messages with seq greater than this ..."""
    until: int
    """... up to and including this one."""
    incomplete: bool
    """True when the cap cut the replay short; the client pages the rest."""

    @property
    def empty(self) -> bool:
        return self.until <= self.after


def plan(last_seen: int, live_from: int, cap: int) -> Replay:
    if last_seen >= live_from:
        return Replay(after=last_seen, until=last_seen, incomplete=False)
    until = min(live_from, last_seen + cap)
    return Replay(after=last_seen, until=until, incomplete=until < live_from)


def release_held(held: list[tuple[int, bytes]], replayed_up_to: int) -> list[bytes]:
    """Frames that arrived live during a replay, minus any the replay already sent."""
    return [frame for seq, frame in held if seq > replayed_up_to]
