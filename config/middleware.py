"""Project-wide request checks that no view should have to repeat."""

from django.http import HttpResponse


class ContentLengthMiddleware:
    """Refuse a Content-Length header that is not a whole number of bytes with a 400.

    Django reads the header with int() when a view touches request.body, so "ten" or "1e3"
    would otherwise be a 500 (gunicorn refuses such requests itself; other servers pass them)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not (declared.isascii() and declared.isdigit()):
            return HttpResponse(
                "Content-Length is not a number of bytes.", status=400, content_type="text/plain"
            )
        return self.get_response(request)
