"""Domain errors. The API layers map each ``code`` to a status (REST) or extension code (GraphQL)."""

from typing import Any


class DomainError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(DomainError):
    code = "NOT_FOUND"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class Conflict(DomainError):
    code = "CONFLICT"


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class Unauthenticated(DomainError):
    code = "UNAUTHENTICATED"
