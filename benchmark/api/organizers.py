"""Staff-only operations: reveal the final phase, re-score, run a reference attack, hide or
disqualify an entry."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors, services
from benchmark.api.fields import StrictBooleanField
from benchmark.api.schema import error_response


class TrackRevealApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackRevealOutput"

        slug = serializers.CharField()
        revealed_at = serializers.DateTimeField()

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, 409: error_response("the final deadline has not passed")},
        summary="Reveal final (staff)",
        description="409 before the final deadline.",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track = services.track_reveal(track=track, by=request.user)
        return Response(self.OutputSerializer(track).data)


class TrackRescoreApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackRescoreOutput"

        queued = serializers.IntegerField()

    @extend_schema(request=None, responses={202: OutputSerializer}, summary="Re-score (staff)")
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        queued = services.track_rescore(track=track)
        return Response(self.OutputSerializer({"queued": queued}).data, status=202)


class TrackAttackApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackAttackInput"

        attack = serializers.CharField(help_text="A name from the attacks registry.")

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackAttackOutput"

        attack = serializers.CharField()
        queued = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={202: OutputSerializer},
        summary="Run a reference attack as a baseline (staff)",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attack = serializer.validated_data["attack"]
        services.attack_queue(track=track, attack=attack, by=request.user)
        return Response(
            self.OutputSerializer({"attack": attack, "queued": True}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class SubmissionFlagsApi(APIView):
    permission_classes = [permissions.IsAdminUser]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SubmissionFlagsInput"

        hidden = StrictBooleanField(required=False)
        disqualified = StrictBooleanField(required=False)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SubmissionFlagsOutput"

        id = serializers.IntegerField()
        hidden = serializers.BooleanField()
        disqualified = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer},
        summary="Hide or disqualify an entry (staff)",
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission = selectors.submission_get(submission_id=submission_id, user=request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.submission_set_flags(
            submission=submission,
            hidden=serializer.validated_data.get("hidden"),
            disqualified=serializer.validated_data.get("disqualified"),
        )
        return Response(self.OutputSerializer(submission).data)
