"""The Kaleyra callback endpoint, on the provider-neutral webhook base (common.webhooks):
authenticated first (HTTP Basic, constant-time; nothing is stored for a request that fails),
the raw body read up to KALEYRA_CALLBACK_MAX_BODY_BYTES and stored, then parsed, then each
event dispatched by its type.

Answers: 200 (every event stored; those of a type nobody handles yet too), 400 with the reason
(a malformed body, stored with the reason), 413 naming the limit (stored truncated), 401/503."""

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from common.webhooks import RawBody, WebhookView

from .auth import kaleyra_callback_auth
from .events import callback_events_dispatch
from .parsers import CallbackParseError, callback_document, callback_events_parse
from .services import callback_receipt_outcome_store, callback_receipt_store

logger = logging.getLogger(__name__)


class KaleyraCallbackView(WebhookView):
    """Kaleyra's callback profile: delivery statuses, payment updates, incoming messages and
    template-status changes at one URL."""

    auth = kaleyra_callback_auth()

    @staticmethod
    def max_body_bytes() -> int:
        return settings.KALEYRA_CALLBACK_MAX_BODY_BYTES

    def receive(self, request, raw: RawBody):
        receipt, _ = callback_receipt_store(
            body=raw.data,
            content_type=raw.content_type,
            remote_addr=request.META.get("REMOTE_ADDR") or None,
            size=raw.size,
            truncated=raw.truncated,
            rejected_reason=raw.too_large_message if raw.truncated else "",
        )
        if raw.truncated:
            logger.warning("Callback %s over the body limit: stored truncated", receipt.pk)
            return self.too_large(raw, receipt=receipt.pk)
        try:
            document = callback_document(body=raw.data, content_type=raw.content_type)
            events, reason = callback_events_parse(document), ""
        except CallbackParseError as exc:
            events, reason = [], exc.message
        pending = callback_receipt_outcome_store(
            receipt=receipt, events=events, rejected_reason=reason
        )
        if reason:
            return JsonResponse(
                {"error": CallbackParseError.code, "message": reason, "receipt": receipt.pk},
                status=400,
            )
        callback_events_dispatch(events=pending)
        return HttpResponse(status=200)
