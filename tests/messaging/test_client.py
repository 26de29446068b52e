"""The Kaleyra client against every documented answer (responses library)."""

import json
import logging

import pytest
import requests
import responses
import urllib3

from messaging.client import Outcome, kaleyra_client
from messaging.sandbox import ERRORS

from .conftest import API_KEY, SEND_URL

BODY = {"messaging_object": {"to": "+919000090000"}, "extra_info": {"ref": "r"}}
ACCEPTED = {
    "code": "WA202",
    "message": "Request Accepted",
    "data": {"message_id": "A1B2C3D4E5F6G7H8I9J0"},
    "error": {},
}


@responses.activate
def test_accepted_sends_headers_and_exact_json(kaleyra):
    responses.post(SEND_URL, json=ACCEPTED, status=202)
    result = kaleyra_client().send(BODY)
    assert result.outcome == Outcome.ACCEPTED
    assert result.message_id == "A1B2C3D4E5F6G7H8I9J0"
    request = responses.calls[0].request
    assert request.headers["api-key"] == API_KEY
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == BODY


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("RBC001", Outcome.PERMANENT),
        ("WA401", Outcome.PERMANENT),
        ("WA400", Outcome.PERMANENT),
        ("WA500", Outcome.RETRY),
        ("E110", Outcome.PAUSE),
        ("WAV2101", Outcome.PAUSE),
    ],
)
@responses.activate
def test_documented_errors_are_classified_with_code_and_message(kaleyra, code, outcome):
    status, body = ERRORS[code]
    responses.post(SEND_URL, json=body, status=status)
    result = kaleyra_client().send(BODY)
    assert (result.outcome, result.code, result.message) == (outcome, code, body["message"])
    assert result.http_status == status


@pytest.mark.parametrize(
    "message",
    [
        "API is not available for given customer.Please contact support for more info",
        "The phone number you're using is associated with different Version of our WA API. "
        "Please use the appropriate endpoint.",
    ],
)
@responses.activate
def test_wa_dash_401_variants_are_permanent(kaleyra, message):
    responses.post(
        SEND_URL,
        json={"code": "WA-401", "message": message, "data": {}, "error": {"account": message}},
        status=401,
    )
    result = kaleyra_client().send(BODY)
    assert (result.outcome, result.code, result.message) == (Outcome.PERMANENT, "WA-401", message)


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (502, "<html>Bad gateway</html>", Outcome.RETRY),
        (503, "", Outcome.RETRY),
        (429, "Too Many Requests", Outcome.RETRY),
        (404, "<html>not found</html>", Outcome.PERMANENT),
        (202, "accepted!", Outcome.UNKNOWN),
    ],
)
@responses.activate
def test_non_json_answers_are_errors_not_crashes(kaleyra, status, body, outcome):
    responses.post(SEND_URL, body=body, status=status)
    result = kaleyra_client().send(BODY)
    assert result.outcome == outcome
    assert str(status) in result.message


@pytest.mark.parametrize(
    "body",
    [
        {"code": "WA202", "message": "Request Accepted", "data": {}, "error": {}},
        {"code": "WA202", "data": {"message_id": ""}},
        {"code": "WA202", "data": []},
        ["not", "an", "object"],
    ],
)
@responses.activate
def test_accepted_without_message_id_is_unknown(kaleyra, body):
    responses.post(SEND_URL, json=body, status=202)
    result = kaleyra_client().send(BODY)
    assert result.outcome == Outcome.UNKNOWN
    assert result.message_id == ""


@responses.activate
def test_429_json_and_unknown_5xx_code_are_retryable(kaleyra):
    responses.post(SEND_URL, json={"code": "WA429", "message": "slow down"}, status=429)
    responses.post(SEND_URL, json={"code": "X1", "message": "oops"}, status=503)
    assert kaleyra_client().send(BODY).outcome == Outcome.RETRY
    assert kaleyra_client().send(BODY).outcome == Outcome.RETRY


def _never_connected():
    reason = urllib3.exceptions.NewConnectionError(None, "Connection refused")
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, SEND_URL, reason))


def _dropped():
    return requests.ConnectionError(
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104))
    )


