"""A local stand-in for Kaleyra's WhatsApp v2 send API, strict about the wire format.

`python manage.py kaleyra_sandbox` runs it; tests start it in-process:

    sandbox = KaleyraSandbox(SandboxConfig(sid="SID", api_key="KEY", number="+911234567890"))
    sandbox.start(port=0)  # a free port; KALEYRA_API_BASE_URL = sandbox.base_url
    ...
    sandbox.stop()

It answers POST /v2/<sid>/whatsapp/<number>/messages like Kaleyra: RBC001 for a wrong SID or api
key, WA401 for a number not on the account, WA400 for a body that is not one of the three message
shapes (the reason is in the X-Sandbox-Reason header; the body is Kaleyra's documented one), E110 /
WAV2101 while toggled on, otherwise 202 with a fresh message id. Each accepted message then gets
status callbacks (`callback_statuses`: sent, delivered, read; sent then failed for recipients
ending in `fail_digit`) posted to `callback_url` in Kaleyra's v2 format, with HTTP Basic
credentials when given.

Faults, for a share `fail_rate` of requests (kinds from `faults`) or forced for the next requests
(POST /_sandbox/next {"faults": [...]}):
  5xx       500 with the WA500 body          502       502 with an HTML body
  429       429 Too Many Requests            e110      400 with the E110 body
  slow      answer after `slow_ms` (accepted)
  timeout   accept, then answer only after `timeout_ms` (the client's read timeout fires first:
            the message WAS accepted, as when a real answer is lost)
  drop      close the connection without answering, message NOT accepted
  drop_after_accept   accept, then close without answering

Payments (messaging.sandbox.payments): POST /_sandbox/pay {"reference_id": ..., "status":
"captured" | "pending" | "pending-captured" | "failed" | "wrong-amount" | "refund", "amount"?}
posts Kaleyra's payment webhook for that reference to `callback_url` (none with
"drop_webhook": true); GET /_sandbox/payments lists the updates, by reference, and
GET /v1/<sid>/wrapper/<phone_number_id>/payments/<configuration_id>/<reference_id> answers
Kaleyra's Get Payment Status with them (404 when the reference was never paid).

Control and inspection (JSON):
  GET  /_sandbox/messages   accepted messages (?bodies=0 leaves the bodies out) and duplicates
  GET  /_sandbox/callbacks  callbacks posted and the answers they got
  GET  /_sandbox/config     POST /_sandbox/config {"e110": true, "fail_rate": 0.2, ...}
  POST /_sandbox/next       POST /_sandbox/reset

Modules: config (SandboxConfig, FAULTS), send (the send API: error bodies, validate_body),
payments (pay requests, Get Payment Status), callbacks (posting status and payment callbacks),
server (KaleyraSandbox and its HTTP handler).
"""

from .config import FAULTS, SandboxConfig
from .payments import PAY_STATUSES, PayError, PayRequest
from .send import ERRORS, ORDER_STATUSES, PayloadError, validate_body
from .server import KaleyraSandbox

__all__ = [
    "ERRORS",
    "FAULTS",
    "ORDER_STATUSES",
    "PAY_STATUSES",
    "KaleyraSandbox",
    "PayError",
    "PayRequest",
    "PayloadError",
    "SandboxConfig",
    "validate_body",
]
