"""The signed-in participant's own settings: which notices they get by e-mail."""

from typing import cast

from django.contrib.auth.models import User
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors, services
from benchmark.api.fields import StrictBooleanField
from benchmark.models import EmailPreferences


class EmailPreferencesApi(APIView):
    """Which notices I get by e-mail (``GET``), and turning them on or off (``PATCH``)."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "EmailPreferencesInput"

        submission_results = StrictBooleanField(
            required=False, help_text="An e-mail each time one of my uploads is scored or fails."
        )
        final_reveal = StrictBooleanField(
            required=False,
            help_text="An e-mail when the final leaderboard of a track I took part in is revealed.",
        )

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "EmailPreferencesOutput"

        email = serializers.CharField(
            source="user.email", help_text="Where they go (empty: nothing can be sent)."
        )
        submission_results = serializers.BooleanField()
        final_reveal = serializers.BooleanField()

    def _output(self, preferences: EmailPreferences) -> Response:
        return Response(self.OutputSerializer(preferences).data)

    @extend_schema(responses={200: OutputSerializer}, summary="My e-mail notices")
    def get(self, request: Request) -> Response:
        user = cast(User, request.user)
        return self._output(selectors.email_preferences_get(user=user))

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer},
        summary="Turn my e-mail notices on or off",
        description="Every notice is off until turned on; fields not sent stay as they are.",
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        preferences = services.email_preferences_update(
            user=cast(User, request.user), **serializer.validated_data
        )
        return self._output(preferences)