@pytest.mark.parametrize(
    ("error", "outcome", "code"),
    [
        (requests.ConnectTimeout("connect timed out"), Outcome.RETRY, "connect_timeout"),
        (_never_connected(), Outcome.RETRY, "connection_error"),
        (requests.ReadTimeout("read timed out"), Outcome.UNKNOWN, "read_timeout"),
        (_dropped(), Outcome.UNKNOWN, "connection_dropped"),
    ],
)
@responses.activate
def test_network_failures_retry_only_when_nothing_was_sent(kaleyra, error, outcome, code):
    responses.post(SEND_URL, body=error)
    result = kaleyra_client().send(BODY)
    assert (result.outcome, result.code) == (outcome, code)


@responses.activate
def test_api_key_never_in_errors_or_logs(kaleyra, caplog):
    caplog.set_level(logging.DEBUG)
    responses.post(SEND_URL, body=requests.ConnectTimeout(f"timeout, key {API_KEY}"))
    responses.post(SEND_URL, json={"code": "WA400", "message": f"bad key {API_KEY}"}, status=400)
    responses.post(SEND_URL, body=f"<html>{API_KEY}</html>", status=500)
    for _ in range(3):
        result = kaleyra_client().send(BODY)
        assert API_KEY not in result.message
        assert API_KEY not in repr(result)
    assert API_KEY not in caplog.text
    assert API_KEY not in repr(kaleyra_client())


def test_one_pooled_session_with_timeouts(kaleyra):
    client = kaleyra_client()
    assert kaleyra_client() is client
    assert client.timeout == (2, 2)
    adapter = client.session.get_adapter("https://kaleyra.test")
    assert adapter._pool_maxsize == kaleyra.KALEYRA_HTTP_POOL_SIZE
    assert adapter.max_retries.total == 0
    assert client.url == SEND_URL


def test_environment_proxies_are_read_once_not_per_request(kaleyra, monkeypatch):
    from messaging.client import KaleyraClient

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    client = KaleyraClient(
        base_url="https://kaleyra.test",
        sid="S",
        api_key="K",
        number="+910000000000",
        connect_timeout=1,
        read_timeout=1,
    )
    assert client.session.trust_env is False
    assert client.session.proxies["https"] == "http://proxy.example:3128"


@responses.activate
def test_redirects_are_not_followed(kaleyra):
    responses.post(SEND_URL, status=302, headers={"Location": "https://elsewhere.test/"})
    result = kaleyra_client().send(BODY)
    assert (result.outcome, result.code) == (Outcome.PERMANENT, "http_302")
    assert len(responses.calls) == 1


@responses.activate
def test_each_send_carries_its_own_body(kaleyra):
    responses.post(SEND_URL, json=ACCEPTED, status=202)
    client = kaleyra_client()
    bodies = [{"messaging_object": {"to": f"+91900009000{n}"}} for n in range(3)]
    for body in bodies:
        client.send(body)
    sent = [json.loads(call.request.body) for call in responses.calls]
    assert sent == bodies
    assert [call.request.headers["Content-Length"] for call in responses.calls] == [
        str(len(call.request.body)) for call in responses.calls
    ]


@responses.activate
def test_api_key_is_scrubbed_before_a_long_error_page_is_cut(kaleyra):
    # A gateway page that echoes the request headers, the key straddling the 200-character cut.
    page = "<html><pre>" + "x" * 170 + f"api-key: {API_KEY}\n" + "y" * 300 + "</pre></html>"
    responses.post(SEND_URL, body=page, status=502, content_type="text/html")
    result = kaleyra_client().send(BODY)
    assert (result.outcome, result.code) == (Outcome.RETRY, "http_502")
    assert API_KEY[:6] not in result.message
    assert "api-key: ***" in result.message
    assert len(result.message) < 250


@pytest.mark.parametrize("status", [400, 500, 202])
@responses.activate
def test_every_text_from_a_json_answer_is_scrubbed_and_bounded(kaleyra, status):
    answer = {"code": f"{API_KEY}{API_KEY}", "message": "m" * 490 + API_KEY + "z" * 2000}
    responses.post(SEND_URL, json=answer, status=status)
    result = kaleyra_client().send(BODY)
    assert API_KEY[:6] not in result.code + result.message
    assert len(result.code) <= 32  # SentMessage.error_code
    assert len(result.message) <= 500


@responses.activate
def test_an_overlong_message_id_is_not_taken_as_an_acceptance(kaleyra):
    responses.post(SEND_URL, json={**ACCEPTED, "data": {"message_id": "M" * 129}}, status=202)
    result = kaleyra_client().send(BODY)
    assert (result.outcome, result.code, result.message_id) == (
        Outcome.UNKNOWN,
        "invalid_answer",
        "",
    )
