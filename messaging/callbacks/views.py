"""The Kaleyra callback endpoint, on the provider-neutral webhook base (common.webhooks):
authenticated first (HTTP Basic, constant-time; nothing is stored for a request that fails),
the raw body read up to KALEYRA_CALLBACK_MAX_BODY_BYTES, checked by the parser (no database) and
stored with the outcome in one INSERT. Its events are stored and applied by a worker
(CALLBACKS_APPLY=queued, the default) or before the answer (inline): messaging.callbacks.intake.

Answers: 200 (every event stored; those of a type nobody handles yet too), 400 with the reason
(a malformed body, stored with the reason), 413 naming the limit (stored truncated), 401/503."""

import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from common.webhooks import RawBody, WebhookView

from .auth import kaleyra_callback_auth
from .intake import callback_receipt_received
from .parsers import CallbackParseError, callback_document, callback_events_parse
from .services import callback_receipt_store

logger = logging.getLogger(__name__)


class KaleyraCallbackView(WebhookView):
    """Kaleyra's callback profile: delivery statuses, payment updates, incoming messages and
    template-status changes at one URL."""

    auth = kaleyra_callback_auth()

    @staticmethod
    def max_body_bytes() -> int:
        return settings.KALEYRA_CALLBACK_MAX_BODY_BYTES

    def receive(self, request, raw: RawBody):
        events, reason, failure = [], "", None
        if raw.truncated:
            reason = raw.too_large_message
        else:
            try:
                document = callback_document(body=raw.data, content_type=raw.content_type)
                events = callback_events_parse(document)
            except CallbackParseError as exc:
                reason = exc.message
            except Exception as exc:  # a parser bug: the body is kept all the same, then 500
                failure = exc
        receipt, _ = callback_receipt_store(
            body=raw.data,
            content_type=raw.content_type,
            remote_addr=request.META.get("REMOTE_ADDR") or None,
            size=raw.size,
            truncated=raw.truncated,
            rejected_reason=reason,
            waiting_events=None if reason else len(events),
        )
        if raw.truncated:
            logger.warning("Callback %s over the body limit: stored truncated", receipt.pk)
            return self.too_large(raw, receipt=receipt.pk)
        if failure is not None:
            raise failure
        if reason:
            return JsonResponse(
                {"error": CallbackParseError.code, "message": reason, "receipt": receipt.pk},
                status=400,
            )
        callback_receipt_received(receipt=receipt)
        return HttpResponse(status=200)
