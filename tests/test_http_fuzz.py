"""The whole public (non-admin) HTTP surface under random requests: any method, content type,
body (JSON, form, binary, invalid UTF-8, over the size limits) and headers (credentials,
signatures, a Content-Length that lies). Never a 5xx; a refused request stores nothing, except
the one thing the callback endpoint documents: an authenticated callback it cannot read is kept
raw, with its parse error, and nothing else.

The deep payload fuzzing lives next to each endpoint (tests/checkout/test_fuzz.py,
tests/messaging/test_callbacks_fuzz.py); this file is about the transport around them."""

import io
import json

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkout.crypto import signature_compute
from checkout.views import MAX_BODY_BYTES
from messaging.models import CallbackEvent, CallbackReceipt
from tests.bad_input import changed_models, stored_rows
from tests.checkout.conftest import (  # noqa: F401 - fixtures
    APP_SECRET,
    checkout_key,
    private_key,
    public_key,
)
from tests.messaging.callback_bodies import CALLBACK_URL, CREDENTIALS, basic, v2_body, wa_status

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PUBLIC_URLS = {
    "/",
    "/checkout/",
    "/kaleyra/callbacks/",
    "/api/v1/orders/",
    "/api/v1/orders/<str:reference_id>/",
    "/api/v1/orders/<str:reference_id>/cancel/",
    "/api/v1/orders/<str:reference_id>/send-checkout/",
    "/api/v1/orders/<str:reference_id>/send-status/",
    "/api/v1/coupons/<str:code>/send/",
    "/api/v1/messages/",
    "/api/v1/messages/<int:pk>/",
    "/api/v1/batches/",
    "/api/v1/batches/<int:pk>/",
    "/api/v1/schema/",
    "/api/v1/docs/",
    "/api/v1/^(?P<rest>.*)$",  # the API's JSON 404
}
# The REST API's URLs as fuzzed (its bodies are fuzzed against the schema by schemathesis:
# tests/test_api_schema.py).
API_URLS = [
    "/api/v1/orders/",
    "/api/v1/orders/abc.123_xyz-1/",
    "/api/v1/orders/abc.123_xyz-1/cancel/",
    "/api/v1/orders/abc.123_xyz-1/send-checkout/",
    "/api/v1/orders/abc.123_xyz-1/send-status/",
    "/api/v1/coupons/TRYNEW10/send/",
    "/api/v1/messages/",
    "/api/v1/messages/1/",
    "/api/v1/batches/",
    "/api/v1/batches/1/",
    "/api/v1/schema/",
    "/api/v1/docs/",
    "/api/v1/messages/null/",
]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "BREW"]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=latin-1",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "multipart/form-data",
    "text/plain",
    "application/octet-stream",
    "",
    "\u00e9/\u00e9",
]
# Bodies over the endpoints' limits: the checkout's 64 KiB, and Django's
# DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) that guards request.body.
HUGE = [b"{" * (MAX_BODY_BYTES + 1), b'{"a": "' + b"x" * (3 * 1024 * 1024) + b'"}']
VALID_CALLBACK = json.dumps(
    v2_body("kal-1", [wa_status("wamid.1", "delivered", 1763700000)])
).encode()
BODIES = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda text: text.encode("utf-8", "surrogatepass")),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=10,
    ).map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.text(max_size=8), st.text(max_size=20), max_size=4).map(
        lambda fields: "&".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "replace")
    ),
    st.just(b"\xff\xfe\x00{\xc3\x28\xa0\xa1"),  # invalid UTF-8
    st.just(VALID_CALLBACK),
    st.just(HUGE[0]),  # (the 3 MB one has its own tests: hypothesis would copy it around)
)
# None: the test client's own, correct Content-Length. Otherwise what the header claims, the
# body being what it is (a short read, as from a client that hung up).
CONTENT_LENGTHS = st.one_of(
    st.none(),
    st.sampled_from(["", "abc", "-1", "0", "1e3", " 12", "99999999999999999999"]),
    st.integers(min_value=0, max_value=10**7).map(str),
)


