"""The one cursor format: opaque URL-safe tokens that round-trip a keyset position, are refused
by any other list, and never fail on garbage with anything but InvalidInput."""

import base64
import json
import re
import uuid

import pytest

from catalog.core.errors import InvalidInput
from catalog.core.pagination import MAX_SEQ, Keyset, seq_of

BY_ID = Keyset("test:by_id", uuid.UUID)
BY_SEQ = Keyset("test:by_seq", int)
BY_TUPLE = Keyset("test:by_tuple", str, str, uuid.UUID, uuid.UUID)
ID = uuid.UUID("01a201c3-1130-71c9-83b9-f34b2d41811d")
URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


def token(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def refused(keyset: Keyset, cursor: str, scope: object = "") -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        keyset.position(cursor, scope)
    assert caught.value.message.startswith("invalid cursor")
    assert caught.value.details == {"cursor": cursor}
    return caught.value


@pytest.mark.parametrize(
    ("keyset", "position"),
    [(BY_ID, ID), (BY_SEQ, 0), (BY_SEQ, 42), (BY_SEQ, MAX_SEQ), (BY_TUPLE, ("ds/é", "v1", ID, uuid.uuid4()))],
)
def test_a_cursor_round_trips_its_position_and_is_url_safe(keyset, position):
    cursor = keyset.cursor(position, scope="scope")
    assert URL_SAFE.match(cursor)
    assert keyset.position(cursor, scope="scope") == position


def test_a_uuid_key_given_as_text_is_the_same_cursor():
    assert BY_ID.cursor(str(ID)) == BY_ID.cursor(ID)


def test_a_cursor_from_another_list_or_scope_is_refused():
    assert "another list" in refused(BY_SEQ, BY_ID.cursor(ID)).message
    assert "another list" in refused(BY_ID, BY_ID.cursor(ID, scope="dataset-a"), scope="dataset-b").message
    refused(BY_TUPLE, BY_ID.cursor(ID))


@pytest.mark.parametrize(
    "cursor",
    [
        "!!", "=", "a", "é", "x" * 5000, "9223372036854775808", "42", "null", token(None), token({"a": 1}), token([]),
        token([2, "test:by_seq", "", 1]),  # a version this code does not know
        token([1, "test:by_seq", ""]), token([1, "test:by_seq", "", 1, 2]),  # the key's arity
        token([1, "test:by_seq", "", MAX_SEQ + 1]), token([1, "test:by_seq", "", 10**40]),  # overflow
        token([1, "test:by_seq", "", -1]), token([1, "test:by_seq", "", True]), token([1, "test:by_seq", "", "1"]),
        token([1, "test:by_seq", "", 1.5]), token([1, "test:by_seq", "", 1e400]),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(), base64.urlsafe_b64encode(b"[" * 100_000).decode()[:2000],
    ],
)  # fmt: skip
def test_garbage_and_overflow_are_invalid_input_naming_the_cursor(cursor):
    refused(BY_SEQ, cursor)


@pytest.mark.parametrize(
    "cursor", [token([1, "test:by_id", "", "zz" * 16]), token([1, "test:by_id", "", ID.hex[:-1]]),
               token([1, "test:by_id", "", str(ID)]), token([1, "test:by_id", "", 7])],
)  # fmt: skip
def test_a_malformed_uuid_key_is_invalid_input(cursor):
    refused(BY_ID, cursor)


def test_a_keyset_is_declared_once():
    with pytest.raises(ValueError):
        Keyset("test:by_id", uuid.UUID)


def test_a_plain_seq_is_range_checked():
    assert seq_of("0") == 0 and seq_of(str(MAX_SEQ)) == MAX_SEQ
    for cursor in ("9223372036854775808", "1" * 30, "-1", "²", "１", "1.0", ""):
        with pytest.raises(InvalidInput):
            seq_of(cursor)
