"""Submissions over REST: upload a zip (with what it is: the metadata), list mine, one
submission's status and scores, and its owner's edits of the metadata."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import parsers, permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors, services
from benchmark.api.fields import StrictCharField, StrictURLField
from benchmark.api.schema import error_response
from benchmark.models import DESCRIPTION_MAX, METHOD_MAX, URL_MAX, Access
from benchmark.services.submissions import HTTP_URL

ERROR_RESPONSE = error_response("see `message`")


class SubmissionMetadataSerializer(serializers.Serializer):
    """What a participant says about a submission's method; every field optional, an empty
    string clears it."""

    class Meta:
        ref_name = "SubmissionMetadataInput"

    method = StrictCharField(
        max_length=METHOD_MAX,
        allow_blank=True,
        required=False,
        help_text="The method's name, shown on the leaderboard.",
    )
    description = StrictCharField(
        max_length=DESCRIPTION_MAX,
        allow_blank=True,
        required=False,
        help_text="A short description.",
    )
    paper_url = StrictURLField(
        max_length=URL_MAX,
        allow_blank=True,
        required=False,
        validators=[HTTP_URL],
        help_text="An http(s) link to the paper.",
    )
    code_url = StrictURLField(
        max_length=URL_MAX,
        allow_blank=True,
        required=False,
        validators=[HTTP_URL],
        help_text="An http(s) link to the code.",
    )
    access = serializers.ChoiceField(
        choices=Access.choices,
        allow_blank=True,
        required=False,
        help_text="What the method uses of the models: white-box or black-box.",
    )


class MetadataOutputFields(serializers.Serializer):
    method = serializers.CharField()
    description = serializers.CharField()
    paper_url = serializers.CharField()
    code_url = serializers.CharField()
    access = serializers.CharField(help_text="white-box, black-box, or empty (not stated)")


class SubmissionSummarySerializer(MetadataOutputFields):
    id = serializers.IntegerField()
    track = serializers.CharField(source="track.slug")
    filename = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    created_at = serializers.DateTimeField()
    status = serializers.CharField()
    message = serializers.CharField()
    owner = serializers.CharField(source="owner.username", default="")
    selected = serializers.BooleanField()
    benchmark = serializers.BooleanField()


class TrackSubmissionsApi(APIView):
    """Upload a submission zip (``POST``) or list your own submissions (``GET``)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [parsers.MultiPartParser, parsers.FormParser]

    class CreateInputSerializer(SubmissionMetadataSerializer):
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
            400: error_response(
                "invalid zip: `extra.problems` lists every problem; or invalid metadata:"
                " `extra.fields` names the field (nothing counted)"
            ),
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
        metadata = dict(serializer.validated_data)
        upload = metadata.pop("file")
        data = upload.read()  # bounded: RequestSizeLimitMiddleware refused larger bodies unread
        submission = services.submission_create(
            track=track, user=request.user, upload=data, filename=upload.name, metadata=metadata
        )
        return Response(
            SubmissionSummarySerializer(submission).data, status=status.HTTP_202_ACCEPTED
        )


class SubmissionDetailApi(APIView):
    """Status, errors, metadata and scores of a submission (final scores only after the
    reveal, ``GET``); its owner edits the metadata (``PATCH``)."""

    def get_permissions(self) -> list[Any]:
        if self.request.method == "PATCH":
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    class OutputSerializer(MetadataOutputFields):
        class Meta:
            ref_name = "SubmissionDetailOutput"

        id = serializers.IntegerField()
        track = serializers.CharField()
        owner = serializers.CharField()
        team = serializers.CharField(help_text="The team it was uploaded for (empty: none).")
        selected = serializers.BooleanField(help_text='Marked for final (final = "selected").')
        benchmark = serializers.BooleanField(help_text="Uploaded in the benchmark phase.")
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

    @extend_schema(
        request=SubmissionMetadataSerializer,
        responses={
            200: OutputSerializer,
            400: error_response("invalid metadata: `extra.fields` names the field"),
            403: error_response("not the submission's owner (organizers included)"),
            404: error_response("no such submission, or not yours to see"),
        },
        summary="Edit a submission's metadata (its owner)",
        description="Only the fields sent change; an empty string clears one.",
    )
    def patch(self, request: Request, submission_id: int) -> Response:
        submission = selectors.submission_get(submission_id=submission_id, user=request.user)
        serializer = SubmissionMetadataSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.submission_metadata_update(
            submission=submission, user=request.user, values=serializer.validated_data
        )
        detail = selectors.submission_detail(submission=submission, user=request.user)
        return Response(self.OutputSerializer(detail).data)