@st.composite
def requests(draw, *, auth_header, auth_value):
    body = draw(BODIES)
    method = draw(st.just("POST") | st.sampled_from(METHODS))
    extra = {}
    choice = draw(st.sampled_from(["valid", "none", "garbage"]))
    if choice == "valid":
        extra[auth_header] = auth_value(body)
    elif choice == "garbage":
        extra[auth_header] = draw(st.text(max_size=80))
    length = draw(CONTENT_LENGTHS)
    if length is not None:
        extra["CONTENT_LENGTH"] = length
        extra["wsgi.input"] = io.BytesIO(body)
    return method, body, draw(st.sampled_from(CONTENT_TYPES)), extra


def _declared_length_is_number(extra):
    return (extra.get("CONTENT_LENGTH") or "0").isdigit()


def _send(client, url, method, body, content_type, extra):
    response = client.generic(method, url, body, content_type=content_type, **extra)
    assert response.status_code < 500
    if not _declared_length_is_number(extra):
        assert response.status_code == 400
        if method != "HEAD":
            assert response.content == b"Content-Length is not a number of bytes."
    return response


def test_the_fuzzed_urls_are_every_public_url():
    """A new public URL must be added here (and so to the fuzzing below)."""

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, route)
            elif isinstance(pattern, URLPattern):
                yield "/" + route

    public = {url for url in walk(get_resolver()) if not url.startswith("/admin/")}
    assert public == PUBLIC_URLS


@pytest.mark.usefixtures("checkout_key")
@FUZZ
@given(
    request=requests(
        auth_header="HTTP_X_HUB_SIGNATURE_256",
        auth_value=lambda body: signature_compute(body, APP_SECRET),
    )
)
def test_checkout_endpoint(client, demo, request):
    method, body, content_type, extra = request
    before = stored_rows()
    response = _send(client, "/checkout/", method, body, content_type, extra)
    if not _declared_length_is_number(extra):
        pass  # 400, checked by _send
    elif method == "OPTIONS":
        assert response.status_code == 200  # REST framework's description of the view
    elif method != "POST":
        assert response.status_code == 405
    else:
        # Nothing here is an encrypted request WhatsApp could have sent: all are refused.
        assert response.status_code in (400, 413, 421, 432)
    assert changed_models(before, stored_rows()) == []


@pytest.mark.usefixtures("checkout_key")
@pytest.mark.parametrize("url", ["/checkout/", CALLBACK_URL])
@pytest.mark.parametrize("declared", ["ten", "-1", "1e3", "\u0661"])
def test_a_content_length_that_is_not_a_number_is_a_400(
    client, callbacks_configured, demo, url, declared
):
    before = stored_rows()
    response = client.post(
        url,
        VALID_CALLBACK,
        content_type="application/json",
        CONTENT_LENGTH=declared,
        HTTP_AUTHORIZATION=basic("kaleyra", "first-secret"),
        HTTP_X_HUB_SIGNATURE_256=signature_compute(VALID_CALLBACK, APP_SECRET),
    )
    assert (response.status_code, response.content) == (
        400,
        b"Content-Length is not a number of bytes.",
    )
    assert changed_models(before, stored_rows()) == []


@pytest.mark.usefixtures("checkout_key")
def test_checkout_endpoint_over_the_upload_limit_is_a_413(client, demo):
    before = stored_rows()
    response = client.post(
        "/checkout/",
        HUGE[1],
        content_type="application/json",
        HTTP_X_HUB_SIGNATURE_256=signature_compute(HUGE[1], APP_SECRET),
    )
    assert response.status_code == 413
    assert changed_models(before, stored_rows()) == []


def test_checkout_endpoint_without_a_key_says_so(client, demo, settings):
    settings.WHATSAPP_CHECKOUT_PRIVATE_KEY = ""
    settings.WHATSAPP_CHECKOUT_PRIVATE_KEY_FILE = ""
    before = stored_rows()
    response = client.post("/checkout/", b"{}", content_type="application/json")
    assert response.status_code == 503
    assert changed_models(before, stored_rows()) == []


