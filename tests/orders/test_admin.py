import re

import pytest
from django.contrib import admin
from django.urls import reverse

from orders.models import Order, OrderEvent

pytestmark = pytest.mark.django_db


def test_every_changelist_add_and_change_page_renders(staff_client):
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        response = staff_client.get(reverse("admin:{}_{}_changelist".format(*info)))
        assert response.status_code == 200, model
        if model_admin.has_add_permission(response.wsgi_request):
            add_url = reverse("admin:{}_{}_add".format(*info))
            assert staff_client.get(add_url).status_code == 200, model
        obj = model.objects.first()
        if obj is not None:
            url = reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
            assert staff_client.get(url).status_code == 200, model


def test_order_page_shows_rupees_and_totals(staff_client, demo):
    response = staff_client.get(reverse("admin:orders_order_change", args=[demo.pk]))
    html = response.content.decode()
    assert 'value="200.00"' in html  # shipping 20000 paise
    assert "1,650.00" in html  # total
    assert "1,500.00" in html  # subtotal


def test_order_list_search_by_phone_and_reference(staff_client):
    url = reverse("admin:orders_order_changelist")
    assert "abc.123_xyz-1" in staff_client.get(url, {"q": "9000090000"}).content.decode()
    assert "abc.123_xyz-1" in staff_client.get(url, {"q": "abc.123"}).content.decode()
    assert "abc.123_xyz-1" not in staff_client.get(url, {"q": "nobody"}).content.decode()
    assert (
        staff_client.get(
            url, {"status__exact": "pending", "type__exact": "physical-goods"}
        ).status_code
        == 200
    )


def _order_post_data(response):
    """The change form as a browser would submit it."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None:
            continue
        data[name] = field.prepare_value(value) if hasattr(field, "prepare_value") else value
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        data.update({f"{fs.prefix}-{k}": v for k, v in fs.management_form.initial.items()})
        for index, subform in enumerate(fs.forms):
            for name, field in subform.fields.items():
                value = subform[name].value()
                if value is None:
                    continue
                data[f"{fs.prefix}-{index}-{name}"] = field.prepare_value(value)
    return {k: ("" if v is None else v) for k, v in data.items()}


def test_editing_shipping_in_rupees_stores_paise_and_records_history(staff_client, demo):
    url = reverse("admin:orders_order_change", args=[demo.pk])
    data = _order_post_data(staff_client.get(url))
    data["shipping"] = "400.00"
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    demo.refresh_from_db()
    assert demo.shipping == 40000
    event = demo.events.get(kind=OrderEvent.Kind.SHIPPING_COST)
    assert (event.before, event.after, event.source) == (20000, 40000, "admin")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("shipping", "12.345", "two decimals"),
        ("tax", "lots", "not an amount"),
        ("customer_phone", "12345", "phone number"),
        ("reference_id", "bad id!", "English letters"),
        ("discount_description", "x" * 61, "at most 60"),
        ("status", "pending", None),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(
    staff_client, demo, field, value, message
):
    Order.objects.filter(pk=demo.pk).update(status="completed")
    url = reverse("admin:orders_order_change", args=[demo.pk])
    data = _order_post_data(staff_client.get(url))
    data[field] = value
    data["items-0-quantity"] = "5"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors
    if message:
        assert message in " ".join(errors[field])
    else:
        assert "'completed' to 'pending'" in " ".join(errors[field])
    demo.refresh_from_db()
    assert demo.items.get().quantity == 1
    assert demo.status == "completed"
    assert not demo.events.exclude(kind="created").exists()


def test_bad_item_quantity_names_the_field(staff_client, demo):
    url = reverse("admin:orders_order_change", args=[demo.pk])
    data = _order_post_data(staff_client.get(url))
    data["items-0-quantity"] = "101"
    response = staff_client.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"less than or equal to 100", html)
    demo.refresh_from_db()
    assert demo.items.get().quantity == 1


def test_order_pages_show_money_as_rupees_with_the_sign(staff_client, demo):
    from coupons.services import order_apply_coupon
    from orders.models import EventSource

    order_apply_coupon(
        order=demo, code="TRYNEW10", phone=demo.customer_phone, source=EventSource.CHECKOUT
    )
    change = staff_client.get(reverse("admin:orders_order_change", args=[demo.pk]))
    listing = staff_client.get(reverse("admin:orders_order_changelist"))
    items = staff_client.get(reverse("admin:orders_orderitem_changelist"))
    html = change.content.decode()
    assert "₹1,500.00" in html  # subtotal
    assert "TRYNEW10 (−₹165.00)" in html
    assert "₹1,485.00" in html  # total: 1,650.00 - 165.00
    assert "₹1,485.00" in listing.content.decode()
    assert "₹" in items.content.decode()
    assert "(₹)" not in html + listing.content.decode() + items.content.decode()
