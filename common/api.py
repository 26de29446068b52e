"""The REST API's edge: every error answered in one JSON shape, {"code", "message", "details"?}.

Set as REST_FRAMEWORK["EXCEPTION_HANDLER"]. A DomainError is answered with its http_status (422
for a refusal by a rule, 400 for a request not understood) and its code and message; DRF's own
errors (validation, authentication, not found, throttling ...) keep their status and get the
same shape, the field errors under `details`.
"""

from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import DomainError

INVALID_MESSAGE = "The request is not valid: see details."


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(
            api_error_body(code=exc.code, message=exc.message, details=exc.details),
            status=exc.http_status,
        )
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc.detail, list | dict):
        body = api_error_body(code=exc.default_code, message=INVALID_MESSAGE, details=exc.detail)
    else:
        body = api_error_body(code=exc.detail.code or exc.default_code, message=str(exc.detail))
    response.data = body
    return response


def api_error_body(*, code: str, message: str, details=None) -> dict:
    body = {"code": code, "message": message}
    if details:
        body["details"] = details
    return body
