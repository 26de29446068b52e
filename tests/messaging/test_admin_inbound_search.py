"""The callback receipts and inbound events lists on big tables (common/changelists.py), as the
sent messages list: search through indexes, counts that do not scan, capped pages."""

import hashlib
import itertools
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags.admin_list import result_headers
from django.db import connection

from common import changelists
from messaging.models import CallbackReceipt, InboundEvent

from .test_admin_search import listed, statements, warnings

pytestmark = pytest.mark.django_db

RECEIPTS = "/admin/messaging/callbackreceipt/"
EVENTS = "/admin/messaging/inboundevent/"
_numbers = itertools.count(1)


def receipt(body="{}", rejected_reason="", **fields) -> CallbackReceipt:
    return CallbackReceipt.objects.create(
        body=body,
        body_sha256=hashlib.sha256(body.encode()).hexdigest(),
        rejected_reason=rejected_reason,
        content_type="application/json",
        **fields,
    )


def event(*, reference="", external_id="", phone="", event_type="payment", of=None):
    number = next(_numbers)
    return InboundEvent.objects.create(
        receipt=of or receipt(body=f'{{"n": {number}}}'),
        provider="kaleyra",
        event_type=event_type,
        identity_hash=f"{number:064d}",
        data={},
        reference=reference,
        external_id=external_id,
        phone=phone,
    )


@pytest.mark.parametrize("typed", ["9812345601", "+91 98123 45601", "098123-45601"])
def test_a_phone_typed_in_any_form_finds_its_events_however_kaleyra_wrote_it(admin_client, typed):
    bare = event(phone="919812345601")
    plus = event(phone="+919812345601")
    event(phone="919812345602")
    assert listed(admin_client.get(EVENTS, {"q": typed})) == [plus.pk, bare.pk]


def test_part_of_a_reference_or_phone_number_finds_the_events(admin_client):
    mine = event(reference="SampleMSIL1102", phone="919812345601")
    other = event(reference="SampleXYZ2203", phone="919800000000")
    assert listed(admin_client.get(EVENTS, {"q": "msil11"})) == [mine.pk]
    assert listed(admin_client.get(EVENTS, {"q": "2345601"})) == [mine.pk]
    assert listed(admin_client.get(EVENTS, {"q": "98123 456"})) == [mine.pk]
    assert listed(admin_client.get(EVENTS, {"q": "Sample"})) == [other.pk, mine.pk]


def test_a_provider_id_or_a_receipt_id_is_found_whole(admin_client):
    mine = event(external_id="order_SdrcSSqobZ7voR")
    event(external_id="order_SdrcSSqobZ7voR2")
    assert listed(admin_client.get(EVENTS, {"q": "order_SdrcSSqobZ7voR"})) == [mine.pk]
    assert listed(admin_client.get(EVENTS, {"q": "SdrcSSqob"})) == []  # ids are found whole
    shared = receipt(body='{"two": "events"}')
    first, second = event(of=shared), event(of=shared)
    found = admin_client.get(EVENTS, {"q": str(shared.pk)})
    assert listed(found) == [second.pk, first.pk]


def test_a_too_short_search_finds_whole_values_only_and_says_why(admin_client):
    mine = event(reference="ab")
    event(reference="ab-12345")
    response = admin_client.get(EVENTS, {"q": "ab"})
    assert listed(response) == [mine.pk]
    assert warnings(response) == [
        "Search for at least 3 characters: “ab” is too short to look up without reading "
        "every row (only whole values were matched)."
    ]


def test_receipts_are_found_by_id_sha256_or_part_of_the_rejection(admin_client):
    mine = receipt(body="not json", rejected_reason="The body is not JSON: Expecting value")
    other = receipt(body='{"ok": true}')
    assert listed(admin_client.get(RECEIPTS, {"q": str(other.pk)})) == [other.pk]
    assert listed(admin_client.get(RECEIPTS, {"q": other.body_sha256})) == [other.pk]
    assert listed(admin_client.get(RECEIPTS, {"q": "not json"})) == [mine.pk]
    assert listed(admin_client.get(RECEIPTS, {"q": other.body_sha256[:10]})) == []
    assert admin_client.get(f"{RECEIPTS}{mine.pk}/change/").status_code == 200


