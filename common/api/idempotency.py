"""`Idempotency-Key` on a POST: the same key with the same request gets the stored answer and
nothing is done twice; the same key with another request is a 409.

The record is written in the same transaction as the work it answers: a second request with the
key waits for the first (its INSERT meets the unique constraint), then gets the first's answer.
Server errors (5xx) are not kept, so a retry after one runs again.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from ..models import IdempotencyRecord
from .errors import ApiError, api_error_body

HEADER = "HTTP_IDEMPOTENCY_KEY"
KEY_MAX_LENGTH = 255


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def _fresh(queryset):
    since = timezone.now() - timedelta(seconds=settings.API_IDEMPOTENCY_TTL)
    return queryset.filter(created_at__gte=since)


def _replay(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        raise ApiError(
            "This Idempotency-Key was used with a different request.",
            code="idempotency_conflict",
            status_code=409,
        )
    response = Response(record.body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent_call(view, request, handler, *args, **kwargs):
    """Run `handler` once per (API key, Idempotency-Key); answer repeats from the record."""
    key = request.META.get(HEADER)
    if key is None or request.auth is None:
        return handler(request, *args, **kwargs)
    if not key or len(key) > KEY_MAX_LENGTH:
        raise ApiError(
            f"Idempotency-Key must be 1 to {KEY_MAX_LENGTH} characters.",
            code="invalid",
            status_code=400,
            details=[{"field": "Idempotency-Key", "code": "invalid", "message": "Bad length."}],
        )
    fingerprint = _fingerprint(request)
    records = IdempotencyRecord.objects.filter(api_key=request.auth, key=key)
    found = _fresh(records).first()
    if found is not None:
        return _replay(found, fingerprint)
    try:
        with transaction.atomic():
            records.delete()  # an expired one
            record = IdempotencyRecord.objects.create(
                api_key=request.auth, key=key, fingerprint=fingerprint, status_code=0
            )
            try:
                with transaction.atomic():
                    response = handler(request, *args, **kwargs)
            except Exception as exc:  # answered as the view would answer it
                response = view.handle_exception(exc)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.body = response.data
            record.save(update_fields=["status_code", "body"])
            return response
    except IntegrityError:
        # Another request with this key committed first: its answer is ours.
        return _replay(records.get(), fingerprint)


def idempotency_records_purge(*, now=None) -> int:
    """Delete the answers older than API_IDEMPOTENCY_TTL; how many."""
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.API_IDEMPOTENCY_TTL)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=since).delete()
    return deleted


__all__ = ["api_error_body", "idempotency_records_purge", "idempotent_call"]
