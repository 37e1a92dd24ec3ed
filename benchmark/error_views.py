"""The site's 404 and 500 responses (debug off): the site's layout for pages, and the API's
``{"message", "extra"}`` body under ``/api/``."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader


def _api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _api(request):
        return JsonResponse(
            {"message": f"no API endpoint at {request.path}", "extra": {}}, status=404
        )
    context: dict[str, Any] = {"request_path": request.path}
    return HttpResponse(loader.render_to_string("404.html", context, request), status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _api(request):
        body = {"message": "server error; it is logged, try again in a moment", "extra": {}}
        return JsonResponse(body, status=500)
    # No context processors: the failure may lie in them.
    return HttpResponse(loader.render_to_string("500.html"), status=500)
