from celery import shared_task

from .services import coupon_reservations_release_expired


@shared_task
def coupons_release_expired_task() -> int:
    """Scheduled (CELERY_BEAT_SCHEDULE): expired pending orders give their coupons back."""
    return coupon_reservations_release_expired()
