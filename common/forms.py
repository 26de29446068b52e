"""Form fields shared by the apps' admin forms."""

import io

from django import forms
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from .errors import DomainError

CSV_MAX_BYTES = 5 * 1024 * 1024
CSV_MAX_LINES = 100_000
NOT_UTF8 = "The file is not UTF-8 text (save it as CSV UTF-8)."


class CsvFileField(forms.FileField):
    """An uploaded CSV file of at most CSV_MAX_BYTES and CSV_MAX_LINES lines (max_lines=None: the
    caller counts rows itself), UTF-8 (with or without a byte-order mark). Cleaned to a text
    stream of its contents, so a service never sees bytes it cannot read."""

    def __init__(self, *args, max_bytes=CSV_MAX_BYTES, max_lines=CSV_MAX_LINES, **kwargs):
        self.max_bytes = max_bytes
        self.max_lines = max_lines
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if not upload:
            return upload
        if upload.size > self.max_bytes:
            raise ValidationError(
                f"The file is larger than {filesizeformat(self.max_bytes)}, the most that can "
                "be uploaded at once (split it).",
                code="too_big",
            )
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError(NOT_UTF8, code="not_utf8") from None
        if "\x00" in text:  # UTF-16 without a byte-order mark, or a binary file
            raise ValidationError(NOT_UTF8, code="not_utf8")
        lines = len(text.splitlines()) if self.max_lines is not None else 0
        if self.max_lines is not None and lines > self.max_lines:
            raise ValidationError(
                f"The file has {lines:,} lines; at most {self.max_lines:,} can be uploaded at "
                "once (split it).",
                code="too_many_lines",
            )
        return io.StringIO(text)


def as_validation_error(error: DomainError) -> ValidationError:
    """The admin's edge: a refusal (DomainError) as the form error an admin page shows, its
    message as it is and its code kept."""
    return ValidationError(error.message, code=error.code)
