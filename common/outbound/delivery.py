"""Delivering outgoing webhooks: claim, POST, record (run by the Celery tasks).

- A delivery is claimed with SELECT ... FOR UPDATE SKIP LOCKED and given a lease
  (WEBHOOK_LEASE_SECONDS) in one short transaction; the POST happens outside any transaction;
  its outcome is recorded only if the lease is still ours. A worker killed mid-POST leaves the
  delivery pending with a lease that runs out: it is claimed again (at least once, never lost).
- In order per ordering key per endpoint: a delivery is due only when no earlier delivery of the
  same endpoint and key is still pending (delivered or given up lets the next one go).
- A failure (no answer, or an answer other than 2xx) is retried with exponential backoff until
  the event is WEBHOOK_MAX_AGE old, then given up. WEBHOOK_PAUSE_AFTER_FAILURES failures in a
  row pause the endpoint (its deliveries wait until it is resumed).
"""

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import timedelta

import requests
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .models import DeliveryState, OutboundEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .signing import HEADER, signature_header
from .urls import GuardedAdapter, WebhookUrlError, webhook_url_check

logger = logging.getLogger(__name__)

EXCERPT_BYTES = 2000
COMPLETE_BATCH = 500
USER_AGENT = "wa-commerce-webhooks/1"

# type -> completer(payload) -> payload, for events whose data is finished at commit (the apps
# that emit them register it in their ready()).
_COMPLETERS: dict[str, Callable[[dict], dict]] = {}


def outbound_event_completer_register(*, type: str, completer: Callable[[dict], dict]) -> None:
    """Have events of `type` emitted with a first payload and completed by `completer(payload)`
    just after their transaction commits (or, should that process die, before delivery)."""
    _COMPLETERS[type] = completer


def event_needs_completion(type: str) -> bool:
    return type in _COMPLETERS


def outbound_events_complete(*, event_ids=None) -> int:
    """Complete these events (or every incomplete one); how many were completed here."""
    events = OutboundEvent.objects.filter(complete=False).order_by("created_at")
    if event_ids is not None:
        events = events.filter(pk__in=list(event_ids))
    else:
        events = events[:COMPLETE_BATCH]  # a sweep: the next run takes the rest
    done = 0
    for event in events:
        completer = _COMPLETERS.get(event.type)
        payload = event.payload
        if completer is not None:
            try:
                payload = completer(dict(event.payload))
            except Exception:
                logger.exception("Event %s could not be completed; sent as recorded", event.pk)
        done += OutboundEvent.objects.filter(pk=event.pk, complete=False).update(
            payload=payload, complete=True
        )
    return done


def delivery_body(event: OutboundEvent) -> bytes:
    body = {
        "id": str(event.id),
        "type": event.type,
        "created_at": event.created_at,
        "data": event.payload,
    }
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":")).encode("utf-8")


def backoff_delay(attempts: int) -> float:
    """Exponential backoff with jitter: base x 2^(attempts-1), capped, times 0.8-1.2."""
    base = settings.WEBHOOK_RETRY_BACKOFF_SECONDS * (2 ** max(attempts - 1, 0))
    return min(base, settings.WEBHOOK_RETRY_BACKOFF_MAX_SECONDS) * random.uniform(0.8, 1.2)


def delivery_claim(*, now=None) -> tuple[int, uuid.UUID] | None:
    """Take one due delivery for this worker: (id, lease token), or None when none is due."""
    now = now or timezone.now()
    earlier = WebhookDelivery.objects.filter(
        endpoint_id=OuterRef("endpoint_id"),
        ordering_key=OuterRef("ordering_key"),
        state=DeliveryState.PENDING,
        id__lt=OuterRef("id"),
    )
    with transaction.atomic():
        due = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                state=DeliveryState.PENDING,
                next_attempt_at__lte=now,
                endpoint__active=True,
                event__complete=True,
            )
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .exclude(Exists(earlier))
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:1]
        )
        ids = list(due)
        if not ids:
            return None
        token = uuid.uuid4()
        WebhookDelivery.objects.filter(pk=ids[0]).update(
            leased_until=now + timedelta(seconds=settings.WEBHOOK_LEASE_SECONDS),
            lease_token=token,
        )
    return ids[0], token


_session = None


def _http() -> requests.Session:
    global _session
    if _session is None:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment: the address check is ours
        adapter = GuardedAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _session = session
    return _session


