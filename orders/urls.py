from django.urls import path

from . import api

urlpatterns = [
    path("orders/", api.OrderListView.as_view(), name="api-orders"),
    path("orders/<str:reference_id>/", api.OrderDetailView.as_view(), name="api-order"),
    path(
        "orders/<str:reference_id>/cancel/", api.OrderCancelView.as_view(), name="api-order-cancel"
    ),
]
