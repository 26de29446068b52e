"""The callback endpoint. The base view validates first (HTTP Basic, constant-time) and only then
parses; nothing is stored for a request that fails validation."""

import logging

from django.http import HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .auth import CallbackCredentialsError, basic_auth_matches, callback_credentials
from .parsers import CallbackParseError, callback_document, callback_events_parse
from .services import callback_events_process, callback_receipt_store

logger = logging.getLogger(__name__)


@method_decorator(csrf_exempt, name="dispatch")
class BasicAuthWebhookView(View):
    """Base for provider webhooks: `validate` (credentials) before `parse`, then `handle`."""

    http_method_names = ["post"]
    realm = "webhooks"

    def post(self, request, *args, **kwargs):
        try:
            credentials = callback_credentials()
        except CallbackCredentialsError:
            credentials = []
        if not credentials:
            logger.warning("%s refused: no callback credentials are configured", request.path)
            return JsonResponse(
                {"error": "not_configured", "message": "Callbacks are not configured here."},
                status=503,
            )
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not basic_auth_matches(header=header, credentials=credentials):
            response = JsonResponse(
                {"error": "unauthorized", "message": "Missing or wrong credentials."},
                status=401,
            )
            response["WWW-Authenticate"] = f'Basic realm="{self.realm}"'
            return response
        return self.handle(request)

    def handle(self, request):
        raise NotImplementedError


class KaleyraCallbackView(BasicAuthWebhookView):
    """Kaleyra status callbacks: stored raw (with the parse error, if any) in one transaction,
    acknowledged, then applied to the messages."""

    realm = "kaleyra-callbacks"

    def handle(self, request):
        body = request.body
        content_type = request.META.get("CONTENT_TYPE", "")
        try:
            document = callback_document(
                body=body, content_type=content_type, form=lambda: request.POST
            )
            events = callback_events_parse(document)
            reason = ""
        except CallbackParseError as exc:
            events, reason = [], exc.message
        receipt, created = callback_receipt_store(
            body=body,
            content_type=content_type,
            remote_addr=request.META.get("REMOTE_ADDR") or None,
            events=events,
            rejected_reason=reason,
        )
        if reason:
            return JsonResponse(
                {"error": CallbackParseError.code, "message": reason, "receipt": receipt.pk},
                status=400,
            )
        callback_events_process(events=created)
        return HttpResponse(status=200)
