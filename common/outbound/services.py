"""Outgoing webhooks: emitting events, and the endpoints' life (create, rotate, pause, resume)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import DomainError
from .delivery import event_needs_completion, outbound_events_complete
from .models import (
    EVENT_TYPE_NAMES,
    DeliveryState,
    OutboundEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from .selectors import webhook_endpoint_events
from .signing import secret_generate
from .tasks import outbound_deliver_kick
from .urls import webhook_url_check


class WebhookEndpointError(DomainError):
    code = "webhook_endpoint_invalid"
    default_message = "This webhook endpoint cannot be saved."


def outbound_event_types_subscribed() -> set[str]:
    """The event types some endpoint takes (one query): emitters of many events at once ask
    this first and build nothing when nobody listens."""
    types = set()
    for _, events in webhook_endpoint_events():
        types.update(events or [])
    return types


def outbound_event_emit(*, type: str, payload, ordering_key: str) -> OutboundEvent | None:
    """Record the event and one pending delivery per endpoint subscribed to its type, inside the
    caller's transaction (rolled back with it); a worker is kicked once it commits. Nothing is
    recorded when no endpoint takes the type. Never calls out.

    `payload` is the body's "data": a dict, or a function returning it (called only when an
    endpoint takes the type). Deliveries with the same `ordering_key` (e.g. "order:42") reach
    each endpoint in the order they were emitted."""
    events = outbound_events_emit(type=type, items=[(payload, ordering_key)])
    return events[0] if events else None


def outbound_events_emit(*, type: str, items, complete: bool | None = None) -> list[OutboundEvent]:
    """Many events of one type at once (an import): `items` is [(payload, ordering_key), ...] in
    the order they happened; the rules of outbound_event_emit, with one query for the endpoints
    and bulk INSERTs. `complete=True`: the payloads are final (the type's completer, if any, is
    not run at commit)."""
    if type not in EVENT_TYPE_NAMES:
        raise ValueError(f"Unknown outgoing event type {type!r}.")
    endpoint_ids = [pk for pk, events in webhook_endpoint_events() if type in (events or [])]
    if not endpoint_ids:
        return []
    if complete is None:
        complete = not event_needs_completion(type)
    now = timezone.now()
    events = [
        OutboundEvent(
            type=type,
            payload=payload() if callable(payload) else payload,
            ordering_key=ordering_key[:100],
            complete=complete,
            created_at=now,
        )
        for payload, ordering_key in items
    ]
    if not events:
        return []
    with transaction.atomic():
        OutboundEvent.objects.bulk_create(events)
        WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(
                    endpoint_id=pk,
                    event=event,
                    ordering_key=event.ordering_key,
                    next_attempt_at=now,
                )
                for event in events
                for pk in endpoint_ids
            ]
        )
        event_ids = [event.pk for event in events]

        def committed():
            if not complete:
                outbound_events_complete(event_ids=event_ids)
            outbound_deliver_kick()

        transaction.on_commit(committed, robust=True)
    return events


def _events_clean(events) -> list[str]:
    events = list(dict.fromkeys(events or []))
    unknown = [name for name in events if name not in EVENT_TYPE_NAMES]
    if unknown:
        raise WebhookEndpointError(
            f"Unknown event type(s): {', '.join(map(str, unknown))}. Known: "
            f"{', '.join(EVENT_TYPE_NAMES)}.",
            code="webhook_events_unknown",
        )
    if not events:
        raise WebhookEndpointError(
            "Pick at least one event to send to this endpoint.", code="webhook_events_missing"
        )
    return events


def webhook_endpoint_create(
    *, url: str, events, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint (its URL checked: webhook_url_check). Returns it and its secret,
    which is shown to the operator this once."""
    url = webhook_url_check(url)
    events = _events_clean(events)
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(
        url=url, events=events, description=description.strip()[:200], secret=secret
    )
    return endpoint, secret


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, url: str, events, description: str = ""
) -> WebhookEndpoint:
    endpoint.url = webhook_url_check(url)
    endpoint.events = _events_clean(events)
    endpoint.description = description.strip()[:200]
    endpoint.save(update_fields=["url", "events", "description", "updated_at"])
    return endpoint


def webhook_endpoint_secret_rotate(*, endpoint: WebhookEndpoint, now=None) -> str:
    """A new secret; the current one stays valid (deliveries signed with both) for
    WEBHOOK_SECRET_ROTATION_WINDOW seconds. Returns the new secret, shown this once."""
    now = now or timezone.now()
    secret = secret_generate()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + timedelta(
            seconds=settings.WEBHOOK_SECRET_ROTATION_WINDOW
        )
        locked.secret = secret
        locked.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
    endpoint.secret, endpoint.previous_secret = locked.secret, locked.previous_secret
    endpoint.previous_secret_expires_at = locked.previous_secret_expires_at
    return secret


def webhook_endpoint_pause(*, endpoint: WebhookEndpoint, reason: str) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        active=False, paused_at=timezone.now(), paused_reason=reason[:500]
    )


def webhook_endpoint_resume(*, endpoint: WebhookEndpoint) -> int:
    """Reactivate an endpoint: its waiting deliveries are due now (a worker is kicked).
    Returns how many deliveries are waiting."""
    now = timezone.now()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            active=True, paused_at=None, paused_reason="", failures_in_row=0, updated_at=now
        )
        waiting = WebhookDelivery.objects.filter(
            endpoint_id=endpoint.pk, state=DeliveryState.PENDING
        ).update(next_attempt_at=now)
        transaction.on_commit(outbound_deliver_kick, robust=True)
    return waiting
