"""The repeat filter: one line per message template per interval, the rest counted."""

from __future__ import annotations

import logging

import pytest

from parley.logfilter import RepeatFilter


def record(msg: str, *args: object, name: str = "aiokafka") -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_are_dropped_then_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("parley.logfilter.time.monotonic", lambda: clock[0])
    repeat = RepeatFilter("aiokafka", interval=60)
    template = 'Unable connect to "%s:%s": %s'
    assert repeat.filter(record(template, "127.0.0.1", 1, "refused"))
    assert not any(repeat.filter(record(template, "127.0.0.1", 1, "refused")) for _ in range(500))
    assert repeat.filter(record("Unable to update metadata from %s", [1]))  # another kind
    for _ in range(3):  # Parley's own lines are never filtered
        assert repeat.filter(record(template, "127.0.0.1", 1, "x", name="parley.log"))
    assert repeat.filter(record(template, "127.0.0.1", 1, "x", name="aiokafka.consumer"))
    clock[0] += 61
    later = record(template, "127.0.0.1", 1, "refused")
    assert repeat.filter(later)
    assert "(500 similar lines in the last 61s)" in later.getMessage()
    assert not repeat.filter(record(template, "127.0.0.1", 1, "refused"))
