"""The provider-neutral webhook base (common.webhooks) on a test-only view: the HMAC-SHA256
strategy (good, bad, missing, rotated secrets, not configured), authentication before anything
is stored, the body cap, and form bodies read from the raw bytes."""

import json

import pytest
from django.http import JsonResponse
from django.test import RequestFactory

from common.webhooks import (
    HmacSignatureAuth,
    WebhookBodyError,
    WebhookView,
    form_fields_parse,
    signature_compute,
)

SECRETS = ["new-secret", "old-secret"]
BODY = json.dumps({"type": "payment", "status": "captured"}).encode()


class SignedView(WebhookView):
    """Stores what it receives in `received` (the test's stand-in for a receipt table)."""

    received: list = []
    auth = HmacSignatureAuth(secrets=lambda: SignedView.secrets)
    secrets = SECRETS
    cap = 1024

    @classmethod
    def max_body_bytes(cls):
        return cls.cap

    def receive(self, request, raw):
        self.received.append(raw)
        if raw.truncated:
            return self.too_large(raw, receipt=len(self.received))
        return JsonResponse({"stored": len(self.received)})


@pytest.fixture(autouse=True)
def fresh_view():
    SignedView.received = []
    SignedView.secrets = SECRETS
    SignedView.cap = 1024


def post(body=BODY, **headers):
    request = RequestFactory().post(
        "/hooks/test/", data=body, content_type="application/json", **headers
    )
    return SignedView.as_view()(request)


@pytest.mark.parametrize("secret", SECRETS)
def test_a_body_signed_with_either_secret_of_a_rotation_is_received(secret):
    response = post(HTTP_X_HUB_SIGNATURE_256=signature_compute(BODY, secret))
    assert response.status_code == 200
    assert [raw.data for raw in SignedView.received] == [BODY]


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        signature_compute(BODY, "guessed"),
        signature_compute(BODY + b" ", "new-secret"),
        signature_compute(BODY, "new-secret")[:-1],
        signature_compute(BODY, "new-secret").removeprefix("sha256="),
        "sha256=" + "é" * 64,
    ],
)
def test_a_missing_or_wrong_signature_is_refused_401_and_nothing_is_received(header):
    headers = {} if header is None else {"HTTP_X_HUB_SIGNATURE_256": header}
    response = post(**headers)
    assert response.status_code == 401
    assert json.loads(response.content)["error"] == "unauthorized"
    assert SignedView.received == []


def test_after_the_rotation_the_old_secret_is_refused():
    SignedView.secrets = ["new-secret"]
    assert post(HTTP_X_HUB_SIGNATURE_256=signature_compute(BODY, "old-secret")).status_code == 401
    assert SignedView.received == []


def test_no_secret_configured_refuses_everything_with_503():
    SignedView.secrets = []
    response = post(HTTP_X_HUB_SIGNATURE_256=signature_compute(BODY, ""))
    assert response.status_code == 503
    assert json.loads(response.content)["error"] == "not_configured"
    assert SignedView.received == []


def test_a_signed_body_over_the_cap_cannot_be_verified_so_it_is_413_and_not_received():
    SignedView.cap = 10
    response = post(HTTP_X_HUB_SIGNATURE_256=signature_compute(BODY, "new-secret"))
    assert response.status_code == 413
    assert "10-byte limit" in json.loads(response.content)["message"]
    assert SignedView.received == []


def test_the_signature_covers_the_raw_bytes_not_a_reencoding():
    body = b'{"status":  "captured" }'  # same JSON, other bytes
    response = post(body=body, HTTP_X_HUB_SIGNATURE_256=signature_compute(BODY, "new-secret"))
    assert response.status_code == 401


def test_form_fields_are_read_from_the_raw_bytes_last_value_wins():
    fields = form_fields_parse(
        body=b"a=1&b=%E2%82%B9&a=2&empty=", content_type="application/x-www-form-urlencoded"
    )
    assert fields == {"a": "2", "b": "₹", "empty": ""}


def test_multipart_without_a_name_is_an_error_naming_it():
    body = b"--x\r\nContent-Disposition: form-data\r\n\r\nvalue\r\n--x--\r\n"
    with pytest.raises(WebhookBodyError, match="a part has no field name"):
        form_fields_parse(body=body, content_type="multipart/form-data; boundary=x")
