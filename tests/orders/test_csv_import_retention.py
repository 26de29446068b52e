"""How long CSV imports are kept (orders.csv_import.retention): a preview can be confirmed for
ORDER_IMPORT_PREVIEW_TTL, then it is refused and purged; an import's file is emptied once its
orders exist and its record purged ORDER_IMPORT_RETENTION later."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from orders.csv_import import OrderImportError, order_import_confirm, order_import_preview
from orders.csv_import.retention import order_imports_purge
from orders.models import Order, OrderImport
from orders.tasks import order_imports_purge_task

from .test_csv_import import IMPORT_URL, SAMPLE, edited

pytestmark = pytest.mark.django_db

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def keep(settings):
    settings.ORDER_IMPORT_PREVIEW_TTL = 86400
    settings.ORDER_IMPORT_RETENTION = 90 * 86400


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")


def previewed(user, *, age: timedelta, text=SAMPLE, name="orders.csv") -> OrderImport:
    _, order_import = order_import_preview(text=text, file_name=name, user=user)
    OrderImport.objects.filter(pk=order_import.pk).update(created_at=timezone.now() - age)
    order_import.refresh_from_db()
    return order_import


def imported(user, *, age: timedelta, reference: str) -> OrderImport:
    text = edited({(2, "reference_id"): reference, (3, "reference_id"): reference}, text=SAMPLE)
    text = "\n".join(text.splitlines()[:3]) + "\n"  # the first order only
    order_import = order_import_confirm(
        order_import_id=previewed(user, age=HOUR, text=text).pk, user=user
    )
    OrderImport.objects.filter(pk=order_import.pk).update(imported_at=timezone.now() - age)
    return order_import


def test_an_import_keeps_no_file_once_its_orders_are_created(user):
    order_import = order_import_confirm(order_import_id=previewed(user, age=HOUR).pk, user=user)
    stored = OrderImport.objects.get(pk=order_import.pk)
    assert (stored.status, stored.content, stored.orders_new) == ("imported", "", 2)
    assert Order.objects.count() == 2


def test_an_expired_preview_is_refused_and_nothing_is_imported(user, settings):
    order_import = previewed(user, age=DAY + HOUR)
    with pytest.raises(OrderImportError) as caught:
        order_import_confirm(order_import_id=order_import.pk, user=user)
    assert (caught.value.code, caught.value.message) == (
        "expired",
        "The preview of orders.csv has expired (previews are kept 24 h): upload the file again.",
    )
    assert not Order.objects.exists()
    assert OrderImport.objects.get().status == "previewed"
    settings.ORDER_IMPORT_PREVIEW_TTL = 2 * 86400  # still within a longer time: confirmed
    order_import_confirm(order_import_id=order_import.pk, user=user)
    assert Order.objects.count() == 2


def test_the_admin_says_an_expired_preview_must_be_uploaded_again(client, user):
    client.force_login(user)
    order_import = previewed(user, age=2 * DAY)
    page = client.post(f"{IMPORT_URL}{order_import.pk}/confirm/", follow=True)
    assert page.redirect_chain == [(IMPORT_URL, 302)]
    assert [str(m) for m in page.context["messages"]] == [
        "The preview of orders.csv has expired (previews are kept 24 h): upload the file again."
    ]
    assert not Order.objects.exists()


def test_the_purge_deletes_expired_previews_and_old_imports_only(user):
    expired = previewed(user, age=DAY + HOUR, name="expired.csv")
    fresh = previewed(user, age=DAY - HOUR, name="fresh.csv")
    old = imported(user, age=91 * DAY, reference="old-1")
    recent = imported(user, age=89 * DAY, reference="recent-1")
    # An import made before files were emptied at confirmation still holds its file.
    OrderImport.objects.filter(pk=recent.pk).update(content=SAMPLE)

    assert order_imports_purge() == {
        "previews_expired": 1,
        "imports_deleted": 1,
        "files_emptied": 1,
    }

    kept = {o.pk: o for o in OrderImport.objects.all()}
    assert set(kept) == {fresh.pk, recent.pk}
    assert expired.pk not in kept and old.pk not in kept
    assert kept[fresh.pk].content == SAMPLE  # still confirmable: its file is kept
    assert kept[recent.pk].content == ""
    assert set(Order.objects.values_list("reference_id", flat=True)) == {"old-1", "recent-1"}
    assert order_imports_purge() == {
        "previews_expired": 0,
        "imports_deleted": 0,
        "files_emptied": 0,
    }
    order_import_confirm(order_import_id=fresh.pk, user=user)


def test_the_task_and_the_command_purge(user):
    previewed(user, age=2 * DAY)
    assert order_imports_purge_task() == {
        "previews_expired": 1,
        "imports_deleted": 0,
        "files_emptied": 0,
    }
    previewed(user, age=2 * DAY)
    imported(user, age=100 * DAY, reference="old-1")
    out = StringIO()
    call_command("order_imports_purge", stdout=out)
    assert out.getvalue() == (
        "1 expired preview(s) and 1 old import(s) deleted; 0 imported file(s) emptied.\n"
    )
    assert not OrderImport.objects.exists()


def test_beat_runs_the_purge_hourly():
    assert django_settings.CELERY_BEAT_SCHEDULE["order-imports-purge"] == {
        "task": "orders.tasks.order_imports_purge_task",
        "schedule": 3600.0,
    }
