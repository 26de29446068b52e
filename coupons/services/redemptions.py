"""Reservations of a coupon: the locks, the usage counters and the redemption's state.

Limits under concurrency: applying a coupon (apply.order_apply_coupon) locks the order row, then
key-share locks the coupon row(s) (coupons_lock), re-reads the coupon and re-checks every rule.
A usage limit is taken with one conditional UPDATE (`times_used + 1 <= usage_limit`) as the
transaction's last write (coupon_uses_change), so orders applying the same limited coupon wait
for each other only from that UPDATE to their commit; a coupon without a usage limit is not
counted in times_used, so its orders only share the key-share lock and never wait for each
other. A per-customer limit is re-counted under a lock of that customer and coupon
(customer_lock). The database backs it: a check constraint keeps times_used within usage_limit,
a unique partial index allows one live redemption per order and one per pool code, and a
redemption changes state with conditional UPDATEs, so it is counted (and released) exactly once.
"""

import hashlib
from collections import Counter

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from common.sql import model_insert, model_update
from orders.models import Order

from ..errors import CouponError
from ..models import ACTIVE_REDEMPTION, Coupon, CouponRedemption, PoolCode, RedemptionStatus


def coupons_lock(coupon_ids) -> set[int]:
    """Key-share lock the coupon rows an apply or release touches; returns the ids of those
    with a usage limit (counted in times_used).

    On PostgreSQL, FOR KEY SHARE in id order: concurrent orders share it, and it keeps a limit
    from being set or removed until they commit (Coupon.save takes FOR UPDATE before it
    recounts), so what is counted stays as read here. The counters themselves are changed last
    (coupon_uses_change). SQLite has no row locks; its writers take turns for the whole
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


def coupon_uses_change(uses: Counter) -> None:
    """Change the counted coupons' times_used by `uses` (coupon id -> change), as the last
    writes of the transaction: each conditional UPDATE locks its coupon row until the commit,
    and orders applying that coupon wait for each other only that long. In id order, so two
    orders swapping coupons never wait for each other in a cycle. A use is taken only while
    one is left (the check constraint backs it); raises CouponError(code="exhausted") otherwise."""
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
                raise CouponError(code="exhausted")


def customer_lock(*, coupon_id: int, phone: str) -> None:
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


def pool_code_check(*, pool_code: PoolCode, phone: str, order: Order) -> None:
    """A pool code is the customer's own and single-use."""
    if pool_code.phone is None or str(pool_code.phone) != phone:
        raise CouponError(code="not_for_you")
    taken = (
        CouponRedemption.objects.filter(ACTIVE_REDEMPTION, pool_code=pool_code)
        .exclude(order_id=order.pk)
        .exists()
    )
    if taken:
        raise CouponError(code="already_used")


def redemption_reserve(*, coupon, pool_code, order, phone, code, discount) -> None:
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
        raise CouponError(code="already_used") from None


def redemption_release(redemption: CouponRedemption) -> bool:
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
