"""After a send went wrong: the periodic sweep of what a dead worker or a lost task left behind,
and an operator's retries (messaging.services.sending sends; this decides what goes again).

- The sweep (every 30 s and at worker start) takes messages "sending" for longer than
  KALEYRA_SENDING_STALE_AFTER: those never requested go back to the queue (sent once), those
  requested become unknown (worker_lost), never resent blindly; optionally
  (KALEYRA_UNKNOWN_RESEND_AFTER) unknown messages no callback claimed are resent, flagged
  possible duplicates; queued messages whose task seems lost are enqueued again.
- An operator's retry of failed or unknown messages asks for confirmation where a resend may
  duplicate (unknown) or needs fixing first (permanent refusals); a confirmed retry of an unknown
  message flags it a possible duplicate.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, When
from django.db.models.functions import Greatest
from django.utils import timezone

from ..callbacks.intake import callback_receipts_drain
from ..callbacks.services import callback_events_match_unknown
from ..client import PERMANENT_CODES
from ..models import MessageStatus, SentMessage
from ..status_moves import messages_status_move
from .publishing import MESSAGES_ENQUEUE, publish
from .sending import UNKNOWN_CODES, UNKNOWN_NOTE, WORKER_LOST, sending_pause_active

S = MessageStatus


def messages_sweep(*, now=None) -> dict:
    """The periodic check (and at worker start): messages stuck in "sending" go back to the
    queue when their request never went out, else become unknown; optionally, unknown messages
    no callback claimed are resent (flagged possible duplicates); queued messages whose task
    seems lost are enqueued again. Returns the ids to enqueue under "requeue"."""
    now = now or timezone.now()
    # Callback receipts still waiting for a worker may claim messages: apply them first.
    callback_receipts_drain(seconds=settings.CALLBACKS_APPLY_RUN_SECONDS)
    stale = now - timedelta(seconds=settings.KALEYRA_SENDING_STALE_AFTER)
    stuck = SentMessage.objects.filter(status=S.SENDING, claimed_at__lt=stale)
    # Claimed by a worker that stopped before their request: nothing went out, send them once.
    unsent_ids = list(stuck.filter(requested_at__isnull=True).values_list("pk", flat=True))
    returned = messages_status_move(
        messages=SentMessage.objects.filter(
            pk__in=unsent_ids, status=S.SENDING, requested_at__isnull=True
        ),
        status=S.QUEUED,
        attempts=Greatest(F("attempts") - 1, 0),
        next_attempt_at=None,
    )
    lost_ids = list(stuck.filter(requested_at__isnull=False).values_list("pk", flat=True))
    lost = messages_status_move(
        messages=SentMessage.objects.filter(pk__in=lost_ids, status=S.SENDING),
        status=S.UNKNOWN,
        error_code=WORKER_LOST,
        error_message="The worker sending it stopped before Kaleyra's answer was recorded. "
        + UNKNOWN_NOTE,
    )
    # Callbacks for those Kaleyra took (perhaps long ago) settle them now.
    callback_events_match_unknown(message_ids=lost_ids)
    resent = 0
    if settings.KALEYRA_UNKNOWN_RESEND_AFTER > 0:
        cutoff = now - timedelta(seconds=settings.KALEYRA_UNKNOWN_RESEND_AFTER)
        due = SentMessage.objects.filter(
            Q(error_code__in=UNKNOWN_CODES) | Q(error_code=WORKER_LOST),
            status=S.UNKNOWN,
            provider_message_id__isnull=True,
            claimed_at__lt=cutoff,
        )
        # A callback a worker stored while the send was marking its message unknown found no
        # message then (and the send's own match did not see it yet): it claims it now, rather
        # than the message going out twice.
        callback_events_match_unknown(message_ids=list(due.values_list("pk", flat=True)))
        resent = messages_status_move(
            messages=due,
            status=S.QUEUED,
            next_attempt_at=now,
            possible_duplicate=True,
        )
    requeue = []
    if sending_pause_active(now=now) is None:
        # While paused, the deferred chunk tasks wait for the pause's end by themselves.
        # Queued messages whose task seems lost (the broker was down at enqueue time, or
        # restarted without its data; a killed worker's tasks, which Redis gives back only
        # after its visibility timeout) go out again after KALEYRA_REQUEUE_AFTER; a duplicate
        # task is harmless (the claim).
        requeue_after = timedelta(seconds=settings.KALEYRA_REQUEUE_AFTER)
        lost_tasks = SentMessage.objects.filter(status=S.QUEUED).filter(
            Q(next_attempt_at__lt=now - requeue_after) | Q(next_attempt_at__isnull=True)
        )
        requeue = list(lost_tasks.order_by("pk").values_list("pk", flat=True))
        # Touched, so each is enqueued again at most once per KALEYRA_REQUEUE_AFTER.
        lost_tasks.update(next_attempt_at=now)
        if resent:
            requeue += list(
                SentMessage.objects.filter(status=S.QUEUED, next_attempt_at=now).values_list(
                    "pk", flat=True
                )
            )
    return {
        "worker_lost": lost,
        "returned_to_queue": returned,
        "unknown_resent": resent,
        "requeue": sorted(set(requeue)),
    }


def messages_retry(*, messages, confirmed: bool = False) -> dict:
    """Send failed messages again (the same JSON). Permanent failures (RBC001, WA400, WA401 ...)
    and messages whose outcome is unknown need `confirmed=True`: they may need fixing first, or
    may already have reached the customer. Returns counts: retried, needs_confirmation, skipped."""
    candidates = messages.filter(status__in=[S.FAILED, S.UNKNOWN, S.NOT_SENT])
    risky = messages_retry_risky(messages=candidates)
    risky_count = risky.count()
    selected = candidates if confirmed else candidates.exclude(pk__in=risky.values("pk"))
    ids = list(selected.values_list("pk", flat=True))
    skipped = messages.count() - candidates.count()
    with transaction.atomic():
        retried = messages_status_move(
            messages=SentMessage.objects.filter(pk__in=ids),
            status=S.QUEUED,
            attempts=0,
            next_attempt_at=timezone.now(),
            claimed_at=None,
            # Its first attempt may have reached the customer: say so where the operator looks.
            possible_duplicate=Case(
                When(status=S.UNKNOWN, then=True), default=F("possible_duplicate")
            ),
        )
        if ids:
            transaction.on_commit(lambda: publish(MESSAGES_ENQUEUE, ids), robust=True)
    return {
        "retried": retried,
        "needs_confirmation": 0 if confirmed else risky_count,
        "skipped": skipped,
    }


def messages_retry_risky(*, messages):
    """Which of these messages need a human before a resend: permanent refusals (the account,
    number or payload must be fixed first) and unknown outcomes (may already have been sent)."""
    return messages.filter(status__in=[S.FAILED, S.UNKNOWN, S.NOT_SENT]).filter(
        Q(status=S.UNKNOWN) | Q(error_code__in=PERMANENT_CODES) | Q(error_code__startswith="http_4")
    )