def delivery_attempt(*, delivery_id: int, token: uuid.UUID) -> str:
    """POST the claimed delivery once and record the attempt; the delivery's state after."""
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    endpoint, event = delivery.endpoint, delivery.event
    body = delivery_body(event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Id": str(event.id),
        "X-Webhook-Event": event.type,
        HEADER: signature_header(secrets=endpoint.secrets_valid(), timestamp=timestamp, body=body),
    }
    started_at = timezone.now()
    began = time.monotonic()
    status_code, excerpt, error = None, "", ""
    try:
        url = webhook_url_check(endpoint.url)
        timeout = settings.WEBHOOK_TIMEOUT
        with _http().post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        ) as response:
            status_code = response.status_code
            excerpt = _excerpt(response)
    except WebhookUrlError as exc:
        error = exc.message
    except requests.RequestException as exc:
        error = _error_text(exc)
    duration_ms = int((time.monotonic() - began) * 1000)
    if status_code is not None and not 200 <= status_code < 300:
        error = f"HTTP {status_code}"
    return _attempt_record(
        delivery_id=delivery_id,
        token=token,
        attempt=WebhookAttempt(
            started_at=started_at,
            duration_ms=duration_ms,
            status_code=status_code,
            response_excerpt=excerpt,
            error=error[:500],
        ),
    )


def _excerpt(response) -> str:
    data = b""
    for chunk in response.iter_content(chunk_size=1024):
        data += chunk
        if len(data) >= EXCERPT_BYTES:
            break
    return data[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "")


def _error_text(exc: Exception) -> str:
    cause = exc
    while cause.__context__ is not None and not isinstance(cause, WebhookUrlError):
        cause = cause.__context__
    if isinstance(cause, WebhookUrlError):
        return cause.message
    if isinstance(exc, requests.Timeout):
        return f"Timed out after {settings.WEBHOOK_TIMEOUT:g} s ({type(exc).__name__})."
    return f"{type(exc).__name__}: {exc}"


def _attempt_record(*, delivery_id, token, attempt: WebhookAttempt) -> str:
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update().select_related("event").get(pk=delivery_id)
        )
        attempt.delivery = delivery
        attempt.save()
        if delivery.state != DeliveryState.PENDING or delivery.lease_token != token:
            return delivery.state  # our lease ran out and another worker took it over
        delivery.attempts += 1
        delivery.leased_until = delivery.lease_token = None
        if attempt.succeeded:
            delivery.state, delivery.finished_at, delivery.last_error = (
                DeliveryState.DELIVERED,
                now,
                "",
            )
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(failures_in_row=0)
        else:
            delivery.last_error = attempt.error
            give_up_at = delivery.event.created_at + timedelta(seconds=settings.WEBHOOK_MAX_AGE)
            if now >= give_up_at:
                delivery.state, delivery.finished_at = DeliveryState.GIVEN_UP, now
            else:
                retry_at = now + timedelta(seconds=backoff_delay(delivery.attempts))
                delivery.next_attempt_at = min(retry_at, give_up_at)
            _endpoint_failure(endpoint_id=delivery.endpoint_id, error=attempt.error, now=now)
        delivery.save()
    return delivery.state


def _endpoint_failure(*, endpoint_id: int, error: str, now) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.failures_in_row += 1
    fields = ["failures_in_row", "updated_at"]
    limit = settings.WEBHOOK_PAUSE_AFTER_FAILURES
    if endpoint.active and limit and endpoint.failures_in_row >= limit:
        endpoint.active = False
        endpoint.paused_at = now
        endpoint.paused_reason = (
            f"Paused after {endpoint.failures_in_row} failed deliveries in a row "
            f"(the last: {error})"
        )[:500]
        fields += ["active", "paused_at", "paused_reason"]
        logger.warning("Webhook endpoint %s paused: %s", endpoint.pk, endpoint.paused_reason)
    endpoint.save(update_fields=fields)


def deliveries_run(*, budget_seconds: float | None = None) -> dict:
    """Complete waiting events, then claim and attempt due deliveries one by one until none is
    due or the time budget is spent. Counts by outcome."""
    budget = settings.WEBHOOK_RUN_SECONDS if budget_seconds is None else budget_seconds
    stop_at = time.monotonic() + budget
    outbound_events_complete()
    counts = {"delivered": 0, "retry": 0, "given_up": 0}
    while time.monotonic() < stop_at:
        claimed = delivery_claim()
        if claimed is None:
            break
        state = delivery_attempt(delivery_id=claimed[0], token=claimed[1])
        counts["retry" if state == DeliveryState.PENDING else state] += 1
    return counts


def deliveries_due_exist(*, now=None) -> bool:
    now = now or timezone.now()
    return WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING, next_attempt_at__lte=now, endpoint__active=True
    ).exists()
