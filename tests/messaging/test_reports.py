import csv
import io
from datetime import datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import RequestFactory
from django.utils import timezone

from messaging.models import SentMessage
from messaging.reports import selectors, tables
from tests.factories import AcceptedMessageFactory, SendBatchFactory, UserFactory

pytestmark = pytest.mark.django_db

IST = ZoneInfo("Asia/Kolkata")
DELIVERY = "/admin/reports/delivery/"
REFS = "/admin/reports/refs/"
RANGE = {"date_from": "2026-11-10", "date_to": "2026-11-11"}


def ist(*args):
    return datetime(*args, tzinfo=IST)


def make(created_at, **fields):
    message = AcceptedMessageFactory(**fields)
    SentMessage.objects.filter(pk=message.pk).update(created_at=created_at)
    return message


@pytest.fixture
def staff(client):
    user = UserFactory(username="reporter", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_reports", "view_sentmessage"])
    )
    client.force_login(user)
    return user


@pytest.fixture
def fixture_messages():
    """Eight messages in the range (hand-counted below) and two just outside it."""
    batch = SendBatchFactory()
    day1, day2 = ist(2026, 11, 10, 0, 30), ist(2026, 11, 11, 23, 50)
    t = day1 + timedelta(minutes=1)
    status = {"kind": "order_status", "template_name": "order_update"}
    coupon = {"kind": "coupon_code", "template_name": "coupon_offer"}
    undeliverable = {"error_code": "131026", "error_title": "Message undeliverable"}
    made = {
        "m1": make(
            day1,
            **status,
            status="read",
            sent_at=t,
            delivered_at=t,
            read_at=t,
            ref="diwali",
            ref1="vip",
            batch=batch,
        ),
        "m2": make(
            day1, **status, status="delivered", sent_at=t, delivered_at=t, ref="diwali", batch=batch
        ),
        "m3": make(
            day1, **coupon, status="failed", sent_at=t, failed_at=t, ref="diwali", **undeliverable
        ),
        "m4": make(day1, **coupon, status="queued", accepted_at=None, provider_message_id=None),
        "m5": make(day2, **status, status="not_sent", failed_at=t, ref="newyear", batch=batch),
        "m6": make(
            day2,
            **status,
            status="delivered",
            sent_at=t,
            delivered_at=t,
            failed_at=t,
            delivery_anomaly=True,
            ref="newyear",
        ),
        "m7": make(day2, **coupon, status="failed", failed_at=t, ref="newyear", **undeliverable),
        "m8": make(day2, **status, status="sent", sent_at=t),
        "after": make(ist(2026, 11, 12, 0, 0), **status),
        "before": make(ist(2026, 11, 9, 23, 59), **status),
    }
    return made, batch


# Day/kind/template or ref, then: messages, queued, accepted, sent, delivered, read, failed,
# not sent, delivery rate, read rate, paid orders, revenue (none paid here: see test_reports_paid).
# fmt: off
EXPECTED_DELIVERY = [
    ["2026-11-10", "Coupon code", "coupon_offer", "2", "1", "1", "1", "0", "0", "1", "0", "0.0%", "—", "0", "₹0.00"],  # noqa: E501
    ["2026-11-10", "Order status", "order_update", "2", "0", "2", "2", "2", "1", "0", "0", "100.0%", "50.0%", "0", "₹0.00"],  # noqa: E501
    ["2026-11-11", "Coupon code", "coupon_offer", "1", "0", "1", "0", "0", "0", "1", "0", "0.0%", "—", "0", "₹0.00"],  # noqa: E501
    ["2026-11-11", "Order status", "order_update", "3", "0", "3", "2", "1", "0", "0", "1", "33.3%", "0.0%", "0", "₹0.00"],  # noqa: E501
    ["Total", "", "", "8", "1", "7", "5", "3", "1", "2", "1", "42.9%", "33.3%", "0", "₹0.00"],
]
EXPECTED_REFS = [
    ["diwali", "3", "0", "3", "3", "2", "1", "1", "0", "66.7%", "50.0%", "0", "₹0.00"],
    ["newyear", "3", "0", "3", "1", "1", "0", "1", "1", "33.3%", "0.0%", "0", "₹0.00"],
    ["(none)", "2", "1", "1", "1", "0", "0", "0", "0", "0.0%", "—", "0", "₹0.00"],
    ["Total (3 groups)", "8", "1", "7", "5", "3", "1", "2", "1", "42.9%", "33.3%", "0", "₹0.00"],
]
# fmt: on


