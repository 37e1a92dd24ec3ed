"""Refuse request bodies larger than their endpoint allows before reading any of them."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.urls import Resolver404, resolve

#: Multipart framing around a submission zip (boundaries, part headers, the file name).
MULTIPART_SLACK = 16_384
#: The URL names that take a submission zip; their limit is the track's ``max_bytes``.
UPLOAD_URLS = {"api-track-submissions", "submission-upload"}


def _limit(request: HttpRequest) -> tuple[int, int, str]:
    """The largest body the endpoint takes, the limit as configured, and what it limits."""
    from benchmark.models import Track

    cap = settings.ARENA_MAX_REQUEST_BYTES
    default = (cap, cap, "a request to this site")
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return default
    if match.url_name not in UPLOAD_URLS:
        return default
    slug = match.kwargs.get("slug")
    max_bytes = Track.objects.filter(slug=slug).values_list("max_bytes", flat=True).first()
    if max_bytes is None:
        return default
    return max_bytes + MULTIPART_SLACK, max_bytes, f"a submission to {slug}"


class RequestSizeLimitMiddleware:
    """A 413 naming the request's true size and the limit, decided from ``Content-Length``
    alone: nothing of the body is read, so a 200 MB upload costs the web process nothing
    (Django would otherwise spool the whole file to disk before any view runs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > 0:
            accepted, limit, what = _limit(request)
            if length > accepted:
                return _too_large(request, length, limit, what)
        return self.get_response(request)


def _too_large(request: HttpRequest, length: int, limit: int, what: str) -> HttpResponse:
    message = f"the upload is {length} bytes; {what} may be at most {limit} bytes"
    if request.path_info.startswith("/api/"):
        extra = {"request_bytes": length, "limit_bytes": limit}
        return JsonResponse({"message": message, "extra": extra}, status=413)
    back = (
        request.path_info.removesuffix("submit/") if request.path_info.endswith("/submit/") else "/"
    )
    page = loader.render_to_string("413.html", {"message": message, "back": back}, request)
    return HttpResponse(page, status=413)
