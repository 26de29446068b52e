"""Code pools: generating, importing and assigning single-use codes per customer."""

import csv
import io
import os
import re
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField
from django.db.models.constants import OnConflict
from django.db.models.functions import Cast
from django.utils import timezone

from ..errors import CouponError
from ..models import COPY_CODE_MAX_LENGTH, Coupon, CouponPool, PoolCode, normalize_code
from ..phones import phone_to_e164
from ..rules import coupon_send_refusal

# No look-alikes: 0/O, 1/I/L are left out.
POOL_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# Pool codes are sent in copy-code buttons (coupons.models.COPY_CODE_MAX_LENGTH).
POOL_CODE_MAX_LENGTH = COPY_CODE_MAX_LENGTH
POOL_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]*\Z")
POOL_GENERATE_MAX = 100_000
CHUNK = 1000


def coupon_send_check(*, coupon: Coupon, now: datetime | None = None) -> CouponError | None:
    """Why `coupon` cannot be sent in coupon-code messages now, or None
    (coupons.rules.coupon_send_refusal). A coupon with a pool sends its pool codes (never longer
    than the button takes); one without sends its own code, which a coupon kept from before the
    copy-code rule (used at checkout only) may have longer: refused here, with the limit."""
    has_pool = len(coupon.code) > COPY_CODE_MAX_LENGTH and (
        CouponPool.objects.filter(coupon=coupon).exists()
    )
    return coupon_send_refusal(
        code=coupon.code,
        is_active=coupon.is_active,
        valid_until=coupon.valid_until,
        now=now or timezone.now(),
        sent_code=None if has_pool else coupon.code,
    )


def pool_code_assign(*, coupon: Coupon, phone) -> str:
    """The code to send this customer for `coupon`: for a coupon with a pool, the pool code this
    phone already holds, else the next free one, taken atomically (see _free_codes_lock; two
    concurrent sends never get the same code). A coupon without a pool: its own code.
    Raises CouponError(code="pool_exhausted")."""
    pool = CouponPool.objects.filter(coupon=coupon).first()
    if pool is None:
        return coupon.code
    phone = phone_to_e164(phone)
    # Each pass either returns or lost a race to a concurrent assignment that made progress.
    while True:
        held = PoolCode.objects.filter(pool=pool, phone=phone).values_list("code", flat=True)
        if held:
            return held[0]
        try:
            with transaction.atomic():
                ((pk, code),) = _free_codes_lock(pool=pool, count=1)
                PoolCode.objects.filter(pk=pk).update(phone=phone, assigned_at=timezone.now())
            return code
        except IntegrityError:
            continue  # this phone was given a code concurrently: return that one


def pool_codes_assign(*, coupon: Coupon, phones) -> dict[str, str]:
    """pool_code_assign for many customers at once (a campaign): {E.164 phone: code}, in a few
    queries. All or nothing: raises CouponError(code="pool_exhausted") when the free codes do not
    cover the phones that hold none yet."""
    pool = CouponPool.objects.filter(coupon=coupon).first()
    wanted = list(dict.fromkeys(phone_to_e164(phone) for phone in phones))
    if pool is None:
        return dict.fromkeys(wanted, coupon.code)
    with transaction.atomic():
        # Bulk assignments of one pool take turns (single ones go on beside them).
        CouponPool.objects.select_for_update().filter(pk=pool.pk).exists()
        # The phones are E.164 text already: compare them as text (PhoneNumberField would
        # parse every value again, which costs more than the whole query).
        held = PoolCode.objects.filter(pool=pool, phone__isnull=False).annotate(
            e164=Cast("phone", output_field=CharField())
        )
        assigned = {}
        for start in range(0, len(wanted), CHUNK):
            rows = held.filter(e164__in=wanted[start : start + CHUNK])
            assigned.update(rows.values_list("e164", "code"))
        missing = [phone for phone in wanted if phone not in assigned]
        if missing:
            free = _free_codes_lock(pool=pool, count=len(missing))
            pairs = list(zip((pk for pk, _ in free), missing, strict=True))
            _pool_codes_set_phones(pairs=pairs, assigned_at=timezone.now())
            assigned.update(zip(missing, (code for _, code in free), strict=True))
    return {phone: assigned[phone] for phone in wanted}


