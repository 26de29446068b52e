"""Reads of coupons, pools and redemptions."""

import csv
from dataclasses import dataclass

from django.db.models import CharField, Count, Q
from django.db.models.functions import Cast
from django.utils import timezone

from orders.money import order_totals

from .errors import CouponError
from .models import (
    ACTIVE_REDEMPTION,
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


def coupon_find_by_code(*, code: str) -> tuple[Coupon, PoolCode | None]:
    """The coupon a customer's code stands for, and the pool code when it is one.

    A coupon with a pool is only redeemable through its pool's codes, never its own code.
    Raises CouponError("not_found")."""
    code = normalize_code(code)
    if code:
        coupon = Coupon.objects.filter(code=code, pool__isnull=True).first()
        if coupon is not None:
            return coupon, None
        pool_code = PoolCode.objects.select_related("pool__coupon").filter(code=code).first()
        if pool_code is not None:
            return pool_code.pool.coupon, pool_code
    raise CouponError("not_found")


def coupon_customer_uses(*, phone: str, coupon_ids, exclude_order_id=None) -> dict[int, int]:
    """Reserved and final redemptions by this phone per coupon, other orders only."""
    rows = (
        CouponRedemption.objects.filter(ACTIVE_REDEMPTION, phone=phone, coupon_id__in=coupon_ids)
        .exclude(order_id=exclude_order_id)
        .values("coupon_id")
        .annotate(uses=Count("id"))
    )
    return {row["coupon_id"]: row["uses"] for row in rows}


def coupon_ids_listed_for(*, phone: str, coupon_ids) -> set[int]:
    """The personal coupons among `coupon_ids` whose list holds this phone."""
    return set(
        CouponPhone.objects.filter(phone=phone, coupon_id__in=coupon_ids).values_list(
            "coupon_id", flat=True
        )
    )


def redemption_active_for_order(*, order) -> CouponRedemption | None:
    return CouponRedemption.objects.filter(ACTIVE_REDEMPTION, order_id=order.pk).first()


def coupon_list_eligible(*, order, phone) -> list[EligibleCoupon]:
    """What WhatsApp lists on get_coupons for this order and customer: the pool codes sent to
    this phone first, then personal coupons listing it, then everyone's coupons (each by code).

    Left out: inactive, not yet valid, expired, not for this phone, used up by this customer,
    exhausted, below the order's minimum, redeemed pool codes, and coupons with a pool (their
    customers get a pool code instead)."""
    phone = phone_to_e164(phone)
    now = timezone.now()
    base = order_totals(order, coupon_discount=0).before_coupon
    held = list(
        PoolCode.objects.filter(phone=phone)
        .select_related("pool__coupon")
        .order_by("assigned_at", "id")
    )
    coupons = list(
        Coupon.objects.filter(is_active=True, pool__isnull=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .order_by("-is_personal", "code")
    )
    coupon_ids = {c.pk for c in coupons} | {code.pool.coupon_id for code in held}
    listed = coupon_ids_listed_for(phone=phone, coupon_ids=coupon_ids)
    uses = coupon_customer_uses(phone=phone, coupon_ids=coupon_ids, exclude_order_id=order.pk)
    own = redemption_active_for_order(order=order)
    redeemed_elsewhere = set(
        CouponRedemption.objects.filter(ACTIVE_REDEMPTION, pool_code__in=held)
        .exclude(order_id=order.pk)
        .values_list("pool_code_id", flat=True)
    )

    def eligible(coupon):
        refusal = coupon_refusal(
            coupon=coupon,
            now=now,
            base=base,
            phone_listed=coupon.pk in listed,
            customer_uses=uses.get(coupon.pk, 0),
            other_uses=coupon.times_used - (own is not None and own.coupon_id == coupon.pk),
        )
        return refusal is None

    result = [
        EligibleCoupon(
            code=code.code, id=code.pool.coupon.public_id, description=code.pool.coupon.description
        )
        for code in held
        if code.pk not in redeemed_elsewhere and eligible(code.pool.coupon)
    ]
    result += [
        EligibleCoupon(code=c.code, id=c.public_id, description=c.description)
        for c in coupons
        if eligible(c)
    ]
    return result


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
