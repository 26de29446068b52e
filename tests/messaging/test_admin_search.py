"""The sent messages and send batches lists on big tables (common/changelists.py): search
through indexes, counts that do not scan, capped pages."""

import contextlib
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection

from common import changelists
from messaging.models import SendBatch, SentMessage
from tests.factories import SendBatchFactory, SentMessageFactory

pytestmark = pytest.mark.django_db

MESSAGES = "/admin/messaging/sentmessage/"
BATCHES = "/admin/messaging/sendbatch/"


@contextlib.contextmanager
def statements():
    """The SQL statements run meanwhile (with their parameters' placeholders)."""
    seen = []

    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield seen


def listed(response):
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


def warnings(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("typed", ["9812345601", "+91 98123 45601", "098123-45601"])
def test_a_phone_typed_in_any_form_finds_its_messages(admin_client, typed):
    mine = SentMessageFactory(recipient="+919812345601")
    SentMessageFactory(recipient="+919812345602")
    assert listed(admin_client.get(MESSAGES, {"q": typed})) == [mine.pk]


def test_part_of_a_phone_number_or_of_a_ref_finds_the_messages(admin_client):
    mine = SentMessageFactory(recipient="+919812345601", ref="diwali-campaign-7")
    other = SentMessageFactory(recipient="+919800000000", ref="holi-campaign-8")
    assert listed(admin_client.get(MESSAGES, {"q": "2345601"})) == [mine.pk]
    assert listed(admin_client.get(MESSAGES, {"q": "98123 456"})) == [mine.pk]
    assert listed(admin_client.get(MESSAGES, {"q": "CAMPAIGN-7"})) == [mine.pk]
    assert listed(admin_client.get(MESSAGES, {"q": "campaign"})) == [other.pk, mine.pk]


def test_a_kaleyra_id_or_ref2_is_found_whole(admin_client):
    mine = SentMessageFactory(provider_message_id="kal-abc-1", ref2="customer-42")
    SentMessageFactory(provider_message_id="kal-abc-11", ref2="customer-421")
    assert listed(admin_client.get(MESSAGES, {"q": "kal-abc-1"})) == [mine.pk]
    assert listed(admin_client.get(MESSAGES, {"q": "customer-42"})) == [mine.pk]


def test_a_too_short_search_finds_whole_values_only_and_says_why(admin_client):
    mine = SentMessageFactory(recipient="+919812345601", ref2="ab")
    SentMessageFactory(recipient="+919812345602", ref="ab-campaign")
    response = admin_client.get(MESSAGES, {"q": "ab"})
    assert listed(response) == [mine.pk]
    assert warnings(response) == [
        "Search for at least 3 characters: “ab” is too short to look up without reading "
        "every row (only whole values were matched)."
    ]
    assert "too short to look up" in response.content.decode()


def test_send_batches_are_searched_by_part_of_their_name(admin_client):
    mine = SendBatchFactory(name="Diwali offer")
    SendBatchFactory(name="Holi offer")
    assert listed(admin_client.get(BATCHES, {"q": "diwali"})) == [mine.pk]
    assert admin_client.get(f"{BATCHES}{mine.pk}/change/").status_code == 200


def test_counts_are_exact_with_no_unfiltered_total(admin_client):
    SentMessageFactory.create_batch(3, status="failed")
    SentMessageFactory(status="read")
    response = admin_client.get(MESSAGES, {"status__exact": "failed"})
    cl = response.context["cl"]
    assert (cl.result_count, type(cl.result_count), cl.full_result_count) == (3, int, None)
    assert "3 sent messages" in response.content.decode()


def test_pages_past_the_cap_show_the_last_page_served_with_a_message(
    admin_client, settings, monkeypatch
):
    settings.ADMIN_MAX_PAGES = 2
    monkeypatch.setattr(admin.site._registry[SentMessage], "list_per_page", 1)
    newest_first = [m.pk for m in SentMessageFactory.create_batch(4)][::-1]
    response = admin_client.get(MESSAGES, {"p": 4})
    assert listed(response) == [newest_first[1]]
    assert response.context["cl"].paginator.num_pages == 2
    assert warnings(response) == [
        "Only the first 2 pages are listed (reading further would slow the database down for "
        "everyone): narrow the list with a filter, a date or a search to see older rows. This "
        "is page 2."
    ]


def test_deep_pages_read_their_rows_by_id_in_the_lists_order(admin_client, monkeypatch):
    monkeypatch.setattr(admin.site._registry[SentMessage], "list_per_page", 2)
    monkeypatch.setattr(changelists.EstimatedCountPaginator, "DEFERRED_FROM", 2)
    newest_first = [m.pk for m in SentMessageFactory.create_batch(5)][::-1]
    with statements() as captured:
        response = admin_client.get(MESSAGES, {"p": 2})
    assert listed(response) == newest_first[2:4]
    assert listed(admin_client.get(MESSAGES, {"p": 3})) == newest_first[4:]
    assert any(" IN (" in sql and "messaging_sentmessage" in sql for sql in captured)


@pytest.mark.postgres
def test_on_postgresql_a_big_list_shows_the_estimate_and_counts_no_further(admin_client, settings):
    settings.ADMIN_EXACT_COUNT_BELOW = 3
    SentMessageFactory.create_batch(4)
    SentMessageFactory(status="failed")
    with (
        mock.patch.object(
            changelists,
            "queryset_estimate",
            side_effect=lambda queryset: 1 if queryset.query.where else 10_234_567,
        ),
        statements() as captured,
    ):
        response = admin_client.get(MESSAGES)
        failed = admin_client.get(MESSAGES, {"status__exact": "failed"})
    assert "about 10.2 million sent messages" in response.content.decode()
    assert response.context["cl"].paginator.num_pages == settings.ADMIN_MAX_PAGES
    assert (failed.context["cl"].result_count, type(failed.context["cl"].result_count)) == (
        1,
        int,
    )
    counts = [sql for sql in captured if "COUNT(" in sql.upper()]
    assert counts and all("LIMIT 3" in sql for sql in counts), counts


@pytest.mark.postgres
def test_on_postgresql_searches_can_use_the_indexes(admin_client):
    SentMessageFactory(recipient="+919812345601", ref="diwali-campaign-7")
    plans = {}
    with connection.cursor() as cursor:
        # A table this small is best read whole or in date order: forbid both to see whether
        # the search's own indexes can serve it.
        cursor.execute("SET enable_seqscan = off; SET enable_indexscan = off")
        try:
            for term in ("+91 98123 45601", "2345601", "campaign-7"):
                plans[term] = (
                    admin_client.get(MESSAGES, {"q": term}).context["cl"].queryset.explain()
                )
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_indexscan")
    assert "sentmessage_recipient " in plans["+91 98123 45601"]
    assert "sentmessage_recipient_trgm" in plans["2345601"]
    assert "sentmessage_ref_trgm" in plans["campaign-7"]


def test_the_list_and_message_pages_still_render(admin_client):
    message = SentMessageFactory()
    assert admin_client.get(MESSAGES).status_code == 200
    assert admin_client.get(f"{MESSAGES}{message.pk}/change/").status_code == 200
    assert admin_client.get(BATCHES).status_code == 200
    assert SendBatch.objects.count() == 1
