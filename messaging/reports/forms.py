from datetime import date, timedelta

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from messaging.models import MessageKind

from .selectors import REF_FIELDS, ReportFilters

MAX_DAYS = 366
# Far enough from date.min and date.max that a period around either end stays a date.
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)
DATE_RANGE = [MinValueValidator(EARLIEST), MaxValueValidator(LATEST)]


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(
        required=False, validators=DATE_RANGE, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, validators=DATE_RANGE, widget=forms.DateInput(attrs={"type": "date"})
    )
    kind = forms.ChoiceField(required=False, choices=[("", "All kinds"), *MessageKind.choices])
    template = forms.CharField(required=False, max_length=512)
    batch = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, label="Batch id")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        default = ReportFilters.default()
        first = data.get("date_from")
        last = data.get("date_to")
        if first and not last:
            last = min(first + timedelta(days=6), default.date_to)
            last = max(last, first)
        elif last and not first:
            first = last - timedelta(days=6)
        elif not first and not last:
            first, last = default.date_from, default.date_to
        if first > last:
            raise forms.ValidationError("The start date is after the end date.")
        if (last - first).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data["filters"] = ReportFilters(
            date_from=first,
            date_to=last,
            kind=data.get("kind") or "",
            template_name=(data.get("template") or "").strip(),
            batch_id=data.get("batch"),
        )
        return data


class RefReportFilterForm(ReportFilterForm):
    group_by = forms.ChoiceField(
        required=False, choices=[(name, name) for name in REF_FIELDS], label="Group by"
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
