"""Reconciliation: the Kaleyra client's Get Payment Status call (responses library)."""

import requests
import responses

from messaging.client import LookupOutcome, kaleyra_client
from tests.messaging.conftest import API_KEY, BASE_URL, SID, kaleyra  # noqa: F401

PHONE_NUMBER_ID = "106540352242922"
CONFIGURATION_ID = "shop-upi"
LOOKUP_URL = f"{BASE_URL}/v1/{SID}/wrapper/{PHONE_NUMBER_ID}/payments/{CONFIGURATION_ID}/ORD-1"
EVENT = {
    "id": "wamid.X",
    "type": "payment",
    "status": "captured",
    "phone_number": "919800000001",
    "payment": {
        "reference_id": "ORD-1",
        "amount": {"offset": 100, "value": 165000},
        "currency": "INR",
        "receipt": "",
        "transaction": {
            "id": "order_1",
            "type": "razorpay",
            "status": "success",
            "amount": {"offset": 100, "value": 165000},
            "currency": "INR",
            "created_timestamp": 1746500000,
            "updated_timestamp": 1746500005,
            "refunds": None,
        },
    },
}


def _client(kaleyra):  # noqa: F811
    kaleyra.KALEYRA_PHONE_NUMBER_ID = PHONE_NUMBER_ID
    kaleyra.KALEYRA_PAYMENT_CONFIGURATION_ID = CONFIGURATION_ID
    return kaleyra_client()


@responses.activate
def test_lookup_found_reads_the_webhook_shape_with_the_key_header(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json=EVENT, status=200)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert lookup.outcome == LookupOutcome.FOUND
    assert lookup.events == (EVENT,)
    assert responses.calls[0].request.headers["api-key"] == API_KEY


@responses.activate
def test_lookup_reads_a_list_of_updates(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"payments": [EVENT, EVENT]}, status=200)
    assert _client(kaleyra).payment_status("ORD-1").events == (EVENT, EVENT)


@responses.activate
def test_lookup_404_is_no_payment_yet(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"code": "404", "message": "Not found"}, status=404)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code, lookup.message) == (
        LookupOutcome.NONE,
        "not_found",
        "no payment yet",
    )


@responses.activate
def test_lookup_5xx_fails_with_kaleyras_code(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"code": "WA500", "message": "Internal"}, status=500)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code, lookup.message, lookup.http_status) == (
        LookupOutcome.FAILED,
        "WA500",
        "Internal",
        500,
    )


@responses.activate
def test_lookup_timeout_fails_without_raising_and_scrubs_the_key(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, body=requests.ReadTimeout(f"read timed out, key {API_KEY}"))
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert lookup.outcome == LookupOutcome.FAILED
    assert lookup.code == "timeout"
    assert API_KEY not in lookup.message and "***" in lookup.message


@responses.activate
def test_lookup_non_json_fails_and_scrubs_the_key(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, body=f"<html>oops {API_KEY}</html>", status=200)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code) == (LookupOutcome.FAILED, "invalid_answer")
    assert API_KEY not in lookup.message and "***" in lookup.message


@responses.activate
def test_lookup_answer_of_another_shape_fails(kaleyra):  # noqa: F811
    responses.get(LOOKUP_URL, json={"status": "ok"}, status=200)
    lookup = _client(kaleyra).payment_status("ORD-1")
    assert (lookup.outcome, lookup.code) == (LookupOutcome.FAILED, "invalid_answer")
