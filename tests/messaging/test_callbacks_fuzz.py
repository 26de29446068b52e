"""Nothing a client can send gets a 500: random bytes, random JSON, and random structures built
from the keys and values the parsers look at."""

import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .callback_bodies import CALLBACK_URL, CREDENTIALS, post_raw

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KEYS = [
    "meta_object",
    "extra_info",
    "value",
    "entry",
    "changes",
    "statuses",
    "errors",
    "error_data",
    "details",
    "id",
    "message_id",
    "status",
    "timestamp",
    "code",
    "title",
    "error",
    "error_code",
    "ref",
    "mobile",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["sent", "delivered", "read", "failed", "not-sent", "kal-1", "1763700000"]),
    st.text(max_size=40),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6),
    ),
    max_leaves=30,
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "text/plain",
        "",
    ]
)


@pytest.fixture(autouse=True)
def configured(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS


def _post(client, data, content_type):
    return post_raw(client, data, content_type)


@FUZZ
@given(document=DOCUMENTS)
def test_any_json_document_gets_200_or_400(client, document):
    data = json.dumps(document, allow_nan=True)
    assert _post(client, data, "application/json").status_code in (200, 400)


@FUZZ
@given(fields=st.dictionaries(st.sampled_from(KEYS), DOCUMENTS.map(json.dumps), max_size=6))
def test_any_form_body_gets_200_or_400(client, fields):
    data = urlencode(fields)
    assert _post(client, data, "application/x-www-form-urlencoded").status_code in (200, 400)


@FUZZ
@given(body=st.binary(max_size=300), content_type=CONTENT_TYPES)
def test_any_bytes_get_200_or_400(client, body, content_type):
    assert _post(client, body, content_type).status_code in (200, 400)


@FUZZ
@given(header=st.text(max_size=60) | st.binary(max_size=60).map(lambda b: "Basic " + b.hex()))
def test_any_authorization_header_gets_401(client, header):
    response = client.post(
        CALLBACK_URL, data="{}", content_type="application/json", HTTP_AUTHORIZATION=header
    )
    assert response.status_code == 401
