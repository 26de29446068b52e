"""Order import from CSV (orders.csv_import and its admin pages): one row per item, checked by
the intake as the REST API's bodies are, every problem at its line and column, all or nothing."""

import csv
import io
from pathlib import Path

import pytest
from django.urls import reverse

from orders.csv_import import (
    OrderImportError,
    RowError,
    order_import_confirm,
    order_import_preview,
    orders_csv_check,
)
from orders.intake import order_create_from_payload
from orders.models import Order, OrderAddress, OrderEvent, OrderImport, OrderItem

from .intake_bodies import sample

pytestmark = pytest.mark.django_db

SAMPLE_PATH = Path(__file__).resolve().parents[2] / "orders" / "csv_import" / "sample.csv"
SAMPLE = SAMPLE_PATH.read_text()
IMPORT_URL = "/admin/orders/order/import/"


def edited(changes: dict[tuple[int, str], str], text: str = SAMPLE) -> str:
    """The sample with cells replaced: {(line, column): value} (line 1 is the header)."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    for (line, column), value in changes.items():
        rows[line - 1][header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _nothing_stored():
    assert Order.objects.count() == 0
    assert OrderItem.objects.count() == 0
    assert OrderAddress.objects.count() == 0
    assert OrderEvent.objects.count() == 0


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")


def _import(text, user):
    preview, order_import = order_import_preview(text=text, file_name="orders.csv", user=user)
    assert preview.errors == []
    return order_import_confirm(order_import_id=order_import.pk, user=user)


def test_the_sample_imports_as_two_orders(user):
    preview = orders_csv_check(text=SAMPLE)
    assert preview.errors == []
    assert [
        (o.reference_id, o.line, o.customer_name, o.items, o.total) for o in preview.orders
    ] == [
        ("csv-1001", 2, "Nidhi Tripathi", 2, 255000),
        ("csv-1002", 4, "Arjun Mehta", 1, 95400),
    ]
    assert (preview.rows, preview.items, preview.total) == (3, 3, 350400)
    order_import = _import(SAMPLE, user)
    assert (order_import.status, order_import.orders_new, order_import.orders_existing) == (
        "imported",
        2,
        0,
    )
    order = Order.objects.get(reference_id="csv-1001")
    assert order.totals.total == 255000
    assert (order.customer_phone, order.payment_method, order.shipping, order.tax) == (
        "+919000090000",
        "razorpay",
        20000,
        10000,
    )
    assert (order.tax_description, order.discount, order.discount_description) == (
        "GST",
        15000,
        "Additional 10% off",
    )
    assert [
        (i.name, i.retailer_id, i.quantity, i.amount, i.sale_amount) for i in order.items.all()
    ] == [
        ("Blue Elf Aloe", "BEA-1", 1, 200000, 150000),
        ("Snake Plant", "SP-2", 2, 45000, None),
    ]
    assert order.items.first().importer_address_line2 == "Bandra Kurla Complex"
    assert order.addresses.get().landmark_area == "Near BKC Circle"
    event = order.events.get()
    assert (event.kind, event.source, event.actor) == ("created", "admin", user)
    second = Order.objects.get(reference_id="csv-1002")
    assert (second.payment_method, second.totals.total, second.addresses.get().address) == (
        "upi",
        95400,
        "14, MG Road",
    )


def test_the_same_order_through_the_api_and_the_csv_is_one_order(user):
    """The CSV's columns land where the API's body puts them: the issue's sample body, sent to
    the API first, makes the same CSV row a retry (skipped), not a conflict."""
    body = sample(reference_id="csv-1001")
    body["items"][0]["retailer_id"] = "BEA-1"
    body["tax"]["description"] = "GST"
    body["addresses"][0]["state"] = "Maharashtra"
    body["items"].append(
        {
            **body["items"][0],
            "name": "Snake Plant",
            "retailer_id": "SP-2",
            "quantity": 2,
            "amount": {"value": 45000, "offset": 100},
        }
    )
    del body["items"][1]["sale_amount"]
    order_create_from_payload(data=body, source="api")
    preview = orders_csv_check(text=SAMPLE)
    assert preview.errors == []
    assert [(o.reference_id, o.exists) for o in preview.orders] == [
        ("csv-1001", True),
        ("csv-1002", False),
    ]


def test_a_preview_stores_nothing_but_the_file(user):
    preview, order_import = order_import_preview(text=SAMPLE, file_name="orders.csv", user=user)
    assert preview.errors == []
    _nothing_stored()
    stored = OrderImport.objects.get()
    assert (stored.pk, stored.status, stored.content, stored.rows, stored.orders_new) == (
        order_import.pk,
        "previewed",
        SAMPLE,
        3,
        2,
    )


def test_a_preview_with_errors_stores_nothing_at_all(user):
    text = edited({(3, "item_quantity"): "two"})
    preview, order_import = order_import_preview(text=text, file_name="orders.csv", user=user)
    assert order_import is None
    assert preview.errors == [
        RowError(3, "item_quantity", "'two' is not a whole number of items, e.g. 2.", "csv-1001")
    ]
    assert [(o.reference_id, o.total) for o in preview.orders] == [
        ("csv-1001", None),
        ("csv-1002", 95400),
    ]
    _nothing_stored()
    assert OrderImport.objects.count() == 0


REQUIRED = "This field is required."


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {(4, "customer_phone"): "12345"},
            [
                (
                    4,
                    "customer_phone",
                    "'12345' is not a valid WhatsApp number: use E.164, e.g. +919000090000.",
                )
            ],
        ),
        ({(2, "customer_name"): ""}, [(2, "customer_name", REQUIRED)]),
        (
            {(4, "payment_method"): "cash"},
            [(4, "payment_method", "Use one of: razorpay, payu, billdesk, zaakpay, upi.")],
        ),
        ({(4, "payment_configuration"): ""}, [(4, "payment_configuration", REQUIRED)]),
        ({(2, "type"): "services"}, [(2, "type", "Use one of: physical-goods, digital-goods.")]),
        (
            {(2, "reference_id"): "bad id!", (3, "reference_id"): "bad id!"},
            [
                (
                    2,
                    "reference_id",
                    "Use 1 to 35 English letters, digits, underscores, dashes or dots.",
                )
            ],
        ),
        ({(3, "item_name"): ""}, [(3, "item_name", REQUIRED)]),
        ({(3, "item_name"): "x" * 61}, [(3, "item_name", "Use at most 60 characters.")]),
        ({(3, "item_quantity"): "0"}, [(3, "item_quantity", "Use a number from 1 to 100.")]),
        (
            {(3, "item_quantity"): "1.5"},
            [(3, "item_quantity", "'1.5' is not a whole number of items, e.g. 2.")],
        ),
        ({(3, "item_quantity"): ""}, [(3, "item_quantity", REQUIRED)]),
        (
            {(3, "item_amount"): "abc"},
            [(3, "item_amount", "'abc' is not an amount in rupees, e.g. 1,650.00.")],
        ),
        ({(3, "item_amount"): "0.00"}, [(3, "item_amount", "The price must be more than 0.00.")]),
        ({(3, "item_amount"): "-5"}, [(3, "item_amount", "The amount cannot be negative.")]),
        (
            {(3, "item_amount"): "4.505"},
            [(3, "item_amount", "Use at most two decimals (whole paise).")],
        ),
        (
            {(3, "item_sale_amount"): "500.00"},
            [(3, "item_sale_amount", "The sale price cannot be higher than the price.")],
        ),
        (
            {(2, "shipping"): "free"},
            [(2, "shipping", "'free' is not an amount in rupees, e.g. 1,650.00.")],
        ),
        (
            {(2, "discount_description"): "d" * 61},
            [(2, "discount_description", "Use at most 60 characters.")],
        ),
        (
            {(3, "importer_zone_code"): "Maharashtra"},
            [(3, "importer_zone_code", "Use at most 2 characters.")],
        ),
        (
            {(3, "importer_zone_code"): "mh"},
            [(3, "importer_zone_code", "Enter a two-letter zone code, e.g. MH.")],
        ),
        (
            {(4, "importer_postal_code"): "0400051"},
            [(4, "importer_postal_code", "Use at most 6 characters.")],
        ),
        ({(4, "importer_city"): ""}, [(4, "importer_city", REQUIRED)]),
        ({(4, "item_country_of_origin"): ""}, [(4, "item_country_of_origin", REQUIRED)]),
        (
            {(4, "address_in_pin_code"): "012345"},
            [(4, "address_in_pin_code", "Enter a six-digit Indian PIN code.")],
        ),
        (
            {(4, "address_phone_number"): "+919812345601"},
            [(4, "address_phone_number", "Use at most 12 characters.")],
        ),
        ({(4, "address_city"): ""}, [(4, "address_city", REQUIRED)]),
        (
            {(2, "expires_at"): "next week"},
            [
                (
                    2,
                    "expires_at",
                    "'next week' is not a date and time: write e.g. 2026-12-31 18:00 "
                    "(the shop's time) or 2026-12-31T18:00+05:30.",
                )
            ],
        ),
        (
            {(2, "expires_at"): "2020-01-01 10:00"},
            [(2, "expires_at", "The expiration must be in the future.")],
        ),
        (
            {(3, "customer_name"): "Someone Else"},
            [
                (
                    3,
                    "customer_name",
                    "Differs from line 2 ('Nidhi Tripathi'): an order's columns are the same on "
                    "each of its rows, or empty after its first.",
                )
            ],
        ),
        (
            {(3, "reference_id"): ""},
            [(3, "reference_id", "Every row needs the reference_id of its order.")],
        ),
    ],
)
def test_every_problem_is_shown_at_its_line_and_column_and_nothing_is_stored(
    user, changes, expected
):
    preview = orders_csv_check(text=edited(changes))
    assert [(e.line, e.column, e.message) for e in preview.errors] == expected
    _, order_import = order_import_preview(text=edited(changes), file_name="x.csv", user=user)
    assert order_import is None
    _nothing_stored()
    assert OrderImport.objects.count() == 0


def test_all_problems_of_a_file_are_listed_at_once_in_line_order():
    text = edited(
        {
            (4, "customer_phone"): "12",
            (2, "item_quantity"): "x",
            (3, "customer_phone"): "+919999999999",
            (3, "item_amount"): "",
        }
    )
    preview = orders_csv_check(text=text)
    assert [(e.line, e.column, e.reference_id) for e in preview.errors] == [
        (2, "item_quantity", "csv-1001"),
        (3, "customer_phone", "csv-1001"),
        (3, "item_amount", "csv-1001"),
        (4, "customer_phone", "csv-1002"),
    ]


def test_order_columns_may_be_repeated_on_each_row_of_the_order():
    rows = list(csv.reader(io.StringIO(SAMPLE)))
    header = rows[0]
    for index, column in enumerate(header):
        if not column.startswith(("item_", "importer_")):
            rows[2][index] = rows[1][index]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    preview = orders_csv_check(text=out.getvalue())
    assert preview.errors == []
    assert [(o.reference_id, o.items, o.total) for o in preview.orders][0] == (
        "csv-1001",
        2,
        255000,
    )


def test_a_row_with_more_cells_than_the_header_is_refused():
    text = SAMPLE.rstrip("\n") + ",surplus\n"
    preview = orders_csv_check(text=text)
    assert [(e.line, e.column, e.message) for e in preview.errors] == [
        (4, "", "This row has 36 cells but the header names 35 columns.")
    ]


def test_only_the_required_columns_are_enough():
    columns = [
        "reference_id", "customer_name", "customer_phone", "payment_method",
        "payment_configuration", "item_name", "item_quantity", "item_amount",
        "item_country_of_origin", "item_importer_name", "importer_address_line1",
        "importer_city", "importer_zone_code", "importer_postal_code", "importer_country_code",
    ]  # fmt: skip
    row = [
        "min-1", "Asha", "9812345601", "payu", "payu-config", "Tea", "2", "1,250.50",
        "India", "Chai Co", "1 Tea Road", "Kolkata", "WB", "700001", "IN",
    ]  # fmt: skip
    preview = orders_csv_check(text=",".join(columns) + "\n" + ",".join(f'"{v}"' for v in row))
    assert preview.errors == []
    assert [(o.reference_id, o.total) for o in preview.orders] == [("min-1", 250100)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n\n", "The file is empty: put the header row first, then one row per item."),
        (SAMPLE.splitlines()[0] + "\n", "The file has a header but no order rows under it."),
        (
            SAMPLE.replace("item_name,", "item_title,", 1),
            "Unknown column 'item_title' (column 23): the columns are listed on the import page.",
        ),
        (
            SAMPLE.replace("customer_phone,", "", 1),
            "Missing column(s): customer_phone.",
        ),
        (
            SAMPLE.replace("type,", "tax,", 1),
            "The column 'tax' appears twice in the header.",
        ),
        (
            SAMPLE.replace(",", ";"),
            "The columns are separated by ';': save the file as CSV with commas.",
        ),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(text, message):
    preview = orders_csv_check(text=text)
    assert [(e.line, e.column, e.message) for e in preview.errors] == [(1, "", message)]
    assert preview.orders == []


def test_more_rows_than_allowed_are_refused(settings):
    settings.ORDER_IMPORT_MAX_ROWS = 2
    preview = orders_csv_check(text=SAMPLE)
    assert [e.message for e in preview.errors] == [
        "The file has 3 order rows; at most 2 can be imported at once (split it)."
    ]


def test_a_stored_order_with_the_same_contents_is_skipped(user):
    _import(SAMPLE, user)
    preview, order_import = order_import_preview(text=SAMPLE, file_name="again.csv", user=user)
    assert (preview.errors, order_import) == ([], None)
    assert [(o.reference_id, o.exists) for o in preview.orders] == [
        ("csv-1001", True),
        ("csv-1002", True),
    ]
    more = SAMPLE + SAMPLE.splitlines()[3].replace("csv-1002", "csv-1003") + "\n"
    order_import = _import(more, user)
    assert (order_import.orders_new, order_import.orders_existing) == (1, 2)
    assert Order.objects.count() == 3
    assert OrderEvent.objects.count() == 3


def test_a_stored_order_with_other_contents_is_an_error_on_its_lines(user):
    _import(SAMPLE, user)
    text = edited({(3, "item_quantity"): "3", (2, "shipping"): "250.00"})
    preview = orders_csv_check(text=text)
    assert [(e.line, e.column, e.reference_id, e.message) for e in preview.errors] == [
        (2, "shipping", "csv-1001", "Differs from the stored order."),
        (3, "item_quantity", "csv-1001", "Differs from the stored order."),
    ]
    assert OrderItem.objects.get(name="Snake Plant").quantity == 2


def test_confirm_checks_again_and_stores_nothing_when_one_order_fails(user):
    preview, order_import = order_import_preview(text=SAMPLE, file_name="orders.csv", user=user)
    assert preview.errors == []
    # Meanwhile the API creates csv-1002 with another customer.
    body = sample(reference_id="csv-1002")
    order_create_from_payload(data=body, source="api")
    with pytest.raises(OrderImportError) as caught:
        order_import_confirm(order_import_id=order_import.pk, user=user)
    lines = {(e.line, e.column) for e in caught.value.details}
    assert (4, "customer_name") in lines and (4, "item_name") in lines
    assert all(e.reference_id == "csv-1002" for e in caught.value.details)
    assert list(Order.objects.values_list("reference_id", flat=True)) == ["csv-1002"]
    assert OrderImport.objects.get().status == "previewed"


def test_a_file_is_imported_once_and_only_by_who_uploaded_it(user, django_user_model):
    preview, order_import = order_import_preview(text=SAMPLE, file_name="orders.csv", user=user)
    other = django_user_model.objects.create_superuser("other", "o@example.com", "pw")
    with pytest.raises(OrderImportError) as caught:
        order_import_confirm(order_import_id=order_import.pk, user=other)
    assert (caught.value.code, caught.value.message) == (
        "not_found",
        "This import is not known: upload the file again.",
    )
    _nothing_stored()
    order_import_confirm(order_import_id=order_import.pk, user=user)
    with pytest.raises(OrderImportError) as caught:
        order_import_confirm(order_import_id=order_import.pk, user=user)
    assert (caught.value.code, caught.value.message) == (
        "already_imported",
        "orders.csv was imported already.",
    )
    assert Order.objects.count() == 2


# --- the admin pages -------------------------------------------------------------------------


@pytest.fixture
def staff(client, user):
    client.force_login(user)
    return client


def _upload(client, content: bytes, name="orders.csv"):
    upload = io.BytesIO(content)
    upload.name = name
    return client.post(IMPORT_URL, {"file": upload})


def test_the_changelist_has_the_import_button_and_the_page_its_sample(staff):
    page = staff.get(reverse("admin:orders_order_changelist"))
    assert f'<a href="{IMPORT_URL}">Import orders from CSV</a>' in page.content.decode()
    page = staff.get(IMPORT_URL)
    assert page.status_code == 200
    assert b"/admin/orders/order/import/sample.csv" in page.content
    download = staff.get(IMPORT_URL + "sample.csv")
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="orders-sample.csv"'
    assert b"".join(download.streaming_content).decode() == SAMPLE


def test_upload_preview_confirm_through_the_admin(staff, user):
    page = _upload(staff, SAMPLE.encode("utf-8-sig"), name="sample.csv")
    assert page.status_code == 200
    _nothing_stored()
    assert page.context["summary"] == (
        "2 new orders with 3 items, ₹3,504.00 in all. Nothing is stored until you confirm."
    )
    assert page.context["orders"] == [
        {"reference_id": "csv-1001", "line": 2, "customer_name": "Nidhi Tripathi", "items": 2,
         "total": "₹2,550.00", "state": "new"},
        {"reference_id": "csv-1002", "line": 4, "customer_name": "Arjun Mehta", "items": 1,
         "total": "₹954.00", "state": "new"},
    ]  # fmt: skip
    order_import = page.context["order_import"]
    confirm_url = f"{IMPORT_URL}{order_import.pk}/confirm/"
    assert f'action="{confirm_url}"' in page.content.decode()
    assert staff.get(confirm_url).status_code == 405
    done = staff.post(confirm_url, follow=True)
    assert done.redirect_chain == [(reverse("admin:orders_order_changelist"), 302)]
    assert [str(m) for m in done.context["messages"]] == ["Imported 2 orders from sample.csv."]
    assert Order.objects.count() == 2
    again = staff.post(confirm_url, follow=True)
    assert again.redirect_chain == [(IMPORT_URL, 302)]
    assert [str(m) for m in again.context["messages"]] == ["sample.csv was imported already."]
    assert Order.objects.count() == 2


def test_the_admin_preview_lists_every_error_and_offers_no_confirm(staff):
    text = edited({(3, "item_quantity"): "many", (4, "customer_phone"): "12"})
    page = _upload(staff, text.encode())
    assert page.context["summary"] == (
        "2 errors in 3 rows: nothing can be imported until every one is fixed. Fix the file and "
        "upload it again."
    )
    html = page.content.decode()
    assert (
        "<tr><td>3</td><td>item_quantity</td><td>csv-1001</td>"
        "<td>&#x27;many&#x27; is not a whole number of items, e.g. 2.</td></tr>"
    ) in html
    assert "<tr><td>4</td><td>customer_phone</td><td>csv-1002</td>" in html
    assert page.context["order_import"] is None
    assert "/confirm/" not in html
    _nothing_stored()
    assert OrderImport.objects.count() == 0


def test_an_already_imported_file_previews_as_nothing_to_import(staff, user):
    _import(SAMPLE, user)
    page = _upload(staff, SAMPLE.encode())
    assert page.context["summary"] == "Nothing to import: all 2 orders are already stored."
    assert [o["state"] for o in page.context["orders"]] == ["already stored: skipped"] * 2
    assert page.context["order_import"] is None


def test_the_admin_confirm_shows_what_fails_when_the_database_changed(staff, user):
    page = _upload(staff, SAMPLE.encode())
    order_create_from_payload(data=sample(reference_id="csv-1001"), source="api")
    page = staff.post(f"{IMPORT_URL}{page.context['order_import'].pk}/confirm/")
    assert page.status_code == 200
    assert page.context["refused"] == (
        "Nothing was imported: the orders no longer pass the check. Fix the file and upload it "
        "again."
    )
    assert {e.reference_id for e in page.context["errors"]} == {"csv-1001"}
    assert Order.objects.count() == 1


NOT_UTF8 = "The file is not UTF-8 text (save it as CSV UTF-8)."


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The submitted file is empty."),
        (SAMPLE.replace("Nidhi", "Nidhí").encode("cp1252"), NOT_UTF8),
        (SAMPLE.encode("utf-16"), NOT_UTF8),
    ],
)
def test_files_the_admin_cannot_read_are_refused_by_the_form(staff, content, message):
    page = _upload(staff, content)
    assert page.context["form"].errors == {"file": [message]}
    _nothing_stored()
    assert OrderImport.objects.count() == 0


def test_a_file_over_the_size_limit_is_refused(staff, settings):
    settings.ORDER_IMPORT_MAX_BYTES = 1000
    page = _upload(staff, SAMPLE.encode())
    assert page.context["form"].errors == {
        "file": [
            "The file is larger than 1000\xa0bytes, the most that can be uploaded at once "
            "(split it)."
        ]
    }
    _nothing_stored()


def test_a_file_over_the_row_limit_is_refused_in_the_admin(staff, settings):
    settings.ORDER_IMPORT_MAX_ROWS = 2
    page = _upload(staff, SAMPLE.encode())
    assert [(e.line, e.column, e.message) for e in page.context["errors"]] == [
        (1, "", "The file has 3 order rows; at most 2 can be imported at once (split it).")
    ]
    _nothing_stored()


def test_importing_needs_the_add_order_permission(client, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(viewer)
    page = client.get(reverse("admin:orders_order_changelist"))
    assert page.status_code == 200
    assert "Import orders from CSV" not in page.content.decode()
    assert client.get(IMPORT_URL).status_code == 403
    assert _upload(client, SAMPLE.encode()).status_code == 403
    assert client.get(IMPORT_URL + "sample.csv").status_code == 403
    _nothing_stored()


def test_confirm_creates_the_orders_the_preview_checked(user):
    preview, order_import = order_import_preview(text=SAMPLE, file_name="orders.csv", user=user)
    assert len(preview.new) == 2 and order_import.checked
    order_import_confirm(order_import_id=order_import.pk, user=user)
    item = OrderItem.objects.get(name="Snake Plant")
    assert (item.order.reference_id, item.quantity, item.amount) == ("csv-1001", 2, 45000)
    assert str(Order.objects.get(reference_id="csv-1002").customer_phone) == "+919812345601"


def test_confirm_refuses_an_expiration_that_passed_since_the_preview(user, monkeypatch):
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat(timespec="seconds")
    text = edited({(4, "expires_at"): soon})
    preview, order_import = order_import_preview(text=text, file_name="orders.csv", user=user)
    assert preview.errors == []
    later = datetime.now(UTC) + timedelta(minutes=10)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return later

    from orders.intake import services as intake_services

    monkeypatch.setattr(intake_services, "datetime", Later)  # the confirm, 10 minutes later
    with pytest.raises(OrderImportError) as caught:
        order_import_confirm(order_import_id=order_import.pk, user=user)
    assert [(e.line, e.column, e.message) for e in caught.value.details] == [
        (4, "expires_at", "The expiration must be in the future.")
    ]
    _nothing_stored()
    assert OrderImport.objects.get().status == "previewed"


def test_confirm_refuses_a_file_over_a_row_limit_lowered_since_the_preview(user, settings):
    preview, order_import = order_import_preview(text=SAMPLE, file_name="orders.csv", user=user)
    settings.ORDER_IMPORT_MAX_ROWS = 2
    with pytest.raises(OrderImportError) as caught:
        order_import_confirm(order_import_id=order_import.pk, user=user)
    assert [(e.line, e.column, e.message) for e in caught.value.details] == [
        (1, "", "The file has 3 order rows; at most 2 can be imported at once (split it).")
    ]
    _nothing_stored()


def test_a_file_kept_without_its_check_is_read_and_checked_again_at_confirm(user):
    """An import previewed before the check was kept with it (OrderImport.checked empty)."""
    preview, order_import = order_import_preview(text=SAMPLE, file_name="orders.csv", user=user)
    OrderImport.objects.filter(pk=order_import.pk).update(checked="")
    order_create_from_payload(data=sample(reference_id="csv-1002"), source="api")
    with pytest.raises(OrderImportError) as caught:
        order_import_confirm(order_import_id=order_import.pk, user=user)
    assert {e.reference_id for e in caught.value.details} == {"csv-1002"}
    OrderImport.objects.filter(pk=order_import.pk).update(checked="")
    Order.objects.all().delete()
    order_import = order_import_confirm(order_import_id=order_import.pk, user=user)
    assert (order_import.orders_new, Order.objects.count()) == (2, 2)
