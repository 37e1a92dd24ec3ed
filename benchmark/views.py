"""Server-rendered pages and plain-JSON endpoints."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from benchmark import selectors


def healthz(request: HttpRequest) -> JsonResponse:
    report = selectors.health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "benchmark/home.html", {})
