"""The coupon engine: applying, removing and settling coupons on orders (apply), the locks and
counters behind a redemption (redemptions), and code pools (pools).

Everything that changes coupons, redemptions or pool codes goes through these functions; callers
import them from `coupons.services`.
"""

from ..selectors import EligibleCoupon, coupon_list_eligible
from .apply import (
    coupon_redemption_finalize,
    coupon_redemptions_sync_with_order,
    coupon_reservations_release_expired,
    order_apply_coupon,
    order_remove_coupon,
)
from .pools import (
    POOL_CODE_ALPHABET,
    POOL_CODE_MAX_LENGTH,
    POOL_GENERATE_MAX,
    coupon_send_check,
    pool_code_assign,
    pool_codes_assign,
    pool_codes_generate,
    pool_codes_import_csv,
)

__all__ = [
    "POOL_CODE_ALPHABET",
    "POOL_CODE_MAX_LENGTH",
    "POOL_GENERATE_MAX",
    "EligibleCoupon",
    "coupon_list_eligible",
    "coupon_redemption_finalize",
    "coupon_redemptions_sync_with_order",
    "coupon_send_check",
    "coupon_reservations_release_expired",
    "order_apply_coupon",
    "order_remove_coupon",
    "pool_code_assign",
    "pool_codes_assign",
    "pool_codes_generate",
    "pool_codes_import_csv",
]
