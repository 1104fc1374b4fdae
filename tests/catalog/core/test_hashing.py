"""Content hashes: canonical, salted, and independent of the raw text once computed."""

import json

import pytest
import rfc8785

from catalog.core.hashing import canonical_json, content_hash, digest_strings, text_digest


def test_canonical_json_is_rfc8785():
    value = {"b": [1, "é", None], "a": {"z": True, "y": 1.5}}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json(value) == b'{"a":{"y":1.5,"z":true},"b":[1,"\xc3\xa9",null]}'


def test_key_order_does_not_change_the_hash():
    salt = b"s" * 32
    assert content_hash({"a": "x", "b": "y"}, salt) == content_hash(json.loads('{"b": "y", "a": "x"}'), salt)


def test_texts_enter_the_hash_only_as_salted_digests():
    salt = b"s" * 32
    digested = digest_strings({"messages": [{"role": "user", "content": "my secret"}]}, salt)
    assert "my secret" not in json.dumps(digested)
    assert digested["messages"][0]["content"] == text_digest("my secret", salt)
    assert text_digest("my secret", salt) != text_digest("my secret", b"t" * 32)


def test_a_hash_changes_with_any_text():
    salt = b"s" * 32
    assert content_hash(["one"], salt) != content_hash(["one "], salt)


def test_the_fast_encoder_writes_exactly_what_rfc8785_writes():
    awkward = {
        "text": "tab\t newline\n quote\" backslash\\ nul\x00 del\x7f é 東京 😀 \u2028 \ufeff",
        "numbers": [0, -1, 2**53 - 1, True, False, None],
        "nested": [{"b": "x", "a": ["y", {"z": ""}]}],
    }
    assert canonical_json(awkward) == rfc8785.dumps(awkward)
    for outside_the_fast_path in ({"é": "x", "e": "y", "😀": 1, "\uff61": 2}, {"f": 1e21, "g": 0.1 + 0.2}):
        assert canonical_json(outside_the_fast_path) == rfc8785.dumps(outside_the_fast_path)


def test_integers_beyond_what_json_numbers_hold_are_refused():
    with pytest.raises(rfc8785.IntegerDomainError):
        canonical_json({"n": 2**53})