class Tables(HTMLParser):
    """Cells (text and link) of every table.report-table on a page, rows in order."""

    def __init__(self):
        super().__init__()
        self.tables, self._in_table, self._cell, self._href = [], False, None, ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "report-table" in (attrs.get("class") or ""):
            self._in_table = True
            self.tables.append([])
        elif self._in_table and tag == "tr":
            self.tables[-1].append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell, self._href = "", ""
        elif self._in_table and tag == "a" and self._cell is not None:
            self._href = attrs["href"]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append((self._cell.strip(), self._href))
            self._cell = None


def page_tables(response):
    parser = Tables()
    parser.feed(response.content.decode())
    return parser.tables


def texts(table):
    return [[text for text, _ in row] for row in table]


def changelist_count(url, user):
    """What the SentMessage admin list shows for a drill-down link."""
    request = RequestFactory().get(url)
    request.user = user
    model_admin = admin.site._registry[SentMessage]
    response = model_admin.changelist_view(request)
    return response.context_data["cl"].result_count


def test_delivery_figures_match_the_hand_count(client, staff, fixture_messages):
    response = client.get(DELIVERY, RANGE)
    assert response.status_code == 200
    delivery, failures = page_tables(response)
    assert texts(delivery)[1:] == EXPECTED_DELIVERY
    assert texts(failures) == [
        ["Error code", "Reason", "Failed"],
        ["131026", "Message undeliverable", "2"],
    ]


def test_ref_figures_match_the_hand_count(client, staff, fixture_messages):
    response = client.get(REFS, {**RANGE, "group_by": "ref"})
    assert response.status_code == 200
    (table,) = page_tables(response)
    assert texts(table)[0][0] == "ref"
    assert texts(table)[1:] == EXPECTED_REFS
    response = client.get(REFS, {**RANGE, "group_by": "ref1"})
    rows = texts(page_tables(response)[0])[1:]
    assert [row[:2] for row in rows] == [["(none)", "7"], ["vip", "1"], ["Total (2 groups)", "8"]]


def test_filters_kind_template_and_batch(client, staff, fixture_messages):
    _, batch = fixture_messages
    response = client.get(DELIVERY, {**RANGE, "kind": "coupon_code"})
    assert texts(page_tables(response)[0])[-1][3] == "3"
    response = client.get(DELIVERY, {**RANGE, "template": "order_update"})
    assert texts(page_tables(response)[0])[-1][3] == "5"
    response = client.get(REFS, {**RANGE, "batch": batch.pk})
    rows = texts(page_tables(response)[0])[1:]
    assert rows == [
        ["diwali", "2", "0", "2", "2", "2", "1", "0", "0", "100.0%", "50.0%", "0", "₹0.00"],
        ["newyear", "1", "0", "1", "0", "0", "0", "0", "1", "0.0%", "—", "0", "₹0.00"],
        [
            "Total (2 groups)",
            "3",
            "0",
            "3",
            "2",
            "2",
            "1",
            "0",
            "1",
            "66.7%",
            "50.0%",
            "0",
            "₹0.00",
        ],  # noqa: E501
    ]


@pytest.mark.parametrize("url", [DELIVERY, REFS])
def test_every_figure_equals_the_message_list_it_links_to(client, staff, fixture_messages, url):
    tables = page_tables(client.get(url, RANGE))
    links = [(text, href) for table in tables for row in table for text, href in row if href]
    assert len(links) > 30
    for text, href in links:
        expected = int(text) if text.isdigit() else None
        count = changelist_count(href, staff)
        if expected is not None:
            assert count == expected, href
        else:  # a ref label: the row's messages
            assert count > 0, href


