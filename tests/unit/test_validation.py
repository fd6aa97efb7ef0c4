from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.api.openapi import document
from parley.protocol import validation
from parley.protocol.errors import ProtocolError

HOSTILE_NUMBERS = (
    "\u00b2",  # str.isdigit() says yes, int() raises
    "\u0661\u0662",  # Arabic-Indic 12: isdigit() and int() both say yes
    "\uff11",  # a full-width 1
    "9" * 5000,  # int() refuses past 4,300 digits
    "9223372036854775808",  # one past a BIGINT
    "-1",
    "+1",
    " 1",
    "1 ",
    "1\n",
    "1.0",
    "1e3",
    "0x1f",
    "1_000",
    "",
)
ONE_LINE_REFUSED = (
    "\x00",
    "nul\x00id",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\x9f",
    "a\tb",
    "a\nb",
    "a\rb",
    "\u2028",
    "\u2029",
    "\u202eevil",
    "\u2066isolate",
    "\u200fmark",
    "\u061c",
    "\ud800",
)


def rejects(call: Callable[..., object], *args: object) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        call(*args)
    assert caught.value.code == "invalid_input"
    return caught.value


def test_body_keeps_newlines_and_tabs_but_not_other_controls() -> None:
    assert validation.body("a\n\tb") == "a\n\tb"
    for bad in ("a\x00", "a\x1b[31m", "a\x7f", "a\u2028b", "a\x85b", "a\ud800"):
        assert "control" in rejects(validation.body, bad).message


def test_a_control_at_either_end_is_refused_not_trimmed_away() -> None:
    for bad in ("hello\x1f", "\x1chello", "hello\x85"):  # str.strip() removes these
        rejects(validation.body, bad)
        rejects(validation.display_name, bad, "ana")
        rejects(validation.room_name, bad)


def test_body_length_counts_every_character_sent() -> None:
    assert validation.body(" a ") == "a"
    assert validation.body("a" * 4000) == "a" * 4000
    rejects(validation.body, "a" * 4000 + " ")
    rejects(validation.body, "a" * 4001)
    rejects(validation.body, " \n\t ")
    rejects(validation.body, 5)


def test_bodies_may_hold_bidi_text() -> None:
    shalom = "\u202b\u05e9\u05dc\u05d5\u05dd\u202c hi"  # right-to-left embedding
    assert validation.body(shalom) == shalom


def test_client_id_is_one_line_of_text_kept_as_sent() -> None:
    assert validation.client_id(None, required=False) is None
    assert validation.client_id("x" * 64, required=True) == "x" * 64
    assert validation.client_id(" c-1 ☃ ", required=True) == " c-1 ☃ "
    with pytest.raises(ProtocolError):
        validation.client_id(None, required=True)
    for bad in ("", "x" * 65, 7, *ONE_LINE_REFUSED):
        with pytest.raises(ProtocolError):
            validation.client_id(bad, required=False)


def test_tokens_are_bounded_and_refuse_controls() -> None:
    assert validation.token("eyJ.abc-_", "token") == "eyJ.abc-_"
    for bad in ("", "x" * (validation.MAX_TOKEN + 1), None, 5, *ONE_LINE_REFUSED):
        assert "token" in rejects(validation.token, bad, "token").message


@pytest.mark.parametrize("text", HOSTILE_NUMBERS)
def test_numbers_as_text_are_ascii_digits_and_bounded(text: str) -> None:
    assert "whole number" in rejects(validation.whole_number, text, "limit").message
    assert "id string" in rejects(validation.object_id, text, "room").message


def test_numbers_as_text_within_their_bounds() -> None:
    assert validation.whole_number("0", "after") == 0
    assert validation.whole_number("007", "after") == 7
    assert validation.whole_number(str(validation.MAX_ID), "after") == validation.MAX_ID
    assert validation.whole_number("100", "limit", 1, 100) == 100
    for bad in ("0", "101"):
        rejects(validation.whole_number, bad, "limit", 1, 100)
    assert validation.object_id("42", "room") == 42
    assert validation.object_id(str(validation.MAX_ID), "room") == validation.MAX_ID
    for not_an_id in ("0", 42, None, ["1"]):
        rejects(validation.object_id, not_an_id, "room")
    assert rejects(validation.object_id, "x", "room", "c9").client_id == "c9"


def test_seqs_are_json_integers_in_range() -> None:
    assert validation.seq(0) == 0
    assert validation.seq(validation.MAX_ID) == validation.MAX_ID
    for bad in (True, False, 1.0, 1e3, -1, validation.MAX_ID + 1, "1", None):
        rejects(validation.seq, bad)


@given(st.text(max_size=30))
def test_accepted_numbers_are_exactly_the_ascii_decimal_ones(text: str) -> None:
    try:
        number = validation.whole_number(text, "n")
    except ProtocolError:
        assert not (re.fullmatch("[0-9]+", text) and int(text) <= validation.MAX_ID)
    else:
        assert re.fullmatch("[0-9]{1,19}", text) and number == int(text)


def test_usernames_are_ascii_before_they_are_lowered() -> None:
    assert validation.username("Ana.B_1-x") == "ana.b_1-x"
    for bad in ("ab", "a" * 33, "ana b", "ána", 7, None, "\u212aate", "ana\x00", "ana\n"):
        rejects(validation.username, bad)


def test_passwords_take_any_text_but_controls() -> None:
    assert validation.password("12345678") == "12345678"
    assert validation.password("correct horse ☃ \u202e 🐎") == "correct horse ☃ \u202e 🐎"
    for bad in ("1234567", "x" * 257, None, 12345678):
        assert "8 to 256" in rejects(validation.password, bad).message
    for bad in ("password\x00", "pass\tword", "password\n", "pass\x85word", "password\ud800"):
        assert "control" in rejects(validation.password, bad).message


