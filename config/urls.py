from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("benchmark.api.urls")),
    path("", include("benchmark.urls")),
]

handler404 = "benchmark.error_views.page_not_found"
handler500 = "benchmark.error_views.server_error"
