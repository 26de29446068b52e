import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from orders.models import Order, OrderEvent
from tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


def valid_order(**overrides):
    fields = {
        "reference_id": "abc.123_xyz-1",
        "customer_name": "Nidhi Tripathi",
        "customer_phone": "+919000090000",
        "payment_configuration": "prod-razor-pay-config-05",
    }
    return Order(**{**fields, **overrides})


@pytest.mark.parametrize(
    "reference_id",
    ["", "a" * 36, "has space", "hash#1", "ünïcode", "slash/1", "semi;colon"],
)
def test_bad_reference_id_is_refused_naming_the_field(reference_id):
    with pytest.raises(ValidationError) as error:
        valid_order(reference_id=reference_id).full_clean()
    assert "reference_id" in error.value.message_dict


@pytest.mark.parametrize("reference_id", ["a", "A" * 35, "abc.123_xyz-1", "Ref-2_x.y"])
def test_good_reference_ids(reference_id):
    valid_order(reference_id=reference_id).full_clean()


def test_reference_id_is_case_sensitive_and_unique():
    OrderFactory(reference_id="ABC-1")
    OrderFactory(reference_id="abc-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(reference_id="ABC-1")


@pytest.mark.parametrize("phone", ["12345", "not a phone", "+91 12", "+1 202 555 0"])
def test_bad_phone_is_refused(phone):
    with pytest.raises(ValidationError) as error:
        valid_order(customer_phone=phone).full_clean()
    assert "customer_phone" in error.value.message_dict


@pytest.mark.parametrize("phone", ["9000090000", "+91 90000 90000", "09000090000", "919000090000"])
def test_phone_is_stored_in_e164(phone):
    order = valid_order(customer_phone=phone)
    order.full_clean()
    order.save()
    order.refresh_from_db()
    assert str(order.customer_phone) == "+919000090000"


@pytest.mark.parametrize("quantity", [0, 101])
def test_item_quantity_must_be_1_to_100(quantity):
    item = OrderItemFactory.build(order=OrderFactory(), quantity=quantity)
    with pytest.raises(ValidationError) as error:
        item.full_clean()
    assert "quantity" in error.value.message_dict


def test_item_quantity_is_also_a_database_constraint():
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderItemFactory(quantity=101)


@pytest.mark.parametrize("field", ["discount_description", "tax_description"])
def test_descriptions_are_at_most_60_characters(field):
    with pytest.raises(ValidationError) as error:
        valid_order(**{field: "x" * 61}).full_clean()
    assert field in error.value.message_dict
    valid_order(**{field: "x" * 60}).full_clean()


def test_item_name_is_at_most_60_characters():
    item = OrderItemFactory.build(order=OrderFactory(), name="x" * 61)
    with pytest.raises(ValidationError) as error:
        item.full_clean()
    assert "name" in error.value.message_dict


def test_sale_price_above_price_is_refused():
    item = OrderItemFactory.build(order=OrderFactory(), amount=100, sale_amount=200)
    with pytest.raises(ValidationError) as error:
        item.full_clean()
    assert "sale_amount" in error.value.message_dict


def test_history_is_append_only():
    order = OrderFactory()
    event = OrderEvent.objects.create(order=order, kind="status", source="api")
    event.after = "changed"
    with pytest.raises(ValidationError):
        event.save()
    with pytest.raises(ValidationError):
        event.delete()
