"""Batch counts and report rollups, kept by the database itself (messaging.rollups).

A trigger on messaging_sentmessage (migration 0010_rollups) writes every change of what the
figures depend on as rows of MessageDelta (append-only: writers never wait on one counter row);
the fold (messaging.rollups.fold, every ROLLUPS_FOLD_SECONDS and `manage.py rollups_sweep`) moves
them into the tables below. Readers add what is not folded yet, so figures are exact at once.
"""

from django.db import models

# What a message counts as in the figures (messaging.rollups.figures): the report figures.
FIGURE_FIELDS = ("total", "queued", "accepted", "sent", "delivered", "read", "failed", "not_sent")


class MessageDelta(models.Model):
    """+n / -n messages with these keys (written only by the trigger, deleted by the fold).
    `bucket`: created_at as Unix seconds, rounded down to 15 minutes (every time zone's day
    starts on a quarter hour, so the fold can name the shop's day). The flags say whether
    accepted_at, sent_at, delivered_at and read_at are set; error_code and error_title are
    kept for failed messages only."""

    id = models.BigAutoField(primary_key=True)
    batch_id = models.BigIntegerField(null=True)
    bucket = models.BigIntegerField()
    kind = models.CharField(max_length=20)
    template_name = models.CharField(max_length=512)
    ref = models.CharField(max_length=255)
    ref1 = models.CharField(max_length=255)
    ref2 = models.CharField(max_length=255)
    status = models.CharField(max_length=16)
    accepted = models.BooleanField()
    sent = models.BooleanField()
    delivered = models.BooleanField()
    read = models.BooleanField()
    error_code = models.CharField(max_length=32)
    error_title = models.CharField(max_length=255)
    n = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["batch_id"], name="messagedelta_batch"),
            models.Index(fields=["bucket"], name="messagedelta_bucket"),
        ]

    def __str__(self):
        return f"{self.n:+d} {self.status} message(s) of batch {self.batch_id}"


class RollupState(models.Model):
    """One row: the time zone the rollups' days are in (SHOP_TIME_ZONE when they were built).
    Readers use the raw messages while it differs from the current setting."""

    time_zone = models.CharField(max_length=64)

    def __str__(self):
        return self.time_zone


class BatchStatusCount(models.Model):
    batch_id = models.BigIntegerField()
    status = models.CharField(max_length=16)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch_id", "status"], name="batchstatuscount_key")
        ]

    def __str__(self):
        return f"batch {self.batch_id}: {self.count} {self.status}"


class _Figures(models.Model):
    total = models.BigIntegerField(default=0)
    queued = models.BigIntegerField(default=0)
    accepted = models.BigIntegerField(default=0)
    sent = models.BigIntegerField(default=0)
    delivered = models.BigIntegerField(default=0)
    read = models.BigIntegerField(default=0)
    failed = models.BigIntegerField(default=0)
    not_sent = models.BigIntegerField(default=0)

    class Meta:
        abstract = True


class DayRollup(_Figures):
    """The delivery report's figures per shop day, kind, template and batch (0: none)."""

    day = models.DateField()
    kind = models.CharField(max_length=20)
    template_name = models.CharField(max_length=512)
    batch_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "template_name", "batch_id"], name="dayrollup_key"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.kind} {self.template_name} batch {self.batch_id}: {self.total}"


class RefRollup(_Figures):
    """The ref report's figures per shop day and value of one ref field (ref, ref1 or ref2);
    only what the report groups by (a kind, template or batch filter reads the messages)."""

    field = models.CharField(max_length=4)
    value = models.CharField(max_length=255)
    day = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["field", "value", "day"], name="refrollup_key")
        ]
        indexes = [
            # A range of days of one field, every value (the ref report; PostgreSQL answers
            # from this index alone, SQLite has it without the included columns).
            models.Index(
                fields=["field", "day"],
                include=["value", *FIGURE_FIELDS],
                name="refrollup_field_day",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.field}={self.value}: {self.total}"


class RefTotal(_Figures):
    """Every day's RefRollup of one value summed (what the fold adds to a RefRollup row it adds
    here too): a ref report over most of the days there are reads these and takes the days
    outside its range away, rather than reading a row per value per day (20,000 customers in
    ref2 over 30 days are 500,000 RefRollup rows, as many as the messages themselves)."""

    field = models.CharField(max_length=4)
    value = models.CharField(max_length=255)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["field", "value"], name="reftotal_key")]

    def __str__(self):
        return f"{self.field}={self.value}: {self.total}"


class FailureRollup(models.Model):
    """Failed messages per shop day, kind, template, batch (0: none) and reason."""

    day = models.DateField()
    kind = models.CharField(max_length=20)
    template_name = models.CharField(max_length=512)
    batch_id = models.BigIntegerField()
    error_code = models.CharField(max_length=32)
    error_title = models.CharField(max_length=255)
    failed = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "template_name", "batch_id", "error_code", "error_title"],
                name="failurerollup_key",
            )
        ]

    def __str__(self):
        return f"{self.day} {self.error_code}: {self.failed} failed"
