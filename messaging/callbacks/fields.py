"""The readers every parser of a Kaleyra callback body shares, messaging's and checkout's
(payments): each takes a value from a parsed body and the path it was found at, and returns it
clean and typed, or raises CallbackParseError naming the path and what was wrong (the receiver
answers 400 with that message). A public API: parsers outside messaging use these.

- object_read(value, path) -> dict: an object, or JSON text of one (form data nests them so).
- id_read(value, path) -> str: an id (string or integer), at most MAX_ID_LENGTH characters.
- text_read(value, limit) -> str: free text (refs, error fields); never raises, cut to `limit`.
- timestamp_read(value, path) -> datetime | None: unix seconds or milliseconds, or an ISO
  date-time (a naive one is in the shop's time zone), between 2000 and 2100.
- text_clean(text) -> str: text any database stores (no NUL, no lone surrogates).
- path_join(path, key) -> str: "payment" + "amount" -> "payment.amount".
"""

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils.dateparse import parse_datetime

MAX_ID_LENGTH = 128
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class CallbackParseError(Exception):
    """A body we cannot read; `message` says what was wrong and is sent back with the 400."""

    code = "malformed_callback"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def object_read(value, path: str) -> dict:
    if isinstance(value, str):  # form data carries nested objects as JSON text
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise CallbackParseError(f"{path} is not a JSON object.") from None
    if not isinstance(value, dict):
        raise CallbackParseError(f"{path} must be an object.")
    return value


def id_read(value, path: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise CallbackParseError(f"{path} must be a string.")
    text = text_clean(str(value)).strip()
    if len(text) > MAX_ID_LENGTH:
        raise CallbackParseError(f"{path} is longer than {MAX_ID_LENGTH} characters.")
    return text


def text_read(value, limit: int | None) -> str:
    """Free text (refs, error fields): scalars as text, anything else as JSON; cut to fit."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    text = text_clean(text).strip()
    return text if limit is None else text[:limit]


def text_clean(text: str) -> str:
    """Text any database stores: no NUL characters, no lone surrogates."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def path_join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def timestamp_read(value, path: str) -> datetime | None:
    """Unix seconds (WhatsApp sends them as a string), milliseconds, or an ISO date-time (a
    naive one is in the shop's time zone)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise CallbackParseError(f"{path} must be unix seconds or an ISO date-time.")
    text = text_clean(str(value)).strip()
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
