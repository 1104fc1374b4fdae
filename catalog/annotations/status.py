"""An annotation's review status, in a module of its own so that the CLI can name the statuses
(``release --status``) without loading the pydantic schemas."""

from enum import StrEnum


class Status(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