@pytest.mark.parametrize("url", [DELIVERY, REFS])
def test_csv_is_exactly_the_tables_on_screen(client, staff, fixture_messages, url):
    screen = [texts(table) for table in page_tables(client.get(url, RANGE))]
    response = client.get(url, {**RANGE, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    expected = []
    for index, table in enumerate(screen):
        expected += ([[]] if index else []) + table
    assert rows == expected


def test_delivery_chart_draws_the_daily_funnel(client, staff, fixture_messages):
    response = client.get(DELIVERY, RANGE)
    html = response.content.decode()
    assert html.count('<svg class="report-chart"') == 1
    assert (
        html.count('<rect class="bar"') == 2 * 6
    )  # two days x accepted/sent/delivered/read/failed/paid orders
    assert 'data-group="10 Nov" data-figure="delivered" data-value="2"' in html
    assert 'data-group="11 Nov" data-figure="accepted" data-value="4"' in html
    assert 'data-group="11 Nov" data-figure="read" data-value="0"' in html


def test_ref_chart_draws_a_group_per_row(client, staff, fixture_messages):
    html = client.get(REFS, RANGE).content.decode()
    assert html.count('<rect class="bar"') == 3 * 7  # total, the funnel, paid orders
    assert 'data-group="diwali" data-figure="total" data-value="3"' in html


def test_default_period_is_the_last_seven_days_in_shop_time(client, staff):
    now = timezone.now()
    make(now, status="delivered", delivered_at=now, sent_at=now)
    make(now - timedelta(days=8))
    response = client.get(DELIVERY)
    assert texts(page_tables(response)[0])[-1][3] == "1"
    assert response.content.decode().count('<rect class="bar"') == 7 * 6


def test_days_follow_the_shop_time_zone(settings, fixture_messages):
    ninth = datetime(2026, 11, 9).date()
    filters = selectors.ReportFilters(date_from=ninth, date_to=ninth)
    assert sum(row["total"] for row in selectors.delivery_rows(filters=filters)) == 1
    settings.TIME_ZONE = "UTC"  # the 00:30 IST messages of the 10th were created on the 9th UTC
    rows = selectors.delivery_rows(filters=filters)
    assert sum(row["total"] for row in rows) == 5
    assert {row["day"] for row in rows} == {ninth}


def test_ref_report_pages(client, staff, fixture_messages, monkeypatch):
    monkeypatch.setattr(selectors, "REF_PAGE_SIZE", 2)
    first = texts(page_tables(client.get(REFS, RANGE))[0])
    second = texts(page_tables(client.get(REFS, {**RANGE, "page": 2}))[0])
    assert [row[0] for row in first[1:]] == ["diwali", "newyear", "Total (3 groups)"]
    assert [row[0] for row in second[1:]] == ["(none)", "Total (3 groups)"]
    csv_rows = list(
        csv.reader(
            io.StringIO(client.get(REFS, {**RANGE, "page": 2, "format": "csv"}).content.decode())
        )
    )
    assert csv_rows == second


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"date_from": "2026-11-12", "date_to": "2026-11-10"}, "start date is after the end"),
        ({"date_from": "2024-01-01", "date_to": "2026-01-01"}, "at most 366 days"),
        ({"date_from": "yesterday"}, "Enter a valid date"),
        ({"kind": "sms"}, "Select a valid choice"),
        ({"batch": "x"}, "Enter a whole number"),
        ({"group_by": "ref9"}, "Select a valid choice"),
    ],
)
def test_bad_filters_get_400_naming_the_problem(client, staff, params, reason):
    response = client.get(REFS, params)
    assert response.status_code == 400
    assert reason in response.content.decode()
    response = client.get(REFS, {**params, "format": "csv"})
    assert response.status_code == 400
    assert reason in response.content.decode()


def test_reports_need_the_permission(client):
    assert client.get(DELIVERY).status_code == 302  # to the admin login
    client.force_login(UserFactory(username="clerk", is_staff=True))
    assert client.get(DELIVERY).status_code == 403
    assert client.get(REFS, {"format": "csv"}).status_code == 403
    assert "reports-module" not in client.get("/admin/").content.decode()


def test_admin_index_links_to_both_reports(client, staff):
    html = client.get("/admin/").content.decode()
    assert 'id="reports-module"' in html
    assert f'href="{DELIVERY}"' in html and f'href="{REFS}"' in html


def test_ref_values_are_escaped_on_the_page(client, staff):
    make(timezone.now(), ref='<b onclick="x()">vip</b>')
    html = client.get(REFS).content.decode()
    assert "&lt;b onclick=&quot;x()&quot;&gt;vip&lt;/b&gt;" in html
    assert '<b onclick="x()">' not in html


def test_a_long_table_shows_its_first_rows_and_the_csv_has_them_all(
    client, staff, fixture_messages, monkeypatch
):
    monkeypatch.setattr(tables, "HTML_ROWS", 2)
    response = client.get(DELIVERY, RANGE)
    delivery = texts(page_tables(response)[0])
    assert delivery[1:] == [*EXPECTED_DELIVERY[:2], EXPECTED_DELIVERY[-1]]  # and the total
    assert "shows the first 2 of 4 rows" in " ".join(response.content.decode().split())
    csv_rows = list(
        csv.reader(io.StringIO(client.get(DELIVERY, {**RANGE, "format": "csv"}).content.decode()))
    )
    assert csv_rows[1 : len(EXPECTED_DELIVERY) + 1] == EXPECTED_DELIVERY
