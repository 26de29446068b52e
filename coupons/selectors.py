"""Reads of coupons, pools and redemptions."""

import csv
from dataclasses import dataclass

from django.db import connection
from django.db.models import CharField, Count, Q
from django.db.models.functions import Cast
from django.utils import timezone

from common.sql import model_columns, models_fetch
from orders.money import order_totals

from .errors import CouponError
from .models import (
    ACTIVE_REDEMPTION,
    LIVE_REDEMPTION_STATUSES,
    Coupon,
    CouponPhone,
    CouponPool,
    CouponRedemption,
    PoolCode,
    PoolCodeStatus,
    RedemptionStatus,
    normalize_code,
)
from .phones import phone_to_e164
from .rules import coupon_refusal


@dataclass(frozen=True)
class EligibleCoupon:
    """One entry of WhatsApp's get_coupons list."""

    code: str
    id: str
    description: str


# Every code a customer tries in checkout is looked up here first: plain SQL (the ORM's join
# for "has no pool" cost several times the CPU of running it).
_COUPON_WITHOUT_POOL_SQL = f"""
SELECT {model_columns(Coupon, alias="c")} FROM {Coupon._meta.db_table} c WHERE c.code = %s
AND NOT EXISTS (SELECT 1 FROM {CouponPool._meta.db_table} pool WHERE pool.coupon_id = c.id)
"""  # noqa: S608 - table names are ours; the code is a parameter


def coupon_find_by_code(*, code: str) -> tuple[Coupon, PoolCode | None]:
    """The coupon a customer's code stands for, and the pool code when it is one.

    A coupon with a pool is only redeemable through its pool's codes, never its own code.
    Raises CouponError(code="not_found")."""
    code = normalize_code(code)
    if code:
        coupon = next(iter(models_fetch(Coupon, _COUPON_WITHOUT_POOL_SQL, [code])), None)
        if coupon is not None:
            return coupon, None
        pool_code = PoolCode.objects.select_related("pool__coupon").filter(code=code).first()
        if pool_code is not None:
            return pool_code.pool.coupon, pool_code
    raise CouponError(code="not_found")


# get_coupons runs each time a customer opens WhatsApp's coupon list and apply_coupon for each
# code tried: this read is plain SQL, since building it with the ORM cost several times the CPU
# of running it. Per coupon: held_code (the pool code this phone holds and no other order has
# redeemed), phone_listed (the phone is on its personal list), customer_uses (this phone's
# reserved and final redemptions of it on other orders) and used_by_this_order.
_LIVE = "(" + ", ".join(f"'{status}'" for status in LIVE_REDEMPTION_STATUSES) + ")"
_CUSTOMER_COUPONS_SQL = f"""
SELECT {model_columns(Coupon, alias="c")}, held.code AS held_code,
    EXISTS (SELECT 1 FROM {CouponPhone._meta.db_table} listed
            WHERE listed.coupon_id = c.id AND listed.phone = %(phone)s) AS phone_listed,
    (SELECT COUNT(*) FROM {CouponRedemption._meta.db_table} r
     WHERE r.coupon_id = c.id AND r.status IN {_LIVE} AND r.phone = %(phone)s
     AND r.order_id <> %(order_id)s) AS customer_uses,
    EXISTS (SELECT 1 FROM {CouponRedemption._meta.db_table} r
            WHERE r.coupon_id = c.id AND r.status IN {_LIVE}
            AND r.order_id = %(order_id)s) AS used_by_this_order
FROM {Coupon._meta.db_table} c
LEFT JOIN {CouponPool._meta.db_table} pool ON pool.coupon_id = c.id
LEFT JOIN {PoolCode._meta.db_table} held ON held.pool_id = pool.id AND held.phone = %(phone)s
    AND NOT EXISTS (SELECT 1 FROM {CouponRedemption._meta.db_table} r
                    WHERE r.pool_code_id = held.id AND r.status IN {_LIVE}
                    AND r.order_id <> %(order_id)s)
WHERE {{where}}
ORDER BY held.id IS NULL, held.assigned_at, held.id, c.is_personal DESC, c.code
"""  # noqa: S608 - table names and statuses are ours; values are parameters
_CUSTOMER_COLUMNS = ("held_code", "phone_listed", "customer_uses", "used_by_this_order")
_LISTABLE = (
    "held.id IS NOT NULL OR (pool.id IS NULL AND c.is_active"
    " AND (c.valid_until IS NULL OR c.valid_until > %(now)s)"
    " AND (c.valid_from IS NULL OR c.valid_from <= %(now)s))"
)


def _coupons_for_customer(*, phone: str, order_id, where: str, **params) -> list[Coupon]:
    params.update(phone=phone, order_id=order_id)
    return models_fetch(
        Coupon, _CUSTOMER_COUPONS_SQL.format(where=where), params, extra=_CUSTOMER_COLUMNS
    )


