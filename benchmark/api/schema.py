"""The OpenAPI schema documents every status an endpoint can return, not only its success.

Each operation's own responses come from its ``extend_schema``; the errors every endpoint shares
follow from how it is built (its input, path parameters, authentication, permissions and
throttles) and are added here once, all with the API's one error body.
"""

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer):
    """Every error: a sentence for a person, and details for a program."""

    message = serializers.CharField()
    extra = serializers.DictField(help_text="Details, e.g. `problems` or `fields`.")


def error_response(description: str) -> OpenApiResponse:
    """A documented error status: the API's one error body, with what the status means here."""
    return OpenApiResponse(ErrorSerializer, description=description)


class AutoSchema(SpectacularAutoSchema):
    def _error_responses(self) -> dict[str, OpenApiResponse]:
        view = self.view
        takes_body = self.method.upper() in ("POST", "PUT", "PATCH")
        takes_query = any(
            getattr(parameter, "location", None) == OpenApiParameter.QUERY
            for parameter in self.get_override_parameters()
        )
        authenticated = bool(getattr(view, "authentication_classes", None))
        checks = view.get_permissions()
        restricted = any(not isinstance(check, permissions.AllowAny) for check in checks)
        errors = {}
        if takes_body or takes_query:
            errors["400"] = error_response("invalid input; `extra` says what and where")
        if authenticated:
            errors["401"] = error_response("the token is invalid, or the endpoint needs one")
        if authenticated and (restricted or takes_body):
            errors["403"] = error_response("not allowed for this account (or no CSRF token)")
        if "{" in self.path:
            errors["404"] = error_response("no such object")
        if takes_body:
            errors["413"] = error_response("the body is larger than the endpoint takes")
            errors["415"] = error_response("a content type the endpoint does not read")
        if getattr(view, "throttle_classes", None):
            errors["429"] = error_response("throttled; retry after the seconds in Retry-After")
        return errors

    def _get_response_bodies(self, direction: Any = "response") -> Any:
        responses = super()._get_response_bodies(direction)
        if direction == "response":
            for code, response in self._error_responses().items():
                if code not in responses:
                    responses[code] = self._get_response_for_code(response, code)
        return responses
