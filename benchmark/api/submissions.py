"""Submissions over REST: upload a zip, list mine, one submission's status and scores."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors, services
from benchmark.api.schema import error_response

ERROR_RESPONSE = error_response("see `message`")


class SubmissionSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    track = serializers.CharField(source="track.slug")
    filename = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
    status = serializers.CharField()
    message = serializers.CharField()


class TrackSubmissionsApi(APIView):
    """Upload a submission zip (``POST``) or list your own submissions (``GET``)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    class CreateInputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackSubmissionsCreateInput"

        file = serializers.FileField(help_text="The predictions zip in MICO's layout.")

    @extend_schema(
        responses={200: SubmissionSummarySerializer(many=True)}, summary="My submissions"
    )
    def get(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        submissions = selectors.submissions_for_user(track=track, user=request.user)
        return Response(SubmissionSummarySerializer(submissions, many=True).data)

    @extend_schema(
        request={"multipart/form-data": CreateInputSerializer},
        responses={
            202: SubmissionSummarySerializer,
            400: error_response("invalid zip: `extra.problems` lists every problem"),
            403: ERROR_RESPONSE,
            409: ERROR_RESPONSE,
            413: ERROR_RESPONSE,
            429: error_response("a quota is used up (the message says until when), or throttled"),
        },
        summary="Upload a submission",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        data = upload.read()  # bounded: RequestSizeLimitMiddleware refused larger bodies unread
        submission = services.submission_create(
            track=track, user=request.user, upload=data, filename=upload.name
        )
        return Response(
            SubmissionSummarySerializer(submission).data, status=status.HTTP_202_ACCEPTED
        )


class SubmissionDetailApi(APIView):
    """Status, errors and scores of a submission (final scores only after the reveal)."""

    permission_classes = [permissions.AllowAny]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SubmissionDetailOutput"

        id = serializers.IntegerField()
        track = serializers.CharField()
        owner = serializers.CharField()
        filename = serializers.CharField()
        size = serializers.IntegerField()
        sha256 = serializers.CharField()
        created_at = serializers.DateTimeField()
        status = serializers.CharField()
        message = serializers.CharField()
        # The metaclass moves declared fields off the class, so this does not shadow .errors.
        errors = serializers.ListField(child=serializers.DictField())  # type: ignore[assignment]
        notices = serializers.ListField(
            child=serializers.DictField(child=serializers.CharField()),
            help_text="Files of the zip that were not scored (not refused): path and reason.",
        )
        is_baseline = serializers.BooleanField()
        attack = serializers.CharField()
        hidden = serializers.BooleanField()
        disqualified = serializers.BooleanField()
        final_visible = serializers.BooleanField()
        scores = serializers.DictField(child=serializers.DictField())

    @extend_schema(responses={200: OutputSerializer, 404: ERROR_RESPONSE}, summary="A submission")
    def get(self, request: Request, submission_id: int) -> Response:
        submission = selectors.submission_get(submission_id=submission_id, user=request.user)
        detail: dict[str, Any] = selectors.submission_detail(
            submission=submission, user=request.user
        )
        return Response(self.OutputSerializer(detail).data)
