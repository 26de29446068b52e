"""The one queueing step every message kind goes through.

A kind is a draft builder: given one target (an order, a phone number ...) and the batch being
queued, it returns the MessageDraft (recipient, the exact JSON, the order or coupon it concerns)
or raises an error with a `code` and a `message` that refuses that target. This module does the
rest, the same for every kind: template defaults from one table, the batch's name, the refs
(defaults, cut to Kaleyra's length), the refusals with their reasons, the rows (COPY on
PostgreSQL, bulk_create elsewhere) and the enqueueing after commit. `dry_run=True` does all of it
inside a transaction that is rolled back: the admin's preview shows exactly what would be sent,
refusals included. What a caller changes besides (an order's status) is its own business.
"""

import json
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from common.errors import DomainError

from ..models import MessageKind, MessageStatus, MessageTemplate, SendBatch, SentMessage
from ..payloads import extra_info_build
from .publishing import BATCH_DISPATCH, publish
from .templates import template_check, template_find

# Each kind's default template (the setting naming it); the language is KALEYRA_TEMPLATE_LANGUAGE.
TEMPLATE_SETTINGS = {
    MessageKind.ORDER_DETAILS: "KALEYRA_ORDER_DETAILS_TEMPLATE",
    MessageKind.ORDER_STATUS: "KALEYRA_ORDER_STATUS_TEMPLATE",
    MessageKind.COUPON_CODE: "KALEYRA_COUPON_TEMPLATE",
}
# What a builder refuses one target with: any rule's refusal (its .code and .message).
REFUSALS = DomainError


def template_default(kind: str) -> str:
    return getattr(settings, TEMPLATE_SETTINGS[kind])


@dataclass(frozen=True)
class Refusal:
    target: str
    code: str
    reason: str


@dataclass
class QueueResult:
    batch: SendBatch | None
    messages: list = field(default_factory=list)
    refused: list = field(default_factory=list)

    @property
    def preview(self) -> dict | None:
        return self.messages[0].payload if self.messages else None


@dataclass(frozen=True)
class MessageDraft:
    """A message about to be queued (cheap to build by the ten thousand; the row is written by
    the batch step)."""

    kind: str
    recipient: str
    payload: dict
    order: object = None
    coupon: object = None

    @property
    def ref(self) -> str:
        return self.payload["extra_info"]["ref"]


@dataclass(frozen=True)
class BatchSpec:
    """What every message of a batch shares: its kind, name, template and the operator's refs
    (empty: the defaults, see `extra_info`)."""

    kind: str
    name: str
    template_name: str
    language: str
    ref: str = ""
    ref1: str = ""
    ref2: str = ""
    wa_source: str | None = None
    # The registered template (messaging.services.templates), None when the name is not
    # registered: then the payloads carry no header or body component of the registry's.
    template: MessageTemplate | None = None

    def payload_args(self, *, to: str, ref: str) -> dict:
        """What every payload builder takes from the batch, for one message: its recipient,
        the template and extra_info with the operator's refs, else `ref` (the kind's own for
        this message), the kind and the batch name (cut to Kaleyra's length)."""
        return {
            "to": to,
            "template_name": self.template_name,
            "language": self.language,
            "extra_info": extra_info_build(
                ref=self.ref or ref,
                ref1=self.ref1 or self.kind,
                ref2=self.ref2 or self.name,
                wa_source=self.wa_source,
            ),
        }


def batch_spec(
    *,
    kind: str,
    detail: str = "",
    template_name: str = "",
    language: str = "",
    batch_name: str = "",
    ref: str = "",
    ref1: str = "",
    ref2: str = "",
    wa_source: str | None = None,
    batch: SendBatch | None = None,
) -> BatchSpec:
    """The batch's settings, defaults applied (`detail` goes into the default name), with its
    registered template if there is one (refused when it cannot serve `kind`)."""
    template_name = template_name or template_default(kind)
    language = language or settings.KALEYRA_TEMPLATE_LANGUAGE
    template = template_find(name=template_name, language=language)
    if template is not None:
        template_check(template=template, kind=kind)
    return BatchSpec(
        kind=kind,
        name=batch.name if batch else batch_name or batch_name_default(kind, detail),
        template_name=template_name,
        language=language,
        template=template,
        ref=ref,
        ref1=ref1,
        ref2=ref2,
        wa_source=wa_source,
    )


def batch_name_default(kind, detail: str = "") -> str:
    stamp = timezone.localtime().strftime("%Y-%m-%d %H:%M:%S")
    label = MessageKind(kind).label
    return f"{label} {detail} {stamp}" if detail else f"{label} {stamp}"


Builder = Callable[[object, BatchSpec], MessageDraft]


