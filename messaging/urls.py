from django.urls import path

from .callbacks.views import KaleyraCallbackView

urlpatterns = [
    path("kaleyra/callbacks/", KaleyraCallbackView.as_view(), name="kaleyra-callbacks"),
]
