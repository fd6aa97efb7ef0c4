from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.protocol import validation
from parley.protocol.errors import ProtocolError


def rejects(call: object, *args: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


def test_body_keeps_newlines_and_tabs_but_not_other_controls() -> None:
    assert validation.body("a\n\tb") == "a\n\tb"
    for bad in ("a\x00", "a\x1b[31m", "a\x7f", "a\u2028b", "a\x85b"):
        assert "control" in rejects(validation.body, bad).message


def test_body_length_counts_after_trimming() -> None:
    assert validation.body(" " * 10 + "a" * 4000 + " " * 10) == "a" * 4000
    rejects(validation.body, "a" * 4001)
    rejects(validation.body, " \n\t ")
    rejects(validation.body, 5)


def test_client_id_optional_or_required() -> None:
    assert validation.client_id(None, required=False) is None
    assert validation.client_id("x" * 64, required=True) == "x" * 64
    with pytest.raises(ProtocolError):
        validation.client_id(None, required=True)
    with pytest.raises(ProtocolError):
        validation.client_id("", required=False)


def test_usernames_are_lowercased_and_restricted() -> None:
    assert validation.username("Ana.B_1-x") == "ana.b_1-x"
    for bad in ("ab", "a" * 33, "ana b", "ána", 7):
        rejects(validation.username, bad)


def test_passwords_and_names() -> None:
    assert validation.password("12345678") == "12345678"
    rejects(validation.password, "1234567")
    rejects(validation.password, "x" * 257)
    assert validation.display_name(None, "ana") == "ana"
    assert validation.display_name("  Ana  ", "ana") == "Ana"
    rejects(validation.display_name, "", "ana")
    rejects(validation.display_name, 3, "ana")
    assert validation.room_name(" Team ") == "Team"
    rejects(validation.room_name, "")
    rejects(validation.room_name, None)


def test_ids_are_positive_decimal_strings() -> None:
    assert validation.object_id("42", "room") == 42
    for bad in ("0", "-1", "1.0", "١٢", "9" * 20, 42, None):
        rejects(validation.object_id, bad, "room")


@given(st.text(max_size=5000))
def test_accepted_bodies_are_trimmed_bounded_and_clean(text: str) -> None:
    try:
        result = validation.body(text)
    except ProtocolError:
        return
    assert result == result.strip()
    assert 1 <= len(result) <= validation.MAX_BODY
    assert all(c in "\n\t" or (ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F) for c in result)
