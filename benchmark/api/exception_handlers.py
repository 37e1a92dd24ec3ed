"""One exception handler for the whole API: every error body is {"message", "extra"}."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

from benchmark.errors import ApplicationError


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return Response({"message": exc.message, "extra": exc.extra}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = response.data
        response.data = {"message": _first_problem(fields), "extra": {"fields": fields}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"message": str(detail) or str(exc), "extra": {}}
    return response


def _first_problem(errors: Any, path: str = "") -> str:
    """The first error of a serializer's nested errors, with where it is:
    ``"labels.3: A JSON integer is required."`` (``non_field_errors`` name no field)."""
    if isinstance(errors, dict):
        for key, value in errors.items():
            inner = path if key in ("non_field_errors", "detail") else f"{path}.{key}".lstrip(".")
            return _first_problem(value, inner)
    if isinstance(errors, list):
        for index, value in enumerate(errors):
            if isinstance(value, dict | list):
                return _first_problem(value, f"{path}.{index}".lstrip("."))
            return _first_problem(value, path)
    text = str(errors)
    return f"{path}: {text}" if path else text
