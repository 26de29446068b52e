from django.urls import path

from . import api
from .callbacks.views import KaleyraCallbackView

urlpatterns = [
    path("kaleyra/callbacks/", KaleyraCallbackView.as_view(), name="kaleyra-callbacks"),
]

# Mounted under /api/v1/ by config/urls.py.
api_urlpatterns = [
    path(
        "orders/<str:reference_id>/send-checkout/",
        api.SendCheckoutView.as_view(),
        name="api-order-send-checkout",
    ),
    path(
        "orders/<str:reference_id>/send-status/",
        api.SendStatusView.as_view(),
        name="api-order-send-status",
    ),
    path("coupons/<str:code>/send/", api.SendCouponView.as_view(), name="api-coupon-send"),
    path("messages/", api.MessageListView.as_view(), name="api-messages"),
    path("messages/<int:pk>/", api.MessageDetailView.as_view(), name="api-message"),
    path("batches/", api.BatchListView.as_view(), name="api-batches"),
    path("batches/<int:pk>/", api.BatchDetailView.as_view(), name="api-batch"),
]
