"""Admin changelists that stay fast on tables of millions of rows (sent messages, orders,
callback receipts and inbound events).

- Search (`IndexedSearchMixin`): a term that is a phone number in any common form
  ('9812345601', '+91 98123 45601', '098123-45601') is normalised by common.phones and matched
  exactly (a b-tree index); a term of digits matches the `search_integer_fields` (ids) exactly;
  any other term is matched exactly on the `search_exact_fields` and
  as a substring (`ILIKE '%term%'`, which a pg_trgm GIN index serves on PostgreSQL; LIKE on
  SQLite) on the `search_partial_fields`. A term shorter than ADMIN_SEARCH_MIN_LENGTH finds
  nothing and says why: a trigram index cannot serve it, so it would read the whole table.
- Counts (`EstimatedCountPaginator`): PostgreSQL's own estimate of the rows (its plan's, from
  the table statistics; no row read) is shown as "about 10.2 million" when it is
  ADMIN_EXACT_COUNT_BELOW or more; below, the rows are counted exactly by a count that stops
  at that many (its cost is bounded whatever the estimate's error). Deep pages read only the
  ids of the rows they skip (an index-only walk), then the page's own rows; pages past
  ADMIN_MAX_PAGES are not served (a message asks for a filter).
- `FastChangeListMixin` puts them together for a ModelAdmin, with Django's own extra counts
  (the unfiltered "N total" and facet counts) switched off.
"""

import json
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.admin import ShowFacets, helpers
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import F, Lookup, Q
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext as _

from .phones import phone_e164

# A term typed as a phone number: digits with optional +, spaces, dashes, dots or brackets.
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]+")
# A term that can be a row's id (a bigint: at most 18 digits).
_INTEGER = re.compile(r"\d{1,18}")


class IlikeContains(Lookup):
    """`field ILIKE '%term%'` on PostgreSQL, which a pg_trgm GIN index on the bare column serves
    (Django's icontains writes UPPER(field) LIKE UPPER(...), which it does not); LIKE
    elsewhere (SQLite's LIKE ignores the case of ASCII letters)."""

    lookup_name = "ilike_contains"
    prepare_rhs = False

    def process_rhs(self, compiler, connection):
        rhs, params = super().process_rhs(compiler, connection)
        escaped = [
            "%" + str(p).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            for p in params
        ]
        return rhs, escaped

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        operator = "ILIKE" if connection.vendor == "postgresql" else "LIKE"
        return f"{lhs} {operator} {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


def search_term_filter(
    term: str,
    *,
    phone_fields: tuple[str, ...] = (),
    phone_text_fields: tuple[str, ...] = (),
    exact_fields: tuple[str, ...] = (),
    integer_fields: tuple[str, ...] = (),
    partial_fields: tuple[str, ...] = (),
    min_length: int | None = None,
) -> tuple[Q, str | None]:
    """The filter a changelist search term stands for, and for a term too short to search part
    of a value by an index, the message saying so (the filter then matches whole values only).
    A valid phone number (common.phones) matches the `phone_fields` exactly in E.164, the
    `phone_text_fields` (numbers kept as a provider wrote them) exactly with or without the +,
    and the `exact_fields` as typed; any other term matches the `exact_fields` as typed and the
    `partial_fields` as a substring (a term typed like a phone number is searched in the phone
    fields by its digits alone). A term of digits also matches the `integer_fields` (ids)."""
    term = term.strip()
    min_length = settings.ADMIN_SEARCH_MIN_LENGTH if min_length is None else min_length
    q = Q(pk__in=[])  # matches nothing: the start of an OR
    for field in exact_fields:
        q |= Q(**{field: term})
    if _INTEGER.fullmatch(term):
        for field in integer_fields:
            q |= Q(**{field: int(term)})
    phone_like = _PHONE_LIKE.fullmatch(term)
    phone = phone_e164(term) if (phone_fields or phone_text_fields) and phone_like else None
    if phone:
        for field in phone_fields:
            q |= Q(**{field: phone})
        for field in phone_text_fields:
            q |= Q(**{f"{field}__in": [phone, phone.removeprefix("+")]})
        return q, None
    phone_digits = re.sub(r"\D", "", term) if _PHONE_LIKE.fullmatch(term) else ""
    if len(term) < min_length and len(phone_digits) < min_length:
        return q, (
            f"Search for at least {min_length} characters: “{term}” is too short to look up "
            "without reading every row"
            + (" (only whole values were matched)." if exact_fields or integer_fields else ".")
        )
    for field in partial_fields:
        is_phone = field in phone_fields or field in phone_text_fields
        value = phone_digits if is_phone and phone_digits else term
        if len(value) >= min_length:
            q |= IlikeContains(F(field), value)
    return q, None


