"""The coupon engine: applying, removing and settling coupons on orders, and code pools.

Everything that changes coupons, redemptions or pool codes goes through these functions.

Limits under concurrency: applying a coupon locks the order row, then key-share locks the
coupon row(s) (_coupons_lock), re-reads the coupon and re-checks every rule. A usage limit is
taken with one conditional UPDATE (`times_used + 1 <= usage_limit`) as the transaction's last
write (_coupon_uses_change), so orders applying the same limited coupon wait for each other only
from that UPDATE to their commit; a coupon without a usage limit is not counted in times_used,
so its orders only share the key-share lock and never wait for each other. A per-customer limit
is re-counted under a lock of that customer and coupon (_customer_lock). The database backs it:
a check constraint keeps times_used within usage_limit, a unique partial index allows one live
redemption per order and one per pool code, and a redemption changes state with conditional
UPDATEs, so it is counted (and released) exactly once.
"""

import csv
import hashlib
import io
import os
import re
from collections import Counter
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import CharField
from django.db.models.constants import OnConflict
from django.db.models.functions import Cast
from django.utils import timezone

from orders.models import EventSource, Order, OrderEvent, OrderStatus
from orders.money import order_totals
from orders.selectors import order_get_locked, order_items_load
from orders.services import order_event_record
from orders.sql import model_insert, model_update

from .errors import CouponError
from .models import (
    ACTIVE_REDEMPTION,
    Coupon,
    CouponPool,
    CouponRedemption,
    PoolCode,
    RedemptionStatus,
    normalize_code,
)
from .phones import phone_to_e164
from .rules import coupon_discount_compute, coupon_refusal
from .selectors import (
    EligibleCoupon,
    coupon_find_by_code,
    coupon_get_for_customer,
    coupon_list_eligible,
    redemption_active_for_order,
)

__all__ = [
    "EligibleCoupon",
    "coupon_list_eligible",
    "coupon_redemptions_sync_with_order",
    "coupon_reservations_release_expired",
    "order_apply_coupon",
    "order_remove_coupon",
    "pool_code_assign",
    "pool_codes_assign",
    "pool_codes_generate",
    "pool_codes_import_csv",
]


# --- Orders -------------------------------------------------------------------------------


def order_apply_coupon(
    *, order: Order, code: str, phone, source: str, actor=None, order_locked: bool = False
) -> Order:
    """Apply `code` for the customer `phone` (E.164 or WhatsApp's user_id) to an open order.

    Stores the snapshot (order.coupon_code, order.coupon_discount), reserves a redemption and
    records an OrderEvent, in one transaction. The same code again changes nothing; another code
    replaces the first and releases it (if the new one is refused, the first stays).
    `order_locked`: the caller read `order` under its row lock in the transaction it is in, so
    it is not read again, and a refusal rolls that whole transaction back. Raises CouponError."""
    phone = phone_to_e164(phone)
    code = normalize_code(code)
    with _order_transaction(order_locked=order_locked):
        # Its items price the coupon, and the caller's answer (order_details) lists them.
        locked = _order_lock(order, already=order_locked)
        if code and locked.coupon_code == code:
            return _order_refresh(order, locked)
        _order_check_open(locked)
        coupon, pool_code = coupon_find_by_code(code=code)
        current = redemption_active_for_order(order=locked)
        counted = _coupons_lock([coupon.pk] + ([current.coupon_id] if current else []))
        uses = Counter()  # times_used changes of counted coupons, made last (_coupon_uses_change)
        if current and _redemption_release(current) and current.coupon_id in counted:
            uses[current.coupon_id] -= 1
        _customer_lock(coupon_id=coupon.pk, phone=phone)
        # Read again under the locks, with this customer's uses counted.
        coupon = coupon_get_for_customer(coupon_id=coupon.pk, phone=phone, order_id=locked.pk)
        now = timezone.now()
        if pool_code is not None:
            _pool_code_check(pool_code=pool_code, phone=phone, order=locked)
        base = order_totals(locked, coupon_discount=0).before_coupon
        refusal = coupon_refusal(
            coupon=coupon,
            now=now,
            base=base,
            phone_listed=bool(coupon.phone_listed),
            customer_uses=coupon.customer_uses,
            other_uses=coupon.times_used + uses[coupon.pk],
        )
        if refusal is not None:
            raise refusal
        discount = coupon_discount_compute(coupon=coupon, base=base)
        _redemption_reserve(
            coupon=coupon,
            pool_code=pool_code,
            order=locked,
            phone=phone,
            code=code,
            discount=discount,
        )
        if coupon.pk in counted:
            uses[coupon.pk] += 1
        before = _snapshot(locked)
        locked.coupon_code = code
        locked.coupon_discount = discount
        model_update(locked, fields=_ORDER_COUPON_FIELDS)
        _coupon_event(order=locked, before=before, source=source, actor=actor)
        _coupon_uses_change(uses)
    return _order_refresh(order, locked)


