"""common/changelists.py: the search term's filter, the estimate's display, the bounded count,
and the migration operations' indexes (common/migration_operations.py)."""

from unittest import mock

import pytest
from django.db import connection
from django.db.models import F, Q

from common import changelists
from common.changelists import CountEstimate, IlikeContains, queryset_count, search_term_filter
from messaging.models import SentMessage
from tests.factories import SentMessageFactory

NOTHING = Q(pk__in=[])
FIELDS = {
    "phone_fields": ("recipient",),
    "exact_fields": ("provider_message_id",),
    "partial_fields": ("recipient", "ref"),
}


@pytest.mark.parametrize("typed", ["9812345601", "+91 98123 45601", "098123-45601", "919812345601"])
def test_a_phone_in_any_form_is_matched_exactly_in_e164(typed):
    assert search_term_filter(typed, **FIELDS) == (
        NOTHING | Q(provider_message_id=typed) | Q(recipient="+919812345601"),
        None,
    )


def test_a_partial_phone_is_searched_by_its_digits_in_phone_fields_as_typed_elsewhere():
    found, too_short = search_term_filter("98123 456", **FIELDS)
    assert too_short is None
    lookups = [child for child in found.children if isinstance(child, IlikeContains)]
    assert [(lookup.lhs.name, lookup.rhs) for lookup in lookups] == [
        ("recipient", "98123456"),
        ("ref", "98123 456"),
    ]


def test_a_too_short_term_gets_a_message_naming_the_minimum(settings):
    settings.ADMIN_SEARCH_MIN_LENGTH = 3
    assert search_term_filter("ab", **{**FIELDS, "exact_fields": ()}) == (
        NOTHING,
        "Search for at least 3 characters: “ab” is too short to look up without reading every row.",
    )


def test_a_short_term_still_matches_the_exact_fields_and_says_so():
    assert search_term_filter("ab", **FIELDS) == (
        NOTHING | Q(provider_message_id="ab"),
        "Search for at least 3 characters: “ab” is too short to look up without reading "
        "every row (only whole values were matched).",
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [(10_234_567, "about 10.2 million"), (48_321, "about 48,000"), (123, "about 120")],
)
def test_an_estimate_is_shown_as_about(value, shown):
    estimate = CountEstimate(value)
    assert (str(estimate), f"{estimate}", estimate + 0) == (shown, shown, value)


@pytest.mark.django_db
def test_ilike_contains_escapes_wildcards():
    SentMessageFactory(ref="50%_off")
    SentMessageFactory(ref="500 off")
    refs = SentMessage.objects.filter(IlikeContains(F("ref"), "0%_O")).values_list("ref", flat=True)
    assert list(refs) == ["50%_off"]


@pytest.mark.django_db
def test_counts_are_exact_on_sqlite_whatever_the_size(settings):
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite fallback")
    settings.ADMIN_EXACT_COUNT_BELOW = 2
    SentMessageFactory.create_batch(3)
    with mock.patch.object(changelists, "queryset_estimate") as estimate:
        count = queryset_count(SentMessage.objects.all())
    assert (count, type(count), estimate.called) == (3, int, False)


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_counts_are_exact_below_the_setting_and_estimated_above(settings):
    settings.ADMIN_EXACT_COUNT_BELOW = 3
    SentMessageFactory.create_batch(2, status="failed")
    SentMessageFactory.create_batch(2, status="read")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_sentmessage")
    cheap = queryset_count(SentMessage.objects.filter(status="failed"))
    with mock.patch.object(changelists, "queryset_estimate", return_value=10_234_567):
        big = queryset_count(SentMessage.objects.all())
    assert (cheap, type(cheap)) == (2, int)
    assert (big, str(big)) == (10_234_567, "about 10.2 million")


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_an_estimate_too_low_costs_a_count_of_the_limit_at_most(settings):
    settings.ADMIN_EXACT_COUNT_BELOW = 3
    SentMessageFactory.create_batch(5)
    with mock.patch.object(changelists, "queryset_estimate", return_value=1):
        count = queryset_count(SentMessage.objects.all())
    assert (count, type(count), str(count)) == (3, CountEstimate, "about 3")


@pytest.mark.django_db
def test_an_empty_queryset_counts_zero_without_a_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert queryset_count(SentMessage.objects.none()) == 0
        assert queryset_count(SentMessage.objects.filter(pk__in=[])) == 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_the_estimate_is_the_planners():
    SentMessageFactory.create_batch(3)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_sentmessage")
    assert changelists.queryset_estimate(SentMessage.objects.all()) == 3


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_the_migrations_built_the_trigram_and_phone_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN ("
            "'sentmessage_recipient_trgm', 'sentmessage_ref_trgm', 'sendbatch_name_trgm', "
            "'order_reference_trgm', 'order_name_trgm', 'order_phone_trgm', "
            "'sentmessage_recipient', 'order_customer_phone') ORDER BY indexname"
        )
        indexes = dict(cursor.fetchall())
    assert len(indexes) == 8
    assert "USING gin (ref gin_trgm_ops)" in indexes["sentmessage_ref_trgm"]
    assert "USING btree (recipient)" in indexes["sentmessage_recipient"]


@pytest.mark.django_db
def test_on_sqlite_the_trigram_indexes_are_skipped_and_the_btree_ones_built():
    if connection.vendor == "postgresql":
        pytest.skip("the SQLite side")
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "messaging_sentmessage")
    assert "sentmessage_recipient" in constraints and "sentmessage_created_id" in constraints
    assert not any(name.endswith("_trgm") for name in constraints)


def test_the_row_checkbox_is_djangos_own_html():
    from django.contrib import admin
    from django.contrib.admin import ModelAdmin

    from messaging.models import SendBatch

    batch = SendBatch(pk=5, name='Diwali <b> & "50%"')
    model_admin = admin.site._registry[SendBatch]
    assert model_admin.action_checkbox(batch) == ModelAdmin.action_checkbox(model_admin, batch)


def test_a_term_of_digits_matches_the_integer_fields_whole_and_another_term_not():
    fields = {"exact_fields": ("body_sha256",), "integer_fields": ("id",)}
    assert search_term_filter("42", **fields)[0] == NOTHING | Q(body_sha256="42") | Q(id=42)
    assert search_term_filter("4x2", **fields)[0] == NOTHING | Q(body_sha256="4x2")
    too_big = "1" * 19  # not a bigint: never compared with an id
    assert search_term_filter(too_big, **fields)[0] == NOTHING | Q(body_sha256=too_big)


def test_a_phone_matches_phone_text_fields_with_or_without_its_plus():
    found, too_short = search_term_filter("+91 98123 45601", phone_text_fields=("phone",))
    assert (found, too_short) == (
        NOTHING | Q(phone__in=["+919812345601", "919812345601"]),
        None,
    )
    found, _ = search_term_filter(
        "98123 456", phone_text_fields=("phone",), partial_fields=("phone",)
    )
    assert [(c.lhs.name, c.rhs) for c in found.children if isinstance(c, IlikeContains)] == [
        ("phone", "98123456")
    ]
