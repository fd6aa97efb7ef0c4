"""``protocol.resume``: what a resume replays, with data only."""

from __future__ import annotations

from parley.protocol import resume


def test_resume_replays_only_what_was_not_delivered_live() -> None:
    assert resume.plan(last_seen=3, live_from=10, cap=500) == resume.Replay(3, 10, False)
    assert resume.plan(last_seen=10, live_from=10, cap=500).empty
    assert resume.plan(last_seen=12, live_from=10, cap=500) == resume.Replay(12, 12, False)


def test_resume_beyond_the_cap_is_incomplete() -> None:
    plan = resume.plan(last_seen=0, live_from=1200, cap=500)
    assert plan == resume.Replay(after=0, until=500, incomplete=True)


def test_frames_held_during_a_replay_skip_what_it_sent() -> None:
    held = [(10, b"a"), (11, b"b"), (12, b"c")]
    assert resume.release_held(held, replayed_up_to=10) == [b"b", b"c"]
