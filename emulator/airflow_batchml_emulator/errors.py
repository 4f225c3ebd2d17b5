"""Every error the emulator raises, and the bodies Azure sends for them.

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
    """An addressed resource does not exist.

    ``inner`` gives the management front end's shape, recorded for a missing batch endpoint
    (batch_services/e2etests/test_batch_endpoint.pyTestBatchEndpointtest_batch_endpoint_create.json) and
    schedule (schedule/e2etests/test_schedule.pyTestScheduletest_schedule_lifetime.json): code ``UserError``,
    ``details: []`` and an ``InnerError`` entry in ``additionalInfo`` whose codes nest, ``NotFound`` outermost
    (``("NotFound", "EndpointNotFound")``). Missing model versions answer ``UserError`` with one entry in
    ``details`` instead (pass ``code`` and ``details``).
    """

    status = 404
    code = "ResourceNotFound"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict] | None = None,
        inner: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message, code=code or ("UserError" if inner else None), details=details)
        self.inner = inner

    def body(self) -> dict[str, Any]:
        if not self.inner and not self.details:
            return super().body()
        error: dict[str, Any] = {"code": self.code, "message": self.message, "details": self.details}
        if self.inner:
            value: dict[str, Any] | None = None
            for code in reversed(self.inner):
                value = {"code": code, "innerError": value}
            error["additionalInfo"] = [{"type": "InnerError", "info": {"value": value}}]
        return {"error": error}


def asset_detail(code: str, message: str) -> dict[str, Any]:
    """One entry of ``error.details`` as recorded for missing models (``ModelNotFound``, ``NoSuchModelRegistered``)."""
    return {"code": code, "message": message, "details": [], "additionalInfo": []}


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


class AevaError(EmulatorError):
    """An error of the v1 pipelines service, in its own body shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code=code)
        self.status = status

    def body(self) -> dict[str, Any]:
        return {"Error": {"Code": self.code, "Message": self.message}}


class BindingError(ValueError):
    """A request or component the pipeline cannot run with; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
