"""Content hashes: sha256 over RFC 8785 canonical JSON, with text replaced by salted digests.

Hashing a salted digest of each text instead of the text itself means that erasing raw text
later (GDPR) leaves every stored hash, and so every chain built on them, verifiable.
"""

import hashlib
import json
from typing import Any

import rfc8785

# For plain values (see _plain) the standard library's C encoder, set up like this, writes exactly
# the bytes of rfc8785.dumps, several times faster: no whitespace, keys sorted, text as UTF-8 with
# only '"', '\\' and control characters escaped, the same way.
_FAST_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True, check_circular=False)
_SAFE_INT = 2**53 - 1  # rfc8785 refuses integers beyond this; it must see them to raise its error


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON: by the fast encoder for plain values, otherwise by rfc8785 itself."""
    if _plain(value):
        try:
            return _FAST_JSON.encode(value).encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: rfc8785 raises its own error for it below
            pass
    return rfc8785.dumps(value)


def _plain(value: Any) -> bool:
    """Exactly dicts with ASCII keys, lists, str, bool, None and safe ints: where both encoders agree.

    Floats are left to rfc8785 (ECMAScript number formatting). Keys must be ASCII because
    ``sort_keys`` orders by code point and RFC 8785 by UTF-16 code unit; on ASCII the two agree.
    """
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_SAFE_INT <= value <= _SAFE_INT
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _plain(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _plain(item):
                return False
        return True
    return False


def chain_sha256(previous_sha256: str, seq: int, content_sha256: str) -> str:
    """One link of the audit chain: an entry's content hash bound to its position and its predecessor.

    The databases compute the same (PostgreSQL with ``sha256()``, SQLite with this function
    registered on each connection), so an append is one statement that reads and moves the head.
    """
    return hashlib.sha256(f"{previous_sha256}:{seq}:{content_sha256}".encode()).hexdigest()


def text_digest(text: str, salt: bytes) -> str:
    return "sha256:" + hashlib.sha256(salt + text.encode("utf-8")).hexdigest()


def digest_strings(value: Any, salt: bytes) -> Any:
    """Replace every string value (not mapping keys) in a JSON tree by its salted digest."""
    if isinstance(value, str):
        return text_digest(value, salt)
    if isinstance(value, dict):
        return {key: digest_strings(item, salt) for key, item in value.items()}
    if isinstance(value, list):
        return [digest_strings(item, salt) for item in value]
    return value


def content_hash(value: Any, salt: bytes) -> str:
    """The sha256 of a JSON value whose texts are salted digests."""
    return sha256_hex(canonical_json(digest_strings(value, salt)))
