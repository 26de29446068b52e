"""The OpenAPI schema at /api/v1/schema/ against the API itself (schemathesis, stateless): for
every operation, generated requests never get a 5xx, and every answer (status code, content
type, body) is one the schema documents. PostgreSQL only, as in CI's integration run."""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.messaging.conftest import kaleyra  # noqa: F401 - fixture

# Made from the running app (no database needed to make the schema).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_connection():
    """As Django's test client does: the request's end must not close the test's connection
    (its transaction holds the test's data)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def key(db, demo, keep_connection):
    from common.api.keys import api_key_create

    return api_key_create(name="schemathesis", scopes=["read", "write", "send"])[1]


@pytest.mark.postgres
@pytest.mark.usefixtures("kaleyra")
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_conforms_to_the_schema(case, key, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = case.call(headers={"Authorization": f"Api-Key {key}"})
    case.validate_response(response, checks=CHECKS)


def test_the_schema_documents_every_api_operation_with_its_bodies_and_errors(client):
    document = client.get("/api/v1/schema/?format=json").json()
    paths = document["paths"]
    assert set(paths) == {
        "/api/v1/orders/",
        "/api/v1/orders/{reference_id}/",
        "/api/v1/orders/{reference_id}/cancel/",
        "/api/v1/orders/{reference_id}/send-checkout/",
        "/api/v1/orders/{reference_id}/send-status/",
        "/api/v1/coupons/{code}/send/",
        "/api/v1/messages/",
        "/api/v1/messages/{id}/",
        "/api/v1/batches/",
        "/api/v1/batches/{id}/",
    }
    create = paths["/api/v1/orders/"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderBodySchemaRequest"
    }
    assert set(create["responses"]) == {"200", "201", "400", "401", "403", "409", "413", "429"}
    error = create["responses"]["409"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/ErrorSchema"}
    examples = create["requestBody"]["content"]["application/json"]["examples"]
    sample = next(iter(examples.values()))["value"]
    assert sample["reference_id"] == "abc.123_xyz-2"
    listing = {p["name"] for p in paths["/api/v1/orders/"]["get"]["parameters"]}
    assert {
        "status",
        "payment_status",
        "created_since",
        "updated_since",
        "phone",
        "cursor",
    } <= listing
    assert document["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"


def test_the_docs_page_works_offline(client):
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "https://" not in html.split("<body")[0].replace("https://github", "")


def test_the_docs_page_refuses_other_methods_without_an_error(client):
    """OPTIONS used to be a 500 (the page's template renderer has no template for a view's
    description), found by tests/test_http_fuzz.py."""
    for method in ("OPTIONS", "POST", "PUT", "DELETE"):
        answer = client.generic(method, "/api/v1/docs/")
        assert answer.status_code == 405, method
    assert client.head("/api/v1/docs/").status_code == 200
