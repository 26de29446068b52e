"""Model bases shared by the apps."""

from django.core.exceptions import ValidationError
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey


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


class ApiScope(models.TextChoices):
    READ = "read", "Read orders, messages and batches"
    WRITE = "write", "Create, change and cancel orders"
    SEND = "send", "Send messages"


def api_scopes_default() -> list[str]:
    return [ApiScope.READ, ApiScope.WRITE]


class ApiKey(AbstractAPIKey):
    """A key a shop's system uses as `Authorization: Api-Key <key>`: stored hashed (the key is
    shown once, when made), revocable, limited to its scopes."""

    scopes = models.JSONField(
        default=api_scopes_default,
        help_text="What the key may do: any of read, write, send.",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def clean(self):
        super().clean()
        unknown = [s for s in self.scopes or [] if s not in ApiScope.values]
        if not isinstance(self.scopes, list) or unknown:
            raise ValidationError(
                {"scopes": f"Use a list of: {', '.join(ApiScope.values)} (not {unknown})."}
            )


class IdempotencyRecord(models.Model):
    """The answer given to a POST carrying an Idempotency-Key: the same key with the same body
    gets it again; kept API_IDEMPOTENCY_TTL seconds."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_unique"),
        ]

    def __str__(self):
        return self.key
