"""The shipping rule add and change pages under wrong numbers and over-long text: a 200 naming
the field, nothing stored."""

import pytest

from checkout.models import ShippingRule
from tests.bad_input import changed_models, stored_rows

pytestmark = pytest.mark.django_db

GOOD = {
    "name": "Mumbai",
    "pincode_prefix": "400",
    "cost": "30.00",
    "free_above": "",
    "is_active": "on",
}
BAD = [
    ("cost", "thirty", "not an amount"),
    ("cost", "-30", ""),
    ("cost", "30.001", "two decimals"),
    ("cost", "9" * 25, ""),
    ("cost", "", "This field is required."),
    ("free_above", "1,00,0.0.0", ""),
    ("free_above", "-1", ""),
    ("name", "n" * 101, "at most 100 characters"),
    ("pincode_prefix", "40O", ""),
    ("pincode_prefix", "4000511", ""),
    ("pincode_prefix", "-400", ""),
]


@pytest.mark.parametrize(("field", "value", "words"), BAD)
@pytest.mark.parametrize("page", ["add", "change"])
def test_shipping_rule_pages(admin_client, page, field, value, words):
    url = "/admin/checkout/shippingrule/add/"
    if page == "change":
        rule = ShippingRule.objects.create(name="Default", pincode_prefix="", cost=10000)
        url = f"/admin/checkout/shippingrule/{rule.pk}/change/"
    before = stored_rows()
    response = admin_client.post(url, {**GOOD, field: value})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert field in errors, errors
    assert words in " ".join(errors[field])
    assert changed_models(before, stored_rows()) == []


def test_the_good_data_is_accepted(admin_client):
    assert admin_client.post("/admin/checkout/shippingrule/add/", GOOD).status_code == 302
    assert ShippingRule.objects.get().cost == 3000
