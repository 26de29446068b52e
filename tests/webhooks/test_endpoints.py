"""Registering endpoints: the URL rules (SSRF) with their errors and nothing stored, the admin
(secret shown once, rotation, pause and resume, read-only events and deliveries)."""

import re

import pytest

from common.outbound.delivery import deliveries_run
from common.outbound.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from common.outbound.services import (
    WebhookEndpointError,
    outbound_event_emit,
    webhook_endpoint_create,
)
from common.outbound.urls import WebhookUrlError, address_public

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("ops", "ops@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    ("url", "code", "message"),
    [
        (
            "http://127.0.0.1:8000/hook",
            "webhook_url_private",
            "The webhook URL's host '127.0.0.1' is a private, loopback or reserved address "
            "(127.0.0.1): webhooks go only to public addresses.",
        ),
        (
            "https://10.1.2.3/hook",
            "webhook_url_private",
            "The webhook URL's host '10.1.2.3' is a private, loopback or reserved address "
            "(10.1.2.3): webhooks go only to public addresses.",
        ),
        (
            "http://169.254.169.254/latest/meta-data/",
            "webhook_url_private",
            "The webhook URL's host '169.254.169.254' is a private, loopback or reserved "
            "address (169.254.169.254): webhooks go only to public addresses.",
        ),
        (
            "http://[::1]:9000/",
            "webhook_url_private",
            "The webhook URL's host '::1' is a private, loopback or reserved address (::1): "
            "webhooks go only to public addresses.",
        ),
        (
            "http://localhost/hook",
            "webhook_url_private",
            None,  # resolves to 127.0.0.1 (and perhaps ::1)
        ),
        (
            "ftp://example.com/hook",
            "webhook_url_scheme",
            "The webhook URL must start with https:// (or http://).",
        ),
        ("https:///nohost", "webhook_url_invalid", "The webhook URL has no host name."),
        (
            "https://user:pw@example.com/hook",
            "webhook_url_credentials",
            "The webhook URL must not carry a user name or password: the signature "
            "authenticates the requests.",
        ),
        (
            "https://example.com:99999/hook",
            "webhook_url_invalid",
            "The webhook URL cannot be read: Port out of range 0-65535.",
        ),
        ("https://no-such-host.invalid/hook", "webhook_url_host", None),
    ],
)
def test_refused_urls_say_why_and_store_nothing(url, code, message, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    with pytest.raises(WebhookUrlError) as refused:
        webhook_endpoint_create(url=url, events=["order.created"])
    assert refused.value.code == code
    if message:
        assert refused.value.message == message
    else:
        assert refused.value.message.startswith("The webhook URL's host ")
    assert not WebhookEndpoint.objects.exists()


def test_public_addresses_are_taken_without_the_private_setting(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    endpoint, secret = webhook_endpoint_create(
        url=" https://8.8.8.8/hook ", events=["order.created"]
    )
    assert endpoint.url == "https://8.8.8.8/hook"
    assert secret.startswith("whsec_") and len(secret) > 40
    assert endpoint.secret == secret


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("169.254.169.254", False),
        ("0.0.0.0", False),  # noqa: S104
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped loopback
    ],
)
def test_address_rules(address, public):
    assert address_public(address) is public


@pytest.mark.parametrize(
    ("events", "code", "message"),
    [
        ([], "webhook_events_missing", "Pick at least one event to send to this endpoint."),
        (
            ["order.created", "order.deleted"],
            "webhook_events_unknown",
            "Unknown event type(s): order.deleted. Known: order.created, order.status_changed, "
            "order.payment_changed, message.status_changed, batch.finished.",
        ),
    ],
)
def test_refused_events_say_why_and_store_nothing(events, code, message, receiver):
    with pytest.raises(WebhookEndpointError) as refused:
        webhook_endpoint_create(url=receiver.url, events=events)
    assert (refused.value.code, refused.value.message) == (code, message)
    assert not WebhookEndpoint.objects.exists()


def test_a_private_address_is_refused_at_connection_time_too(receiver, settings, no_kick):
    """Registered while allowed (or a name that resolves elsewhere later): nothing is sent,
    the attempt says why."""
    webhook_endpoint_create(url=receiver.url, events=["order.created"])
    outbound_event_emit(type="order.created", payload={}, ordering_key="order:1")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    deliveries_run()
    assert receiver.requests == []
    attempt = WebhookAttempt.objects.get()
    assert attempt.status_code is None
    assert attempt.error == (
        "The webhook URL's host '127.0.0.1' is a private, loopback or reserved address "
        "(127.0.0.1): webhooks go only to public addresses."
    )
    assert WebhookDelivery.objects.get().state == "pending"


def test_the_connection_guard_refuses_what_the_url_check_let_through(
    receiver, settings, monkeypatch
):
    """A host checked as public that resolves to a private address when connecting (DNS
    rebinding): the connection-time check refuses it."""
    from common.outbound import delivery, urls

    webhook_endpoint_create(url=receiver.url, events=["order.created"])
    outbound_event_emit(type="order.created", payload={}, ordering_key="order:1")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    monkeypatch.setattr(delivery, "webhook_url_check", lambda url: url)  # passed earlier
    assert urls.addresses_allowed  # the guard itself is not patched
    deliveries_run()
    assert receiver.requests == []
    assert "private, loopback or reserved" in WebhookAttempt.objects.get().error


