"""``PresenceCounter``: presence changes only on a user's first open and last close."""

from __future__ import annotations

from parley.presence.counter import PresenceCounter


def test_presence_changes_on_first_open_and_last_close() -> None:
    counter = PresenceCounter()
    assert counter.opened(1)
    assert not counter.opened(1)
    assert counter.online(1)
    assert not counter.closed(1)
    assert counter.users() == {1}
    assert counter.closed(1)
    assert not counter.online(1)
