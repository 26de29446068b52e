from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from common.api.views import api_not_found
from messaging.urls import api_urlpatterns as messaging_api

# The REST API, version 1: each app's endpoints, the OpenAPI 3 schema and its docs page (whose
# assets are served from the drf-spectacular-sidecar package: it works offline).
api_v1 = [
    path("", include("orders.urls")),
    path("", include(messaging_api)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # GET and HEAD only: OPTIONS would render the view's description through the page's
    # template renderer, which has no template for it (a 500); it is answered 405 instead.
    path(
        "docs/",
        SpectacularSwaggerView.as_view(url_name="api-schema", http_method_names=["get", "head"]),
        name="api-docs",
    ),
    re_path(r"^(?P<rest>.*)$", api_not_found),  # JSON 404 for the rest of /api/v1/
]

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/reports/", include("messaging.reports.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("", include("checkout.urls")),
    path("", include("messaging.urls")),
]
