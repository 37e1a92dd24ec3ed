"""The stateless scoring call: labels and scores in, MICO's metrics and a display ROC out."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

import scoring
from benchmark.api.fields import StrictFloatField, StrictIntegerField
from benchmark.errors import ApplicationError, PayloadTooLarge


class ScoreApi(APIView):
    """Score membership predictions against labels, without storing anything.

    For participants scoring their attacks on the train models they hold the solutions of,
    and for other tools. It never sees hidden solutions.
    """

    authentication_classes: list[type] = []
    permission_classes: list[type] = []

    class InputSerializer(serializers.Serializer):
        labels = serializers.ListField(
            child=StrictIntegerField(min_value=0, max_value=1),
            min_length=1,
            help_text="1 for a member, 0 for a non-member.",
        )
        scores = serializers.ListField(
            child=StrictFloatField(), min_length=1, help_text="Higher means more likely a member."
        )

    class RocSerializer(serializers.Serializer):
        fpr = serializers.ListField(child=serializers.FloatField())
        tpr = serializers.ListField(child=serializers.FloatField())

    class OutputSerializer(serializers.Serializer):
        TPR_FPR_10 = serializers.FloatField()
        TPR_FPR_100 = serializers.FloatField()
        TPR_FPR_500 = serializers.FloatField()
        TPR_FPR_1000 = serializers.FloatField()
        TPR_FPR_1500 = serializers.FloatField()
        TPR_FPR_2000 = serializers.FloatField()
        AUC = serializers.FloatField()
        MIA = serializers.FloatField()
        accuracy = serializers.FloatField()
        roc = serializers.DictField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer},
        summary="Score predictions (stateless)",
    )
    def post(self, request: Request) -> Response:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > settings.ARENA_SCORE_MAX_BYTES:
            raise PayloadTooLarge(
                f"request body is {length} bytes; the limit is {settings.ARENA_SCORE_MAX_BYTES}",
                extra={"limit_bytes": settings.ARENA_SCORE_MAX_BYTES},
            )
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            result: dict[str, Any] = scoring.score(
                serializer.validated_data["labels"], serializer.validated_data["scores"]
            )
        except ValueError as exc:
            raise ApplicationError(str(exc)) from exc
        fpr, tpr = result.pop("fpr"), result.pop("tpr")
        result["roc"] = scoring.downsample_roc(fpr, tpr)
        return Response(self.OutputSerializer(result).data, status=status.HTTP_200_OK)
