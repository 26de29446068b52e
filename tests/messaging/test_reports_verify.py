"""`manage.py reports_verify`: clean days pass, a tampered rollup is reported (exit 1) and
--repair rewrites it; bad arguments are refused with what was wrong, changing nothing."""

from datetime import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from messaging.models import BatchStatusCount, DayRollup, RefRollup, SentMessage
from messaging.rollups.fold import rollups_fold
from tests.factories import SendBatchFactory, SentMessageFactory

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
DAY = "2026-11-10"


@pytest.fixture
def batch():
    batch = SendBatchFactory()
    made = SentMessageFactory.create_batch(3, batch=batch, ref="diwali")
    SentMessage.objects.filter(pk__in=[m.pk for m in made]).update(
        created_at=datetime(2026, 11, 10, 9, 0, tzinfo=IST)
    )
    SentMessage.objects.filter(pk=made[0].pk).update(status="failed", error_code="131026")
    rollups_fold()
    return batch


def verify(*args):
    out = StringIO()
    call_command("reports_verify", *args, stdout=out)
    return out.getvalue()


def snapshot():
    return [
        list(model.objects.order_by("pk").values())
        for model in (DayRollup, RefRollup, BatchStatusCount)
    ]


def test_clean_days_pass(batch):
    assert verify("--day", DAY, "--days", "3") == (
        "Rollups equal the messages for 2026-11-08 .. 2026-11-10.\n"
    )


def test_unfolded_deltas_count_too(batch):
    SentMessage.objects.filter(batch=batch, status="queued").update(status="accepted")
    assert "Rollups equal the messages" in verify("--day", DAY)


def test_a_tampered_rollup_is_reported_and_repaired(batch):
    DayRollup.objects.filter(total__gt=0).update(total=99)
    RefRollup.objects.filter(field="ref", value="diwali").update(failed=0)
    BatchStatusCount.objects.filter(batch_id=batch.pk, status="queued").update(count=7)
    out = StringIO()
    with pytest.raises(CommandError, match="3 difference"):
        call_command("reports_verify", "--day", DAY, stdout=out)
    lines = out.getvalue().splitlines()
    assert lines == [
        f"2026-11-10 day ('coupon_code', 'coupon_code', {batch.pk}): rollup total 99 (messages: 3)",
        "2026-11-10 ref ('ref', 'diwali'): rollup failed 0 (messages: 1)",
        f"batch {batch.pk}: rollup queued 7 (messages: 2)",
    ]

    repaired = verify("--day", DAY, "--repair")
    assert repaired.endswith("Repaired: 3 difference(s) fixed for 2026-11-10 .. 2026-11-10.\n")
    assert verify("--day", DAY) == "Rollups equal the messages for 2026-11-10 .. 2026-11-10.\n"
    assert DayRollup.objects.get(total__gt=0).total == 3
    assert BatchStatusCount.objects.get(batch_id=batch.pk, status="queued").count == 2


def test_repair_without_difference_changes_nothing(batch):
    before = snapshot()
    assert "Rollups equal" in verify("--day", DAY, "--repair")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "10/11/2026"], "--day must be a date as YYYY-MM-DD, not '10/11/2026'."),
        (["--days", "0"], "--days must be between 1 and 366, not 0."),
        (["--days", "400"], "--days must be between 1 and 366, not 400."),
    ],
)
def test_bad_arguments_are_refused_and_nothing_is_changed(batch, args, message):
    DayRollup.objects.filter(total__gt=0).update(total=99)
    before = snapshot()
    with pytest.raises(CommandError) as error:
        call_command("reports_verify", "--repair", *args, stdout=StringIO())
    assert str(error.value) == message
    assert snapshot() == before