# --- admin ------------------------------------------------------------------------------------


def test_admin_create_shows_the_secret_once(admin, receiver):
    form = admin.get("/admin/common/webhookendpoint/add/")
    assert form.status_code == 200
    assert 'value="message.status_changed"' in form.content.decode()
    page = admin.post(
        "/admin/common/webhookendpoint/add/",
        {"url": receiver.url, "description": "ERP", "events": ["order.created", "batch.finished"]},
    )
    assert page.status_code == 200
    html = page.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["order.created", "batch.finished"]
    assert endpoint.secret in html
    assert "shown only this once" in html
    change = admin.get(f"/admin/common/webhookendpoint/{endpoint.pk}/change/")
    assert change.status_code == 200
    assert endpoint.secret not in change.content.decode()
    listing = admin.get("/admin/common/webhookendpoint/").content.decode()
    assert endpoint.secret not in listing


def test_admin_refuses_a_private_url_with_the_reason(admin, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    page = admin.post(
        "/admin/common/webhookendpoint/add/",
        {"url": "http://192.168.0.10/hook", "events": ["order.created"]},
    )
    assert page.status_code == 200
    assert page.context["adminform"].form.errors == {
        "url": [
            "The webhook URL's host '192.168.0.10' is a private, loopback or reserved "
            "address (192.168.0.10): webhooks go only to public addresses."
        ]
    }
    assert not WebhookEndpoint.objects.exists()


def test_admin_refuses_no_events(admin, receiver):
    page = admin.post("/admin/common/webhookendpoint/add/", {"url": receiver.url})
    assert page.context["adminform"].form.errors == {"events": ["This field is required."]}
    assert not WebhookEndpoint.objects.exists()


def test_admin_rotate_shows_the_new_secret_once(admin, receiver):
    endpoint, old = webhook_endpoint_create(url=receiver.url, events=["order.created"])
    page = admin.post(
        "/admin/common/webhookendpoint/",
        {"action": "rotate_secret", "_selected_action": [endpoint.pk]},
    )
    endpoint.refresh_from_db()
    html = page.content.decode()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert endpoint.secret in html and old not in html
    assert "signed with both" in html


def test_admin_pause_notice_and_resume(admin, receiver):
    endpoint, _ = webhook_endpoint_create(url=receiver.url, events=["order.created"])
    WebhookEndpoint.objects.update(
        active=False,
        paused_reason="Paused after 20 failed deliveries in a row (the last: HTTP 500)",
    )
    listing = admin.get("/admin/common/webhookendpoint/").content.decode()
    assert (
        f"Webhook endpoint {receiver.url} is paused: Paused after 20 failed deliveries in a "
        "row (the last: HTTP 500)." in listing
    )
    admin.post(
        "/admin/common/webhookendpoint/", {"action": "resume", "_selected_action": [endpoint.pk]}
    )
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.paused_reason == ""
    listing = admin.get("/admin/common/webhookendpoint/").content.decode()
    assert "is paused" not in listing


def test_admin_events_and_deliveries_show_the_attempts(admin, receiver, no_kick):
    webhook_endpoint_create(url=receiver.url, events=["order.created"])
    event = outbound_event_emit(type="order.created", payload={"x": 1}, ordering_key="order:1")
    receiver.script = [500]
    deliveries_run()
    delivery = WebhookDelivery.objects.get()
    page = admin.get(f"/admin/common/webhookdelivery/{delivery.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "HTTP 500" in html and re.search(r"received.*true", html)
    assert admin.get("/admin/common/webhookdelivery/").status_code == 200
    assert admin.get(f"/admin/common/outboundevent/{event.pk}/change/").status_code == 200
    assert admin.get("/admin/common/outboundevent/").status_code == 200
    # Read-only: no add, no delete.
    assert admin.get("/admin/common/webhookdelivery/add/").status_code == 403
    assert admin.post(f"/admin/common/webhookdelivery/{delivery.pk}/delete/").status_code == 403


def test_admin_edit_keeps_the_secret_and_checks_the_url(admin, receiver, settings):
    endpoint, secret = webhook_endpoint_create(url=receiver.url, events=["order.created"])
    url = f"/admin/common/webhookendpoint/{endpoint.pk}/change/"
    page = admin.post(url, {"url": receiver.url, "events": ["batch.finished"], "description": "x"})
    assert page.status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.events, endpoint.description, endpoint.secret) == (
        ["batch.finished"],
        "x",
        secret,
    )
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    page = admin.post(url, {"url": "http://10.0.0.5/", "events": ["order.created"]})
    assert page.context["adminform"].form.errors["url"] == [
        "The webhook URL's host '10.0.0.5' is a private, loopback or reserved address "
        "(10.0.0.5): webhooks go only to public addresses."
    ]
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url and endpoint.events == ["batch.finished"]
