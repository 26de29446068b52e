"""Model bases shared by the apps."""

from django.core.exceptions import ValidationError
from django.db import models


class AppendOnlyModel(models.Model):
    """Rows that are written once and never changed or deleted (histories, raw receipts)."""

    append_only_label = "These records"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError(
                f"{self.append_only_label} are append-only: they cannot be changed."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError(f"{self.append_only_label} are append-only: they cannot be deleted.")