def coupon_get_for_customer(*, coupon_id: int, phone: str, order_id) -> Coupon:
    """The coupon as stored now, with this customer's uses of it (see _CUSTOMER_COUPONS_SQL)."""
    (coupon,) = _coupons_for_customer(
        phone=phone, order_id=order_id, where="c.id = %(coupon_id)s", coupon_id=coupon_id
    )
    return coupon


_LIVE_REDEMPTION_OF_ORDER_SQL = f"""
SELECT {model_columns(CouponRedemption, alias="r")} FROM {CouponRedemption._meta.db_table} r
WHERE r.order_id = %s AND r.status IN {_LIVE}
"""  # noqa: S608 - table name and statuses are ours; the order id is a parameter


def redemption_active_for_order(*, order) -> CouponRedemption | None:
    """The order's live redemption (at most one: a unique constraint). Plain SQL: every
    checkout apply and remove reads it."""
    return next(
        iter(models_fetch(CouponRedemption, _LIVE_REDEMPTION_OF_ORDER_SQL, [order.pk])), None
    )


def coupon_list_eligible(*, order, phone) -> list[EligibleCoupon]:
    """What WhatsApp lists on get_coupons for this order and customer: the pool codes sent to
    this phone first, then personal coupons listing it, then everyone's coupons (each by code).

    Left out: inactive, not yet valid, expired, not for this phone, used up by this customer,
    exhausted, below the order's minimum, redeemed pool codes, and coupons with a pool (their
    customers get a pool code instead). One query (plus the order's items for its value)."""
    phone = phone_to_e164(phone)
    now = timezone.now()
    base = order_totals(order, coupon_discount=0).before_coupon
    now_value = connection.ops.adapt_datetimefield_value(now)
    coupons = _coupons_for_customer(phone=phone, order_id=order.pk, where=_LISTABLE, now=now_value)

    def eligible(coupon):
        refusal = coupon_refusal(
            coupon=coupon,
            now=now,
            base=base,
            phone_listed=bool(coupon.phone_listed),
            customer_uses=coupon.customer_uses,
            other_uses=coupon.times_used - bool(coupon.used_by_this_order),
        )
        return refusal is None

    # Pool codes first (coupons with a pool are listed by the customer's code only).
    return [
        EligibleCoupon(
            code=coupon.held_code or coupon.code,
            id=coupon.public_id,
            description=coupon.description,
        )
        for coupon in coupons
        if eligible(coupon)
    ]


POOL_EXPORT_HEADER = ["code", "assigned_phone", "assigned_at", "redeemed_order", "status"]


def pool_export_rows(*, pool: CouponPool):
    """One row per code of the pool, in the order they were added (see POOL_EXPORT_HEADER)."""
    redeemed = {
        pool_code_id: (reference_id, status)
        for pool_code_id, reference_id, status in CouponRedemption.objects.filter(
            ACTIVE_REDEMPTION, pool_code__pool=pool
        ).values_list("pool_code_id", "order__reference_id", "status")
    }
    codes = (
        PoolCode.objects.filter(pool=pool)
        .order_by("id")
        .annotate(e164=Cast("phone", output_field=CharField()))  # as text, not parsed again
        .values_list("id", "code", "e164", "assigned_at")
    )
    for pk, code, phone, assigned_at in codes.iterator(chunk_size=2000):
        reference_id, redemption_status = redeemed.get(pk, ("", None))
        if redemption_status == RedemptionStatus.FINAL:
            status = PoolCodeStatus.REDEEMED
        elif redemption_status == RedemptionStatus.RESERVED:
            status = PoolCodeStatus.RESERVED
        elif phone:
            status = PoolCodeStatus.ASSIGNED
        else:
            status = PoolCodeStatus.FREE
        yield [
            code,
            phone or "",
            timezone.localtime(assigned_at).isoformat() if assigned_at else "",
            reference_id,
            status.value,
        ]


def pool_export_csv(*, pool: CouponPool, out) -> None:
    """Write the pool as CSV to the text stream `out` (a file, or an HttpResponse)."""
    writer = csv.writer(out)
    writer.writerow(POOL_EXPORT_HEADER)
    writer.writerows(pool_export_rows(pool=pool))


def pool_counts(*, pool: CouponPool) -> dict[str, int]:
    """How many codes the pool holds, how many are assigned and how many redeemed."""
    counts = PoolCode.objects.filter(pool=pool).aggregate(
        total=Count("id"), assigned=Count("id", filter=Q(phone__isnull=False))
    )
    counts["redeemed"] = CouponRedemption.objects.filter(
        ACTIVE_REDEMPTION, pool_code__pool=pool
    ).count()
    counts["free"] = counts["total"] - counts["assigned"]
    return counts
