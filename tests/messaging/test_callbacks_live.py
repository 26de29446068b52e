"""End to end over real HTTP: Kaleyra-format callbacks for a batch posted to a live server, then
the reports show them. (With messaging.sandbox on main, KaleyraSandbox(callback_url=...) does the
posting; the bodies here are the ones it sends.)"""

import requests
from django.contrib.auth.models import Permission
from django.test import Client

from messaging.models import SentMessage
from tests.factories import AcceptedMessageFactory, SendBatchFactory, UserFactory

from .callback_bodies import CREDENTIALS, v2_body, wa_status


def test_a_batch_of_callbacks_over_http_shows_in_the_reports(
    live_server, settings, transactional_db
):
    settings.KALEYRA_CALLBACK_BASIC_AUTH = CREDENTIALS
    batch = SendBatchFactory()
    messages = [
        AcceptedMessageFactory(batch=batch, provider_message_id=f"kal-live-{n}", ref="launch")
        for n in range(4)
    ]
    url = f"{live_server.url}/kaleyra/callbacks/"
    session = requests.Session()
    session.auth = ("kaleyra", "rotated-secret")
    timeline = {0: ["sent", "delivered", "read"], 1: ["sent", "delivered"], 2: ["sent", "failed"]}
    for n, statuses in timeline.items():
        for step, status in enumerate(statuses):
            error = (
                {"code": 131026, "title": "Message undeliverable"} if status == "failed" else None
            )
            body = v2_body(
                f"kal-live-{n}",
                [wa_status(f"wamid.live{n}", status, 1_763_700_000 + step, error=error)],
                ref="launch",
            )
            assert session.post(url, json=body, timeout=10).status_code == 200
    assert requests.post(url, json={}, timeout=10).status_code == 401

    assert [
        m.status for m in SentMessage.objects.filter(pk__in=[m.pk for m in messages]).order_by("pk")
    ] == [
        "read",
        "delivered",
        "failed",
        "accepted",
    ]
    staff = UserFactory(username="live-reporter", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client = Client()
    client.force_login(staff)
    csv_text = client.get("/admin/reports/refs/", {"batch": batch.pk, "format": "csv"}).content
    rows = [line.split(",") for line in csv_text.decode().splitlines()]
    # ref, messages, queued, accepted, sent, delivered, read, failed, not sent, rates, paid
    # orders, revenue
    assert rows[1] == [
        *["launch", "4", "0", "4", "3", "2", "1", "1", "0", "50.0%", "50.0%"],
        *["0", "₹0.00"],
    ]
