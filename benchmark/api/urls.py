from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from benchmark.api.scoring import ScoreApi

urlpatterns = [
    path("score/", ScoreApi.as_view(), name="api-score"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
