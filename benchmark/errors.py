"""Domain errors. The API's exception handler maps them to ``{"message", "extra"}`` responses."""

from typing import Any


class ApplicationError(Exception):
    """A problem a person can fix, reported with a message and structured details."""

    status_code = 400

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class PayloadTooLarge(ApplicationError):
    status_code = 413


class SubmissionInvalid(ApplicationError):
    """The zip does not match the track; ``extra["problems"]`` lists every problem."""


class MetadataInvalid(ApplicationError):
    """A submission's metadata breaks a rule; ``extra["fields"]`` maps each bad field to its
    problems, as the API's serializer errors do."""


class NotOwner(ApplicationError):
    """Only the owner of a row may do this."""

    status_code = 403


class QuotaExceeded(ApplicationError):
    status_code = 429


class PhaseClosed(ApplicationError):
    status_code = 403


class NotReady(ApplicationError):
    """The track's zoo is not built yet (or the operation does not fit its current state)."""

    status_code = 409
