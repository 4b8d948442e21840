"""Typed errors with messages a user can read; the state layer turns them into toasts and field errors."""

from __future__ import annotations


class ServiceError(Exception):
    """Base class: `str(error)` is shown to the user as is."""


class NotFound(ServiceError):
    pass


class Forbidden(ServiceError):
    pass


class NotSignedIn(ServiceError):
    def __init__(self, message: str = "Please sign in to continue.") -> None:
        super().__init__(message)


class InvalidInput(ServiceError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class RateLimited(ServiceError):
    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Conflict(ServiceError):
    """Someone (or another tab) changed the thing first; the caller should reload and try again."""
