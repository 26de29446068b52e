"""One error base (common.errors.DomainError) and the edges that turn it into answers: the REST
API's JSON (common.api), the admin's form errors, the commands' CommandError."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from checkout.errors import CheckoutError, CheckoutRequestInvalid
from common.commands import DomainCommand
from common.errors import DomainError
from coupons.errors import MESSAGES, CouponError
from coupons.models import Coupon
from messaging.errors import MessagingError
from messaging.models import SentMessage
from orders.errors import OrderError
from tests.factories import CouponFactory

from ..messaging.conftest import staff


@pytest.mark.parametrize("error_class", [OrderError, CouponError, MessagingError, CheckoutError])
def test_every_domain_error_has_one_shape(error_class):
    error = error_class("Shown as it is.", code="some_code", details={"field": ["bad"]})
    assert isinstance(error, DomainError)
    assert (error.code, error.message) == ("some_code", "Shown as it is.")
    assert str(error) == "Shown as it is."
    assert error.details == {"field": ["bad"]}


def test_coupon_error_keeps_its_messages_by_code():
    assert CouponError(code="expired").message == MESSAGES["expired"] == "This code has expired"
    assert str(CouponError(code="not_for_you")) == "This code is not valid for your number"
    assert CouponError(code="unheard_of").message == MESSAGES["not_found"]
    assert CouponError("Add ₹2.00 more", code="below_minimum").message == "Add ₹2.00 more"
    # One constructor shape: a positional argument is always the message.
    error = CouponError("invalid_phone")
    assert (error.code, error.message) == ("not_found", "invalid_phone")


def test_checkout_errors_are_domain_errors_but_not_order_errors():
    assert issubclass(CheckoutRequestInvalid, CheckoutError)
    assert not issubclass(CheckoutError, OrderError)
    assert not issubclass(MessagingError, OrderError)


# --- The REST API's edge ---------------------------------------------------------------------


class _NameSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=5)


class _ApiView(APIView):
    """A test-only view: creates a coupon, then raises what the request asks for."""

    def post(self, request):
        with transaction.atomic():
            CouponFactory(code="STORED")
            raise {
                "coupon": CouponError(code="expired"),
                "invalid": CheckoutRequestInvalid("data.input.user_id is missing."),
                "details": OrderError(
                    "The order has bad fields.", code="bad_fields", details={"tax": ["negative"]}
                ),
                "not_found": NotFound(),
            }[request.data["raise"]]

    def put(self, request):
        _NameSerializer(data=request.data).is_valid(raise_exception=True)


def _api(method, data):
    request = getattr(APIRequestFactory(), method)("/api/test/", data, format="json")
    response = _ApiView.as_view()(request)
    response.render()
    return response


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("raised", "status", "body"),
    [
        ("coupon", 409, {"code": "expired", "message": "This code has expired", "details": []}),
        (
            "invalid",
            400,
            {
                "code": "invalid_request",
                "message": "data.input.user_id is missing.",
                "details": [],
            },
        ),
        (
            "details",
            409,
            {
                "code": "bad_fields",
                "message": "The order has bad fields.",
                "details": [{"field": "tax", "code": "invalid", "message": "negative"}],
            },
        ),
        ("not_found", 404, {"code": "not_found", "message": "Not found.", "details": []}),
    ],
)
def test_api_answers_every_error_in_one_json_shape_and_stores_nothing(raised, status, body):
    response = _api("post", {"raise": raised})
    assert response.status_code == status
    assert json.loads(response.content) == body
    assert not Coupon.objects.exists()


def test_api_validation_errors_name_the_fields_under_details():
    response = _api("put", {"name": "far too long"})
    assert response.status_code == 400
    assert json.loads(response.content) == {
        "code": "invalid",
        "message": "The request is not valid: see details.",
        "details": [
            {
                "field": "name",
                "code": "max_length",
                "message": "Ensure this field has no more than 5 characters.",
            }
        ],
    }


# --- The commands' edge ----------------------------------------------------------------------


class _RefusingCommand(DomainCommand):
    def handle(self, *args, **options):
        raise OrderError("Order X cannot move from 'completed' to 'pending'.", code="illegal")


def test_command_refusal_is_a_command_error_with_the_message():
    with pytest.raises(CommandError) as caught:
        call_command(_RefusingCommand())
    assert str(caught.value) == "Order X cannot move from 'completed' to 'pending'."


@pytest.mark.django_db
def test_send_command_refusal_names_the_reason_and_queues_nothing():
    CouponFactory(code="OLD", is_active=False)
    with pytest.raises(CommandError) as caught:
        call_command("send_coupon_code", "OLD", "--to", "+919000090001")
    assert str(caught.value) == "Coupon OLD is not active."
    assert not SentMessage.objects.exists()


# --- The admin's edge ------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_send_action_shows_a_refusal_on_the_page_and_queues_nothing(client):
    client.force_login(staff("view_coupon", "send_messages"))
    coupon = CouponFactory(code="GONE", is_active=False)
    response = client.post(
        "/admin/coupons/coupon/",
        {
            "action": "send_coupon_code",
            "index": 0,
            "_selected_action": [coupon.pk],
            "recipients": "+919000090001",
            "template_name": "coupon_code",
            "language": "en_US",
            "_send": "1",
        },
    )
    assert response.status_code == 200
    assert response.context["error"] == "Coupon GONE is not active."
    assert '<p class="errornote">Coupon GONE is not active.</p>' in response.content.decode()
    assert not SentMessage.objects.exists()
