from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from parley.protocol.sequencer import Sequencer


def test_in_order_messages_pass_straight_through() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.start(0)
    assert seq.push(1, "a") == [(1, "a")]
    assert seq.push(2, "b") == [(2, "b")]
    assert seq.gap() is None


def test_duplicates_and_old_messages_are_dropped() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.start(5)
    assert seq.push(5, "old") == []
    assert seq.push(6, "a") == [(6, "a")]
    assert seq.push(6, "again") == []


def test_out_of_order_messages_wait_for_the_missing_one() -> None:
    seq: Sequencer[str] = Sequencer()
    seq.start(0)
    assert seq.push(3, "c") == []
    assert seq.push(2, "b") == []
    assert seq.gap() == (1, 1)
    assert seq.push(1, "a") == [(1, "a"), (2, "b"), (3, "c")]
    assert seq.gap() is None


def test_arrivals_before_start_are_kept_or_dropped_by_position() -> None:
    seq: Sequencer[str] = Sequencer()
    assert not seq.started
    assert seq.push(4, "d") == []
    assert seq.push(2, "b") == []
    assert seq.gap() is None
    assert seq.start(2) == []
    assert seq.gap() == (3, 3)
    assert seq.push(3, "c") == [(3, "c"), (4, "d")]


@given(st.permutations(range(1, 30)), st.lists(st.integers(1, 29), max_size=10))
def test_any_arrival_order_releases_each_seq_once_in_order(
    order: list[int], dupes: list[int]
) -> None:
    seq: Sequencer[int] = Sequencer()
    seq.start(0)
    released: list[int] = []
    for s in [*order, *dupes]:
        released += [item for _, item in seq.push(s, s)]
    assert released == list(range(1, 30))
