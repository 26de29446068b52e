"""The API's shared edge: keys and scopes, one error shape, throttling, body limit,
Idempotency-Key, the key command and admin, the purge."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from common.api.idempotency import idempotency_records_purge
from common.models import ApiKey, IdempotencyRecord
from common.tasks import idempotency_records_purge_task
from orders.models import Order

from ..api_keys import api_client
from ..orders.intake_bodies import sample

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def test_no_key_is_401_with_the_scheme_named():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Api-Key"
    assert response.json() == {
        "code": "not_authenticated",
        "message": "Send your API key as 'Authorization: Api-Key <key>'.",
        "details": [],
    }


@pytest.mark.parametrize("header", ["Api-Key nope.nope", "Api-Key ", "Bearer abc"])
def test_a_wrong_key_is_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(URL, sample(), format="json")
    assert response.status_code == 401
    assert response.json()["code"] in {"invalid_key", "not_authenticated"}
    assert not Order.objects.exists()


def test_a_revoked_or_expired_key_is_401():
    client = api_client("read")
    key = ApiKey.objects.get()
    key.revoked = True
    key.save()
    assert client.get(URL).json() == {
        "code": "invalid_key",
        "message": "This API key is not valid (wrong or revoked).",
        "details": [],
    }
    other = api_client("read", name="other")
    ApiKey.objects.filter(name="other").update(expiry_date=timezone.now() - timedelta(days=1))
    assert other.get(URL).json()["code"] == "expired_key"


@pytest.mark.parametrize(
    ("scopes", "method", "path", "missing"),
    [
        (["write"], "get", URL, "read"),
        (["read"], "post", URL, "write"),
        (["read"], "post", f"{URL}x/cancel/", "write"),
        (["read"], "patch", f"{URL}x/", "write"),
        (["read", "write"], "post", f"{URL}x/send-checkout/", "send"),
        (["read", "write"], "post", "/api/v1/coupons/X/send/", "send"),
        (["send"], "get", "/api/v1/messages/", "read"),
        (["send"], "get", "/api/v1/batches/", "read"),
    ],
)
def test_each_endpoint_needs_its_scope(scopes, method, path, missing):
    client = api_client(*scopes)
    response = getattr(client, method)(path, sample(), format="json")
    assert response.status_code == 403
    assert response.json() == {
        "code": "missing_scope",
        "message": f"This API key lacks the '{missing}' scope.",
        "details": [],
    }
    assert not Order.objects.exists()


def test_last_used_is_recorded_at_most_once_a_minute(api):
    assert ApiKey.objects.get().last_used_at is None
    api.get(URL)
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    api.get(URL)
    assert ApiKey.objects.get().last_used_at == first


def test_over_the_rate_is_429_with_retry_after(settings):
    settings.API_THROTTLE_RATE = "2/min"
    client = api_client("read")
    assert [client.get(URL).status_code for _ in range(2)] == [200, 200]
    response = client.get(URL)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    body = response.json()
    assert (body["code"], body["details"]) == ("throttled", [])
    # Per key: another key is not held back.
    assert api_client("read", name="other").get(URL).status_code == 200


def test_a_body_over_the_limit_is_413_and_nothing_is_stored(api, settings):
    settings.API_MAX_BODY_BYTES = 100
    response = api.post(URL, sample(), format="json")
    assert response.status_code == 413
    assert response.json() == {
        "code": "too_large",
        "message": "The request body is larger than 100 bytes.",
        "details": [],
    }
    assert not Order.objects.exists()


def test_idempotency_key_gives_the_same_answer_and_does_nothing_twice(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "order-2-attempt"}
    first = api.post(URL, sample(), format="json", **headers)
    assert first.status_code == 201
    Order.objects.update(customer_name="Changed since")  # a repeat must not read the order again
    again = api.post(URL, sample(), format="json", **headers)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    other_body = api.post(URL, sample(reference_id="other"), format="json", **headers)
    assert other_body.status_code == 409
    assert other_body.json() == {
        "code": "idempotency_conflict",
        "message": "This Idempotency-Key was used with a different request.",
        "details": [],
    }
    assert Order.objects.count() == 1


def test_idempotency_keys_are_per_api_key_and_errors_are_kept_too(api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    bad = api.post(URL, sample(reference_id=""), format="json", **headers)
    assert bad.status_code == 400
    assert api.post(URL, sample(reference_id=""), format="json", **headers).json() == bad.json()
    other = api_client("write", name="other")
    assert other.post(URL, sample(), format="json", **headers).status_code == 201
    assert IdempotencyRecord.objects.count() == 2


def test_an_overlong_idempotency_key_is_400(api):
    response = api.post(URL, sample(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 256)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "Idempotency-Key"
    assert not Order.objects.exists()


def test_expired_answers_are_purged_and_a_key_may_then_be_reused(api, settings):
    api.post(URL, sample(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    settings.API_IDEMPOTENCY_TTL = 86400
    reused = api.post(URL, sample(reference_id="two"), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert reused.status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    assert idempotency_records_purge() == 1
    assert idempotency_records_purge_task() == 0
    out = StringIO()
    call_command("api_idempotency_purge", stdout=out)
    assert out.getvalue() == "0 idempotency record(s) deleted.\n"


def test_api_key_create_prints_the_key_once_and_stores_its_hash():
    out, err = StringIO(), StringIO()
    call_command(
        "api_key_create", "storefront", "--scope", "read", "--scope", "send", stdout=out, stderr=err
    )
    key = out.getvalue().strip()
    stored = ApiKey.objects.get()
    assert (stored.name, stored.scopes) == ("storefront", ["read", "send"])
    assert key.startswith(stored.prefix + ".")
    assert key not in stored.hashed_key
    assert "shown only now" in err.getvalue()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert client.get(URL).status_code == 200
    assert client.post(URL, sample(), format="json").status_code == 403


def test_api_key_create_refuses_a_blank_name():
    with pytest.raises(CommandError, match="Give the key a name"):
        call_command("api_key_create", " ")
    assert not ApiKey.objects.exists()


def test_keys_are_made_and_revoked_in_the_admin(admin_client):
    response = admin_client.post(
        "/admin/common/apikey/add/",
        {"name": "erp", "scopes": ["read", "write"]},
        follow=True,
    )
    assert response.status_code == 200
    stored = ApiKey.objects.get()
    assert stored.scopes == ["read", "write"]
    shown = [str(m) for m in response.context["messages"]]
    assert any(f"The API key for erp is: {stored.prefix}." in m for m in shown)
    listing = admin_client.get("/admin/common/apikey/")
    assert b"erp" in listing.content and b"Last used" in listing.content


def test_every_error_has_the_one_shape_on_unknown_methods(api):
    response = api.delete(f"{URL}x/")
    assert response.status_code == 405
    assert json.loads(response.content)["code"] == "method_not_allowed"
