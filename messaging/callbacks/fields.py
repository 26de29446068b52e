"""The small readers every callback parser shares: objects, ids, free text, paths."""

import json

MAX_ID_LENGTH = 128


class CallbackParseError(Exception):
    """A body we cannot read; `message` says what was wrong and is sent back with the 400."""

    code = "malformed_callback"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


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