def drafts_build(
    *, spec: BatchSpec, targets: Iterable[tuple[str, object]], build: Builder
) -> tuple[list[MessageDraft], list[Refusal]]:
    """Build each (label, target)'s draft; a target its builder refuses is named with why."""
    drafts, refused = [], []
    for label, target in targets:
        try:
            drafts.append(build(target, spec))
        except REFUSALS as exc:
            refused.append(Refusal(label, exc.code, exc.message))
    return drafts, refused


def batch_queue(
    *,
    spec: BatchSpec,
    targets: Iterable[tuple[str, object]],
    build: Builder,
    refused: Iterable[Refusal] = (),
    user=None,
    dry_run: bool = False,
    batch: SendBatch | None = None,
) -> QueueResult:
    """Build every target's draft and queue the batch (see the module docstring). `targets` is
    read inside the transaction; `refused`: targets refused before building."""
    with batch_transaction(dry_run=dry_run):
        drafts, refusals = drafts_build(spec=spec, targets=targets, build=build)
        return batch_write(
            spec=spec,
            drafts=drafts,
            refused=[*refused, *refusals],
            user=user,
            dry_run=dry_run,
            batch=batch,
        )


@contextmanager
def batch_transaction(*, dry_run: bool):
    """The transaction a batch is built and written in (rolled back for a dry run)."""
    with transaction.atomic():
        yield
        if dry_run:
            transaction.set_rollback(True)


def batch_write(
    *, spec: BatchSpec, drafts, refused, user=None, dry_run=False, batch=None
) -> QueueResult:
    """Write the batch (or prepare one created earlier) and its queued rows, and publish its
    sending once the transaction commits. No batch when nothing is to be sent."""
    refused_rows = [asdict(refusal) for refusal in refused]
    if batch is None:
        if not drafts:
            return QueueResult(batch=None, messages=[], refused=list(refused))
        batch = batch_create(
            spec=spec,
            user=user,
            requested=len(drafts) + len(refused_rows),
            refused=refused_rows,
            prepared_at=timezone.now(),
        )
    else:  # a batch created earlier, prepared now by a worker
        batch.refused = refused_rows
        batch.prepared_at = timezone.now()
        batch.save(update_fields=["refused", "prepared_at"])
    if drafts:
        _messages_insert(batch, drafts)
        if not dry_run:
            batch_id = batch.pk
            # robust: a broker outage must not undo the answer; the sweep enqueues these later.
            transaction.on_commit(lambda: publish(BATCH_DISPATCH, batch_id), robust=True)
    return QueueResult(batch=batch, messages=drafts, refused=list(refused))


def batch_create(*, spec: BatchSpec, user, requested: int, **fields) -> SendBatch:
    return SendBatch.objects.create(
        name=spec.name,
        kind=spec.kind,
        created_by=user if user is not None and user.is_authenticated else None,
        template_name=spec.template_name,
        language=spec.language,
        requested=requested,
        **fields,
    )


# The columns a queued message is written with (the others are empty until it is sent).
_COLUMNS = (
    "batch_id",
    "kind",
    "recipient",
    "order_id",
    "coupon_id",
    "template_name",
    "language",
    "payload",
    "ref",
    "ref1",
    "ref2",
    "wa_source",
    "status",
    "error_code",
    "error_message",
    "attempts",
    "created_at",
    "updated_at",
    "next_attempt_at",
)


def _row(batch, draft: MessageDraft, now) -> tuple:
    template = draft.payload["messaging_object"]["template"]
    extra = draft.payload["extra_info"]
    return (
        batch.pk,
        draft.kind,
        draft.recipient,
        draft.order.pk if draft.order is not None else None,
        draft.coupon.pk if draft.coupon is not None else None,
        template["name"],
        template["language"]["code"],
        draft.payload,
        extra["ref"],
        extra["ref1"],
        extra["ref2"],
        extra["wa_source"],
        MessageStatus.QUEUED,
        "",
        "",
        0,
        now,
        now,
        now,
    )


def _messages_insert(batch, drafts) -> None:
    """Write the queued rows. On PostgreSQL with COPY: ten thousand rows in a fraction of a
    second, where the ORM's bulk_create adapts every value of every row in Python and takes
    seconds. Elsewhere (SQLite) with bulk_create."""
    now = timezone.now()
    rows = [_row(batch, draft, now) for draft in drafts]
    if connection.vendor != "postgresql":
        objects = [SentMessage(**dict(zip(_COLUMNS, row, strict=True))) for row in rows]
        SentMessage.objects.bulk_create(objects, batch_size=1000)
        return
    table = connection.ops.quote_name(SentMessage._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in _COLUMNS)
    payload_index = _COLUMNS.index("payload")
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
            for row in rows:
                values = list(row)
                values[payload_index] = json.dumps(values[payload_index], ensure_ascii=False)
                copy.write_row(values)
