import pytest

from tests.factories import OrderFactory, OrderItemFactory, UserFactory

PHONE = "+919000090000"


@pytest.fixture
def make_order(db):
    """An open order worth 180000 before any coupon (item 150000 + shipping 20000 + tax 10000)."""

    def make(**fields):
        fields.setdefault("customer_phone", PHONE)
        order = OrderFactory(**fields)
        OrderItemFactory(order=order)
        return order

    return make


@pytest.fixture
def order(make_order):
    return make_order()


@pytest.fixture
def admin_client(client, db):
    user = UserFactory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    return client
