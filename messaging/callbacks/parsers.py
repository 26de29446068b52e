"""Callback bodies into events: Kaleyra's v2 JSON format (WhatsApp's change object in
`meta_object`, ids and refs in `extra_info`) and the older flat format, as JSON or form data.

Each event is classified by type: a delivery status (StatusEvent) or an InboundItem (a payment
update, an incoming customer message, a template-status change, or a type nobody knows yet).
An item that names a `type` of its own is what that type says; an item without one is a
delivery status, parsed as strictly as ever (an unknown status is still a 400).

Everything a client can send either parses or raises CallbackParseError naming what was wrong.
"""

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime

from common.webhooks import FORM_TYPES, WebhookBodyError, form_fields_parse, media_type

from .events import InboundItem
from .fields import (
    MAX_ID_LENGTH,
    CallbackParseError,
    id_read,
    object_read,
    path_join,
    text_clean,
    text_read,
    timestamp_read,
)
from .inbound_parsers import (
    T,
    flat_message_parse,
    messages_parse,
    payment_parse,
    storable,
    template_parse,
    unknown_parse,
)
from .statuses import status_normalise

__all__ = ["MAX_ID_LENGTH", "CallbackParseError", "StatusEvent", "callback_events_parse"]

TEMPLATE_TYPES = {"template", "template_status", "message_template_status_update"}
TEMPLATE_FIELD = "message_template_status_update"
# What an item that is a delivery status may call its own type.
STATUS_TYPES = {"status", "statuses", "dlr", "delivery", "message_status", "delivery_status"}


@dataclass(frozen=True)
class StatusEvent:
    status: str
    provider_status: str
    occurred_at: datetime | None
    top_message_id: str = ""
    extra_message_id: str = ""
    wa_message_id: str = ""
    recipient: str = ""
    ref: str = ""
    ref1: str = ""
    ref2: str = ""
    error_code: str = ""
    error_title: str = ""
    error_details: str = ""

    @property
    def event_hash(self) -> str:
        """Identity of the event: the same status of the same message at the same time with the
        same error is the same event however often it is delivered."""
        key = [
            self.top_message_id,
            self.extra_message_id,
            self.wa_message_id,
            self.provider_status.strip().lower(),
            self.occurred_at.isoformat() if self.occurred_at else "",
            self.error_code,
        ]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()

    def as_fields(self) -> dict:
        # Every field is a plain value: no deep copy (dataclasses.asdict) needed.
        return {field.name: getattr(self, field.name) for field in fields(self)}


