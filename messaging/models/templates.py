"""The template registry: each approved WhatsApp template as the shop registered it with Meta
(header, body with {{n}} placeholders, footer) and where each placeholder's value comes from.

WhatsApp's own limits live here, once: the body's length and placeholders, what a parameter
value may hold, what a header needs. The model's clean() and the values computed when a
message is queued (messaging.services.templates) both ask these functions.
"""

import re

from django.core.exceptions import ValidationError
from django.db import models

from .choices import MessageKind

BODY_MAX_LENGTH = 1024
HEADER_TEXT_MAX_LENGTH = 60
FOOTER_MAX_LENGTH = 60
PLACEHOLDER = re.compile(r"\{\{\s*(\w*)\s*\}\}")
# WhatsApp refuses a parameter with a newline, a tab or more than four spaces in a row (132018).
_REFUSED_IN_VALUE = re.compile(r"[\n\r\t]| {5,}")


def placeholders_find(text: str) -> list[str]:
    """The placeholders of `text` in order of appearance, as written between the braces."""
    return PLACEHOLDER.findall(text or "")


def parameter_value_problem(value: str) -> str | None:
    """Why WhatsApp would refuse `value` as a template parameter, or None."""
    if not value or not value.strip():
        return "is empty"
    if _REFUSED_IN_VALUE.search(value):
        return "contains a newline, a tab or more than four spaces in a row"
    return None


class HeaderFormat(models.TextChoices):
    NONE = "none", "None"
    TEXT = "text", "Text"
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    DOCUMENT = "document", "Document"


MEDIA_HEADERS = frozenset({HeaderFormat.IMAGE, HeaderFormat.VIDEO, HeaderFormat.DOCUMENT})


class ParameterSource(models.TextChoices):
    FIXED = "fixed", "Fixed text"
    CUSTOMER_NAME = "customer_name", "Customer name"
    ORDER_REFERENCE = "order_reference", "Order reference"
    ORDER_TOTAL = "order_total", "Order total (₹)"
    ITEM_COUNT = "item_count", "Item count"
    FIRST_ITEM_NAME = "first_item_name", "First item's name"
    ORDER_EXPIRY = "order_expiry", "Order expiry date and time"
    COUPON_CODE = "coupon_code", "Coupon code"
    COUPON_DISCOUNT = "coupon_discount", "Coupon discount (₹ or %)"
    COUPON_DESCRIPTION = "coupon_description", "Coupon description"
    COUPON_EXPIRY = "coupon_expiry", "Coupon expiry date and time"


_ORDER_SOURCES = frozenset(
    {
        ParameterSource.CUSTOMER_NAME,
        ParameterSource.ORDER_REFERENCE,
        ParameterSource.ORDER_TOTAL,
        ParameterSource.ITEM_COUNT,
        ParameterSource.FIRST_ITEM_NAME,
        ParameterSource.ORDER_EXPIRY,
    }
)
_COUPON_SOURCES = frozenset(
    {
        ParameterSource.COUPON_CODE,
        ParameterSource.COUPON_DISCOUNT,
        ParameterSource.COUPON_DESCRIPTION,
        ParameterSource.COUPON_EXPIRY,
    }
)
# Which sources each message kind has records for.
KIND_SOURCES = {
    MessageKind.ORDER_DETAILS: _ORDER_SOURCES | {ParameterSource.FIXED},
    MessageKind.ORDER_STATUS: _ORDER_SOURCES | {ParameterSource.FIXED},
    MessageKind.COUPON_CODE: _COUPON_SOURCES | {ParameterSource.FIXED},
}


