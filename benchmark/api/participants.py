"""Taking part: register for a track (terms, approval), form or join a team, and mark the
submissions that count for final."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors, services
from benchmark.api.fields import StrictBooleanField
from benchmark.api.schema import error_response


class RegistrationSerializer(serializers.Serializer):
    registration_required = serializers.BooleanField(help_text="The track asks for one.")
    terms = serializers.CharField()
    requires_approval = serializers.BooleanField()
    email_domains = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField(
        allow_null=True, help_text="pending, approved, refused, or null (not registered)."
    )
    reason = serializers.CharField(help_text="What the organizers wrote with their decision.")


class RegistrationApi(APIView):
    """The caller's registration for a track (``GET``), or register (``POST``)."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistrationInput"

        accept_terms = StrictBooleanField(required=False, default=False)

    @extend_schema(responses={200: RegistrationSerializer}, summary="My registration")
    def get(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        return Response(selectors.registration_for_user(track=track, user=request.user))

    @extend_schema(
        request=InputSerializer,
        responses={
            201: RegistrationSerializer,
            400: error_response("the terms were not accepted"),
            403: error_response("the account's e-mail domain is not allowed"),
        },
        summary="Register for a track",
        description="Approved at once, or `pending` where the track asks for approval; "
        "registering again changes nothing.",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.registration_apply(
            track=track,
            user=request.user,  # type: ignore[arg-type]
            accept_terms=serializer.validated_data["accept_terms"],
        )
        return Response(
            selectors.registration_for_user(track=track, user=request.user),
            status=status.HTTP_201_CREATED,
        )


class TeamSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    invite_code = serializers.CharField(help_text="Give it to whoever should join.")
    members = serializers.ListField(child=serializers.CharField())
    max_team_size = serializers.IntegerField()
    frozen_at = serializers.DateTimeField()


class MyTeamSerializer(serializers.Serializer):
    team = TeamSerializer(allow_null=True, help_text="null: the caller takes part alone.")


def _team(request: Request, slug: str, code: int = status.HTTP_200_OK) -> Response:
    track = selectors.track_get(slug=slug, user=request.user)
    team = selectors.team_for_user(track=track, user=request.user)
    return Response({"team": TeamSerializer(team).data if team else None}, status=code)


class TeamApi(APIView):
    """The caller's team on a track (``GET``; null when alone), or form one (``POST``)."""

    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TeamCreateInput"

        name = serializers.CharField(max_length=200)

    @extend_schema(responses={200: MyTeamSerializer}, summary="My team")
    def get(self, request: Request, slug: str) -> Response:
        return _team(request, slug)

    @extend_schema(
        request=InputSerializer,
        responses={201: MyTeamSerializer, 409: error_response("teams are not allowed this way")},
        summary="Form a team",
        description="Only before one's first submission to the track and before its teams freeze.",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.team_create(
            track=track,
            user=request.user,  # type: ignore[arg-type]
            name=serializer.validated_data["name"],
        )
        return _team(request, slug, status.HTTP_201_CREATED)


class TeamJoinApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TeamJoinInput"

        invite_code = serializers.CharField(max_length=64)

    @extend_schema(
        request=InputSerializer,
        responses={200: MyTeamSerializer, 409: error_response("a wrong code or a full team")},
        summary="Join a team with its invite code",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.team_join(
            track=track,
            user=request.user,  # type: ignore[arg-type]
            invite_code=serializer.validated_data["invite_code"],
        )
        return _team(request, slug)


class TeamLeaveApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=None,
        responses={204: None, 409: error_response("not in a team, or submitted already")},
        summary="Leave my team",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        services.team_leave(track=track, user=request.user)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubmissionSelectApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SubmissionSelectInput"

        selected = StrictBooleanField()

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "SubmissionSelectOutput"

        id = serializers.IntegerField()
        selected = serializers.BooleanField()

    @extend_schema(
        request=InputSerializer,
        responses={200: OutputSerializer, 429: error_response("select_final marks are used")},
        summary="Mark a submission to count for final",
        description='On tracks with final = "selected", before the deadline: of the marked '
        "submissions the best on final counts (the latest when none is marked).",
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission = selectors.submission_get(submission_id=submission_id, user=request.user)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.submission_select(
            submission=submission,
            user=request.user,
            selected=serializer.validated_data["selected"],
        )
        return Response(self.OutputSerializer(submission).data)
