"""An admin site with the messaging actions wired into Order and Coupon admins, as the product's
orders/coupons admins do (they are written separately)."""

from django.contrib import admin
from django.urls import path

from coupons.models import Coupon
from messaging.admin import SendBatchAdmin, SentMessageAdmin
from messaging.admin_actions import (
    SendMessagesPermissionMixin,
    send_coupon_code,
    send_order_details,
    send_order_status,
)
from messaging.models import SendBatch, SentMessage
from orders.models import Order

site = admin.AdminSite(name="admin")


class OrderAdmin(SendMessagesPermissionMixin, admin.ModelAdmin):
    actions = [send_order_details, send_order_status]


class CouponAdmin(SendMessagesPermissionMixin, admin.ModelAdmin):
    actions = [send_coupon_code]


site.register(Order, OrderAdmin)
site.register(Coupon, CouponAdmin)
site.register(SendBatch, SendBatchAdmin)
site.register(SentMessage, SentMessageAdmin)

urlpatterns = [path("admin/", site.urls)]
