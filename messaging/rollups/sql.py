"""The delta keys of a message row, per database, as the trigger of migration 0010_rollups
computes them (keep the two in step): used to write deltas from the raw messages when days are
rebuilt or repaired."""

# ruff: noqa: S608 - only our table and column names and constant SQL are formatted into
# these statements; every value is a parameter.

from messaging.models import MessageStatus

BUCKET_SECONDS = 900  # 15 minutes: every time zone's days start on a quarter hour

DELTA_COLUMNS = (
    "batch_id",
    "bucket",
    "kind",
    "template_name",
    "ref",
    "ref1",
    "ref2",
    "status",
    "accepted",
    "sent",
    "delivered",
    "read",
    "error_code",
    "error_title",
)
_FAILED = MessageStatus.FAILED.value


def bucket_sql(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        return (
            f"(floor(extract(epoch FROM {column}) / {BUCKET_SECONDS}) * {BUCKET_SECONDS})::bigint"
        )
    # %% : these statements always run with parameters (Django then formats the SQL).
    return f"(CAST(strftime('%%s', {column}) AS INTEGER) / {BUCKET_SECONDS}) * {BUCKET_SECONDS}"


def delta_keys_sql(vendor: str, row: str = "m") -> list[str]:
    """The SQL of each DELTA_COLUMNS value for a messaging_sentmessage row `row`."""
    return [
        f"{row}.batch_id",
        bucket_sql(vendor, f"{row}.created_at"),
        f"{row}.kind",
        f"{row}.template_name",
        f"{row}.ref",
        f"{row}.ref1",
        f"{row}.ref2",
        f"{row}.status",
        f"{row}.accepted_at IS NOT NULL",
        f"{row}.sent_at IS NOT NULL",
        f"{row}.delivered_at IS NOT NULL",
        f"{row}.read_at IS NOT NULL",
        f"CASE WHEN {row}.status = '{_FAILED}' THEN {row}.error_code ELSE '' END",
        f"CASE WHEN {row}.status = '{_FAILED}' THEN {row}.error_title ELSE '' END",
    ]


def raw_deltas_insert_sql(vendor: str, where: str = "") -> str:
    """INSERT the deltas of the raw messages matching `where` (SQL over `m`, params %s), as if
    each had just been inserted: one row per key with its count."""
    keys = delta_keys_sql(vendor)
    groups = ", ".join(str(i) for i in range(1, len(keys) + 1))
    return (
        f"INSERT INTO messaging_messagedelta ({', '.join(DELTA_COLUMNS)}, n) "
        f"SELECT {', '.join(keys)}, COUNT(*) FROM messaging_sentmessage m "
        f"{'WHERE ' + where if where else ''} GROUP BY {groups}"
    )
