"""Domain errors of the emulator and their ARM error bodies.

Handlers and the store raise these; ``app.py`` turns them into the JSON that Azure Resource Manager sends,
``{"error": {"code": ..., "message": ...}}``, so that azure-ai-ml maps them to the same exception types
(404 -> ResourceNotFoundError, 409 -> ResourceExistsError, 401 -> ClientAuthenticationError) as against Azure.
"""

from __future__ import annotations

from typing import Any


class EmulatorError(Exception):
    """Base class: an HTTP status, an ARM error code and a message naming the resource or field."""

    status = 500
    code = "InternalServerError"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []

    def body(self) -> dict[str, Any]:
        """The ARM error body for this error."""
        return arm_error_body(self.code, self.message, self.details)


class NotFound(EmulatorError):
    """An addressed resource does not exist."""

    status = 404
    code = "ResourceNotFound"


class BadRequest(EmulatorError):
    """The request body or an argument is invalid; the message names the field."""

    status = 400
    code = "BadRequest"


class Conflict(EmulatorError):
    """The request conflicts with the current state (in use, already exists with other content)."""

    status = 409
    code = "Conflict"


class Unauthorized(EmulatorError):
    """Missing or wrong bearer token."""

    status = 401
    code = "AuthenticationFailed"


def arm_error_body(code: str, message: str, details: list[dict] | None = None) -> dict[str, Any]:
    """Build ``{"error": {...}}`` the way ARM does (``details`` only when there are some)."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}
