"""Callback bodies as Kaleyra sends them (v2 and flat), and an authenticated poster."""

import base64
import json

CALLBACK_URL = "/kaleyra/callbacks/"
CREDENTIALS = "kaleyra:first-secret,kaleyra:rotated-secret"


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def wa_status(wa_id, status, timestamp, *, error=None):
    item = {
        "id": wa_id,
        "status": status,
        "timestamp": str(timestamp),
        "recipient_id": "919812345678",
    }
    if error:
        item["errors"] = [error]
    return item


def v2_body(message_id, statuses, *, ref="", ref1="", ref2="", top_level_id=True):
    body = {
        "meta_object": {
            "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "919000000000", "phone_number_id": "1"},
                "statuses": statuses,
            },
            "field": "messages",
        },
        "extra_info": {
            "message_id": message_id,
            "trace_id": "trace-1",
            "waba_id": "waba-1",
            "ref": ref,
            "ref1": ref1,
            "ref2": ref2,
        },
    }
    if top_level_id:
        body["message_id"] = message_id
        body["status"] = statuses[-1]["status"] if statuses else ""
    return body


def flat_body(message_id, status, timestamp, **extra):
    return {
        "id": message_id,
        "status": status,
        "mobile": "919812345678",
        "timestamp": str(timestamp),
        **extra,
    }


def post_json(client, body, *, auth=("kaleyra", "first-secret")):
    headers = {"HTTP_AUTHORIZATION": basic(*auth)} if auth else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(CALLBACK_URL, data=data, content_type="application/json", **headers)


def post_raw(client, body, content_type, *, auth=("kaleyra", "first-secret")):
    headers = {"HTTP_AUTHORIZATION": basic(*auth)} if auth else {}
    return client.post(CALLBACK_URL, data=body, content_type=content_type, **headers)


def post_form(client, fields, *, auth=("kaleyra", "first-secret")):
    headers = {"HTTP_AUTHORIZATION": basic(*auth)} if auth else {}
    from urllib.parse import urlencode

    return client.post(
        CALLBACK_URL,
        data=urlencode(fields),
        content_type="application/x-www-form-urlencoded",
        **headers,
    )