def _pool_codes_set_phones(*, pairs: list[tuple[int, str]], assigned_at: datetime) -> None:
    """UPDATE ... FROM (VALUES (id, phone), ...): one statement per thousand codes, where
    QuerySet.bulk_update's CASE WHEN takes seconds for ten thousand. Works on PostgreSQL and
    SQLite >= 3.33 (both name a VALUES list's columns column1, column2)."""
    table = connection.ops.quote_name(PoolCode._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(pairs), CHUNK):
            chunk = pairs[start : start + CHUNK]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"UPDATE {table} SET phone = v.column2, assigned_at = %s "  # noqa: S608
                f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1",
                [assigned_at, *(item for pair in chunk for item in pair)],
            )


def _free_codes_lock(*, pool: CouponPool, count: int) -> list[tuple[int, str]]:
    """Lock `count` free codes (id, code) of the pool for this transaction, lowest ids first.

    On PostgreSQL, FOR UPDATE SKIP LOCKED passes over codes that concurrent assignments are
    taking; when every free code left is locked, it waits for one (a plain FOR UPDATE, which
    re-checks that the code is still free once the other transaction ends). Raises
    CouponError(code="pool_exhausted") when fewer than `count` codes are free."""
    free = PoolCode.objects.filter(pool=pool, phone__isnull=True).order_by("id")
    taken, taken_ids = [], set()
    while len(taken) < count:
        others = free.exclude(pk__in=taken_ids)
        lockable = others.select_for_update(skip_locked=True).values_list("pk", "code")
        batch = list(lockable[: count - len(taken)])
        if not batch:
            batch = list(others.select_for_update().values_list("pk", "code")[:1])
        if not batch:
            left = others.count()
            if left + len(taken) >= count:
                continue  # codes were freed or added meanwhile
            if count == 1:
                raise CouponError(code="pool_exhausted")
            raise CouponError(
                f"The pool of {pool.coupon} has {len(taken) + left} free codes left; "
                f"{count} are needed",
                code="pool_exhausted",
            )
        taken += batch
        taken_ids.update(pk for pk, _ in batch)
    return taken


def pool_codes_generate(*, pool: CouponPool, count: int, length: int = 8, prefix: str = "") -> int:
    """Add `count` random codes to the pool: `prefix` + `length` characters of
    POOL_CODE_ALPHABET, unique across all pool codes and coupon codes. All or nothing.
    Returns `count`. Raises ValidationError naming what was wrong."""
    prefix = normalize_code(prefix)
    errors = []
    if not 1 <= count <= POOL_GENERATE_MAX:
        errors.append(f"Generate between 1 and {POOL_GENERATE_MAX:,} codes at a time.")
    if prefix and not POOL_CODE_PATTERN.match(prefix):
        errors.append("The prefix may only hold letters A-Z, digits, '-' and '_'.")
    if length < 4:
        errors.append("Codes need at least 4 random characters.")
    if len(prefix) + length > POOL_CODE_MAX_LENGTH:
        errors.append(
            f"Prefix and random part together may be at most {POOL_CODE_MAX_LENGTH} characters "
            "(WhatsApp's copy-code button)."
        )
    elif len(POOL_CODE_ALPHABET) ** length < count * 1000:
        errors.append(
            f"{length} random characters are too few for {count:,} unique codes; "
            "choose a longer length."
        )
    if errors:
        raise ValidationError(errors)
    # Coupon codes are few: compare in memory. Pool codes are many: the unique index refuses
    # a code that exists, and the shortfall is drawn again.
    coupon_codes = set(Coupon.objects.values_list("code", flat=True))
    with transaction.atomic():
        CouponPool.objects.select_for_update().filter(pk=pool.pk).exists()
        before = PoolCode.objects.filter(pool=pool).count()
        added = 0
        for _round in range(20):
            drawn = set(_random_codes(prefix=prefix, length=length, count=count - added))
            _pool_codes_insert(pool=pool, codes=drawn - coupon_codes)
            added = PoolCode.objects.filter(pool=pool).count() - before
            if added == count:
                return count
        raise ValidationError(
            "Not enough unused codes of this prefix and length are left; "
            "choose a longer length or another prefix."
        )