@pytest.fixture
def callbacks_configured(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS


@FUZZ
@given(
    request=requests(
        auth_header="HTTP_AUTHORIZATION",
        auth_value=lambda body: basic("kaleyra", "rotated-secret"),
    )
)
def test_callbacks_endpoint(client, callbacks_configured, demo, request):
    method, body, content_type, extra = request
    before = stored_rows()
    receipts = set(CallbackReceipt.objects.values_list("pk", flat=True))
    response = _send(client, CALLBACK_URL, method, body, content_type, extra)
    if method != "POST":
        assert response.status_code in (400, 405)
    if response.status_code == 200:
        return  # a readable callback (VALID_CALLBACK): stored and applied by design
    changed = changed_models(before, stored_rows())
    is_json = response["Content-Type"] == "application/json"
    answer = json.loads(response.content) if is_json else {}
    if "receipt" in answer:
        # Authenticated but unreadable: kept raw with the reason, no event, nothing else.
        assert response.status_code == 400
        assert changed == [CallbackReceipt._meta.label]
        receipt = CallbackReceipt.objects.exclude(pk__in=receipts).get()
        assert receipt.pk == answer["receipt"]
        assert receipt.rejected_reason == answer["message"] != ""
        assert receipt.event_count == 0
        assert not CallbackEvent.objects.filter(receipt=receipt).exists()
    else:
        assert changed == []


def test_callbacks_endpoint_without_credentials_says_so(client, settings, demo):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = ""
    before = stored_rows()
    response = client.post(
        CALLBACK_URL,
        VALID_CALLBACK,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("kaleyra", "first-secret"),
    )
    assert response.status_code == 503
    assert changed_models(before, stored_rows()) == []


def test_an_authenticated_callback_over_the_upload_limit_is_stored_whole_then_refused(
    client, callbacks_configured, demo
):
    """Over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) but under the callback limit: no
    longer refused unread by Django (which stored nothing), but read, kept raw and whole, then
    answered 400 with what is wrong with it (a body with no status)."""
    before = stored_rows()
    response = client.post(
        CALLBACK_URL,
        HUGE[1],
        content_type="application/json",
        HTTP_AUTHORIZATION=basic("kaleyra", "first-secret"),
    )
    assert response.status_code == 400
    assert response.json()["message"] == "status is missing."
    assert changed_models(before, stored_rows()) == [CallbackReceipt._meta.label]
    receipt = CallbackReceipt.objects.get(pk=response.json()["receipt"])
    assert (receipt.size, receipt.truncated, receipt.event_count) == (len(HUGE[1]), False, 0)
    assert receipt.body.encode() == HUGE[1]


@settings(FUZZ, max_examples=30)
@given(
    method=st.sampled_from(METHODS),
    body=BODIES,
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_root_redirects_or_refuses(client, method, body, content_type):
    response = _send(client, "/", method, body, content_type, {})
    assert response.status_code in (200, 302, 405)  # 200: OPTIONS


@pytest.fixture
def api_key_header(db):
    from django.utils import timezone

    from common.api.keys import api_key_create

    api_key, key = api_key_create(name="fuzz", scopes=["read", "write", "send"])
    api_key.last_used_at = timezone.now()  # not written again within the minute
    api_key.save(update_fields=["last_used_at"])
    return f"Api-Key {key}"


@FUZZ
@given(
    url=st.sampled_from(API_URLS),
    request=requests(auth_header="HTTP_AUTHORIZATION", auth_value=lambda body: "valid"),
)
def test_api_endpoints(client, demo, api_key_header, url, request):
    method, body, content_type, extra = request
    if extra.get("HTTP_AUTHORIZATION") == "valid":
        extra["HTTP_AUTHORIZATION"] = api_key_header
    before = stored_rows()
    response = _send(client, url, method, body, content_type, extra)
    if response.status_code < 300:
        return  # e.g. a valid cancel or send: done by design
    documents = url.endswith(("/schema/", "/docs/"))  # YAML and HTML: not the JSON API
    if method != "HEAD" and _declared_length_is_number(extra) and not documents:
        answer = json.loads(response.content)
        assert set(answer) == {"code", "message", "details"}
    assert changed_models(before, stored_rows()) == []