def order_remove_coupon(
    *, order: Order, source: str, actor=None, order_locked: bool = False
) -> Order:
    """Take the coupon off an open order: release its redemption, clear the snapshot, record an
    OrderEvent. Nothing happens when no coupon is applied. `order_locked`: as in
    order_apply_coupon."""
    with _order_transaction(order_locked=order_locked):
        locked = _order_lock(order, already=order_locked)
        if not locked.coupon_code:
            return _order_refresh(order, locked)
        _order_check_open(locked)
        _order_coupon_clear(order=locked, source=source, actor=actor)
    return _order_refresh(order, locked)


def coupon_redemptions_sync_with_order(*, order: Order) -> None:
    """Settle the order's redemption after its status changed (called inside the caller's
    transaction, with the order row locked): completed makes it final; canceled releases it
    (the order keeps its coupon snapshot as history); a pending order past its expiry releases
    it and loses the coupon (see coupon_reservations_release_expired)."""
    redemption = redemption_active_for_order(order=order)
    if redemption is None or redemption.status != RedemptionStatus.RESERVED:
        return
    if order.status == OrderStatus.COMPLETED:
        CouponRedemption.objects.filter(pk=redemption.pk, status=RedemptionStatus.RESERVED).update(
            status=RedemptionStatus.FINAL, finalized_at=timezone.now()
        )
    elif order.status == OrderStatus.CANCELED:
        _order_redemption_release(redemption)
    elif _order_expired(order, timezone.now()):
        _order_coupon_clear(order=order, source=EventSource.SYSTEM, note="Order expired")


def coupon_reservations_release_expired() -> int:
    """Release the coupons of pending orders past their expiry, so that they stop counting
    against the coupons' limits. Returns how many orders were settled. Run it on a schedule
    (`manage.py coupons_release_expired`)."""
    now = timezone.now()
    order_ids = CouponRedemption.objects.filter(
        status=RedemptionStatus.RESERVED,
        order__status=OrderStatus.PENDING,
        order__expires_at__lte=now,
    ).values_list("order_id", flat=True)
    settled = 0
    for order_id in list(order_ids):
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id)
            if redemption_active_for_order(order=order) and _order_expired(order, now):
                coupon_redemptions_sync_with_order(order=order)
                settled += 1
    return settled


def _order_transaction(*, order_locked: bool):
    """The transaction a coupon change is made in: its own (a savepoint inside the caller's),
    or, for an order the caller locked, the caller's transaction itself."""
    if order_locked and not transaction.get_connection().in_atomic_block:
        raise RuntimeError("order_locked=True needs the caller's transaction that holds the lock.")
    return transaction.atomic(savepoint=not order_locked)


def _order_lock(order: Order, *, already: bool) -> Order:
    """The order as stored, its row locked and its items loaded: `order` itself when the
    caller's transaction `already` holds the lock (it read the order under it)."""
    if not already:
        return order_get_locked(order_id=order.pk)
    order_items_load(order=order)
    return order


def _order_expired(order: Order, now: datetime) -> bool:
    return (
        order.status == OrderStatus.PENDING
        and order.expires_at is not None
        and order.expires_at <= now
    )


def _order_check_open(order: Order) -> None:
    """Coupons change only on pending orders still within their expiry."""
    if order.status != OrderStatus.PENDING or _order_expired(order, timezone.now()):
        raise CouponError("order_closed")


def _order_refresh(order: Order, locked: Order) -> Order:
    """Bring the caller's instance up to date with what was stored."""
    for field in ("coupon_code", "coupon_discount", "updated_at"):
        setattr(order, field, getattr(locked, field))
    return locked


_ORDER_COUPON_FIELDS = ("coupon_code", "coupon_discount", "updated_at")


def _snapshot(order: Order) -> dict | None:
    if not order.coupon_code:
        return None
    return {"code": order.coupon_code, "discount": order.coupon_discount}


def _coupon_event(*, order: Order, before, source: str, actor=None, note: str = "") -> None:
    order_event_record(
        order=order,
        kind=OrderEvent.Kind.COUPON,
        field="coupon",
        before=before,
        after=_snapshot(order),
        source=source,
        actor=actor,
        note=note,
    )


def _order_coupon_clear(*, order: Order, source: str, actor=None, note: str = "") -> None:
    redemption = redemption_active_for_order(order=order)
    before = _snapshot(order)
    order.coupon_code = ""
    order.coupon_discount = 0
    model_update(order, fields=_ORDER_COUPON_FIELDS)
    _coupon_event(order=order, before=before, source=source, actor=actor, note=note)
    if redemption is not None:
        _order_redemption_release(redemption)


def _order_redemption_release(redemption: CouponRedemption) -> None:
    """Release an order's redemption and give its use back to the coupon's count."""
    counted = _coupons_lock([redemption.coupon_id])
    if _redemption_release(redemption) and counted:
        _coupon_uses_change(Counter({redemption.coupon_id: -1}))


# --- Redemptions --------------------------------------------------------------------------


