"""The REST API's shared edge (/api/v1/): errors (errors.py), API keys and scopes (auth.py),
per-key throttling (throttle.py), Idempotency-Key (idempotency.py), cursor pagination
(pagination.py) and the base views (views.py). Each app's endpoints live in its own api.py."""

from .errors import ApiError, api_error_body, api_exception_handler

__all__ = ["ApiError", "api_error_body", "api_exception_handler"]
