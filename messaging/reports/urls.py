from django.contrib import admin
from django.urls import path

from .views import delivery_report_view, ref_report_view

app_name = "reports"
urlpatterns = [
    path("delivery/", admin.site.admin_view(delivery_report_view), name="delivery"),
    path("refs/", admin.site.admin_view(ref_report_view), name="refs"),
]