class MessageTemplate(models.Model):
    """An approved WhatsApp template: sending with its name and language adds its header and
    body components (messaging.services.templates). Unregistered names send as before."""

    name = models.CharField(max_length=512, help_text="The template's name as approved by Meta.")
    language = models.CharField(max_length=16, default="en_US", help_text="e.g. en_US, hi.")
    kind = models.CharField(
        max_length=20,
        choices=MessageKind.choices,
        help_text="The kind of message it is approved for.",
    )
    header_format = models.CharField(
        max_length=10, choices=HeaderFormat.choices, default=HeaderFormat.NONE
    )
    header_text = models.CharField(
        max_length=HEADER_TEXT_MAX_LENGTH,
        blank=True,
        help_text="A text header as approved (fixed text, no placeholder).",
    )
    header_media_link = models.URLField(
        max_length=1024, blank=True, help_text="Default media for an image, video or document."
    )
    header_media_id = models.CharField(
        max_length=128, blank=True, help_text="Or a media id uploaded to WhatsApp."
    )
    header_filename = models.CharField(
        max_length=240, blank=True, help_text="A document's file name shown to the customer."
    )
    body_text = models.TextField(
        help_text="The approved body, placeholders {{1}}, {{2}} ... numbered without gaps."
    )
    footer_text = models.CharField(max_length=FOOTER_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "language"], name="messagetemplate_name_language"
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.language})"

    def placeholder_count(self) -> int:
        return len(set(placeholders_find(self.body_text)))

    def clean(self):
        errors = {}
        body = self.body_text or ""
        if not body.strip():
            errors["body_text"] = "The body is empty."
        elif len(body) > BODY_MAX_LENGTH:
            errors["body_text"] = (
                f"The body is {len(body)} characters long; WhatsApp allows at most "
                f"{BODY_MAX_LENGTH}."
            )
        else:
            problem = _placeholders_problem(placeholders_find(body))
            if problem:
                errors["body_text"] = problem
        errors.update(self._header_errors())
        if errors:
            raise ValidationError(errors)

    def _header_errors(self) -> dict:
        fmt = self.header_format
        errors = {}
        if fmt == HeaderFormat.TEXT:
            if not (self.header_text or "").strip():
                errors["header_text"] = "A text header needs its text."
            elif placeholders_find(self.header_text):
                errors["header_text"] = "The header text cannot hold a placeholder."
            elif re.search(r"[\n\r\t]", self.header_text):
                errors["header_text"] = "The header text cannot hold a newline or a tab."
        elif self.header_text:
            errors["header_text"] = "Header text is only for a text header."
        if fmt in MEDIA_HEADERS:
            link = self.header_media_link or ""
            if not link and not self.header_media_id:
                article = "An" if fmt == HeaderFormat.IMAGE else "A"
                errors["header_media_link"] = f"{article} {fmt} header needs a media link or id."
            elif link and not link.lower().startswith("https://"):
                errors["header_media_link"] = "The header media link must start with https://."
        elif self.header_media_link or self.header_media_id:
            field = "header_media_link" if self.header_media_link else "header_media_id"
            errors[field] = "Media is only for an image, video or document header."
        if self.header_filename and fmt != HeaderFormat.DOCUMENT:
            errors["header_filename"] = "A file name is only for a document header."
        return errors


def _placeholders_problem(found: list[str]) -> str | None:
    bad = [name for name in found if not name.isdigit() or int(name) < 1]
    if bad:
        return f"Placeholder {{{{{bad[0]}}}}} is not a number from 1 up."
    numbers = sorted({int(name) for name in found})
    expected = list(range(1, len(numbers) + 1))
    if numbers != expected:
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        return (
            f"Placeholders must be numbered 1 to {len(numbers)} without gaps; "
            f"{{{{{missing[0]}}}}} is missing."
        )
    return None


class TemplateParameter(models.Model):
    """Where the value of the body's placeholder {{position}} comes from."""

    template = models.ForeignKey(
        MessageTemplate, on_delete=models.CASCADE, related_name="parameters"
    )
    position = models.PositiveSmallIntegerField(help_text="n of the body's {{n}}.")
    source = models.CharField(max_length=24, choices=ParameterSource.choices)
    fixed_text = models.CharField(
        max_length=1024, blank=True, help_text="The value, for the source 'Fixed text'."
    )

    class Meta:
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "position"], name="templateparameter_template_position"
            )
        ]

    def __str__(self):
        return f"{{{{{self.position}}}}} = {self.get_source_display()}"

    def clean(self):
        errors = {}
        if self.source == ParameterSource.FIXED:
            problem = parameter_value_problem(self.fixed_text)
            if problem:
                errors["fixed_text"] = f"The fixed text {problem}."
        elif self.fixed_text:
            errors["fixed_text"] = "Fixed text is only for the source 'Fixed text'."
        cached = "template" in self._state.fields_cache  # set by the admin's inline, unsaved
        template = self.template if self.template_id or cached else None
        if template is not None and template.kind:
            allowed = KIND_SOURCES.get(template.kind, ())
            if self.source and self.source not in allowed:
                errors["source"] = (
                    f"'{self.get_source_display()}' has no value in a "
                    f"{template.get_kind_display().lower()} message."
                )
        if errors:
            raise ValidationError(errors)


def parameters_problem(*, template, parameters) -> tuple[str, str] | None:
    """(field, why) when `parameters` do not give each of the body's placeholders exactly one
    value; the admin's inline formset and template_components_build both ask it."""
    count = template.placeholder_count()
    positions = [parameter.position for parameter in parameters]
    for position in positions:
        if positions.count(position) > 1:
            return "parameters", f"Placeholder {{{{{position}}}}} has more than one parameter."
        if not 1 <= position <= count:
            return "parameters", (
                f"Parameter {position} has no placeholder {{{{{position}}}}} in the body "
                f"(it has {count})."
            )
    missing = sorted(set(range(1, count + 1)) - set(positions))
    if missing:
        return "parameters", f"Placeholder {{{{{missing[0]}}}}} has no parameter."
    return None