def _random_codes(*, prefix: str, length: int, count: int) -> list[str]:
    """`count` codes of `length` characters of POOL_CODE_ALPHABET after `prefix`, from the
    system's secure random source (one read; bytes that would bias the draw are skipped)."""
    size = len(POOL_CODE_ALPHABET)
    usable = 256 - 256 % size
    chars = []
    while len(chars) < count * length:
        chars += [
            POOL_CODE_ALPHABET[b % size] for b in os.urandom(count * length * 2) if b < usable
        ]
    return [
        prefix + "".join(chars[start : start + length])
        for start in range(0, count * length, length)
    ]


def _pool_codes_insert(*, pool: CouponPool, codes) -> None:
    """INSERT the codes into the pool a thousand rows a statement, passing over those that
    exist already (unique index). Plain SQL: QuerySet.bulk_create spends most of its time
    building model instances."""
    ops = connection.ops
    table = ops.quote_name(PoolCode._meta.db_table)
    insert = ops.insert_statement(on_conflict=OnConflict.IGNORE)
    suffix = ops.on_conflict_suffix_sql([], OnConflict.IGNORE, None, None)
    codes = list(codes)
    with connection.cursor() as cursor:
        for start in range(0, len(codes), CHUNK):
            chunk = codes[start : start + CHUNK]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"{insert} {table} (pool_id, code) VALUES {values} {suffix}",  # noqa: S608
                [item for code in chunk for item in (pool.pk, code)],
            )


def pool_codes_import_csv(*, pool: CouponPool, file) -> int:
    """Add the codes in a CSV file (bytes or text stream) to the pool; returns how many.

    The first column holds the code (a first row `code` is a header; other columns are ignored).
    Codes are trimmed and upper-cased. All or nothing: if any row is bad (empty, bad
    characters, too long, repeated in the file, already existing) nothing is imported and a
    ValidationError lists every bad row by its line number."""
    try:
        text = file.read()
        if isinstance(text, bytes):
            text = text.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text (save it as CSV UTF-8).") from None
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    errors, lines = [], {}
    for line, row in _csv_rows(reader):
        if not row or not any(cell.strip() for cell in row):
            continue
        code = normalize_code(row[0])
        if not lines and not errors and code == "CODE":
            continue
        if not code:
            errors.append(f"Line {line}: the code (first column) is empty.")
        elif len(code) > POOL_CODE_MAX_LENGTH:
            errors.append(
                f"Line {line}: '{code}' is longer than {POOL_CODE_MAX_LENGTH} characters."
            )
        elif not POOL_CODE_PATTERN.match(code):
            errors.append(f"Line {line}: '{code}' may only hold letters A-Z, digits, '-' and '_'.")
        elif code in lines:
            errors.append(f"Line {line}: '{code}' repeats line {lines[code]}.")
        else:
            lines[code] = line
    for code in sorted(_codes_taken(lines), key=lines.get):
        errors.append(f"Line {lines[code]}: '{code}' already exists.")
    if not lines and not errors:
        errors.append("The file holds no codes.")
    if errors:
        shown = errors[:50]
        if len(errors) > 50:
            shown.append(f"... and {len(errors) - 50} more.")
        raise ValidationError(["Nothing was imported.", *shown])
    with transaction.atomic():
        before = PoolCode.objects.filter(pool=pool).count()
        _pool_codes_insert(pool=pool, codes=lines)
        if PoolCode.objects.filter(pool=pool).count() - before != len(lines):
            raise ValidationError(
                "Nothing was imported: some codes were added elsewhere meanwhile; try again."
            )
    return len(lines)


def _csv_rows(reader):
    """(line number, row) of a csv.reader; a file csv cannot read is a ValidationError."""
    try:
        for row in reader:
            yield reader.line_num, row
    except csv.Error as error:
        raise ValidationError(
            ["Nothing was imported.", f"Line {reader.line_num}: {error}."]
        ) from None


def _codes_taken(codes) -> set[str]:
    """Which of `codes` already exist as pool codes or coupon codes."""
    codes = list(codes)
    taken = set()
    for start in range(0, len(codes), CHUNK):
        chunk = codes[start : start + CHUNK]
        taken.update(PoolCode.objects.filter(code__in=chunk).values_list("code", flat=True))
        taken.update(Coupon.objects.filter(code__in=chunk).values_list("code", flat=True))
    return taken
