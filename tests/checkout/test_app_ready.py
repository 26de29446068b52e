"""CheckoutConfig.ready() contributes to the orders app (the API's payment_status filter and
its schema parameter, the order admin's payment column, filter, panels and action): running it
again (a test runner, a second setup) changes nothing."""

import pytest
from django.apps import apps
from django.contrib import admin

from checkout.admin_payments import (
    OrderPaymentCheckInline,
    OrderPaymentInline,
    PaymentStatusFilter,
    order_payment_status_column,
    orders_payment_check_action,
)
from orders.api import LIST_PARAMETERS
from orders.models import Order

pytestmark = pytest.mark.django_db


def _listing_parameters(client) -> list[str]:
    document = client.get("/api/v1/schema/", {"format": "json"}).json()
    return [p["name"] for p in document["paths"]["/api/v1/orders/"]["get"]["parameters"]]


def test_ready_twice_documents_and_shows_payment_status_once(client, admin_client):
    config = apps.get_app_config("checkout")
    config.ready()
    config.ready()

    assert [p.name for p in LIST_PARAMETERS].count("payment_status") == 1
    names = _listing_parameters(client)
    assert names.count("payment_status") == 1
    assert len(names) == len(set(names))

    model_admin = admin.site._registry[Order]
    assert list(model_admin.list_display).count(order_payment_status_column) == 1
    assert list(model_admin.sortable_by).count(order_payment_status_column) == 1
    assert list(model_admin.list_filter).count(PaymentStatusFilter) == 1
    assert list(model_admin.inlines).count(OrderPaymentInline) == 1
    assert list(model_admin.inlines).count(OrderPaymentCheckInline) == 1
    assert list(model_admin.actions).count(orders_payment_check_action) == 1
    assert admin_client.get("/admin/orders/order/", {"payment_status": "unpaid"}).status_code == 200
