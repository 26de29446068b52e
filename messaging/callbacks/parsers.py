"""Callback bodies into status events: Kaleyra's v2 JSON format (WhatsApp's `statuses[]` in
`meta_object`, ids and refs in `extra_info`) and the older flat format, as JSON or form data.

Everything a client can send either parses or raises CallbackParseError naming what was wrong.
"""

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http.multipartparser import MultiPartParserError
from django.utils.dateparse import parse_datetime

from .statuses import status_normalise

MAX_ID_LENGTH = 128
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class CallbackParseError(Exception):
    """A body we cannot read; `message` says what was wrong and is sent back with the 400."""

    code = "malformed_callback"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
        return asdict(self)


def callback_document(*, body: bytes, content_type: str, form=None):
    """The body as Python data: JSON unless the content type says form data (`form` is the
    request's parsed POST, read lazily because multipart parsing can fail)."""
    media_type = content_type.split(";")[0].strip().lower()
    if media_type in FORM_TYPES:
        try:
            data = form() if callable(form) else form
        except MultiPartParserError as exc:
            raise CallbackParseError(f"The form data cannot be read: {exc}") from None
        if not data:
            raise CallbackParseError("The form body is empty.")
        return data.dict()
    if not body.strip():
        raise CallbackParseError("The body is empty.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise CallbackParseError(f"The body is not valid JSON: {exc}") from None


def callback_events_parse(document) -> list[StatusEvent]:
    """Every status the body reports, in order. A list holds several callbacks."""
    if isinstance(document, list):
        if not document:
            raise CallbackParseError("The body is an empty list.")
        events = []
        for index, item in enumerate(document):
            events += _callback_parse(item, f"[{index}]")
        return events
    return _callback_parse(document, "")


def _callback_parse(document, path: str) -> list[StatusEvent]:
    if not isinstance(document, dict):
        raise CallbackParseError(f"{path or 'The body'} must be an object.")
    if "meta_object" in document:
        return _v2_parse(document, path)
    return [_flat_parse(document, path)]


def _v2_parse(document: dict, path: str) -> list[StatusEvent]:
    meta = _object(document.get("meta_object"), _join(path, "meta_object"))
    extra = _object(document.get("extra_info") or {}, _join(path, "extra_info"))
    common = {
        "top_message_id": _id(document.get("message_id"), _join(path, "message_id")),
        "extra_message_id": _id(extra.get("message_id"), _join(path, "extra_info.message_id")),
        "ref": _text(extra.get("ref"), 255),
        "ref1": _text(extra.get("ref1"), 255),
        "ref2": _text(extra.get("ref2"), 255),
    }
    events = []
    for value_path, value in _v2_values(meta, _join(path, "meta_object")):
        statuses = value.get("statuses")
        if statuses is None:
            continue
        if not isinstance(statuses, list):
            raise CallbackParseError(f"{value_path}.statuses must be a list.")
        for index, item in enumerate(statuses):
            events.append(_v2_status_parse(item, f"{value_path}.statuses[{index}]", common))
    if not events:
        if document.get("status") in (None, ""):
            raise CallbackParseError(
                f"{_join(path, 'meta_object')} holds no statuses and there is no top-level status."
            )
        events.append(_event(document, path, common, provider_status_key="status"))
    return events


def _v2_values(meta: dict, path: str):
    """WhatsApp's change object(s): `{"value": ..., "field": ...}`, the bare value, or a whole
    webhook (`entry[].changes[]`)."""
    if "entry" in meta:
        entries = meta["entry"]
        if not isinstance(entries, list):
            raise CallbackParseError(f"{path}.entry must be a list.")
        for e, entry in enumerate(entries):
            changes = _object(entry, f"{path}.entry[{e}]").get("changes") or []
            if not isinstance(changes, list):
                raise CallbackParseError(f"{path}.entry[{e}].changes must be a list.")
            for c, change in enumerate(changes):
                change_path = f"{path}.entry[{e}].changes[{c}]"
                change = _object(change, change_path)
                yield f"{change_path}.value", _object(change.get("value"), f"{change_path}.value")
    elif "value" in meta:
        yield f"{path}.value", _object(meta["value"], f"{path}.value")
    else:
        yield path, meta


def _v2_status_parse(item, path: str, common: dict) -> StatusEvent:
    item = _object(item, path)
    fields = dict(common, wa_message_id=_id(item.get("id"), f"{path}.id"))
    errors = item.get("errors") or []
    if not isinstance(errors, list):
        raise CallbackParseError(f"{path}.errors must be a list.")
    if errors:
        error = _object(errors[0], f"{path}.errors[0]")
        error_data = error.get("error_data")
        details = error_data.get("details") if isinstance(error_data, dict) else None
        fields["error_code"] = _text(error.get("code"), 32)
        fields["error_title"] = _text(error.get("title") or error.get("message"), 255)
        fields["error_details"] = _text(details or error.get("message"), None)
    fields["recipient"] = _text(item.get("recipient_id"), 32)
    return _event(item, path, fields, provider_status_key="status")


def _flat_parse(document: dict, path: str) -> StatusEvent:
    fields = {
        "top_message_id": _id(document.get("id"), _join(path, "id")),
        "extra_message_id": _id(document.get("message_id"), _join(path, "message_id")),
        "recipient": _text(document.get("mobile") or document.get("phone_number"), 32),
        "ref": _text(document.get("ref"), 255),
        "ref1": _text(document.get("ref1"), 255),
        "ref2": _text(document.get("ref2"), 255),
        "error_code": _text(document.get("error_code"), 32),
        "error_title": _text(document.get("error"), 255),
        "error_details": _text(document.get("error"), None),
    }
    return _event(document, path, fields, provider_status_key="status")


def _event(source: dict, path: str, fields: dict, *, provider_status_key: str) -> StatusEvent:
    status_path = _join(path, provider_status_key)
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
        provider_status=_clean(raw_status).strip()[:32],
        occurred_at=_timestamp(source.get("timestamp"), _join(path, "timestamp")),
        **fields,
    )


