from __future__ import annotations

import pytest

from parley.protocol.mentions import mentioned

MEMBERS = {"bob": 2, "ana": 1, "j.doe": 3, "cy-": 4}


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        ("hi @bob", (2,)),
        ("@BOB and @Ana", (1, 2)),
        ("@bob, @bob! @bob.", (2,)),
        ("ask @j.doe.", (3,)),
        ("@cy- here", (4,)),
        ("mail bob@bob.io", ()),
        ("word@bob", ()),
        ("@@bob", ()),
        ("@bobby @eve @bo", ()),
        ("(@ana)", (1,)),
        ("", ()),
    ],
)
def test_mentions_are_members_named_at_a_word_boundary(body: str, ids: tuple[int, ...]) -> None:
    assert mentioned(body, MEMBERS) == ids