def test_counts_are_exact_with_no_unfiltered_total_and_no_date_hierarchy(admin_client):
    for _ in range(3):
        event(event_type="template_status")
    event(event_type="payment")
    response = admin_client.get(EVENTS, {"event_type__exact": "template_status"})
    cl = response.context["cl"]
    assert (cl.result_count, type(cl.result_count), cl.full_result_count) == (3, int, None)
    assert cl.date_hierarchy is None
    assert "3 inbound events" in response.content.decode()
    receipts = admin_client.get(RECEIPTS).context["cl"]
    assert (receipts.result_count, receipts.full_result_count, receipts.date_hierarchy) == (
        4,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("url", "sortable"),
    [(EVENTS, ["id", "created_at"]), (RECEIPTS, ["id", "received_at"])],
)
def test_only_the_indexed_columns_offer_to_sort(admin_client, url, sortable):
    event()
    cl = admin_client.get(url).context["cl"]
    headers = zip(cl.list_display, result_headers(cl), strict=True)
    assert [name for name, header in headers if header["sortable"]] == sortable
    assert len(cl.list_display) > 5  # every other column is listed, not sortable


def test_pages_past_the_cap_show_the_last_page_served_with_a_message(
    admin_client, settings, monkeypatch
):
    settings.ADMIN_MAX_PAGES = 2
    monkeypatch.setattr(admin.site._registry[InboundEvent], "list_per_page", 1)
    newest_first = [event().pk for _ in range(4)][::-1]
    response = admin_client.get(EVENTS, {"p": 4})
    assert listed(response) == [newest_first[1]]
    assert response.context["cl"].paginator.num_pages == 2
    assert warnings(response)[0].startswith("Only the first 2 pages are listed")


def test_deep_pages_read_their_rows_by_id_in_the_lists_order(admin_client, monkeypatch):
    monkeypatch.setattr(admin.site._registry[CallbackReceipt], "list_per_page", 2)
    monkeypatch.setattr(changelists.EstimatedCountPaginator, "DEFERRED_FROM", 2)
    newest_first = [receipt(body=f'{{"n": {n}}}').pk for n in range(5)][::-1]
    with statements() as captured:
        response = admin_client.get(RECEIPTS, {"p": 2})
    assert listed(response) == newest_first[2:4]
    assert any(" IN (" in sql and "messaging_callbackreceipt" in sql for sql in captured)


@pytest.mark.postgres
def test_on_postgresql_a_big_list_shows_the_estimate_and_counts_no_further(admin_client, settings):
    settings.ADMIN_EXACT_COUNT_BELOW = 3
    for _ in range(4):
        event()
    with (
        mock.patch.object(changelists, "queryset_estimate", return_value=10_234_567),
        statements() as captured,
    ):
        events = admin_client.get(EVENTS)
        receipts = admin_client.get(RECEIPTS)
    assert "about 10.2 million inbound events" in events.content.decode()
    assert "about 10.2 million callback receipts" in receipts.content.decode()
    assert not [sql for sql in captured if "COUNT(" in sql.upper()]


def _plans(client, off: str, cases) -> dict:
    """The plans of these lists' queries with `off` plans forbidden (a table this small is
    best read whole: forbidding it shows whether the lists' own indexes can serve them)."""
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute(off)
        try:
            for name, url, params in cases:
                cl = client.get(url, params).context["cl"]
                plans[name] = cl.queryset[: cl.list_per_page].explain()  # its first page
        finally:
            cursor.execute("RESET enable_seqscan; RESET enable_indexscan; RESET enable_sort")
    return plans


@pytest.mark.postgres
def test_on_postgresql_searches_can_use_the_indexes(admin_client):
    event(reference="SampleMSIL1102", phone="919812345601")
    receipt(body="x", rejected_reason="The body is not JSON")
    plans = _plans(
        admin_client,
        "SET enable_seqscan = off; SET enable_indexscan = off",
        [
            ("reference", EVENTS, {"q": "MSIL11"}),
            ("phone part", EVENTS, {"q": "2345601"}),
            ("rejected", RECEIPTS, {"q": "not JSON"}),
        ],
    )
    assert "inboundevent_reference_trgm" in plans["reference"]
    assert "inboundevent_phone_trgm" in plans["phone part"]
    assert "callbackreceipt_rejected_trgm" in plans["rejected"]


@pytest.mark.postgres
def test_on_postgresql_the_lists_read_their_order_from_the_indexes(admin_client):
    event(event_type="template_status")
    receipt(body="x", truncated=True)
    plans = _plans(
        admin_client,
        "SET enable_seqscan = off; SET enable_sort = off",  # a page in the list's order
        [
            ("events", EVENTS, {}),
            ("one type", EVENTS, {"event_type__exact": "template_status"}),
            ("receipts", RECEIPTS, {}),
            ("truncated", RECEIPTS, {"truncated__exact": "1"}),
        ],
    )
    assert "inboundevent_created_id" in plans["events"]
    assert "inboundevent_type_created" in plans["one type"]
    assert "callbackreceipt_received_id" in plans["receipts"]
    assert "callbackreceipt_truncated" in plans["truncated"]