def _timestamp(value, path: str) -> datetime | None:
    """Unix seconds (WhatsApp sends them as a string), milliseconds, or an ISO date-time (a
    naive one is in the shop's time zone)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CallbackParseError(f"{path} must be unix seconds or an ISO date-time.")
    text = _clean(str(value)).strip()
    problem = f"{path} '{text[:40]}' is not a unix time or ISO date-time between 2000 and 2100."
    try:
        seconds = float(text)
    except ValueError:
        seconds = None
    if seconds is not None:
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        if not EARLIEST.timestamp() <= seconds < LATEST.timestamp():
            raise CallbackParseError(problem)
        return datetime.fromtimestamp(seconds, tz=UTC)
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise CallbackParseError(problem)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(settings.TIME_ZONE))
    if not EARLIEST <= parsed < LATEST:
        raise CallbackParseError(problem)
    return parsed


def _object(value, path: str) -> dict:
    if isinstance(value, str):  # form data carries nested objects as JSON text
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise CallbackParseError(f"{path} is not a JSON object.") from None
    if not isinstance(value, dict):
        raise CallbackParseError(f"{path} must be an object.")
    return value


def _id(value, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CallbackParseError(f"{path} must be a string.")
    text = _clean(str(value)).strip()
    if len(text) > MAX_ID_LENGTH:
        raise CallbackParseError(f"{path} is longer than {MAX_ID_LENGTH} characters.")
    return text


def _text(value, limit: int | None) -> str:
    """Free text (refs, error fields): scalars as text, anything else as JSON; cut to fit."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = _clean(text).strip()
    return text if limit is None else text[:limit]


def _clean(text: str) -> str:
    """Text any database stores: no NUL characters, no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
