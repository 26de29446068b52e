from django import forms
from django.conf import settings

from common.forms import CSV_MAX_BYTES, CSV_MAX_LINES, CsvFileField

from .models import MessageKind
from .payloads import DESCRIPTION_MAX_LENGTH, ORDER_STATUS_VALUES, REF_MAX_LENGTH, WA_SOURCES
from .services.pipeline import template_default


class _SendForm(forms.Form):
    template_name = forms.CharField(max_length=512, help_text="The approved template's name.")
    language = forms.CharField(max_length=16, help_text="The template's language code, e.g. en_US.")
    batch_name = forms.CharField(
        max_length=255, required=False, help_text="Empty: named after the kind and the time."
    )
    ref = forms.CharField(max_length=REF_MAX_LENGTH, required=False, label="ref")
    ref1 = forms.CharField(max_length=REF_MAX_LENGTH, required=False, label="ref1")
    ref2 = forms.CharField(max_length=REF_MAX_LENGTH, required=False, label="ref2")
    wa_source = forms.ChoiceField(
        choices=[(value, value) for value in sorted(WA_SOURCES)], required=False, label="wa_source"
    )

    kind = ""  # a MessageKind: its default template (one table, messaging.services.pipeline)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template_name"].initial = template_default(self.kind)
        self.fields["language"].initial = settings.KALEYRA_TEMPLATE_LANGUAGE
        self.fields["wa_source"].initial = settings.KALEYRA_WA_SOURCE
        self.fields["ref"].help_text = "Empty: " + self.ref_default
        self.fields["ref1"].help_text = "Empty: the message kind."
        self.fields["ref2"].help_text = "Empty: the batch name."

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "template_name": data["template_name"].strip(),
            "language": data["language"].strip(),
            "batch_name": data["batch_name"].strip(),
            "ref": data["ref"],
            "ref1": data["ref1"],
            "ref2": data["ref2"],
            "wa_source": data["wa_source"] or None,
        }


class OrderDetailsForm(_SendForm):
    field_order = ["template_name", "language", "header_image_url"]
    kind = MessageKind.ORDER_DETAILS
    ref_default = "the order's reference for this message."
    header_image_url = forms.URLField(
        max_length=1024,
        assume_scheme="https",
        required=False,
        label="Header image URL",
        help_text="Optional; empty uses the order's own header image, if any.",
    )

    def service_kwargs(self) -> dict:
        return {
            **super().service_kwargs(),
            "header_image_url": self.cleaned_data["header_image_url"],
        }


class OrderStatusForm(_SendForm):
    field_order = ["status", "description", "template_name", "language"]
    kind = MessageKind.ORDER_STATUS
    ref_default = "the order's reference."
    status = forms.ChoiceField(choices=[(s.value, s.label) for s in ORDER_STATUS_VALUES])
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text=f"Optional, at most {DESCRIPTION_MAX_LENGTH} characters.",
    )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            **super().service_kwargs(),
            "status": data["status"],
            "description": data["description"],
        }


class CouponCodeForm(_SendForm):
    field_order = ["recipients", "recipients_file", "template_name", "language"]
    kind = MessageKind.COUPON_CODE
    ref_default = "the coupon code sent."
    recipients = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 40}),
        help_text=f"Phone numbers, one per line (Indian numbers may leave out +91); at most "
        f"{CSV_MAX_LINES:,}.",
    )
    recipients_file = CsvFileField(
        required=False,
        label="or a CSV file",
        help_text=f"UTF-8; phone numbers in the first column; at most {CSV_MAX_LINES:,} lines "
        f"and {CSV_MAX_BYTES // 2**20} MB.",
    )

    def clean_recipients(self):
        text = self.cleaned_data["recipients"]
        lines = len(text.splitlines())
        if lines > CSV_MAX_LINES:
            raise forms.ValidationError(
                f"{lines:,} lines; at most {CSV_MAX_LINES:,} numbers can be pasted at once "
                "(split them)."
            )
        return text

    def clean(self):
        data = super().clean()
        if not data.get("recipients", "").strip() and not data.get("recipients_file"):
            raise forms.ValidationError("Give at least one phone number, pasted or in a CSV file.")
        return data