def _coupons_lock(coupon_ids) -> set[int]:
    """Key-share lock the coupon rows an apply or release touches; returns the ids of those
    with a usage limit (counted in times_used).

    On PostgreSQL, FOR KEY SHARE in id order: concurrent orders share it, and it keeps a limit
    from being set or removed until they commit (Coupon.save takes FOR UPDATE before it
    recounts), so what is counted stays as read here. The counters themselves are changed last
    (_coupon_uses_change). SQLite has no row locks; its writers take turns for the whole
    transaction."""
    ids = sorted(set(coupon_ids))
    table = connection.ops.quote_name(Coupon._meta.db_table)
    lock = " FOR KEY SHARE" if connection.vendor == "postgresql" else ""
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        # Every row is locked, those without a limit too: a limit set meanwhile would not
        # count this order.
        cursor.execute(
            f"SELECT id, usage_limit FROM {table} WHERE id IN ({placeholders}) "  # noqa: S608
            f"ORDER BY id{lock}",
            ids,
        )
        return {pk for pk, limit in cursor.fetchall() if limit is not None}


def _coupon_uses_change(uses: Counter) -> None:
    """Change the counted coupons' times_used by `uses` (coupon id -> change), as the last
    writes of the transaction: each conditional UPDATE locks its coupon row until the commit,
    and orders applying that coupon wait for each other only that long. In id order, so two
    orders swapping coupons never wait for each other in a cycle. A use is taken only while
    one is left (the check constraint backs it); raises CouponError("exhausted") otherwise."""
    table = connection.ops.quote_name(Coupon._meta.db_table)
    with connection.cursor() as cursor:
        for coupon_id, change in sorted(uses.items()):
            if not change:
                continue
            cursor.execute(
                f"UPDATE {table} SET times_used = times_used + %s "  # noqa: S608
                "WHERE id = %s AND (%s < 0 OR times_used + %s <= usage_limit)",
                [change, coupon_id, change, change],
            )
            if not cursor.rowcount:
                raise CouponError("exhausted")


def _customer_lock(*, coupon_id: int, phone: str) -> None:
    """One customer's orders applying one coupon take turns, so that its per-customer limit is
    counted by one of them at a time (taken whatever the limit: it may be set meanwhile): a
    transaction-level advisory lock on PostgreSQL, which writes nothing (SQLite's writers take
    turns anyway)."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.blake2b(f"coupon {coupon_id} {phone}".encode(), digest_size=8).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest, "big", signed=True)]
        )


def _pool_code_check(*, pool_code: PoolCode, phone: str, order: Order) -> None:
    """A pool code is the customer's own and single-use."""
    if pool_code.phone is None or str(pool_code.phone) != phone:
        raise CouponError("not_for_you")
    taken = (
        CouponRedemption.objects.filter(ACTIVE_REDEMPTION, pool_code=pool_code)
        .exclude(order_id=order.pk)
        .exists()
    )
    if taken:
        raise CouponError("already_used")


def _redemption_reserve(*, coupon, pool_code, order, phone, code, discount) -> None:
    """Record the use (a counted coupon's times_used is changed by the caller, last)."""
    redemption = CouponRedemption(
        coupon=coupon, pool_code=pool_code, order=order, phone=phone, code=code, discount=discount
    )
    if pool_code is None:
        model_insert(redemption)  # the order is locked: its one live redemption cannot be taken
        return
    try:
        with transaction.atomic():
            model_insert(redemption)
    except IntegrityError:
        # Only a pool code redeemed at this very moment on another order gets here.
        raise CouponError("already_used") from None


def _redemption_release(redemption: CouponRedemption) -> bool:
    """reserved -> released, exactly once: False when it was no longer reserved. The caller
    gives the use back to a counted coupon's times_used."""
    redemption.status, redemption.released_at = RedemptionStatus.RELEASED, timezone.now()
    return bool(
        model_update(
            redemption,
            fields=("status", "released_at"),
            where={"status": RedemptionStatus.RESERVED},
        )
    )


# --- Pools --------------------------------------------------------------------------------

# No look-alikes: 0/O, 1/I/L are left out.
POOL_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# WhatsApp's copy-code button (coupon-code templates) takes at most 15 characters.
POOL_CODE_MAX_LENGTH = 15
POOL_CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]*\Z")
POOL_GENERATE_MAX = 100_000
CHUNK = 1000


def pool_code_assign(*, coupon: Coupon, phone) -> str:
    """The code to send this customer for `coupon`: for a coupon with a pool, the pool code this
    phone already holds, else the next free one, taken atomically (see _free_codes_lock; two
    concurrent sends never get the same code). A coupon without a pool: its own code.
    Raises CouponError("pool_exhausted")."""
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
    queries. All or nothing: raises CouponError("pool_exhausted") when the free codes do not
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
    CouponError("pool_exhausted") when fewer than `count` codes are free."""
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
                raise CouponError("pool_exhausted")
            raise CouponError(
                "pool_exhausted",
                f"The pool of {pool.coupon} has {len(taken) + left} free codes left; "
                f"{count} are needed",
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
