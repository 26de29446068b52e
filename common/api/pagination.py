"""Cursor pagination for every list: stable under inserts, newest first."""

from django.conf import settings
from rest_framework.pagination import CursorPagination

from .errors import ApiError


class ApiCursorPagination(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        self.page_size = settings.API_PAGE_SIZE
        raw = request.query_params.get(self.page_size_query_param)
        if raw is not None and not (raw.isdigit() and 1 <= int(raw) <= self.max_page_size):
            raise ApiError(
                f"page_size must be a number from 1 to {self.max_page_size}.",
                code="invalid",
                status_code=400,
                details=[
                    {
                        "field": "page_size",
                        "code": "invalid",
                        "message": f"Use 1 to {self.max_page_size}.",
                    }
                ],
            )
        return super().get_page_size(request)

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception:  # DRF answers 404 for a bad cursor: it is a bad request
            raise ApiError(
                "The cursor is not valid: use the next or previous link as given.",
                code="invalid",
                status_code=400,
                details=[{"field": "cursor", "code": "invalid", "message": "Not a cursor."}],
            ) from None
