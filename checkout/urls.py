from django.urls import path

from .views import CheckoutEndpointView

urlpatterns = [
    path("checkout/", CheckoutEndpointView.as_view(), name="checkout-endpoint"),
]
