"""Which message a Kaleyra event is about: the one home of that rule, used in both directions.

A callback carries up to three ids (its top-level message_id, extra_info.message_id, the WhatsApp
id of statuses[]) and our ref/ref1/ref2 with the recipient. It is about the message holding any of
those ids as its provider id (or as the first attempt's id of a message sent again). Failing
that, when the send's answer was lost, about the one message with the same recipient and refs
whose id we do not have: the callback then gives it (an "unknown" message, or one queued to be
sent again, becomes accepted; a message already sent again while unknown keeps the resend's id
and takes this one as its first attempt's). Recipients are compared in E.164 (common.phones),
whatever spelling the callback used.

- callback first, message later: `message_for_callback` (callbacks code, when an event comes in);
- message first, callback earlier: `events_waiting_for_ids` (the sending code stored ids) and
  `events_waiting_for_messages` (the sending code marked messages unknown).
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from common.phones import phone_e164

from .models import CallbackEvent, MessageStatus, SentMessage
from .status_moves import messages_status_move

S = MessageStatus
# The ids a stored callback event carries (any of them may be the send's message id).
EVENT_ID_FIELDS = ("top_message_id", "extra_message_id", "wa_message_id")
# The ids a message is known by.
MESSAGE_ID_FIELDS = ("provider_message_id", "first_provider_message_id")


def _any_in(fields, values) -> Q:
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__in": values})
    return condition


def events_with_ids(ids) -> Q:
    """Events carrying any of these ids (a list or a subquery)."""
    return _any_in(EVENT_ID_FIELDS, ids)


def messages_with_ids(ids) -> Q:
    """Messages known by any of these ids (a list or a subquery)."""
    return _any_in(MESSAGE_ID_FIELDS, ids)


def refs_key(*, recipient, ref, ref1, ref2) -> tuple | None:
    """What a callback and a message without its id are matched by: the recipient in E.164 and
    the three refs. None when the recipient is not a phone number."""
    phone = phone_e164(recipient)
    if phone is None:
        return None
    return (phone, ref or "", ref1 or "", ref2 or "")


# Messages a callback matched by refs may give its id to: their send's answer was lost (unknown,
# or queued to be sent again: the callback then spares the resend), or they were sent again while
# unknown and the first attempt's id is still to learn. Never one being sent this very moment.
_WITHOUT_ID = Q(provider_message_id__isnull=True) & (
    Q(status=S.UNKNOWN) | Q(status=S.QUEUED, possible_duplicate=True)
)
_FIRST_ID_MISSING = Q(
    possible_duplicate=True,
    first_provider_message_id__isnull=True,
    provider_message_id__isnull=False,
)
_ID_MISSING = _WITHOUT_ID | _FIRST_ID_MISSING


def message_for_callback(
    *, message_ids, recipient="", ref=None, ref1=None, ref2=None, lock: bool = False
) -> SentMessage | None:
    """The SentMessage a Kaleyra callback is about (`lock`: select it FOR UPDATE).

    `message_ids`: every id the callback carries, Kaleyra's own first: whichever a message is
    known by. If none is, and the callback has refs, the one message with this recipient and
    refs whose id is missing takes the first id (see the module docstring). Returns None when
    nothing matches (also for a message still being sent: its id is written within a second;
    the sending code matches again then) or when two messages could be the one."""
    ids = [str(value) for value in message_ids if value]
    if not ids:
        return None
    messages = SentMessage.objects.select_for_update() if lock else SentMessage.objects
    message = messages.filter(messages_with_ids(ids)).first()
    if message is not None or ref is None:
        return message
    key = refs_key(recipient=recipient, ref=ref, ref1=ref1, ref2=ref2)
    if key is None:
        return None
    phone, ref, ref1, ref2 = key
    candidates = list(
        SentMessage.objects.filter(_ID_MISSING, recipient=phone, ref=ref, ref1=ref1, ref2=ref2)
        .order_by("pk")
        .values_list("pk", "provider_message_id")[:2]
    )
    if len(candidates) != 1:
        return None
    pk, provider_message_id = candidates[0]
    if provider_message_id is None:
        matched = SentMessage.objects.filter(_WITHOUT_ID, pk=pk)
        changes = {
            "status": S.ACCEPTED,
            "provider_message_id": ids[0],
            "accepted_at": timezone.now(),
            "error_code": "",
            "error_message": "",
        }
    else:  # sent again: the resend keeps its id, this callback is about the first attempt
        matched = SentMessage.objects.filter(_FIRST_ID_MISSING, pk=pk)
        changes = {"first_provider_message_id": ids[0]}
    try:
        with transaction.atomic():
            if "status" in changes:
                updated = messages_status_move(messages=matched, **changes)
            else:
                updated = matched.update(**changes)
    except IntegrityError:  # the id is another message's
        return None
    if not updated:
        return None
    return messages.get(pk=pk)


def events_waiting_for_ids(*, provider_message_ids: Iterable[str]) -> list[int]:
    """Callback events not yet applied that carry any of these ids (they came before the send's
    answer gave us the ids). One query; none when nothing is waiting."""
    ids = [value for value in provider_message_ids if value]
    if not ids:
        return []
    waiting = CallbackEvent.objects.filter(events_with_ids(ids), message__isnull=True)
    return list(waiting.order_by("occurred_at", "pk").values_list("pk", flat=True))


def events_waiting_for_messages(*, message_ids: Iterable[int]) -> list[int]:
    """Callback events not yet applied that match these messages by recipient and refs, for
    those whose id is missing (they were being sent when their callbacks came, and the answer
    was then lost). Two queries for the whole group."""
    keys = {}
    for pk, recipient, ref, ref1, ref2 in SentMessage.objects.filter(
        _ID_MISSING, pk__in=list(message_ids)
    ).values_list("pk", "recipient", "ref", "ref1", "ref2"):
        keys[refs_key(recipient=recipient, ref=ref, ref1=ref1, ref2=ref2)] = pk
    if not keys:
        return []
    refs = {key[1:] for key in keys}
    candidates = CallbackEvent.objects.filter(
        message__isnull=True,
        ref__in={ref for ref, _, _ in refs},
        ref1__in={ref1 for _, ref1, _ in refs},
        ref2__in={ref2 for _, _, ref2 in refs},
    ).order_by("occurred_at", "pk")
    return [
        pk
        for pk, recipient, ref, ref1, ref2 in candidates.values_list(
            "pk", "recipient", "ref", "ref1", "ref2"
        )
        if refs_key(recipient=recipient, ref=ref, ref1=ref1, ref2=ref2) in keys
    ]
