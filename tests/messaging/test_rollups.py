"""Batch counts and report rollups (messaging.rollups) equal the raw aggregation, whatever moved
the messages: the real callbacks (duplicates, out of order), the sending code's kind of raw SQL,
bulk updates, deletions, with folds in between or not."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging.models import DayRollup, MessageDelta, RefRollup, RefTotal, SentMessage
from messaging.reports import selectors
from messaging.rollups.figures import FIGURES
from messaging.rollups.fold import rollups_fold, rollups_rebuild
from messaging.rollups.read import batch_status_counts
from messaging.rollups.verify import reports_repair, reports_verify
from tests.factories import SendBatchFactory, SentMessageFactory

from .callback_bodies import CREDENTIALS, post_json, v2_body, wa_status

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
FIRST, LAST = datetime(2026, 11, 9).date(), datetime(2026, 11, 12).date()
# Creation times around the shop's midnights (IST), where a day could be misplaced.
CREATED = [
    datetime(2026, 11, 9, 23, 59, 59, tzinfo=IST),
    datetime(2026, 11, 10, 0, 0, tzinfo=IST),
    datetime(2026, 11, 10, 0, 14, 59, tzinfo=IST),
    datetime(2026, 11, 10, 12, 0, tzinfo=IST),
    datetime(2026, 11, 11, 23, 45, tzinfo=IST),
    datetime(2026, 11, 12, 5, 30, tzinfo=IST),
]
KINDS = [("coupon_code", "coupon_offer"), ("order_status", "order_update")]
REFS = ["diwali", "newyear", ""]
T0 = 1_763_700_000
ERRORS = [{"code": 131026, "title": "Message undeliverable"}, {"code": 131049, "title": "Eco"}]

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

send = st.tuples(
    st.just("send"),
    st.integers(1, 4),  # messages
    st.integers(0, len(KINDS) - 1),
    st.integers(0, len(REFS) - 1),
    st.integers(0, 2),  # batch (2: none)
    st.integers(0, len(CREATED) - 1),
)
accept = st.tuples(st.just("accept"), st.integers(0, 50))  # the sending code's raw UPDATE
claim = st.tuples(st.just("claim"), st.integers(0, 2))  # a bulk queued -> sending of a batch
callback = st.tuples(
    st.just("callback"),
    st.integers(0, 50),
    st.sampled_from(["sent", "delivered", "read", "failed"]),
    st.integers(0, 120),  # timestamp offset: out of order
    st.booleans(),  # posted twice
    st.integers(0, len(ERRORS) - 1),
)
fail = st.tuples(st.just("fail"), st.integers(0, 50), st.integers(0, len(ERRORS) - 1))
delete = st.tuples(st.just("delete"), st.integers(0, 50))
fold = st.tuples(st.just("fold"))
steps = st.lists(st.one_of(send, accept, claim, callback, fail, delete, fold), max_size=14)


def _apply(step, batches, client):
    ids = list(SentMessage.objects.order_by("pk").values_list("pk", flat=True))
    name = step[0]
    if name == "send":
        _, n, kind, ref, batch, created = step
        kind_name, template = KINDS[kind]
        made = SentMessageFactory.create_batch(
            n,
            batch=batches[batch] if batch < 2 else None,
            kind=kind_name,
            template_name=template,
            ref=REFS[ref],
            ref2=batches[batch].name if batch < 2 else "",
            payload={},
        )
        SentMessage.objects.filter(pk__in=[m.pk for m in made]).update(created_at=CREATED[created])
    elif name == "claim":
        SentMessage.objects.filter(batch=batches[step[1] % 2], status="queued").update(
            status="sending"
        )
    elif not ids:
        return
    elif name == "accept":
        pk = ids[step[1] % len(ids)]
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE messaging_sentmessage SET status = 'accepted', accepted_at = %s, "
                "provider_message_id = %s WHERE id = %s AND status IN ('queued', 'sending')",
                [CREATED[0], f"kal-{pk}", pk],
            )
    elif name == "callback":
        _, index, status, offset, twice, error = step
        pk = ids[index % len(ids)]
        event = wa_status(
            f"wamid.{pk}",
            status,
            T0 + offset,
            error=ERRORS[error] if status == "failed" else None,
        )
        for _ in range(2 if twice else 1):
            assert post_json(client, v2_body(f"kal-{pk}", [event])).status_code == 200
    elif name == "fail":
        _, index, error = step
        SentMessage.objects.filter(pk=ids[index % len(ids)]).update(
            status="failed", error_code=str(ERRORS[error]["code"]), error_title="Reason"
        )
    elif name == "delete":
        SentMessage.objects.filter(pk=ids[step[1] % len(ids)]).delete()
    elif name == "fold":
        rollups_fold()


def _assert_rollups_equal_raw(batches):
    for filters in [
        selectors.ReportFilters(date_from=FIRST, date_to=LAST),
        selectors.ReportFilters(date_from=FIRST, date_to=FIRST + timedelta(days=1)),
        selectors.ReportFilters(date_from=FIRST, date_to=LAST, kind="coupon_code"),
        selectors.ReportFilters(date_from=FIRST, date_to=LAST, batch_id=batches[0].pk),
        selectors.ReportFilters(date_from=LAST, date_to=LAST, template_name="order_update"),
    ]:
        assert selectors.delivery_rows(filters=filters) == selectors.delivery_rows_raw(
            filters=filters
        )
        assert selectors.failure_reasons(filters=filters) == selectors.failure_reasons_raw(
            filters=filters
        )
        for field in selectors.REF_FIELDS:
            report = selectors.ref_report(filters=filters, group_by=field)
            raw = selectors.ref_groups_raw(filters=filters, group_by=field)
            assert [tuple(row.values()) for row in report.rows] == raw[: selectors.REF_PAGE_SIZE]
            assert report.groups == len(raw)
    raw_counts = {batch.pk: {} for batch in batches}
    for batch_id, status, n in (
        SentMessage.objects.filter(batch__in=batches)
        .values_list("batch_id", "status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        raw_counts[batch_id][status] = n
    assert batch_status_counts(batch_ids=[batch.pk for batch in batches]) == raw_counts
    assert reports_verify(first=FIRST, last=LAST) == []


@PROPERTY
@given(steps=steps, fold_at_end=st.booleans())
def test_rollups_equal_the_raw_aggregation_after_any_sequence(django_settings, steps, fold_at_end):
    django_settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    client = Client()
    with transaction.atomic():
        batches = [SendBatchFactory(), SendBatchFactory()]
        for step in steps:
            _apply(step, batches, client)
        if fold_at_end:
            rollups_fold()
            assert not MessageDelta.objects.exists()
        _assert_rollups_equal_raw(batches)
        transaction.set_rollback(True)


@pytest.fixture
def django_settings(settings):
    return settings


def test_a_fold_moves_the_deltas_and_changes_no_figure(settings):
    batch = SendBatchFactory()
    made = SentMessageFactory.create_batch(3, batch=batch, ref="diwali")
    SentMessage.objects.filter(pk=made[0].pk).update(status="failed", error_code="131026")
    filters = selectors.ReportFilters.default()
    before = selectors.delivery_rows(filters=filters)
    assert MessageDelta.objects.exists()
    assert rollups_fold() > 0
    assert not MessageDelta.objects.exists()
    assert selectors.delivery_rows(filters=filters) == before
    assert before[0]["total"] == 3 and before[0]["failed"] == 1
    assert batch_status_counts(batch_ids=[batch.pk]) == {batch.pk: {"queued": 2, "failed": 1}}


def test_an_update_that_moves_no_figure_writes_no_delta():
    message = SentMessageFactory()
    rollups_fold()
    SentMessage.objects.filter(pk=message.pk).update(attempts=3, claimed_at=CREATED[0])
    assert not MessageDelta.objects.exists()


def test_a_changed_time_zone_reads_the_messages_until_the_rebuild(settings):
    SentMessageFactory()
    SentMessage.objects.update(created_at=CREATED[2])  # 10 Nov IST, 9 Nov UTC
    rollups_fold()
    settings.TIME_ZONE = "UTC"
    filters = selectors.ReportFilters(date_from=FIRST, date_to=LAST)
    rows = selectors.delivery_rows(filters=filters)
    assert [(row["day"], row["total"]) for row in rows] == [(FIRST, 1)]
    assert DayRollup.objects.get(total__gt=0).day == FIRST + timedelta(days=1)  # still IST
    rollups_rebuild()
    assert DayRollup.objects.get(total__gt=0).day == FIRST
    assert selectors.delivery_rows(filters=filters) == rows
    assert reports_verify(first=FIRST, last=LAST) == []


def test_the_fold_runs_every_few_seconds():
    from django.conf import settings as django_conf

    assert django_conf.CELERY_BEAT_SCHEDULE["rollups-fold"] == {
        "task": "messaging.tasks.rollups_fold_task",
        "schedule": django_conf.ROLLUPS_FOLD_SECONDS,
    }
    from messaging.tasks import rollups_fold_task

    SentMessageFactory()
    assert rollups_fold_task() == 1
    assert RefRollup.objects.filter(field="ref", value="SAVE10").get().total == 1


def _ref_messages():
    """Messages on five days (9-13 Nov IST), refs spread over them, some folded, some not."""
    days = [datetime(2026, 11, 9 + n, 12, 0, tzinfo=IST) for n in range(5)]
    for index, created_at in enumerate(days * 3):
        SentMessage.objects.filter(pk=SentMessageFactory().pk).update(
            created_at=created_at, ref=REFS[index % 3], ref2=f"customer-{index % 4}"
        )
        if index == 7:
            rollups_fold()
    SentMessage.objects.filter(ref="diwali").update(status="failed", error_code="131026")


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (FIRST, FIRST + timedelta(days=4)),  # every day: the totals, nothing taken away
        (FIRST + timedelta(days=1), FIRST + timedelta(days=3)),  # the totals minus two days
        (FIRST + timedelta(days=1), FIRST + timedelta(days=1)),  # one day's rollups
        (FIRST - timedelta(days=30), FIRST + timedelta(days=30)),  # wider than the data
    ],
)
@pytest.mark.parametrize("fold", [False, True])
def test_the_ref_report_from_totals_or_days_equals_the_raw_aggregation(first, last, fold):
    _ref_messages()
    if fold:
        rollups_fold()
    filters = selectors.ReportFilters(date_from=first, date_to=last)
    for field in selectors.REF_FIELDS:
        report = selectors.ref_report(filters=filters, group_by=field)
        raw = selectors.ref_groups_raw(filters=filters, group_by=field)
        assert [tuple(row.values()) for row in report.rows] == raw
        assert report.totals == {
            name: sum(row[index + 1] for row in raw) for index, name in enumerate(FIGURES)
        }


def _totals_equal_the_day_rollups():
    by_value = {}
    for row in RefRollup.objects.values("field", "value", *FIGURES):
        sums = by_value.setdefault((row.pop("field"), row.pop("value")), dict.fromkeys(FIGURES, 0))
        for name in FIGURES:
            sums[name] += row[name]
    totals = {
        (row.pop("field"), row.pop("value")): row
        for row in RefTotal.objects.values("field", "value", *FIGURES)
    }
    assert totals == by_value
    assert sum(row["total"] for key, row in totals.items() if key[0] == "ref") == 15


def test_the_ref_totals_follow_folds_repairs_and_rebuilds():
    _ref_messages()
    rollups_fold()
    _totals_equal_the_day_rollups()
    RefRollup.objects.filter(field="ref", value="diwali").update(failed=0)  # a day damaged
    reports_repair(first=FIRST, last=FIRST + timedelta(days=4))
    _totals_equal_the_day_rollups()
    assert reports_verify(first=FIRST, last=FIRST + timedelta(days=4)) == []
    rollups_rebuild()
    _totals_equal_the_day_rollups()


@pytest.mark.parametrize("narrowed", [False, True])  # from the rollups, or from the messages
def test_the_ref_report_pages_alike_from_rollups_and_messages(monkeypatch, narrowed):
    monkeypatch.setattr(selectors, "REF_PAGE_SIZE", 3)
    _ref_messages()
    rollups_fold()
    filters = selectors.ReportFilters(
        date_from=FIRST, date_to=FIRST + timedelta(days=4), kind="coupon_code" if narrowed else ""
    )
    raw = selectors.ref_groups_raw(filters=filters, group_by="ref2")
    assert len(raw) == 4
    first, second, past = (
        selectors.ref_report(filters=filters, group_by="ref2", page=page) for page in (1, 2, 99)
    )
    assert [tuple(row.values()) for row in first.rows + second.rows] == raw
    assert (first.page, second.page, past.page, past.pages, past.groups) == (1, 2, 2, 2, 4)
    assert past.rows == second.rows
    assert first.totals == second.totals == past.totals
    assert first.totals["total"] == 15
