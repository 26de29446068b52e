"""The REST API's edge: every error answered in one JSON shape, {"code", "message", "details"}.

Set as REST_FRAMEWORK["EXCEPTION_HANDLER"]. A DomainError is answered with its http_status (400
for a body not understood, 409 for a refusal by the state of things) and its
code and message; DRF's own errors (validation, authentication, not found, throttling ...) keep
their status and get the same shape. `details` is always a list of {"field", "code",
"message"}: a field named by its path as sent (`items[0].quantity`).
"""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ..errors import DomainError

INVALID_MESSAGE = "The request is not valid: see details."


class ApiError(exceptions.APIException):
    """An answer of the API's own (body too large, bad cursor ...): status, code, message."""

    def __init__(self, message: str, *, code: str, status_code: int, details=None):
        super().__init__(message, code=code)
        self.status_code = status_code
        self.details = details or []


class BodyTooLarge(ApiError):
    def __init__(self, limit: int | None = None):
        super().__init__(
            f"The request body is larger than {limit} bytes."
            if limit
            else "The request body is too large.",
            code="too_large",
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            api_error_body(code=exc.code, message=exc.message, details=exc.details),
            status=exc.http_status,
        )
    if isinstance(exc, ApiError):
        return Response(
            api_error_body(code=exc.detail.code, message=str(exc.detail), details=exc.details),
            status=exc.status_code,
        )
    if isinstance(exc, RequestDataTooBig):
        return api_exception_handler(BodyTooLarge(), context)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ParseError):
        body = api_error_body(code="parse_error", message=str(exc.detail))
    elif isinstance(exc.detail, list | dict):
        body = api_error_body(
            code=_code(exc), message=INVALID_MESSAGE, details=_field_details(exc.detail)
        )
    else:
        body = api_error_body(code=exc.detail.code or _code(exc), message=str(exc.detail))
    response.data = body
    return response


def _code(exc) -> str:
    return "invalid" if isinstance(exc, exceptions.ValidationError) else exc.default_code


def api_error_body(*, code: str, message: str, details=None) -> dict:
    if isinstance(details, dict):
        details = _field_details(details)
    return {"code": code, "message": message, "details": list(details or [])}


def _field_details(detail, path: str = "") -> list[dict]:
    """DRF's nested error structure as [{"field", "code", "message"}] with paths as sent."""
    if isinstance(detail, dict):
        found = []
        for key, inner in detail.items():
            name = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            found += _field_details(inner, name)
        return found
    if isinstance(detail, list):
        if all(not isinstance(inner, dict | list) for inner in detail):
            return [_one(path, inner) for inner in detail]
        found = []
        for index, inner in enumerate(detail):
            found += _field_details(inner, f"{path}[{index}]")
        return found
    return [_one(path, detail)]


def _one(path: str, error) -> dict:
    return {
        "field": path or "body",
        "code": getattr(error, "code", None) or "invalid",
        "message": str(error),
    }