def test_display_and_room_names_are_one_trimmed_line() -> None:
    assert validation.display_name(None, "ana") == "ana"
    assert validation.display_name("  Ana  ", "ana") == "Ana"
    assert validation.display_name("👩\u200d💻 Ana", "ana") == "👩\u200d💻 Ana"  # ZWJ emoji stay
    assert validation.room_name(" Team ") == "Team"
    assert validation.room_name("x" * 80) == "x" * 80
    for bad in ("", "   ", "\u3000", 3, *ONE_LINE_REFUSED):
        rejects(validation.display_name, bad, "ana")
        rejects(validation.room_name, bad)
    rejects(validation.display_name, "x" * 65, "ana")
    rejects(validation.room_name, "x" * 81)
    rejects(validation.room_name, None)


def test_search_prefixes() -> None:
    assert validation.search_prefix("") == ""
    assert validation.search_prefix(" Ana ") == "ana"
    assert validation.search_prefix("x" * 32) == "x" * 32
    for bad in ("x" * 33, *ONE_LINE_REFUSED):
        rejects(validation.search_prefix, bad)


def test_members_of_a_new_room() -> None:
    assert validation.members(["Bob", "cyd", "bob"], direct=False) == ["bob", "cyd"]
    assert validation.members([], direct=False) == []
    assert validation.members(["bob"], direct=True) == ["bob"]
    for names, direct in (
        ([], True),
        (["bob", "bob"], True),
        (["bob", "cy"], True),
        (["bob"] * 1001, False),
        ("bob", False),
        (None, False),
        ([7], False),
        (["nul\x00id"], False),
    ):
        with pytest.raises(ProtocolError):
            validation.members(names, direct=direct)


def test_whitespace_is_what_strip_removes() -> None:
    spelled = re.compile(f"[{validation.WHITESPACE}]")
    assert {c for c in map(chr, range(sys.maxunicode + 1)) if spelled.fullmatch(c)} == {
        c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()
    }


def _schema(pointer: str) -> Any:
    """The schema at a JSON pointer of /openapi.json."""
    node: Any = document()
    for part in pointer.strip("/").split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part.replace("~1", "/")]
    return node


_REGISTER = "/paths/~1api~1auth~1register/post/requestBody/content/application~1json/schema"
_SEND = "/paths/~1api~1rooms~1{room}~1messages/post/requestBody/content/application~1json/schema"
_GROUP = "/paths/~1api~1rooms/post/requestBody/content/application~1json/schema/oneOf/0"


def _accepts(rule: Callable[[Any], object], value: Any) -> bool:
    try:
        rule(value)
    except ProtocolError:
        return False
    return True


_REFRESH = "/paths/~1api~1auth~1refresh/post/requestBody/content/application~1json/schema"

DOCUMENTED: dict[str, tuple[str, Callable[[Any], object]]] = {
    "username": (f"{_REGISTER}/properties/username", validation.username),
    "password": (f"{_REGISTER}/properties/password", validation.password),
    "display_name": (
        f"{_REGISTER}/properties/display_name",
        lambda v: validation.display_name(v, "x"),
    ),
    "room_name": (f"{_GROUP}/properties/name", validation.room_name),
    "body": (f"{_SEND}/properties/body", validation.body),
    "client_id": (
        f"{_SEND}/properties/client_id",
        lambda v: validation.client_id(v, required=False),
    ),
    "refresh_token": (
        f"{_REFRESH}/properties/refresh_token",
        lambda v: validation.token(v, "refresh_token"),
    ),
    "q": ("/paths/~1api~1users/get/parameters/0/schema", validation.search_prefix),
}
"""Each text field's schema in the OpenAPI document, and the rule the server applies."""

_SAMPLES = st.text(
    st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from("\x00\t\n \x1f\x85\u00a0\u2028\u202e\u3000\ufeff\u212aa1_.-"),
    ),
    max_size=90,
)


@pytest.mark.parametrize(("pointer", "rule"), DOCUMENTED.values(), ids=DOCUMENTED.keys())
@given(value=_SAMPLES | st.sampled_from(["x" * 4000, "x" * 4001, " " + "x" * 3999]))
def test_the_document_states_each_text_rule_exactly(
    pointer: str, rule: Callable[[Any], object], value: str
) -> None:
    """A client that validates against /openapi.json gets the server's verdict."""
    assert jsonschema_rs.validator_for(_schema(pointer)).is_valid(value) == _accepts(rule, value)


def test_file_names_are_one_line_without_a_path() -> None:
    assert validation.file_name(" notes.pdf ") == "notes.pdf"
    for bad in (None, "", "  ", "a/b", "a\\b", "..", "a\0b", "a\u202eb", "x" * 256):
        with pytest.raises(ProtocolError):
            validation.file_name(bad)


def test_attachments_are_distinct_ids_and_allow_an_empty_body() -> None:
    assert validation.attachments(None) == ()
    assert validation.attachments(["5", "6"]) == (5, 6)
    for bad in ("5", [5], ["5", "5"], ["0"], [str(i) for i in range(1, 12)]):
        with pytest.raises(ProtocolError):
            validation.attachments(bad, "c1")
    assert validation.body("", empty=True) == ""
    assert validation.body(None, empty=True) == ""
    assert validation.body(" hi ", empty=True) == "hi"
    with pytest.raises(ProtocolError):
        validation.body("", "c1")
