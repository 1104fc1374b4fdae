"""Content hashes: sha256 over RFC 8785 canonical JSON, with text replaced by salted digests.

Hashing a salted digest of each text instead of the text itself means that erasing raw text
later (GDPR) leaves every stored hash, and so every chain built on them, verifiable.
"""

import hashlib
from typing import Any

import rfc8785


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(value: Any) -> bytes:
    return rfc8785.dumps(value)


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