class IndexedSearchMixin:
    """ModelAdmin search through `search_term_filter`: set `search_phone_fields`,
    `search_phone_text_fields`, `search_exact_fields`, `search_integer_fields` and
    `search_partial_fields` (and `search_fields`, which makes the admin show its search box)."""

    search_phone_fields: tuple[str, ...] = ()
    search_phone_text_fields: tuple[str, ...] = ()
    search_exact_fields: tuple[str, ...] = ()
    search_integer_fields: tuple[str, ...] = ()
    search_partial_fields: tuple[str, ...] = ()

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        found, too_short = search_term_filter(
            search_term,
            phone_fields=self.search_phone_fields,
            phone_text_fields=self.search_phone_text_fields,
            exact_fields=self.search_exact_fields,
            integer_fields=self.search_integer_fields,
            partial_fields=self.search_partial_fields,
        )
        if too_short:
            messages.warning(request, too_short)
            if not self.search_exact_fields and not self.search_integer_fields:
                return queryset.none(), False
        # A search across a relation (order__reference_id) joins one row per row: no duplicates.
        return queryset.filter(found), False


class CountEstimate(int):
    """A row count that PostgreSQL estimated: an int for the paginator's arithmetic, shown
    as "about 10.2 million" (or "about 48,000") wherever the admin prints it."""

    def __str__(self):
        value = int(self)
        if value >= 1_000_000:
            return f"about {value / 1_000_000:.1f} million"
        digits = max(len(str(value)) - 2, 0)
        return f"about {round(value, -digits):,}"

    __html__ = __str__

    def __format__(self, spec):
        return str(self) if not spec else int.__format__(int(self), spec)


def queryset_count(queryset, *, exact_below: int | None = None) -> int:
    """The number of rows of `queryset` on PostgreSQL: its planner's estimate (a
    CountEstimate) when that is `exact_below` (ADMIN_EXACT_COUNT_BELOW) or more; else counted
    exactly with a LIMIT of `exact_below`, so the count never reads more rows than that (when
    it reaches the limit, the estimate is kept, never below the limit). Exact on other
    databases."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count()
    limit = settings.ADMIN_EXACT_COUNT_BELOW if exact_below is None else exact_below
    try:
        estimate = queryset_estimate(queryset)
    except EmptyResultSet:  # none(), or a filter such as pk__in=[]: no query to run
        return 0
    if estimate >= limit:
        return CountEstimate(estimate)
    counted = queryset.order_by().values("pk")[:limit].count()
    if counted < limit:
        return counted
    return CountEstimate(max(estimate, limit))


def queryset_estimate(queryset) -> int:
    """PostgreSQL's estimate of the rows of `queryset` (its plan's top row count: for a table
    unfiltered, pg_class.reltuples scaled to its current size), without running it."""
    connection = connections[queryset.db]
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return int(plan[0]["Plan"]["Plan Rows"])


class EstimatedCountPaginator(Paginator):
    """A Paginator whose count is `queryset_count` (exact when cheap, else estimated), whose
    pages stop at ADMIN_MAX_PAGES, and whose deep pages read the skipped rows' ids only."""

    # From this offset on, a page first reads the ids of its rows (the skipped rows are then
    # walked in an index only), then fetches those rows.
    DEFERRED_FROM = 1000

    @cached_property
    def count(self):
        if hasattr(self.object_list, "query"):
            return queryset_count(self.object_list)
        return super().count

    @property
    def estimated(self) -> bool:
        return isinstance(self.count, CountEstimate)

    @cached_property
    def num_pages(self):
        return min(super().num_pages, settings.ADMIN_MAX_PAGES)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if not self.estimated and top + self.orphans >= self.count:
            top = self.count
        queryset = self.object_list
        if bottom >= self.DEFERRED_FROM and hasattr(queryset, "query"):
            ids = list(queryset.values_list("pk", flat=True)[bottom:top])
            return self._get_page(queryset.filter(pk__in=ids), number, self)
        return self._get_page(queryset[bottom:top], number, self)


class CappedChangeList(ChangeList):
    """A ChangeList that serves no page past ADMIN_MAX_PAGES: it shows the last one it serves
    with a message asking for a filter, a date or a search instead."""

    def get_results(self, request):
        cap = settings.ADMIN_MAX_PAGES
        if self.page_num > cap:
            messages.warning(
                request,
                f"Only the first {cap} pages are listed (reading further would slow the "
                "database down for everyone): narrow the list with a filter, a date or a "
                f"search to see older rows. This is page {cap}.",
            )
            self.page_num = cap
        super().get_results(request)


class FastChangeListMixin(IndexedSearchMixin):
    """A ModelAdmin changelist for big tables: indexed search, counts that do not scan, capped
    pages, no unfiltered total and no facet counts."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    def get_changelist(self, request, **kwargs):
        return CappedChangeList

    def action_checkbox(self, obj):
        """Django's row checkbox, written directly: rendering a CheckboxInput widget through
        the form renderer's templates took a third of a 100-row page's time. The same HTML."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            format_html(_("Select this object for an action - {}"), str(obj)),
        )
