"""The base of every /api/v1/ view: API-key authentication and scopes, per-key throttling, the
body size limit, JSON only, Idempotency-Key on POST, cursor pagination."""

from django.conf import settings
from django.http import JsonResponse
from rest_framework.views import APIView

from . import schema as _schema  # noqa: F401 - registers the API key scheme
from .auth import ApiKeyAuthentication, HasScope
from .errors import BodyTooLarge, api_error_body
from .idempotency import idempotent_call
from .pagination import ApiCursorPagination
from .throttle import ApiKeyThrottle

# Scopes by method for views that do not say otherwise.
DEFAULT_SCOPES = {"GET": "read", "HEAD": "read", "OPTIONS": "read"}


class ApiMixin:
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasScope]
    throttle_classes = [ApiKeyThrottle]
    pagination_class = ApiCursorPagination
    required_scope = "write"
    scopes_by_method = DEFAULT_SCOPES

    def initial(self, request, *args, **kwargs):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.API_MAX_BODY_BYTES
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(limit)
        super().initial(request, *args, **kwargs)

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = self.pagination_class()
        return self._paginator

    def post_idempotent(self, request, handler, *args, **kwargs):
        return idempotent_call(self, request, handler, *args, **kwargs)


class ApiView(ApiMixin, APIView):
    pass


def api_not_found(request, rest=""):
    """Any other /api/v1/ path: the API's 404 (JSON), not the site's HTML page."""
    return JsonResponse(
        api_error_body(code="not_found", message=f"No API endpoint at {request.path}."),
        status=404,
    )
