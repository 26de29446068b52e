"""The WSGI application (common.wsgi, config.wsgi): the endpoints machines call are answered
through MACHINE_MIDDLEWARE, everything else through the whole MIDDLEWARE."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured

from common.wsgi import MachineHandler, PathSplitApplication, wsgi_application_build
from messaging.models import CallbackReceipt
from tests.messaging.callback_bodies import CALLBACK_URL, CREDENTIALS, basic, flat_body
from tests.wsgi_client import wsgi_call

AUTH = basic("kaleyra", "first-secret")


@pytest.fixture
def app(settings):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    return wsgi_application_build()


def _status_body():
    return json.dumps(flat_body("kal-1", "delivered", 1700000000)).encode()


@pytest.mark.django_db(transaction=True)
def test_machine_endpoints_are_split_off_by_their_urls(app):
    assert app.machine_paths == {CALLBACK_URL, "/checkout/"}


@pytest.mark.django_db(transaction=True)
def test_a_callback_goes_through_the_short_chain(app):
    answer = wsgi_call(app, CALLBACK_URL, body=_status_body(), HTTP_AUTHORIZATION=AUTH)
    assert answer["status"] == 200
    assert CallbackReceipt.objects.count() == 1
    # SecurityMiddleware's headers are there; the browser layers' are not.
    assert answer["headers"]["X-Content-Type-Options"] == "nosniff"
    assert "X-Frame-Options" not in answer["headers"]
    assert "Vary" not in answer["headers"] and "Set-Cookie" not in answer["headers"]


@pytest.mark.django_db(transaction=True)
def test_the_short_chain_still_refuses_an_unknown_host_and_a_bad_length(app):
    answer = wsgi_call(
        app, CALLBACK_URL, body=_status_body(), host="evil.example", HTTP_AUTHORIZATION=AUTH
    )
    assert answer["status"] == 400  # DisallowedHost, from CommonMiddleware's get_host()
    answer = wsgi_call(
        app, CALLBACK_URL, body=_status_body(), HTTP_AUTHORIZATION=AUTH, CONTENT_LENGTH="ten"
    )
    assert (answer["status"], answer["body"]) == (400, b"Content-Length is not a number of bytes.")
    assert not CallbackReceipt.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_browser_pages_keep_the_whole_chain(app):
    answer = wsgi_call(app, "/admin/login/", method="GET")
    assert answer["status"] == 200
    assert answer["headers"]["X-Frame-Options"] == "DENY"
    assert "csrftoken=" in answer["headers"]["Set-Cookie"]
    # A path that only looks like a machine endpoint is not one: the whole chain, CSRF included.
    answer = wsgi_call(app, CALLBACK_URL + "x", body=_status_body(), HTTP_AUTHORIZATION=AUTH)
    assert answer["status"] == 404 and answer["headers"]["X-Frame-Options"] == "DENY"


def test_a_middleware_with_view_hooks_is_refused_at_start_up(settings):
    settings.MACHINE_MIDDLEWARE = [
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ]
    with pytest.raises(ImproperlyConfigured, match="CsrfViewMiddleware: it has process_view"):
        MachineHandler()


def test_paths_are_matched_exactly():
    def main(environ, start_response):
        return ["main"]

    def machine(environ, start_response):
        return ["machine"]

    split = PathSplitApplication(main=main, machine=machine, machine_paths=["/hook/"])
    assert split({"PATH_INFO": "/hook/"}, None) == ["machine"]
    assert split({"PATH_INFO": "/hook"}, None) == ["main"]
    assert split({"PATH_INFO": "/hook/x"}, None) == ["main"]
    assert split({}, None) == ["main"]
