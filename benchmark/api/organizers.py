"""Organizer operations, each needing a role on the track (staff hold every role; see
:mod:`benchmark.permissions`): reveal the final phase and open the benchmark phase
(``reveal``), re-score (``rescore``), run a reference attack (``attacks``), hide or disqualify
an entry and decide registrations (``moderation``), resume a zoo build (``build``)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from benchmark import selectors, services
from benchmark.api.fields import StrictBooleanField
from benchmark.api.schema import error_response
from benchmark.models import Registration
from benchmark.permissions import track_require


class TrackRevealApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackRevealOutput"

        slug = serializers.CharField()
        revealed_at = serializers.DateTimeField()

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, 409: error_response("the final deadline has not passed")},
        summary="Reveal final (organizers)",
        description="409 before the final deadline.",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track_require(track=track, user=request.user, role="reveal")
        track = services.track_reveal(track=track, by=request.user)
        return Response(self.OutputSerializer(track).data)


class TrackRescoreApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackRescoreOutput"

        queued = serializers.IntegerField()

    @extend_schema(request=None, responses={202: OutputSerializer}, summary="Re-score (organizers)")
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track_require(track=track, user=request.user, role="rescore")
        queued = services.track_rescore(track=track)
        return Response(self.OutputSerializer({"queued": queued}).data, status=202)


class TrackAttackApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

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
        summary="Run a reference attack as a baseline (organizers)",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track_require(track=track, user=request.user, role="attacks")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attack = serializer.validated_data["attack"]
        services.attack_queue(track=track, attack=attack, by=request.user)
        return Response(
            self.OutputSerializer({"attack": attack, "queued": True}).data,
            status=status.HTTP_202_ACCEPTED,
        )


class SubmissionFlagsApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

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
        summary="Hide or disqualify an entry (organizers)",
    )
    def post(self, request: Request, submission_id: int) -> Response:
        submission = selectors.submission_get(submission_id=submission_id, user=request.user)
        track_require(track=submission.track, user=request.user, role="moderation")
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        submission = services.submission_set_flags(
            submission=submission,
            hidden=serializer.validated_data.get("hidden"),
            disqualified=serializer.validated_data.get("disqualified"),
        )
        return Response(self.OutputSerializer(submission).data)


class TrackBenchmarkApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackBenchmarkOutput"

        slug = serializers.CharField()
        benchmark_opened_at = serializers.DateTimeField()

    @extend_schema(
        request=None,
        responses={200: OutputSerializer, 409: error_response("the final phase is not revealed")},
        summary="Open the benchmark phase (organizers)",
        description="After the reveal: new uploads are scored on the final models and ranked "
        "on the benchmark board (`?phase=benchmark`); the competition's boards stay frozen.",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track_require(track=track, user=request.user, role="reveal")
        track = services.track_benchmark_open(track=track)
        return Response(self.OutputSerializer(track).data)


class RegistrationOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField(source="user.username")
    email = serializers.CharField(source="user.email")
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField()


class RegistrationListApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        responses={200: RegistrationOutputSerializer(many=True)},
        summary="Registrations of a track (organizers)",
    )
    def get(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track_require(track=track, user=request.user, role="moderation")
        registrations = selectors.registrations_for_track(track=track, user=request.user)
        return Response(RegistrationOutputSerializer(registrations, many=True).data)


class RegistrationDecideApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "RegistrationDecideInput"

        decision = serializers.ChoiceField(choices=["approve", "refuse"])
        reason = serializers.CharField(required=False, allow_blank=True, max_length=500)

    @extend_schema(
        request=InputSerializer,
        responses={200: RegistrationOutputSerializer},
        summary="Approve or refuse a registration (organizers)",
        description="The participant is told by e-mail.",
    )
    def post(self, request: Request, slug: str, registration_id: int) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track_require(track=track, user=request.user, role="moderation")
        registration = get_object_or_404(Registration, pk=registration_id, track=track)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        registration = services.registration_decide(
            registration=registration,
            by=request.user,
            approve=serializer.validated_data["decision"] == "approve",
            reason=serializer.validated_data.get("reason", ""),
        )
        return Response(RegistrationOutputSerializer(registration).data)


class TrackBuildApi(APIView):
    permission_classes = [permissions.IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "TrackBuildOutput"

        queued = serializers.BooleanField(help_text="False: the zoo is built already.")

    @extend_schema(
        request=None,
        responses={202: OutputSerializer},
        summary="Resume a zoo build (organizers)",
        description="Queues the build of a track that is not ready (a failed or interrupted "
        "one); chunks whose files are complete are skipped.",
    )
    def post(self, request: Request, slug: str) -> Response:
        track = selectors.track_get(slug=slug, user=request.user)
        track_require(track=track, user=request.user, role="build")
        queued = services.zoo_build_queue(track=track)
        return Response(self.OutputSerializer({"queued": queued}).data, status=202)
