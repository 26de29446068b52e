"""An operator's day in a real browser, against a live server."""

import re

import pytest
from playwright.sync_api import expect

from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", "op@example.com", "op-pass-1")


def login(page, live_server):
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", "op-pass-1")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def fill_item(page, index, *, name, price, quantity):
    prefix = f"#id_items-{index}-"
    page.fill(prefix + "name", name)
    page.fill(prefix + "quantity", str(quantity))
    page.fill(prefix + "amount", price)
    page.fill(prefix + "country_of_origin", "India")
    page.fill(prefix + "importer_name", "Lucky Shrub Imports and Exports")
    page.fill(prefix + "importer_address_line1", "One BKC")
    page.fill(prefix + "importer_city", "Mumbai")
    page.fill(prefix + "importer_zone_code", "MH")
    page.fill(prefix + "importer_postal_code", "400051")


def test_create_an_order_with_two_items(page, live_server, operator, shoot):
    login(page, live_server)
    shoot("logged-in")
    page.goto(f"{live_server.url}/admin/orders/order/add/")
    page.fill("#id_reference_id", "shop-2001")
    page.fill("#id_customer_name", "Aarav Sharma")
    page.fill("#id_customer_phone", "98123 45601")
    page.fill("#id_payment_configuration", "prod-razor-pay-config-05")
    page.fill("#id_shipping", "200")
    page.fill("#id_tax", "100.50")
    page.fill("#id_discount", "0")
    fill_item(page, 0, name="Blue Elf Aloe", price="1,500.00", quantity=2)
    page.click("#items-group .add-row a")
    fill_item(page, 1, name="Terracotta pot", price="249.99", quantity=1)
    shoot("order-form")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist .success")).to_be_visible()
    shoot("order-saved")

    order = Order.objects.get(reference_id="shop-2001")
    assert str(order.customer_phone) == "+919812345601"
    assert order.totals.subtotal == 2 * 150000 + 24999
    assert order.totals.total == 2 * 150000 + 24999 + 20000 + 10050
    readonly = page.locator(".field-total_display .readonly")
    expect(readonly).to_have_text("3,550.49")
    expect(page.locator(".field-subtotal_display .readonly")).to_have_text("3,249.99")
    expect(page.locator("#events-group")).to_contain_text(re.compile("Created"))