def callback_document(*, body: bytes, content_type: str):
    """The body as Python data: JSON unless the content type says form data (decoded from the
    raw bytes, with no field-count limit: the body's size is capped before this)."""
    if media_type(content_type) in FORM_TYPES:
        try:
            data = form_fields_parse(body=body, content_type=content_type)
        except WebhookBodyError as exc:
            raise CallbackParseError(exc.message) from None
        if not data:
            raise CallbackParseError("The form body is empty.")
        return data
    if not body.strip():
        raise CallbackParseError("The body is empty.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise CallbackParseError(f"The body is not valid JSON: {exc}") from None


def callback_events_parse(document) -> list[StatusEvent | InboundItem]:
    """Every event the body reports, in order. A list holds several callbacks."""
    if isinstance(document, list):
        if not document:
            raise CallbackParseError("The body is an empty list.")
        events = []
        for index, item in enumerate(document):
            events += _callback_parse(item, f"[{index}]")
        return events
    return _callback_parse(document, "")


def _callback_parse(document, path: str) -> list[StatusEvent | InboundItem]:
    if not isinstance(document, dict):
        raise CallbackParseError(f"{path or 'The body'} must be an object.")
    if "meta_object" in document:
        return _v2_parse(document, path)
    type_name = _type_name(document)
    if type_name == "payment" or isinstance(document.get("payment"), dict):
        return [payment_parse(document, path)]
    if type_name in TEMPLATE_TYPES:
        return [template_parse(document, document, path, type_name)]
    if "status" not in document and ("from" in document or "body" in document):
        return [flat_message_parse(document, path, type_name)]
    if type_name and type_name not in STATUS_TYPES and not _is_delivery_status(document):
        return [unknown_parse(document, type_name)]
    return [_flat_parse(document, path)]


def _type_name(document: dict) -> str:
    """The type the item names itself (not a string: none, as before types were read)."""
    value = document.get("type")
    if not isinstance(value, str):
        return ""
    return text_clean(value).strip().lower()[:64]


def _is_delivery_status(document: dict) -> bool:
    status = document.get("status")
    return isinstance(status, str) and status_normalise(status) is not None


def _v2_parse(document: dict, path: str) -> list[StatusEvent | InboundItem]:
    meta = object_read(document.get("meta_object"), path_join(path, "meta_object"))
    extra = object_read(document.get("extra_info") or {}, path_join(path, "extra_info"))
    common = {
        "top_message_id": id_read(document.get("message_id"), path_join(path, "message_id")),
        "extra_message_id": id_read(
            extra.get("message_id"), path_join(path, "extra_info.message_id")
        ),
        "ref": text_read(extra.get("ref"), 255),
        "ref1": text_read(extra.get("ref1"), 255),
        "ref2": text_read(extra.get("ref2"), 255),
    }
    events, others = [], []
    for value_path, value, field in _v2_values(meta, path_join(path, "meta_object")):
        found = _v2_value_events(value, value_path, common, extra)
        if found is not None:
            events += found
        elif field == TEMPLATE_FIELD or "message_template_id" in value:
            events.append(template_parse(value, value, value_path, field or TEMPLATE_FIELD))
        elif field and field != "messages":
            others.append(InboundItem(T.UNKNOWN, storable({"field": field, "value": value}), field))
    if not events:
        if document.get("status") in (None, ""):
            if others:
                return others
            raise CallbackParseError(
                f"{path_join(path, 'meta_object')} holds no statuses and there is no top-level "
                "status."
            )
        events.append(_event(document, path, common, provider_status_key="status"))
    return events + others


def _v2_value_events(value: dict, path: str, common: dict, extra: dict) -> list | None:
    """The delivery statuses and incoming messages a change value carries (None: neither)."""
    statuses, messages = value.get("statuses"), value.get("messages")
    if statuses is None and messages is None:
        return None
    events = []
    if statuses is not None:
        if not isinstance(statuses, list):
            raise CallbackParseError(f"{path}.statuses must be a list.")
        for index, item in enumerate(statuses):
            events.append(_v2_status_parse(item, f"{path}.statuses[{index}]", common))
    if messages is not None:
        events += messages_parse(value, path, extra)
    return events


def _v2_values(meta: dict, path: str):
    """WhatsApp's change object(s): `{"value": ..., "field": ...}`, the bare value, or a whole
    webhook (`entry[].changes[]`); each as (path, value, field)."""
    if "entry" in meta:
        entries = meta["entry"]
        if not isinstance(entries, list):
            raise CallbackParseError(f"{path}.entry must be a list.")
        for e, entry in enumerate(entries):
            changes = object_read(entry, f"{path}.entry[{e}]").get("changes") or []
            if not isinstance(changes, list):
                raise CallbackParseError(f"{path}.entry[{e}].changes must be a list.")
            for c, change in enumerate(changes):
                change_path = f"{path}.entry[{e}].changes[{c}]"
                change = object_read(change, change_path)
                value = object_read(change.get("value"), f"{change_path}.value")
                yield f"{change_path}.value", value, text_read(change.get("field"), 64)
    elif "value" in meta:
        yield (
            f"{path}.value",
            object_read(meta["value"], f"{path}.value"),
            text_read(meta.get("field"), 64),
        )
    else:
        yield path, meta, ""


def _v2_status_parse(item, path: str, common: dict) -> StatusEvent:
    item = object_read(item, path)
    fields = dict(common, wa_message_id=id_read(item.get("id"), f"{path}.id"))
    errors = item.get("errors") or []
    if not isinstance(errors, list):
        raise CallbackParseError(f"{path}.errors must be a list.")
    if errors:
        error = object_read(errors[0], f"{path}.errors[0]")
        error_data = error.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else None
        fields["error_code"] = text_read(error.get("code"), 32)
        fields["error_title"] = text_read(error.get("title") or error.get("message"), 255)
        fields["error_details"] = text_read(details or error.get("message"), None)
    fields["recipient"] = text_read(item.get("recipient_id"), 32)
    return _event(item, path, fields, provider_status_key="status")


def _flat_parse(document: dict, path: str) -> StatusEvent:
    fields = {
        "top_message_id": id_read(document.get("id"), path_join(path, "id")),
        "extra_message_id": id_read(document.get("message_id"), path_join(path, "message_id")),
        "recipient": text_read(document.get("mobile") or document.get("phone_number"), 32),
        "ref": text_read(document.get("ref"), 255),
        "ref1": text_read(document.get("ref1"), 255),
        "ref2": text_read(document.get("ref2"), 255),
        "error_code": text_read(document.get("error_code"), 32),
        "error_title": text_read(document.get("error"), 255),
        "error_details": text_read(document.get("error"), None),
    }
    return _event(document, path, fields, provider_status_key="status")


def _event(source: dict, path: str, fields: dict, *, provider_status_key: str) -> StatusEvent:
    status_path = path_join(path, provider_status_key)
    raw_status = source.get(provider_status_key)
    if raw_status is None or raw_status == "":
        raise CallbackParseError(f"{status_path} is missing.")
    if not isinstance(raw_status, str):
        raise CallbackParseError(f"{status_path} must be a string.")
    status = status_normalise(raw_status)
    if status is None:
        raise CallbackParseError(
            f"{status_path} '{raw_status[:40]}' is not one of sent, delivered, read, failed, "
            "not-sent."
        )
    ids = ("top_message_id", "extra_message_id", "wa_message_id")
    if not any(fields.get(key) for key in ids):
        raise CallbackParseError(f"{path or 'The body'} carries no message id.")
    return StatusEvent(
        status=status,
        provider_status=text_clean(raw_status).strip()[:32],
        occurred_at=timestamp_read(source.get("timestamp"), path_join(path, "timestamp")),
        **fields,
    )
